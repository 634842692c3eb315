package federation

import (
	"context"
	"crypto"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/store"
)

// Inbox limits.
const (
	// MaxInboxBody is the largest activity accepted (Mastodon's limit is
	// also 1 MiB).
	MaxInboxBody = 1 << 20
	// maxJSONDepth refuses pathological nesting before decoding.
	maxJSONDepth = 32
	// keyRefetchAfter is how old a cached key must be before a failed
	// verification triggers one refetch (a key rotation); younger keys are
	// not refetched, so forged requests cannot make us hammer a host.
	keyRefetchAfter = time.Minute
)

// cachedKey is a verified actor's parsed public key kept in memory, so the
// hot path of the inbox neither queries the database nor parses PEM.
type cachedKey struct {
	actor *coopfed.RemoteActor
	pub   crypto.PublicKey
}

type keyCache struct {
	mu sync.RWMutex
	m  map[string]cachedKey
}

func (c *keyCache) get(keyID string) (cachedKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.m[keyID]
	return k, ok
}

func (c *keyCache) put(keyID string, k cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 50000 {
		c.m = map[string]cachedKey{} // crude bound: start over rather than grow without limit
	}
	c.m[keyID] = k
}

func (c *keyCache) drop(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, keyID)
}

// PostInbox verifies and applies one POST to an inbox: the shared inbox
// when coopName is "", else that coop's. It returns nil when the activity
// was accepted (202), or a *coopfed.Error whose code gives the status. The
// checks run in the order of DESIGN section 5; the first failure answers and
// nothing is stored.
func (f *Federation) PostInbox(ctx context.Context, r *http.Request, coopName string) (err error) {
	var coop *coopfed.Coop
	if coopName != "" {
		if coop, err = f.store.CoopByName(ctx, coopName); err != nil {
			f.metrics.InboxResult(inboxResult(err))
			return err
		}
	}
	return f.postInbox(ctx, r, coop)
}

// PostGroupInbox is PostInbox for the personal inbox of a local group.
func (f *Federation) PostGroupInbox(ctx context.Context, r *http.Request, groupName string) error {
	g, err := f.store.GroupByName(ctx, groupName)
	if err != nil {
		f.metrics.InboxResult(inboxResult(err))
		return err
	}
	return f.postInbox(ctx, r, &g.Coop)
}

// postInbox checks and applies a POST to the shared inbox (coop nil) or a
// local actor's own.
func (f *Federation) postInbox(ctx context.Context, r *http.Request, coop *coopfed.Coop) (err error) {
	defer func() { f.metrics.InboxResult(inboxResult(err)) }()
	// From here the request may write: a commit starting meanwhile waits a
	// little for it to join (commit.go).
	arr := f.commits.arrive()
	defer arr.leave()
	// Why: Mastodon and GoToSocial POST one of these two media types; any
	// other body is not an ActivityStreams document.
	if !isActivityMediaType(r.Header.Get("Content-Type")) {
		return coopfed.Errorf(coopfed.EUNSUPPORTED, "content type must be application/activity+json or application/ld+json with the ActivityStreams profile")
	}
	if r.ContentLength > MaxInboxBody {
		return coopfed.Errorf(coopfed.ETOOLARGE, "activity larger than %d bytes", MaxInboxBody)
	}
	body, err := readBody(r)
	if err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "reading body: %v", err)
	}
	if len(body) > MaxInboxBody {
		return coopfed.Errorf(coopfed.ETOOLARGE, "activity larger than %d bytes", MaxInboxBody)
	}
	if jsonDepth(body) > maxJSONDepth {
		return coopfed.Errorf(coopfed.EINVALID, "JSON nested deeper than %d levels", maxJSONDepth)
	}
	var act activity
	if err := decodeJSON(body, &act); err != nil {
		return coopfed.Errorf(coopfed.EINVALID, "body is not an activity: %v", err)
	}
	signer, keyHost, err := f.authenticate(ctx, r, body, &act)
	if errors.Is(err, errIgnore) {
		return nil
	} else if err != nil {
		return err
	}
	// The signature verified: what becomes of the activity is the host's
	// record in the limiter.
	defer func() { f.recordOutcome(keyHost, err) }()
	if err := f.authorize(ctx, signer, &act); err != nil {
		return err
	}
	return f.apply(ctx, arr, coop, signer, &act, body)
}

