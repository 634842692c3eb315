package federation

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation/httpsign"
	"github.com/coopfed/coopfed/federation/sanitize"
	"github.com/coopfed/coopfed/federation/transport"
)

// acceptActivity is the Accept header of every fetch: both media types
// peers serve ActivityPub under.
const acceptActivity = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// ErrGone is returned when a remote object answers 410.
var ErrGone = coopfed.Errorf(coopfed.EGONE, "the remote object is gone")

// fetchCall is one in-flight fetch that concurrent callers share.
type fetchCall struct {
	done  chan struct{}
	actor *coopfed.RemoteActor
	err   error
}

// FetchJSON fetches a remote document with a GET signed by the instance
// actor (GoToSocial and Mastodon in secure mode refuse unsigned fetches).
// The URL is checked first; blocked domains are never contacted. The body is
// limited to 1 MiB. It returns the body and the final URL after redirects.
func (f *Federation) FetchJSON(ctx context.Context, iri string) ([]byte, string, error) {
	u, err := transport.CheckURL(iri, f.allowPrivate)
	if err != nil {
		return nil, "", coopfed.Errorf(coopfed.EINVALID, "cannot fetch %s: %v", iri, err)
	}
	if blocked, err := f.store.DomainBlocked(ctx, u.Host); err != nil {
		return nil, "", err
	} else if blocked {
		return nil, "", coopfed.Errorf(coopfed.EFORBIDDEN, "domain %s is blocked", u.Hostname())
	}
	u.Fragment = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", acceptActivity)
	signer, err := httpsign.NewSigner(f.iris.InstanceKey(), f.instanceKey)
	if err != nil {
		return nil, "", err
	}
	if err := signer.SignGet(req, f.now()); err != nil {
		return nil, "", err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.metrics.RemoteFetch("error")
		return nil, "", f.unreachable(u.Host, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusGone:
		f.metrics.RemoteFetch("gone")
		return nil, "", ErrGone
	case resp.StatusCode == http.StatusNotFound:
		f.metrics.RemoteFetch("not_found")
		return nil, "", coopfed.Errorf(coopfed.ENOTFOUND, "%s: not found", u)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		f.metrics.RemoteFetch("error")
		return nil, "", coopfed.Errorf(coopfed.EUNAVAILABLE, "fetching %s: status %d", u, resp.StatusCode)
	}
	// Why: Mastodon's rule (valid_activitypub_content_type?). A host that
	// lets its users upload files serves them as text/html, text/plain or
	// application/json from its own origin; without this check such a file
	// would pass every origin check and be taken for an actor, key or post.
	if ct := resp.Header.Get("Content-Type"); !isFetchedActivityMediaType(ct) {
		f.metrics.RemoteFetch("error")
		if ct == "" {
			ct = "none"
		}
		return nil, "", coopfed.Errorf(coopfed.EUNAVAILABLE, "%s is not an ActivityPub document (content type %q)", u, ct)
	}
	body, err := transport.ReadBody(resp.Body, transport.DefaultMaxBody)
	if err != nil {
		f.metrics.RemoteFetch("error")
		return nil, "", f.unreachable(u.Host, err)
	}
	f.metrics.RemoteFetch("ok")
	return body, resp.Request.URL.String(), nil
}

// isFetchedActivityMediaType reports whether a fetched response's
// Content-Type names an ActivityPub document: application/activity+json
// (any parameters), or application/ld+json whose profile parameter, a
// space-separated list, contains the ActivityStreams context. Type and
// parameter names are compared case-insensitively and the profile may be
// quoted or not, as RFC 9110 allows. Unlike inbox POSTs, ld+json without a
// profile is refused: it is what Mastodon refuses too, and any JSON-LD
// document (a schema.org page, say) would otherwise pass.
func isFetchedActivityMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		// Why: peers write the profile unquoted
		// (profile=https://www.w3.org/ns/activitystreams), which RFC 9110
		// forbids ("/" and ":" are not token characters) but Mastodon
		// accepts; read such a header parameter by parameter instead.
		mt, params = looseMediaType(ct)
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		return slices.Contains(strings.Fields(params["profile"]), ContextActivityStreams)
	}
	return false
}

// looseMediaType splits a Content-Type at its semicolons into a lower-case
// media type and parameters whose names are lower-cased and whose values
// lose their surrounding quotes.
func looseMediaType(ct string) (string, map[string]string) {
	parts := strings.Split(ct, ";")
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return strings.ToLower(strings.TrimSpace(parts[0])), params
}

