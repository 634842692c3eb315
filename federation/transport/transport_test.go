package transport

// NETWORK RULE for these tests: the only real connections made are to
// httptest servers on loopback. Refusals of non-loopback addresses are
// exercised either by calling the dial Control function directly or through
// a fake in-memory resolver plus a fail-safe Control hook, so no packet is
// ever sent to a non-loopback address even if the code under test is wrong.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		raw          string
		allowPrivate bool
		want         error // nil means accepted
	}{
		{"https://example.com/users/alice", false, nil},
		{"https://example.com:8443/inbox", false, nil},
		{"https://93.184.216.34/", false, nil},
		{"https://[2606:4700::1111]/", false, nil},
		{"HTTPS://Example.COM/", false, nil},
		{"http://example.com/", false, ErrScheme},
		{"http://example.com/", true, nil},
		{"http://127.0.0.1:8080/", true, nil},
		{"ftp://example.com/", false, ErrScheme},
		{"ftp://example.com/", true, ErrScheme},
		{"file:///etc/passwd", true, ErrScheme},
		{"gopher://example.com/", false, ErrScheme},
		{"javascript:alert(1)", false, ErrInvalidURL},
		{"https:example.com", false, ErrInvalidURL},
		{"/relative/path", false, ErrInvalidURL},
		{"//example.com/x", false, ErrInvalidURL},
		{"", false, ErrInvalidURL},
		{"https://", false, ErrInvalidURL},
		{"https://:443/", false, ErrInvalidURL},
		{"https://user:pass@example.com/", false, ErrInvalidURL},
		{"https://user@example.com/", true, ErrInvalidURL},
		{"https://exa mple.com/", false, ErrInvalidURL},
		{"https://127.0.0.1/", false, ErrForbiddenAddress},
		{"https://10.1.2.3/", false, ErrForbiddenAddress},
		{"https://172.16.0.1/", false, ErrForbiddenAddress},
		{"https://192.168.1.1/", false, ErrForbiddenAddress},
		{"https://169.254.169.254/latest/meta-data/", false, ErrForbiddenAddress},
		{"https://100.64.0.1/", false, ErrForbiddenAddress},
		{"https://0.0.0.0/", false, ErrForbiddenAddress},
		{"https://[::1]/", false, ErrForbiddenAddress},
		{"https://[::]/", false, ErrForbiddenAddress},
		{"https://[fc00::1]/", false, ErrForbiddenAddress},
		{"https://[fe80::1%25eth0]/", false, ErrForbiddenAddress},
		{"https://[::ffff:127.0.0.1]/", false, ErrForbiddenAddress},
		{"https://[::ffff:a00:1]/", false, ErrForbiddenAddress},
		{"https://localhost/", false, ErrForbiddenAddress},
		{"https://LOCALHOST./", false, ErrForbiddenAddress},
		{"https://foo.localhost/", false, ErrForbiddenAddress},
		{"https://127.0.0.1/", true, nil},
		{"https://localhost/", true, nil},
	}
	for _, tc := range tests {
		u, err := CheckURL(tc.raw, tc.allowPrivate)
		if tc.want == nil {
			if err != nil {
				t.Errorf("CheckURL(%q, %v) = %v, want ok", tc.raw, tc.allowPrivate, err)
			} else if u == nil {
				t.Errorf("CheckURL(%q, %v) returned nil URL", tc.raw, tc.allowPrivate)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("CheckURL(%q, %v) = %v, want %v", tc.raw, tc.allowPrivate, err, tc.want)
		}
	}
}