// readBody reads at most MaxInboxBody+1 bytes of the request's body, into
// one buffer of the announced length when there is one (io.ReadAll grows
// its buffer several times for a typical 2-3 KB activity). net/http ends
// a body at its Content-Length and reports a shorter one as an error.
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= MaxInboxBody {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, MaxInboxBody+1))
}

// recordOutcome keeps the record of a host whose signature verified: an
// accepted activity counts towards its good standing, one refused as
// invalid, forbidden or over a limit ends it. Our own failures (5xx) and
// unknown objects count for nothing.
func (f *Federation) recordOutcome(host string, err error) {
	switch coopfed.ErrorCode(err) {
	case "":
		f.limiter.accepted(host, f.now())
	case coopfed.EINVALID, coopfed.EFORBIDDEN, coopfed.EUNAUTHORIZED, coopfed.ERATELIMIT, coopfed.ETOOLARGE, coopfed.EUNSUPPORTED:
		f.limiter.refused(host, f.now())
	}
}

func isActivityMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		// The profile is what makes ld+json ActivityStreams; some servers
		// omit it, which we tolerate, but another profile is refused.
		p, ok := params["profile"]
		return !ok || p == ContextActivityStreams
	}
	return false
}

func inboxResult(err error) string {
	if err == nil {
		return "accepted"
	}
	return coopfed.ErrorCode(err)
}

// authenticate checks the HTTP signature and returns the signing actor and
// the host of its key.
func (f *Federation) authenticate(ctx context.Context, r *http.Request, body []byte, act *activity) (*coopfed.RemoteActor, string, error) {
	sig, err := f.checkSignature(r, body)
	if err != nil {
		f.metrics.SignatureFailure(httpsign.ReasonOf(err))
		return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: %v", err)
	}
	keyID := sig.keyID()
	// Why: signing "host" binds a request to one server only if the host
	// is ours; otherwise another server's operator could replay, within
	// the Date window, what a peer signed for that server's own /inbox.
	if !f.isOurHost(r.Host) {
		f.metrics.SignatureFailure(httpsign.ReasonHeaders)
		return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: request was sent to host %q, not to this server", r.Host)
	}
	keyHost := HostOf(keyID)
	// Why: no remote key may claim to be ours, and our own coops never
	// post to our own inbox over HTTP. A keyId whose host is not written
	// plainly (userinfo before it, a trailing dot) is refused too: the
	// same server under another spelling would slip past domain blocks
	// and the per-host limit (Mastodon's domain normalisation advisory,
	// CVE-2023-42451).
	if keyHost == "" || f.iris.IsLocal(keyID) || !plainHost(keyID) {
		f.metrics.SignatureFailure("key_id")
		return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: unusable keyId %q", keyID)
	}
	// Why: a blocked domain is refused before any fetch, so it cannot make
	// us contact it.
	if blocked, err := f.store.DomainBlocked(ctx, keyHost); err != nil {
		return nil, "", err
	} else if blocked {
		return nil, "", coopfed.Errorf(coopfed.EFORBIDDEN, "domain is blocked")
	}
	// Why: one host cannot take the whole inbox; its deliveries are
	// answered 429 and retried by its own queue. Here the host's bucket
	// is only looked at: a token is spent once the signature verifies,
	// so forged requests naming a peer's keyId cannot exhaust the peer's
	// bucket and get its real deliveries refused. A host in good
	// standing (its recent verified activities were all accepted) spends
	// nothing: a busy peer is not throttled into retries for volume.
	trusted := f.limiter.trusted(keyHost, f.now())
	if !trusted && !f.limiter.available(keyHost, f.now()) {
		return nil, "", coopfed.Errorf(coopfed.ERATELIMIT, "too many requests from %s", keyHost)
	}
	key, err := f.signingKey(ctx, keyID, false)
	if err != nil {
		// A deleted actor's Delete of itself cannot be verified (its key
		// is gone with it) and needs nothing from us unless we knew it.
		if isSelfDelete(act) {
			return nil, "", errIgnore
		}
		f.metrics.SignatureFailure("key")
		return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: key %s: %s", keyID, coopfed.ErrorMessage(err))
	}
	if err := sig.verify(r, key.pub); err != nil {
		// One refetch, in case the actor rotated its key; only for keys
		// cached long enough that a refetch is not a forgery's lever.
		if f.now().Sub(key.actor.FetchedAt) < keyRefetchAfter {
			f.metrics.SignatureFailure(httpsign.ReasonOf(err))
			return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: %v", err)
		}
		f.signerKeys.drop(keyID)
		if key, err = f.signingKey(ctx, keyID, true); err != nil {
			f.metrics.SignatureFailure("key")
			return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: key %s: %s", keyID, coopfed.ErrorMessage(err))
		}
		if err := sig.verify(r, key.pub); err != nil {
			f.metrics.SignatureFailure(httpsign.ReasonOf(err))
			return nil, "", coopfed.Errorf(coopfed.EUNAUTHORIZED, "signature: %v", err)
		}
	}
	if !trusted && !f.limiter.allow(keyHost, f.now()) {
		return nil, "", coopfed.Errorf(coopfed.ERATELIMIT, "too many requests from %s", keyHost)
	}
	return key.actor, keyHost, nil
}

