// Package transport provides the single HTTP client that coopfed uses for
// every outbound federation request: fetching remote actors and objects,
// WebFinger lookups and inbox deliveries.
//
// Remote servers choose the URLs we fetch (actor IDs, inbox URLs, redirects),
// so every request is a potential server-side request forgery (SSRF) vector.
// The client returned by NewClient therefore refuses loopback, private,
// link-local and otherwise non-public addresses at dial time, after DNS
// resolution, so that neither a hostile hostname nor DNS rebinding can point
// it at internal services. It also insists on https and bounds redirects,
// time and (through ReadBody) response size.
package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults applied by NewClient (and ReadBody) when the corresponding Config
// field is zero.
const (
	// DefaultTimeout is the whole-request timeout used when Config.Timeout is 0.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBody is the body limit used when Config.MaxBody (or the max
	// argument of ReadBody) is 0 or negative: 1 MiB.
	DefaultMaxBody int64 = 1 << 20
	// DefaultMaxRedirects is the redirect limit used when Config.MaxRedirects is 0.
	DefaultMaxRedirects = 3
)

// Sentinel errors. Errors returned by the client wrap these, so test for them
// with errors.Is.
var (
	// ErrTooLarge is returned by ReadBody when the body exceeds the limit.
	ErrTooLarge = errors.New("transport: response body too large")
	// ErrForbiddenAddress is returned when a target resolves to (or is
	// written as) a loopback, private, link-local or otherwise non-public IP.
	ErrForbiddenAddress = errors.New("transport: forbidden target address")
	// ErrScheme is returned for URLs whose scheme is not allowed
	// (anything but https, or http when AllowPrivate is set).
	ErrScheme = errors.New("transport: URL scheme not allowed")
	// ErrInvalidURL is returned by CheckURL for URLs that are not absolute,
	// have no host, or carry userinfo.
	ErrInvalidURL = errors.New("transport: invalid target URL")
	// ErrTooManyRedirects is returned when a request is redirected more
	// than Config.MaxRedirects times.
	ErrTooManyRedirects = errors.New("transport: too many redirects")
)

// Config configures NewClient. The zero value is a production-safe
// configuration (public https targets only, default limits).
type Config struct {
	// AllowPrivate allows loopback/private/link-local targets and plain
	// http. Only for development and tests; never enable it in production.
	AllowPrivate bool
	// Timeout is the whole-request timeout (connect, headers and body);
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxBody is the response size limit callers should pass to ReadBody;
	// 0 means DefaultMaxBody. NewClient itself does not read bodies.
	MaxBody int64
	// MaxRedirects is the maximum number of redirects followed; 0 means
	// DefaultMaxRedirects and a negative value means no redirect is
	// followed (the request fails with ErrTooManyRedirects).
	MaxRedirects int
	// UserAgent is set on every request that has no User-Agent header.
	UserAgent string
}

// dialOptions holds test-only hooks for newClient. The zero value is what
// NewClient uses.
type dialOptions struct {
	// resolver replaces the system resolver (tests map names to addresses).
	resolver *net.Resolver
	// afterControl runs after the address check, only if it passed.
	afterControl func(network, address string, c syscall.RawConn) error
}

// NewClient returns the *http.Client to use for all remote fetches and
// deliveries. Unless cfg.AllowPrivate is set, it:
//   - refuses, at dial time after DNS resolution, any non-public IP
//     (loopback, RFC 1918, fc00::/7, link-local, unspecified, multicast,
//     CGNAT 100.64.0.0/10, reserved ranges, and IPv4-mapped/NAT64/6to4
//     forms of those), returning an error wrapping ErrForbiddenAddress;
//   - refuses any URL that is not https, before the request is sent and
//     again on every redirect, with an error wrapping ErrScheme.
//
// Redirects are limited to cfg.MaxRedirects and each redirect target is
// re-checked with CheckURL. A User-Agent header is set when absent. The
// client never uses an HTTP proxy from the environment.
func NewClient(cfg Config) *http.Client {
	return newClient(cfg, dialOptions{})
}

func newClient(cfg Config, opts dialOptions) *http.Client {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxRedirects := cfg.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}

	dialer := &net.Dialer{
		Timeout:   min(timeout, 5*time.Second),
		KeepAlive: 30 * time.Second,
		Resolver:  opts.resolver,
	}
	if !cfg.AllowPrivate || opts.afterControl != nil {
		guard := dialControl(cfg.AllowPrivate)
		after := opts.afterControl
		// Why at dial time: Control sees the IP actually being connected
		// to, after DNS resolution, so a hostname that resolves (or
		// re-resolves, DNS rebinding) to an internal address is caught.
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if err := guard(network, address, c); err != nil {
				return err
			}
			if after != nil {
				return after(network, address, c)
			}
			return nil
		}
	}

	base := &http.Transport{
		// Why no proxy: with a proxy the dialer would only ever see the
		// proxy's address, silently bypassing the address check, and
		// federation traffic must not depend on ambient HTTP_PROXY.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: 1 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		// Why: a hostile server must not make us buffer huge headers.
		MaxResponseHeaderBytes: 64 << 10,
	}

	return &http.Client{
		Transport: &guardTransport{
			base:         base,
			allowPrivate: cfg.AllowPrivate,
			userAgent:    cfg.UserAgent,
		},
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Why: each hop is another attacker-chosen URL; bound the chain
			// so a redirect loop cannot tie up a delivery worker.
			if maxRedirects < 0 || len(via) > maxRedirects {
				return fmt.Errorf("%w (limit %d)", ErrTooManyRedirects, max(maxRedirects, 0))
			}
			// Why: a redirect must not downgrade to http or jump to a
			// literal internal IP; the dialer would catch the latter too,
			// but failing here gives a clearer error and no connection.
			_, err := checkURL(req.URL, cfg.AllowPrivate)
			return err
		},
	}
}