// FetchActor fetches a remote actor, checks it and refreshes the cache.
// Concurrent fetches of one IRI share a single request.
func (f *Federation) FetchActor(ctx context.Context, iri string) (*coopfed.RemoteActor, error) {
	iri = stripFragment(iri)
	f.fetchMu.Lock()
	if call, ok := f.fetches[iri]; ok {
		f.fetchMu.Unlock()
		select {
		case <-call.done:
			return call.actor, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	call := &fetchCall{done: make(chan struct{})}
	f.fetches[iri] = call
	f.fetchMu.Unlock()

	call.actor, call.err = f.fetchActor(ctx, iri)
	f.fetchMu.Lock()
	delete(f.fetches, iri)
	f.fetchMu.Unlock()
	close(call.done)
	return call.actor, call.err
}

func (f *Federation) fetchActor(ctx context.Context, iri string) (*coopfed.RemoteActor, error) {
	a, err := f.fetchActorDocument(ctx, iri)
	if err != nil {
		return nil, err
	}
	if err := f.store.PutRemoteActor(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// fetchActorDocument fetches and checks a remote actor without caching it.
func (f *Federation) fetchActorDocument(ctx context.Context, iri string) (*coopfed.RemoteActor, error) {
	if f.iris.IsLocal(iri) {
		return nil, coopfed.Errorf(coopfed.EINVALID, "%s is a local IRI", iri)
	}
	body, final, err := f.FetchJSON(ctx, iri)
	if err != nil {
		return nil, err
	}
	var doc actorDoc
	if err := decodeJSON(body, &doc); err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "actor %s: %v", iri, err)
	}
	return f.checkActor(&doc, iri, final)
}

// checkActor validates a fetched actor document and converts it.
func (f *Federation) checkActor(doc *actorDoc, requested, final string) (*coopfed.RemoteActor, error) {
	// Why: a document is authoritative only for its own id. If the id is
	// not the URL we asked for, it must at least be the URL we ended on
	// after redirects, on the same host; otherwise any server could serve
	// a forged actor for another host.
	if doc.ID != requested && doc.ID != final {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "actor id %q does not match its URL %q", doc.ID, requested)
	}
	if !SameHost(doc.ID, HostOf(final)) {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "actor %q served from another host", doc.ID)
	}
	if f.iris.IsLocal(doc.ID) {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "remote actor claims a local id")
	}
	if !doc.isActor() {
		return nil, coopfed.Errorf(coopfed.EINVALID, "%s is a %s, not an actor", doc.ID, doc.Type.Main())
	}
	if doc.Inbox == "" {
		return nil, coopfed.Errorf(coopfed.EINVALID, "actor %s has no inbox", doc.ID)
	}
	host := HostOf(doc.ID)
	a := &coopfed.RemoteActor{
		IRI:               doc.ID,
		Type:              doc.Type.Main(),
		PreferredUsername: doc.PreferredUsername,
		Host:              host,
		Name:              sanitize.PlainText(string(doc.Name)),
		Summary:           sanitize.HTML(string(doc.Summary)),
		URL:               webURL(doc.URL.First()),
		Inbox:             doc.Inbox,
		SharedInbox:       doc.Endpoints.SharedInbox,
		Outbox:            doc.Outbox,
		Followers:         doc.Followers,
		Region:            truncateRunes(strings.TrimSpace(sanitize.PlainText(sanitize.HTML(doc.region()))), coopfed.MaxRegion),
		PaymentLinks:      remotePaymentLinks(doc.Attachment, f.allowPrivate),
	}
	// Why: inboxes are where we POST signed activities; one on another
	// host would let an actor direct our traffic anywhere. Mastodon allows
	// the shared inbox on the same host only too.
	if !SameHost(a.Inbox, host) {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "actor inbox on another host")
	}
	if a.SharedInbox != "" && !SameHost(a.SharedInbox, host) {
		a.SharedInbox = ""
	}
	if k, ok := doc.key(""); ok {
		// Why: a key is trusted only if its owner is this actor.
		if k.Owner != "" && k.Owner != doc.ID {
			return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "key %s is not owned by %s", k.ID, doc.ID)
		}
		if !SameHost(k.ID, host) {
			return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "key %s on another host", k.ID)
		}
		if _, err := httpsign.ParsePublicKeyPEM(k.PublicKeyPem); err != nil {
			return nil, coopfed.Errorf(coopfed.EINVALID, "actor %s: %v", doc.ID, err)
		}
		a.PublicKeyID, a.PublicKeyPEM = k.ID, k.PublicKeyPem
	}
	return a, nil
}

