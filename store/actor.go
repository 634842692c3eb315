package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/coopfed/coopfed"
)

const actorColumns = `iri, type, preferred_username, host, name, summary, url, inbox, shared_inbox, outbox, followers, public_key_id, public_key_pem, fetched_at, region`

func scanActor(row interface{ Scan(...any) error }) (*coopfed.RemoteActor, error) {
	var a coopfed.RemoteActor
	var fetched int64
	if err := row.Scan(&a.IRI, &a.Type, &a.PreferredUsername, &a.Host, &a.Name, &a.Summary, &a.URL, &a.Inbox, &a.SharedInbox, &a.Outbox, &a.Followers, &a.PublicKeyID, &a.PublicKeyPEM, &fetched, &a.Region); err != nil {
		return nil, err
	}
	a.FetchedAt = fromMS(fetched)
	return &a, nil
}

// PutRemoteActor inserts or refreshes the cached copy of a remote actor.
func (s *Store) PutRemoteActor(ctx context.Context, a *coopfed.RemoteActor) error {
	return s.Update(ctx, func(tx *Tx) error { return tx.PutRemoteActor(a) })
}

// PutRemoteActor inserts or refreshes a remote actor inside the transaction.
func (tx *Tx) PutRemoteActor(a *coopfed.RemoteActor) error {
	if a.FetchedAt.IsZero() {
		a.FetchedAt = tx.now
	}
	links := ""
	if len(a.PaymentLinks) > 0 {
		b, err := json.Marshal(a.PaymentLinks)
		if err != nil {
			return err
		}
		links = string(b)
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO remote_actors (`+actorColumns+`, payment_links) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(iri) DO UPDATE SET type = excluded.type, preferred_username = excluded.preferred_username, host = excluded.host,
		name = excluded.name, summary = excluded.summary, url = excluded.url, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
		outbox = excluded.outbox, followers = excluded.followers, public_key_id = excluded.public_key_id,
		public_key_pem = excluded.public_key_pem, fetched_at = excluded.fetched_at, region = excluded.region,
		payment_links = excluded.payment_links`,
		a.IRI, a.Type, a.PreferredUsername, a.Host, a.Name, a.Summary, a.URL, a.Inbox, a.SharedInbox, a.Outbox, a.Followers, a.PublicKeyID, a.PublicKeyPEM, ms(a.FetchedAt), a.Region, links)
	if err != nil {
		return fmt.Errorf("store: put actor: %w", err)
	}
	return nil
}

// RemoteActor returns the cached actor with that id, or ENOTFOUND.
func (s *Store) RemoteActor(ctx context.Context, iri string) (*coopfed.RemoteActor, error) {
	return remoteActor(ctx, s.read, iri)
}

// RemoteActor returns a cached actor inside the transaction.
func (tx *Tx) RemoteActor(iri string) (*coopfed.RemoteActor, error) {
	return remoteActor(tx.ctx, tx.tx, iri)
}

func remoteActor(ctx context.Context, q querier, iri string) (*coopfed.RemoteActor, error) {
	var links string
	a, err := scanActor(withExtra(q.QueryRowContext(ctx, `SELECT `+actorColumns+`, payment_links FROM remote_actors WHERE iri = ?`, iri), &links))
	if err != nil {
		return nil, notFound("actor", err)
	}
	if links != "" {
		if err := json.Unmarshal([]byte(links), &a.PaymentLinks); err != nil {
			return nil, fmt.Errorf("store: actor %s: payment links: %w", a.IRI, err)
		}
	}
	return a, nil
}

// extraScanner scans a row's last columns into extra after those the
// wrapped scan asks for.
type extraScanner struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (e extraScanner) Scan(dest ...any) error { return e.row.Scan(append(dest, e.extra...)...) }

func withExtra(row interface{ Scan(...any) error }, extra ...any) extraScanner {
	return extraScanner{row: row, extra: extra}
}

// RemoteActorByKeyID returns the cached actor owning the key, or ENOTFOUND.
func (s *Store) RemoteActorByKeyID(ctx context.Context, keyID string) (*coopfed.RemoteActor, error) {
	a, err := scanActor(s.read.QueryRowContext(ctx, `SELECT `+actorColumns+` FROM remote_actors WHERE public_key_id = ? ORDER BY fetched_at DESC LIMIT 1`, keyID))
	if err != nil {
		return nil, notFound("actor", err)
	}
	return a, nil
}

// RemoteActorByHandle returns the cached actor user@host, or ENOTFOUND.
func (s *Store) RemoteActorByHandle(ctx context.Context, user, host string) (*coopfed.RemoteActor, error) {
	a, err := scanActor(s.read.QueryRowContext(ctx, `SELECT `+actorColumns+` FROM remote_actors WHERE preferred_username = ? AND host = ? ORDER BY fetched_at DESC LIMIT 1`, user, host))
	if err != nil {
		return nil, notFound("actor", err)
	}
	return a, nil
}