// signature is a parsed request signature of either scheme.
type signature interface {
	keyID() string
	verify(r *http.Request, pub crypto.PublicKey) error
}

type cavageSignature struct{ p *httpsign.Params }

func (s cavageSignature) keyID() string { return s.p.KeyID }
func (s cavageSignature) verify(r *http.Request, pub crypto.PublicKey) error {
	return s.p.Verify(r, pub)
}

type rfc9421Signature struct {
	p    *httpsign.Params9421
	base string
}

func (s rfc9421Signature) keyID() string { return s.p.KeyID }
func (s rfc9421Signature) verify(r *http.Request, pub crypto.PublicKey) error {
	return s.p.Verify(r, s.base, pub)
}

// checkSignature runs the key-free checks of whichever scheme the request
// uses: RFC 9421 (Fedify, Mastodon 4.5, Mitra sign with it first) when
// Signature-Input is present, else draft-cavage. Both are verified, as
// Mastodon 4.5 does; anything else fails here and is answered 401, which
// tells RFC 9421 senders to fall back.
func (f *Federation) checkSignature(r *http.Request, body []byte) (signature, error) {
	if httpsign.IsRFC9421(r.Header) {
		p, err := httpsign.Check9421(r, body, f.now(), f.window)
		if err != nil {
			return nil, err
		}
		return rfc9421Signature{p: p, base: f.iris.Base()}, nil
	}
	p, err := httpsign.Check(r, body, f.now(), f.window)
	if err != nil {
		return nil, err
	}
	return cavageSignature{p: p}, nil
}

// plainHost reports whether an http(s) IRI names its host in the one
// spelling blocks and limits compare: no userinfo, no trailing dot, no
// empty port.
func plainHost(iri string) bool {
	u, err := url.Parse(iri)
	if err != nil || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	h := u.Hostname()
	return h != "" && !strings.HasSuffix(h, ".") && !strings.HasSuffix(u.Host, ":")
}

// isOurHost reports whether host (a Host header) names this instance,
// ignoring case and the scheme's default port.
func (f *Federation) isOurHost(host string) bool {
	return strings.EqualFold(withoutDefaultPort(host, f.iris.base.Scheme), withoutDefaultPort(f.iris.Host(), f.iris.base.Scheme))
}

func withoutDefaultPort(host, scheme string) string {
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return strings.TrimSuffix(host, ":80")
}

// errIgnore is answered 202 and changes nothing.
var errIgnore = errors.New("federation: ignored")