// Actor returns a remote actor from the cache, fetching it when missing or
// stale. A stale copy is returned if the refetch fails.
func (f *Federation) Actor(ctx context.Context, iri string) (*coopfed.RemoteActor, error) {
	a, err := f.store.RemoteActor(ctx, iri)
	if err == nil && f.now().Sub(a.FetchedAt) < f.actorTTL {
		return a, nil
	}
	fresh, ferr := f.FetchActor(ctx, iri)
	if ferr != nil {
		if err == nil {
			return a, nil
		}
		return nil, ferr
	}
	return fresh, nil
}

// ResolveKey returns the actor owning keyID, from the cache or by fetching
// it. With refresh set the cache is bypassed (the key may have rotated).
func (f *Federation) ResolveKey(ctx context.Context, keyID string, refresh bool) (*coopfed.RemoteActor, error) {
	if !refresh {
		if a, err := f.store.RemoteActorByKeyID(ctx, keyID); err == nil {
			return a, nil
		} else if coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
			return nil, err
		}
	}
	keyURL := stripFragment(keyID)
	// The key id is usually the actor IRI with a fragment (Mastodon); or a
	// separate document that names its owner (GoToSocial's .../main-key).
	if a, err := f.store.RemoteActor(ctx, keyURL); err == nil && !refresh && a.PublicKeyID == keyID {
		return a, nil
	}
	body, final, err := f.FetchJSON(ctx, keyURL)
	if err != nil {
		return nil, err
	}
	var doc actorDoc
	if err := decodeJSON(body, &doc); err != nil {
		return nil, coopfed.Errorf(coopfed.EINVALID, "key %s: %v", keyID, err)
	}
	var a *coopfed.RemoteActor
	if doc.isActor() && (doc.ID == keyURL || doc.ID == final) {
		// Mastodon: the key id is the actor's IRI plus a fragment, so
		// the document is the actor itself.
		if a, err = f.checkActor(&doc, keyURL, final); err != nil {
			return nil, err
		}
		if err := f.store.PutRemoteActor(ctx, a); err != nil {
			return nil, err
		}
	} else {
		// A key document (id, owner, publicKeyPem), or GoToSocial's
		// stub at .../main-key: a Person holding only the key, whose id
		// is its owner's rather than the URL fetched. Either way it is
		// only a pointer to the owner.
		owner := doc.Owner
		if k, ok := doc.key(keyID); owner == "" && ok {
			owner = k.Owner
		}
		if owner == "" && len(doc.PublicKey) > 0 {
			owner = doc.PublicKey[0].Owner
		}
		// Why: a key document only names its owner; the owner's own
		// document must list the same key, on the same host.
		if owner == "" || !SameHost(owner, HostOf(keyURL)) {
			return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "key %s has no owner on its host", keyID)
		}
		if a, err = f.FetchActor(ctx, owner); err != nil {
			return nil, err
		}
	}
	if a.PublicKeyID != keyID {
		return nil, coopfed.Errorf(coopfed.EFORBIDDEN, "actor %s does not hold key %s", a.IRI, keyID)
	}
	return a, nil
}

// LookupHandle resolves "user@host" (an optional leading @ or acct: is
// allowed) to an actor IRI with WebFinger, then fetches the actor.
func (f *Federation) LookupHandle(ctx context.Context, handle string) (*coopfed.RemoteActor, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(handle), "acct:"), "@")
	user, host, ok := strings.Cut(h, "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(host, "/?#@ ") {
		return nil, coopfed.FieldErrors(map[string]string{"handle": "write it as name@host"})
	}
	host = strings.ToLower(host)
	if a, err := f.store.RemoteActorByHandle(ctx, user, host); err == nil && f.now().Sub(a.FetchedAt) < f.actorTTL {
		return a, nil
	}
	iri, _, err := f.webfinger(ctx, user, host)
	if err != nil {
		return nil, err
	}
	if f.iris.IsLocal(iri) {
		return nil, coopfed.Errorf(coopfed.EINVALID, "%s is a coop of this instance", handle)
	}
	if !SameHost(iri, host) {
		return f.fetchDelegatedActor(ctx, user, host, iri)
	}
	return f.FetchActor(ctx, iri)
}

