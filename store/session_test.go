package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

func TestPasswordsAndSessions(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	ctx := context.Background()
	c := newGovernanceCoop(t, s)
	ana := addMember(t, s, c, "ana")
	addMember(t, s, c, "bo") // no password: cannot log in

	for _, tc := range []struct{ name, pw, field string }{
		{"too short", "short", "password"},
		{"too long for bcrypt", strings.Repeat("x", 73), "password"},
	} {
		err := s.Update(ctx, func(tx *Tx) error { return tx.SetPassword(c.ID, "ana", tc.pw) })
		if e, ok := err.(*coopfed.Error); !ok || e.Fields[tc.field] == "" {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.SetPassword(c.ID, "zed", "long enough password") }); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Fatalf("password of an unknown member: %v", err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.SetPassword(c.ID, "ana", "long enough password") }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, pw string }{{"ana", "wrong password!"}, {"bo", "long enough password"}, {"zed", "long enough password"}} {
		if _, err := s.CheckPassword(ctx, c.ID, tc.user, tc.pw); coopfed.ErrorCode(err) != coopfed.EUNAUTHORIZED {
			t.Errorf("%s: %v", tc.user, err)
		}
	}
	m, err := s.CheckPassword(ctx, c.ID, "ana", "long enough password")
	if err != nil || m.ID != ana.ID {
		t.Fatalf("right password: %v", err)
	}

	var token string
	var sess *Session
	if err := s.Update(ctx, func(tx *Tx) error { token, sess, err = tx.CreateSession(m, time.Hour); return err }); err != nil {
		t.Fatal(err)
	}
	if sess.ID == token || len(sess.CSRF) < 40 {
		t.Fatalf("session %+v", sess)
	}
	got, err := s.SessionByToken(ctx, token)
	if err != nil || got.Member.Username != "ana" || got.Coop.Name != "bakery" || got.CSRF != sess.CSRF {
		t.Fatalf("session by token: %+v %v", got, err)
	}
	if _, err := s.SessionByToken(ctx, sess.ID); coopfed.ErrorCode(err) != coopfed.EUNAUTHORIZED {
		t.Fatal("the stored hash works as a token")
	}
	clock.Add(2 * time.Hour)
	if _, err := s.SessionByToken(ctx, token); coopfed.ErrorCode(err) != coopfed.EUNAUTHORIZED {
		t.Fatalf("expired session: %v", err)
	}

	// A new password ends every session; so does removal; so does logout.
	newSession := func() string {
		var tok string
		if err := s.Update(ctx, func(tx *Tx) error { tok, _, err = tx.CreateSession(m, time.Hour); return err }); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, end := range []struct {
		name string
		fn   func(tx *Tx, tok string) error
	}{
		{"logout", func(tx *Tx, tok string) error { return tx.DeleteSession(tok) }},
		{"new password", func(tx *Tx, tok string) error { return tx.SetPassword(c.ID, "ana", "another long password") }},
		{"removal", func(tx *Tx, tok string) error { return tx.RemoveMember(c.ID, "ana") }},
	} {
		tok := newSession()
		if err := s.Update(ctx, func(tx *Tx) error { return end.fn(tx, tok) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByToken(ctx, tok); coopfed.ErrorCode(err) != coopfed.EUNAUTHORIZED {
			t.Errorf("%s: session still live: %v", end.name, err)
		}
	}
}
