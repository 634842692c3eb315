package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/store"
)

// member passwd prints a new password once; it logs in, and an unknown
// member is an error.
func TestMemberPasswd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "coopfed.db")
	runOK(t, "coop", "create", "bakery", "--db", db)
	runOK(t, "member", "add", "ana", "--coop", "bakery", "--db", db)
	out := runOK(t, "member", "passwd", "ana", "--coop", "bakery", "--db", db)
	i := strings.LastIndex(out, ": ")
	if i < 0 {
		t.Fatalf("no password printed: %q", out)
	}
	password := strings.TrimSpace(out[i+2:])
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.CoopByName(context.Background(), "bakery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckPassword(context.Background(), c.ID, "ana", password); err != nil {
		t.Fatalf("printed password does not log in: %v", err)
	}
	if err := run(context.Background(), []string{"member", "passwd", "zed", "--coop", "bakery", "--db", db}, &strings.Builder{}, &strings.Builder{}); err == nil {
		t.Fatal("passwd of an unknown member succeeded")
	}
}