// fetchDelegatedActor fetches an actor that the WebFinger of user@host
// places on another host, and keeps it only when that host confirms the
// handle. Why: a server answers WebFinger for its own domain, so any server
// could name another server's actor as one of its handles; Mastodon's
// account resolution refuses an answer that does not loop back. A real
// delegation (a Mastodon with LOCAL_DOMAIN example.com and WEB_DOMAIN
// social.example.com) passes: the actor's host, asked for
// preferredUsername@its-host, links back to the same actor and gives
// acct:user@host as the subject.
func (f *Federation) fetchDelegatedActor(ctx context.Context, user, host, iri string) (*coopfed.RemoteActor, error) {
	a, err := f.fetchActorDocument(ctx, iri)
	if err != nil {
		return nil, err
	}
	refused := coopfed.Errorf(coopfed.EFORBIDDEN, "%s@%s names an actor on %s, which does not confirm that handle", user, host, HostOf(a.IRI))
	if a.PreferredUsername == "" {
		return nil, refused
	}
	back, subject, err := f.webfinger(ctx, a.PreferredUsername, HostOf(a.IRI))
	if err != nil || back != a.IRI || !strings.EqualFold(strings.TrimPrefix(subject, "acct:"), user+"@"+host) {
		return nil, refused
	}
	if err := f.store.PutRemoteActor(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// webfinger resolves acct:user@host to the actor IRI its self link names,
// with the subject of the answer.
func (f *Federation) webfinger(ctx context.Context, user, host string) (string, string, error) {
	schemes := []string{"https"}
	if f.allowPrivate {
		// Local development and tests run peers over plain http.
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		q := url.Values{"resource": {"acct:" + user + "@" + host}}
		target := scheme + "://" + host + RouteWebFinger + "?" + q.Encode()
		iri, subject, err := f.webfingerAt(ctx, target)
		if err == nil {
			return iri, subject, nil
		}
		lastErr = err
	}
	return "", "", lastErr
}

// webfingerAt asks a WebFinger URL and returns the self link's actor IRI
// and the subject of the answer.
func (f *Federation) webfingerAt(ctx context.Context, target string) (string, string, error) {
	u, err := transport.CheckURL(target, f.allowPrivate)
	if err != nil {
		return "", "", coopfed.Errorf(coopfed.EINVALID, "webfinger: %v", err)
	}
	if blocked, _ := f.store.DomainBlocked(ctx, u.Host); blocked {
		return "", "", coopfed.Errorf(coopfed.EFORBIDDEN, "domain %s is blocked", u.Hostname())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", "", f.unreachable(u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", "", coopfed.Errorf(coopfed.ENOTFOUND, "no account %s", u.Query().Get("resource"))
	} else if resp.StatusCode != http.StatusOK {
		return "", "", coopfed.Errorf(coopfed.EUNAVAILABLE, "webfinger %s: status %d", u.Host, resp.StatusCode)
	}
	body, err := transport.ReadBody(resp.Body, 256<<10)
	if err != nil {
		return "", "", f.unreachable(u.Host, err)
	}
	var jrd struct {
		Subject string `json:"subject"`
		Links   []struct {
			Rel  string `json:"rel"`
			Type string `json:"type"`
			Href string `json:"href"`
		} `json:"links"`
	}
	if err := decodeJSON(body, &jrd); err != nil {
		return "", "", coopfed.Errorf(coopfed.EUNAVAILABLE, "webfinger %s: the answer is not JSON", u.Host)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && (l.Type == "application/activity+json" || strings.HasPrefix(l.Type, "application/ld+json")) && l.Href != "" {
			return l.Href, jrd.Subject, nil
		}
	}
	return "", "", coopfed.Errorf(coopfed.ENOTFOUND, "webfinger %s: no ActivityPub actor", u.Host)
}

var errNoKey = errors.New("federation: no usable key")

func (f *Federation) publicKey(a *coopfed.RemoteActor) (any, error) {
	if a.PublicKeyPEM == "" {
		return nil, errNoKey
	}
	k, err := httpsign.ParsePublicKeyPEM(a.PublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("federation: key of %s: %w", a.IRI, err)
	}
	return k, nil
}

// unreachable is the error for a remote server that could not be read. The
// cause (DNS resolver, addresses, refusals) goes to the log only: it can
// describe our network, which is not the client's business.
func (f *Federation) unreachable(host string, cause error) error {
	f.log.Info("remote server unreachable", "host", host, "err", cause)
	return coopfed.Errorf(coopfed.EUNAVAILABLE, "could not reach %s", host)
}

// webURL keeps an actor's profile URL only when it is http(s): we put it
// in links (outcome notes, pages), where a javascript: URL would run.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}