func isSelfDelete(act *activity) bool {
	if !act.Type.Is("Delete") {
		return false
	}
	id, _, err := objectRef(act.Object)
	return err == nil && id != "" && id == act.Actor.First()
}

func (f *Federation) signingKey(ctx context.Context, keyID string, refresh bool) (cachedKey, error) {
	if !refresh {
		if k, ok := f.signerKeys.get(keyID); ok {
			return k, nil
		}
	}
	a, err := f.ResolveKey(ctx, keyID, refresh)
	if err != nil {
		return cachedKey{}, err
	}
	pub, err := f.publicKey(a)
	if err != nil {
		return cachedKey{}, coopfed.Errorf(coopfed.EUNAUTHORIZED, "actor %s has no usable key", a.IRI)
	}
	k := cachedKey{actor: a, pub: pub}
	f.signerKeys.put(keyID, k)
	return k, nil
}

// authorize applies the rules that need the verified signer: the activity's
// actor is the signer, blocks, and origin of the activity's id.
func (f *Federation) authorize(ctx context.Context, signer *coopfed.RemoteActor, act *activity) error {
	if len(act.Actor) != 1 {
		return coopfed.Errorf(coopfed.EINVALID, "activity must have exactly one actor")
	}
	// Why: the signature proves who sent the request; an activity claiming
	// another actor would let one account speak for another.
	if act.Actor[0] != signer.IRI {
		return coopfed.Errorf(coopfed.EUNAUTHORIZED, "activity actor %q is not the signer %q", act.Actor[0], signer.IRI)
	}
	if blocked, err := f.store.ActorBlocked(ctx, signer.IRI); err != nil {
		return err
	} else if blocked {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "actor is blocked")
	}
	if blocked, err := f.store.DomainBlocked(ctx, signer.Host); err != nil {
		return err
	} else if blocked {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "domain is blocked")
	}
	if act.ID == "" {
		return coopfed.Errorf(coopfed.EINVALID, "activity has no id")
	}
	// Why: an activity id names a resource on its author's server; one on
	// another host (or ours) would let the actor overwrite others' ids in
	// our duplicate detection.
	if !SameHost(act.ID, signer.Host) {
		return coopfed.Errorf(coopfed.EFORBIDDEN, "activity id %q is not on the actor's host", act.ID)
	}
	if len(act.Type) == 0 {
		return coopfed.Errorf(coopfed.EINVALID, "activity has no type")
	}
	return nil
}

// apply runs the activity's effects in one transaction with its duplicate
// record, so an activity is applied exactly once or not at all (a
// savepoint of a transaction shared with concurrent requests, commit.go).
func (f *Federation) apply(ctx context.Context, arr *arrival, coop *coopfed.Coop, signer *coopfed.RemoteActor, act *activity, raw []byte) error {
	h, ok := handlersByType[act.Type.Main()]
	if !ok {
		// Unknown types are accepted and ignored, as Mastodon does: an
		// error would make the sender retry for days.
		return nil
	}
	in := &incoming{f: f, act: act, raw: raw, signer: signer, coop: coop}
	// Checks that need no transaction: parse the object and check its
	// origin. Failures here answer 400/403 and store nothing.
	if err := h.check(ctx, in); err != nil {
		if errors.Is(err, errIgnore) {
			return nil
		}
		return err
	}
	enqueued := false
	// The write joins those of concurrent requests in one commit, and
	// returns once that commit is done: the 202 still follows it.
	err := f.commits.do(ctx, arr, func(tx *store.Tx) error {
		fresh, err := tx.MarkSeen(act.ID, in.version)
		if err != nil || !fresh {
			return err // a duplicate is accepted and ignored
		}
		in.tx = tx
		if err := h.apply(ctx, in); err != nil {
			return err
		}
		enqueued = tx.Enqueued()
		return nil
	})
	if errors.Is(err, errIgnore) {
		return nil
	}
	if err != nil {
		return err
	}
	if enqueued {
		f.delivery.wake()
	}
	for _, fn := range in.afterCommit {
		fn()
	}
	return nil
}