// guardTransport checks every outgoing request (including each redirect
// hop, which the http.Client sends through the RoundTripper again) before
// handing it to the real transport.
type guardTransport struct {
	base         http.RoundTripper
	allowPrivate bool
	userAgent    string
}

// RoundTrip implements http.RoundTripper.
func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Why here and not only in CheckRedirect: the first request of a chain
	// never passes through CheckRedirect, and callers may build requests
	// by hand; refusing before the base transport means no dial at all.
	if _, err := checkURL(req.URL, t.allowPrivate); err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on error.
		}
		return nil, err
	}
	if t.userAgent != "" && req.Header.Get("User-Agent") == "" {
		// RoundTrip must not modify the caller's request, so clone it.
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(req)
}

// CheckURL parses raw and validates it as a federation target: it must be
// absolute, use https (or http when allowPrivate), have a host, and carry no
// userinfo. A host written as a literal IP is checked against the same
// address rules the dialer applies, as are "localhost" names. Hostnames are
// not resolved here; the client's dialer checks the resolved address.
// Returned errors wrap ErrInvalidURL, ErrScheme or ErrForbiddenAddress.
func CheckURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	return checkURL(u, allowPrivate)
}

func checkURL(u *url.URL, allowPrivate bool) (*url.URL, error) {
	if u == nil {
		return nil, fmt.Errorf("%w: nil URL", ErrInvalidURL)
	}
	// Why: relative or opaque ("https:foo") URLs have no well-defined host
	// to check.
	if !u.IsAbs() || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrInvalidURL, u.Redacted())
	}
	switch u.Scheme {
	case "https":
	case "http":
		// Why: without TLS a network attacker can rewrite federation
		// traffic (actors, keys, activities); plain http is dev-only.
		if !allowPrivate {
			return nil, fmt.Errorf("%w: %q (https required)", ErrScheme, u.Scheme)
		}
	default:
		// Why: only HTTP(S) is federation; other schemes (file, gopher,
		// ftp...) are never legitimate targets.
		return nil, fmt.Errorf("%w: %q", ErrScheme, u.Scheme)
	}
	// Why: credentials in URLs leak into logs and Authorization headers
	// and are a classic parser-confusion trick (https://good@evil/).
	if u.User != nil {
		return nil, fmt.Errorf("%w: userinfo not allowed", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: missing host", ErrInvalidURL)
	}
	if allowPrivate {
		return u, nil
	}
	// Why: reject literal internal IPs up front (clear error, no dial).
	if ip, err := netip.ParseAddr(host); err == nil {
		if forbiddenAddr(ip) {
			return nil, fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
		}
		return u, nil
	}
	// Why: RFC 6761 reserves localhost names for loopback; refuse them by
	// name so they fail early even if the resolver is unusual.
	lh := strings.TrimSuffix(strings.ToLower(host), ".")
	if lh == "localhost" || strings.HasSuffix(lh, ".localhost") {
		return nil, fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	return u, nil
}

// dialControl returns a net.Dialer.Control function that refuses forbidden
// addresses. It is called with the resolved "ip:port" immediately before
// the connect system call, so a refusal means no packet is sent.
func dialControl(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		// Why: HTTP only ever dials TCP; anything else is unexpected.
		if network != "tcp4" && network != "tcp6" {
			return fmt.Errorf("%w: network %q", ErrForbiddenAddress, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			// Why: fail closed if we cannot tell what we are connecting to.
			return fmt.Errorf("%w: unparsable address %q", ErrForbiddenAddress, address)
		}
		if forbiddenAddr(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
		}
		return nil
	}
}

// forbiddenPrefixes are non-public ranges beyond what netip.Addr's Is*
// predicates cover.
var forbiddenPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"; 0.x may reach the local host
	netip.MustParsePrefix("100.64.0.0/10"),  // CGNAT shared address space (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, includes 255.255.255.255 broadcast
	netip.MustParsePrefix("::/96"),          // deprecated IPv4-compatible IPv6
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("2001::/32"),      // Teredo: tunnels to an obfuscated IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215), site-specific
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known NAT64
	sixToFour   = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056)
)

// forbiddenAddr reports whether ip must never be a federation target.
func forbiddenAddr(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	// Why Unmap: ::ffff:127.0.0.1 reaches 127.0.0.1, so IPv4-mapped
	// addresses must be judged as the IPv4 address they carry.
	ip = ip.Unmap().WithZone("")
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.Is6() {
		b := ip.As16()
		// Why: NAT64 and 6to4 addresses tunnel to an embedded IPv4
		// address, so judge them by that address.
		if nat64Prefix.Contains(ip) {
			return forbiddenAddr(netip.AddrFrom4([4]byte(b[12:16])))
		}
		if sixToFour.Contains(ip) {
			return forbiddenAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return false
}

// ReadBody reads r to the end, but at most maxBytes bytes. If r holds more
// than maxBytes it returns ErrTooLarge (and no data). A maxBytes of 0 or less
// means DefaultMaxBody, so callers can pass Config.MaxBody directly.
func ReadBody(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	limit := maxBytes
	if limit < 1<<62 {
		limit++ // read one extra byte to detect overflow
	}
	// Why: remote servers control the body; never buffer an unbounded one.
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, maxBytes)
	}
	return b, nil
}

// Compile-time check that guardTransport is a RoundTripper.
var _ http.RoundTripper = (*guardTransport)(nil)
