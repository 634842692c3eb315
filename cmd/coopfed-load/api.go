package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coopfed/coopfed/federation/httpsign"
)

// newClient returns the tool's HTTP client: loopback only, no proxy,
// enough idle connections per host for conns requests in flight.
func newClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         loopbackDialer().DialContext,
			MaxIdleConns:        2*conns + 64,
			MaxIdleConnsPerHost: conns + 16,
			IdleConnTimeout:     90 * time.Second,
		},
		Timeout: 60 * time.Second,
		// Why: a redirect would leave the server under test.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// api calls the coopfed JSON API of one coop with its bearer token.
type api struct {
	t  *target
	hc *http.Client
}

// call sends a JSON request and decodes a 2xx answer into out (when not
// nil); any other status is an error carrying the body.
func (a *api) call(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.t.URL+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.t.Token)
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data[:min(len(data), 300)]))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding answer: %v", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (a *api) coopPath(rest string) string {
	return "/api/v1/coops/" + url.PathEscape(a.t.Coop) + rest
}

// followItem is one entry of the followers or following list.
type followItem struct {
	Actor string `json:"actor"`
	State string `json:"state"`
}

// listFollows pages through /followers or /following (which) filtered by
// state ("" for all). At most maxPages pages are read.
func (a *api) listFollows(ctx context.Context, which, state string, maxPages int) ([]followItem, error) {
	var all []followItem
	cursor := ""
	for range maxPages {
		q := url.Values{"limit": {"200"}}
		if state != "" {
			q.Set("state", state)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items      []followItem `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		if _, err := a.call(ctx, http.MethodGet, a.coopPath("/"+which+"?"+q.Encode()), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return all, nil
		}
		cursor = page.NextCursor
	}
	return all, fmt.Errorf("%s list longer than %d pages", which, maxPages)
}

// timelineItem is one entry of the coop's timeline.
type timelineItem struct {
	ID       string `json:"id"`
	Activity string `json:"activity"`
}

// timeline pages through the whole timeline, newest first; at most
// maxPages pages of 200.
func (a *api) timeline(ctx context.Context, maxPages int) ([]timelineItem, error) {
	var all []timelineItem
	cursor := ""
	for range maxPages {
		q := url.Values{"limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items      []timelineItem `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		if _, err := a.call(ctx, http.MethodGet, a.coopPath("/timeline?"+q.Encode()), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return all, nil
		}
		if _, err := strconv.ParseInt(page.NextCursor, 10, 64); err != nil {
			return nil, fmt.Errorf("timeline: unexpected cursor %q", page.NextCursor)
		}
		cursor = page.NextCursor
	}
	return all, fmt.Errorf("timeline longer than %d pages", maxPages)
}

// coopDoc is what the tool needs of the coop's actor document.
type coopDoc struct {
	ID          string
	Inbox       string
	SharedInbox string
	KeyID       string
	Key         *rsa.PublicKey
}

// fetchCoop reads the coop's ActivityPub actor (served unsigned).
func fetchCoop(ctx context.Context, hc *http.Client, t *target) (*coopDoc, error) {
	iri := t.URL + "/coops/" + url.PathEscape(t.Coop)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, iri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/activity+json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", iri, resp.StatusCode)
	}
	var doc struct {
		ID        string `json:"id"`
		Inbox     string `json:"inbox"`
		Endpoints struct {
			SharedInbox string `json:"sharedInbox"`
		} `json:"endpoints"`
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET %s: %v", iri, err)
	}
	if doc.ID == "" || doc.Inbox == "" || doc.PublicKey.PublicKeyPem == "" {
		return nil, fmt.Errorf("GET %s: actor without id, inbox or key", iri)
	}
	pub, err := httpsign.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
	if err != nil {
		return nil, fmt.Errorf("coop key: %v", err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("coop key is not RSA")
	}
	// Everything the tool will POST to must be on the server it measures.
	for _, u := range []string{doc.Inbox, doc.Endpoints.SharedInbox} {
		if u != "" && !sameOrigin(u, t.URL) {
			return nil, fmt.Errorf("coop inbox %s is not on %s: start the server with --url equal to its address", u, t.URL)
		}
	}
	return &coopDoc{ID: doc.ID, Inbox: doc.Inbox, SharedInbox: doc.Endpoints.SharedInbox, KeyID: doc.PublicKey.ID, Key: rk}, nil
}

// sameOrigin reports whether u is on the scheme and host of base.
func sameOrigin(u, base string) bool {
	a, err1 := url.Parse(u)
	b, err2 := url.Parse(base)
	return err1 == nil && err2 == nil && a.Scheme == b.Scheme && a.Host == b.Host
}
