package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coopfed/coopfed"
	"golang.org/x/crypto/bcrypt"
)

// Password bounds. bcrypt reads at most 72 bytes; a longer password would
// be silently cut, so it is refused instead.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
)

// passwordCost is bcrypt's work factor for new hashes.
const passwordCost = 12

// dummyHash is compared against when the username is unknown, so a login
// takes as long for an unknown member as for a wrong password and the
// timing does not reveal who exists.
// It is made on first use, not at start-up.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("coopfed dummy password"), passwordCost)
	return h
})

// Session is a member's login to the web interface.
type Session struct {
	ID        string // SHA-256 of the cookie token
	Member    *coopfed.Member
	Coop      *coopfed.Coop
	CSRF      string // the secret every form of the session must carry
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ValidatePassword checks a new password's length.
func ValidatePassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return coopfed.FieldErrors(map[string]string{"password": fmt.Sprintf("at least %d characters", MinPasswordLength)})
	case len(password) > MaxPasswordBytes:
		return coopfed.FieldErrors(map[string]string{"password": fmt.Sprintf("at most %d bytes", MaxPasswordBytes)})
	}
	return nil
}

// NewPassword returns a random password of 20 characters for a member who
// is given one (the first admin, a reset from the command line).
func NewPassword() string {
	buf := make([]byte, 15)
	rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// SetPassword sets a current member's password and ends the member's
// sessions, so a changed password logs out every browser.
func (tx *Tx) SetPassword(coopID int64, username, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	m, err := member(tx.ctx, tx.tx, coopID, username)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return fmt.Errorf("store: hash password: %w", err)
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `UPDATE members SET password_hash = ? WHERE id = ?`, string(hash), m.ID); err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	_, err = tx.tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE member_id = ?`, m.ID)
	return err
}

// CheckPassword returns the current member of a coop with this username
// and password, or EUNAUTHORIZED: the same error whether the member is
// unknown, has no password or gave a wrong one.
func (s *Store) CheckPassword(ctx context.Context, coopID int64, username, password string) (*coopfed.Member, error) {
	var hash string
	m, err := scanMemberHash(s.read.QueryRowContext(ctx, `SELECT `+memberColumns+`, password_hash FROM members WHERE coop_id = ? AND username = ? AND removed_at IS NULL`, coopID, username), &hash)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("store: check password: %w", err)
	}
	refused := coopfed.Errorf(coopfed.EUNAUTHORIZED, "wrong username or password")
	if m == nil || hash == "" || len(password) > MaxPasswordBytes {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return nil, refused
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, refused
	}
	return m, nil
}

func scanMemberHash(row *sql.Row, hash *string) (*coopfed.Member, error) {
	var m coopfed.Member
	var created int64
	if err := row.Scan(&m.ID, &m.CoopID, &m.Username, &m.Role, &created, &m.Class, &m.Kind, hash); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMS(created)
	return &m, nil
}

// randomToken returns 32 random bytes, base64url encoded.
func randomToken() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// CreateSession starts a session of a member lasting ttl and returns the
// token for the cookie; only its hash is stored. Expired sessions are
// swept on the way.
func (tx *Tx) CreateSession(m *coopfed.Member, ttl time.Duration) (string, *Session, error) {
	token, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	sess := &Session{ID: hashToken(token), Member: m, CSRF: csrf, CreatedAt: tx.now, ExpiresAt: tx.now.Add(ttl)}
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(tx.now)); err != nil {
		return "", nil, fmt.Errorf("store: sweep sessions: %w", err)
	}
	_, err = tx.tx.ExecContext(tx.ctx, `INSERT INTO sessions (id, member_id, coop_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sess.ID, m.ID, m.CoopID, csrf, ms(sess.CreatedAt), ms(sess.ExpiresAt))
	if err != nil {
		return "", nil, fmt.Errorf("store: create session: %w", err)
	}
	return token, sess, nil
}

// SessionByToken returns the live session of a cookie token with its
// member and coop, or EUNAUTHORIZED when it is unknown, expired or its
// member was removed.
func (s *Store) SessionByToken(ctx context.Context, token string) (*Session, error) {
	var sess Session
	var memberID, coopID, created, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT s.id, s.member_id, s.coop_id, s.csrf, s.created_at, s.expires_at FROM sessions s
		JOIN members m ON m.id = s.member_id WHERE s.id = ? AND s.expires_at > ? AND m.removed_at IS NULL`, hashToken(token), ms(s.now())).
		Scan(&sess.ID, &memberID, &coopID, &sess.CSRF, &created, &expires)
	if err == sql.ErrNoRows {
		return nil, coopfed.Errorf(coopfed.EUNAUTHORIZED, "not logged in")
	} else if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	if sess.Coop, err = s.CoopByID(ctx, coopID); err != nil {
		return nil, err
	}
	m, err := scanMember(s.read.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE id = ?`, memberID))
	if err != nil {
		return nil, notFound("member", err)
	}
	sess.Member = m
	return &sess, nil
}

// DeleteSession ends the session of a cookie token (logout); an unknown
// token is not an error.
func (tx *Tx) DeleteSession(token string) error {
	_, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE id = ?`, hashToken(token))
	return err
}