func TestDialControl(t *testing.T) {
	deny := dialControl(false)
	allow := dialControl(true)

	forbidden := []struct{ network, address string }{
		{"tcp4", "127.0.0.1:443"},
		{"tcp4", "127.8.9.10:443"},
		{"tcp4", "10.0.0.1:443"},
		{"tcp4", "10.255.255.255:80"},
		{"tcp4", "172.16.5.4:443"},
		{"tcp4", "172.31.255.255:443"},
		{"tcp4", "192.168.0.1:443"},
		{"tcp4", "169.254.169.254:80"},
		{"tcp4", "100.64.0.1:443"},
		{"tcp4", "100.127.255.254:443"},
		{"tcp4", "0.0.0.0:443"},
		{"tcp4", "0.1.2.3:443"},
		{"tcp4", "224.0.0.1:443"},
		{"tcp4", "255.255.255.255:443"},
		{"tcp4", "198.18.0.1:443"},
		{"tcp6", "[::1]:443"},
		{"tcp6", "[::]:443"},
		{"tcp6", "[fc00::1]:443"},
		{"tcp6", "[fd12:3456::1]:443"},
		{"tcp6", "[fe80::1]:443"},
		{"tcp6", "[fe80::1%eth0]:443"},
		{"tcp6", "[ff02::1]:443"},
		{"tcp6", "[::ffff:127.0.0.1]:443"},
		{"tcp6", "[::ffff:10.0.0.1]:443"},
		{"tcp6", "[::ffff:169.254.169.254]:443"},
		{"tcp6", "[::127.0.0.1]:443"},          // IPv4-compatible
		{"tcp6", "[64:ff9b::127.0.0.1]:443"},   // NAT64 of loopback
		{"tcp6", "[64:ff9b::a00:1]:443"},       // NAT64 of 10.0.0.1
		{"tcp6", "[2002:7f00:1::1]:443"},       // 6to4 of 127.0.0.1
		{"tcp6", "[2002:c0a8:101::1]:443"},     // 6to4 of 192.168.1.1
		{"tcp6", "[fec0::1]:443"},              // site-local
		{"udp4", "93.184.216.34:443"},          // not TCP
		{"tcp4", "not-an-address"},             // unparsable: fail closed
		{"tcp4", "example.com:443"},            // unresolved name: fail closed
		{"tcp6", "[2606:4700::1111]:notaport"}, // unparsable port
	}
	for _, tc := range forbidden {
		err := deny(tc.network, tc.address, nil)
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%q, %q) = %v, want ErrForbiddenAddress", tc.network, tc.address, err)
		}
		if err := allow(tc.network, tc.address, nil); err != nil {
			t.Errorf("AllowPrivate control(%q, %q) = %v, want nil", tc.network, tc.address, err)
		}
	}

	public := []struct{ network, address string }{
		{"tcp4", "93.184.216.34:443"},
		{"tcp4", "1.1.1.1:443"},
		{"tcp4", "100.128.0.1:443"}, // just above CGNAT
		{"tcp4", "172.32.0.1:443"},  // just above 172.16/12
		{"tcp6", "[2606:4700::1111]:443"},
		{"tcp6", "[::ffff:93.184.216.34]:443"},
		{"tcp6", "[64:ff9b::5db8:d822]:443"}, // NAT64 of 93.184.216.34
	}
	for _, tc := range public {
		if err := deny(tc.network, tc.address, nil); err != nil {
			t.Errorf("control(%q, %q) = %v, want nil", tc.network, tc.address, err)
		}
	}
}

// fakeResolver returns a pure-Go resolver that answers every A query with
// ip and every other query with no records, over an in-memory pipe: no
// DNS packet leaves the process.
func fakeResolver(ip netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveFakeDNS(server, ip)
			return client, nil
		},
	}
}

// serveFakeDNS answers DNS-over-stream queries (2-byte length prefix, which
// the Go resolver uses for non-packet connections) until the pipe closes.
func serveFakeDNS(c net.Conn, ip netip.Addr) {
	defer c.Close()
	for {
		var lenBuf [2]byte
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(msg)
		if err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
			ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true,
		})
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if q.Type == dnsmessage.TypeA && ip.Is4() {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
				dnsmessage.AResource{A: ip.As4()})
		}
		if q.Type == dnsmessage.TypeAAAA && ip.Is6() {
			_ = b.AAAAResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
				dnsmessage.AAAAResource{AAAA: ip.As16()})
		}
		out, err := b.Finish()
		if err != nil {
			return
		}
		binary.BigEndian.PutUint16(lenBuf[:], uint16(len(out)))
		if _, err := c.Write(append(lenBuf[:], out...)); err != nil {
			return
		}
	}
}

// failSafe is installed after the real address check in tests that resolve
// names to non-loopback addresses. It refuses every dial, so even a broken
// address check cannot produce a real connection; a test seeing errFailSafe
// knows the check under test let the address through.
var errFailSafe = errors.New("test fail-safe: dial would have connected")

func failSafe(reached *atomic.Int32) func(string, string, syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		reached.Add(1)
		return errFailSafe
	}
}

func TestDialRefusesResolvedPrivateAddress(t *testing.T) {
	for _, ip := range []string{"10.0.0.1", "169.254.169.254", "fd00::1"} {
		t.Run(ip, func(t *testing.T) {
			var reached atomic.Int32
			c := newClient(Config{}, dialOptions{
				resolver:     fakeResolver(netip.MustParseAddr(ip)),
				afterControl: failSafe(&reached),
			})
			// The hostname passes CheckURL; only the dial-time check
			// (after resolution) can refuse it.
			resp, err := c.Get("https://internal.example.test/")
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("Get = %v, want ErrForbiddenAddress", err)
			}
			if n := reached.Load(); n != 0 {
				t.Fatalf("address check let %s through to the dialer (%d times)", ip, n)
			}
		})
	}
}

func TestFakeResolverSanity(t *testing.T) {
	// Guards the test above: a public address must get past the address
	// check and be stopped by the fail-safe, proving the resolver and hook
	// are actually wired in.
	var reached atomic.Int32
	c := newClient(Config{}, dialOptions{
		resolver:     fakeResolver(netip.MustParseAddr("93.184.216.34")),
		afterControl: failSafe(&reached),
	})
	resp, err := c.Get("https://public.example.test/")
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, errFailSafe) || reached.Load() == 0 {
		t.Fatalf("Get = %v (fail-safe reached %d times), want fail-safe refusal", err, reached.Load())
	}
}

