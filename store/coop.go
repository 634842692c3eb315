package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coopfed/coopfed"
)

const coopColumns = `id, kind, name, display_name, summary, region, locked, public_key_pem, private_key_pem, payment_links, created_at`

func scanCoop(row interface{ Scan(...any) error }) (*coopfed.Coop, error) {
	var c coopfed.Coop
	var created int64
	var links string
	if err := row.Scan(&c.ID, &c.Kind, &c.Name, &c.DisplayName, &c.Summary, &c.Region, &c.Locked, &c.PublicKeyPEM, &c.PrivateKeyPEM, &links, &created); err != nil {
		return nil, err
	}
	if links != "" {
		if err := json.Unmarshal([]byte(links), &c.PaymentLinks); err != nil {
			return nil, fmt.Errorf("store: coop %s: payment links: %w", c.Name, err)
		}
	}
	c.CreatedAt = fromMS(created)
	return &c, nil
}

// CreateCoop stores a new coop, or a group's actor when c.Kind is
// KindGroup. It returns ECONFLICT if the name is taken by either: coops and
// groups share one namespace, that of the handles.
func (tx *Tx) CreateCoop(c *coopfed.Coop) error {
	if c.Kind == "" {
		c.Kind = coopfed.KindCoop
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.CreatedAt = tx.now
	err := tx.mayFail(func() error {
		return tx.tx.QueryRowContext(tx.ctx, `INSERT INTO coops (kind, name, display_name, summary, region, locked, public_key_pem, private_key_pem, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Kind, c.Name, c.DisplayName, c.Summary, c.Region, c.Locked, c.PublicKeyPEM, c.PrivateKeyPEM, ms(c.CreatedAt)).Scan(&c.ID)
	})
	if err != nil {
		if isUnique(err) {
			return coopfed.Errorf(coopfed.ECONFLICT, "the name %q is taken on this instance", c.Name)
		}
		return fmt.Errorf("store: create coop: %w", err)
	}
	tx.dirty = true
	return nil
}

// UpdateCoopProfile changes a coop's (or group's) display name, summary,
// region and locked flag.
func (tx *Tx) UpdateCoopProfile(c *coopfed.Coop) error {
	if err := c.Validate(); err != nil {
		return err
	}
	links := ""
	if len(c.PaymentLinks) > 0 {
		b, err := json.Marshal(c.PaymentLinks)
		if err != nil {
			return err
		}
		links = string(b)
	}
	_, err := tx.tx.ExecContext(tx.ctx, `UPDATE coops SET display_name = ?, summary = ?, region = ?, locked = ?, payment_links = ? WHERE id = ?`,
		c.DisplayName, c.Summary, c.Region, c.Locked, links, c.ID)
	tx.dirty = true
	return err
}

// LocalActorByName returns the coop or group with that name, or ENOTFOUND.
func (s *Store) LocalActorByName(ctx context.Context, name string) (*coopfed.Coop, error) {
	c, err := scanCoop(s.read.QueryRowContext(ctx, `SELECT `+coopColumns+` FROM coops WHERE name = ?`, name))
	if err != nil {
		return nil, notFound("account", err)
	}
	return c, nil
}

// CoopByName returns the coop with that name, or ENOTFOUND (also when the
// name is a group's).
func (s *Store) CoopByName(ctx context.Context, name string) (*coopfed.Coop, error) {
	if c, ok := s.cache.coop(name); ok {
		return &c, nil // a copy: callers may change theirs
	}
	gen := s.cache.generation()
	c, err := coopByName(ctx, s.read, name)
	if err != nil {
		return nil, err
	}
	s.cache.putCoop(*c, gen)
	return c, nil
}

// CoopByName returns the coop with that name, inside the transaction.
func (tx *Tx) CoopByName(name string) (*coopfed.Coop, error) {
	return coopByName(tx.ctx, tx.tx, name)
}

func coopByName(ctx context.Context, q querier, name string) (*coopfed.Coop, error) {
	c, err := scanCoop(q.QueryRowContext(ctx, `SELECT `+coopColumns+` FROM coops WHERE name = ? AND kind = 'coop'`, name))
	if err != nil {
		return nil, notFound("coop", err)
	}
	return c, nil
}

// CoopByID returns the coop (or group actor) with that id, or ENOTFOUND.
func (s *Store) CoopByID(ctx context.Context, id int64) (*coopfed.Coop, error) {
	c, err := scanCoop(s.read.QueryRowContext(ctx, `SELECT `+coopColumns+` FROM coops WHERE id = ?`, id))
	if err != nil {
		return nil, notFound("coop", err)
	}
	return c, nil
}

// Coops lists every coop of the instance by name (groups left out).
func (s *Store) Coops(ctx context.Context) ([]*coopfed.Coop, error) {
	return s.localActors(ctx, `SELECT `+coopColumns+` FROM coops WHERE kind = 'coop' ORDER BY name`)
}

// LocalActors lists every coop and group of the instance by name.
func (s *Store) LocalActors(ctx context.Context) ([]*coopfed.Coop, error) {
	return s.localActors(ctx, `SELECT `+coopColumns+` FROM coops ORDER BY name`)
}

func (s *Store) localActors(ctx context.Context, query string) ([]*coopfed.Coop, error) {
	rows, err := s.read.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: coops: %w", err)
	}
	defer rows.Close()
	var out []*coopfed.Coop
	for rows.Next() {
		c, err := scanCoop(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateToken makes a new API token with admin rights on the coop and
// returns it. Only its SHA-256 is stored, so a leaked database leaks no token.
func (tx *Tx) CreateToken(coopID int64, label string) (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(buf)
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO tokens (coop_id, token_hash, label, created_at) VALUES (?, ?, ?, ?)`, coopID, hashToken(token), label, ms(tx.now))
	if err != nil {
		return "", fmt.Errorf("store: create token: %w", err)
	}
	return token, nil
}

// CoopByToken returns the coop a bearer token grants admin rights on, or
// EUNAUTHORIZED.
func (s *Store) CoopByToken(ctx context.Context, token string) (*coopfed.Coop, error) {
	c, err := scanCoop(s.read.QueryRowContext(ctx, `SELECT `+prefixed("c.", coopColumns)+` FROM tokens t JOIN coops c ON c.id = t.coop_id WHERE t.token_hash = ?`, hashToken(token)))
	if err == sql.ErrNoRows {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "unknown token")
	} else if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	return c, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// Setting returns a stored instance setting, or ENOTFOUND.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	if err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", notFound("setting "+key, err)
	}
	return v, nil
}

// Setting returns a stored instance setting inside the transaction.
func (tx *Tx) Setting(key string) (string, error) {
	var v string
	if err := tx.tx.QueryRowContext(tx.ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", notFound("setting "+key, err)
	}
	return v, nil
}

// PutSetting stores an instance setting.
func (tx *Tx) PutSetting(key, value string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