func TestAllowPrivateLoopbackGET(t *testing.T) {
	var gotUA atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA.Store(r.Header.Get("User-Agent"))
		io.WriteString(w, "hello")
	}))
	defer srv.Close()

	c := NewClient(Config{AllowPrivate: true, UserAgent: "coopfed-test/1.0"})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer resp.Body.Close()
	body, err := ReadBody(resp.Body, 0)
	if err != nil || string(body) != "hello" {
		t.Fatalf("body = %q, %v", body, err)
	}
	if ua := gotUA.Load(); ua != "coopfed-test/1.0" {
		t.Fatalf("User-Agent = %q", ua)
	}

	// An explicit User-Agent is left alone, and the caller's request is
	// not modified.
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "custom")
	resp2, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp2.Body.Close()
	if ua := gotUA.Load(); ua != "custom" {
		t.Fatalf("User-Agent = %q, want custom", ua)
	}

	req3, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp3, err := c.Do(req3)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp3.Body.Close()
	if req3.Header.Get("User-Agent") != "" {
		t.Fatal("caller's request was modified")
	}
}

func TestRedirectLimit(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	}))
	defer srv.Close()

	for _, tc := range []struct{ max, wantHits int32 }{
		{0, 1 + DefaultMaxRedirects},
		{1, 2},
		{5, 6},
		{-1, 1},
	} {
		hits.Store(0)
		c := NewClient(Config{AllowPrivate: true, MaxRedirects: int(tc.max)})
		resp, err := c.Get(srv.URL)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrTooManyRedirects) {
			t.Errorf("MaxRedirects=%d: err = %v, want ErrTooManyRedirects", tc.max, err)
		}
		if got := hits.Load(); got != tc.wantHits {
			t.Errorf("MaxRedirects=%d: server hit %d times, want %d", tc.max, got, tc.wantHits)
		}
	}

	// A short chain within the limit succeeds.
	var n atomic.Int32
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Redirect(w, r, "/next", http.StatusFound)
			return
		}
		io.WriteString(w, "done")
	}))
	defer srv2.Close()
	resp, err := NewClient(Config{AllowPrivate: true}).Get(srv2.URL)
	if err != nil {
		t.Fatalf("Get with 2 redirects: %v", err)
	}
	resp.Body.Close()
}

func TestRedirectRechecked(t *testing.T) {
	c := NewClient(Config{})
	via := []*http.Request{mustRequest(t, "https://example.com/a")}
	for _, tc := range []struct {
		target string
		want   error
	}{
		{"http://example.com/b", ErrScheme},
		{"https://127.0.0.1/", ErrForbiddenAddress},
		{"https://[::ffff:10.0.0.1]/", ErrForbiddenAddress},
		{"https://example.org/ok", nil},
	} {
		err := c.CheckRedirect(mustRequest(t, tc.target), via)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("CheckRedirect(%s) = %v, want %v", tc.target, err, tc.want)
		}
	}
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHTTPSOnlyRefusesBeforeDial(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()

	var dials atomic.Int32
	c := newClient(Config{}, dialOptions{afterControl: failSafe(&dials)})
	// srv.URL is http://127.0.0.1:port: loopback, so even a bug here
	// could not reach a non-loopback address.
	resp, err := c.Get(srv.URL)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrScheme) {
		t.Fatalf("Get(%s) = %v, want ErrScheme", srv.URL, err)
	}
	if hits.Load() != 0 || dials.Load() != 0 {
		t.Fatalf("request reached the network: %d hits, %d dials", hits.Load(), dials.Load())
	}

	// The same check applies to hand-built requests with bodies, and the
	// body is closed as RoundTrip requires.
	body := &closeRecorder{Reader: strings.NewReader("{}")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
	if _, err := c.Do(req); !errors.Is(err, ErrScheme) {
		t.Fatalf("Do = %v, want ErrScheme", err)
	}
	if !body.closed {
		t.Fatal("request body not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestReadBody(t *testing.T) {
	tests := []struct {
		size    int
		max     int64
		wantErr error
	}{
		{0, 10, nil},
		{10, 10, nil},
		{11, 10, ErrTooLarge},
		{1000, 10, ErrTooLarge},
		{int(DefaultMaxBody), 0, nil},
		{int(DefaultMaxBody) + 1, 0, ErrTooLarge},
		{int(DefaultMaxBody) + 1, -5, ErrTooLarge},
	}
	for _, tc := range tests {
		b, err := ReadBody(strings.NewReader(strings.Repeat("x", tc.size)), tc.max)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("ReadBody(size %d, max %d) err = %v, want %v", tc.size, tc.max, err, tc.wantErr)
			continue
		}
		if err == nil && len(b) != tc.size {
			t.Errorf("ReadBody(size %d, max %d) returned %d bytes", tc.size, tc.max, len(b))
		}
	}

	// Reader errors are passed through.
	boom := errors.New("boom")
	if _, err := ReadBody(io.MultiReader(strings.NewReader("ab"), errReader{boom}), 10); !errors.Is(err, boom) {
		t.Errorf("ReadBody error = %v, want boom", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
