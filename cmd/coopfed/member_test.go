package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestMemberCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "coopfed.db")
	runOK(t, "coop", "create", "bakery", "--db", db)
	runOK(t, "member", "add", "ana", "--coop", "bakery", "--db", db, "--role", "admin", "--actor", "https://social.example/users/ana")
	runOK(t, "member", "add", "bo", "--coop", "bakery", "--db", db)
	if out := runOK(t, "member", "list", "--coop", "bakery", "--db", db); out != "ana\tadmin\thttps://social.example/users/ana\nbo\tmember\t\n" {
		t.Fatalf("list:\n%q", out)
	}
	runOK(t, "member", "remove", "bo", "--coop", "bakery", "--db", db)
	if out := runOK(t, "member", "list", "--coop", "bakery", "--db", db); strings.Contains(out, "bo\t") {
		t.Fatalf("removed member listed:\n%s", out)
	}
	for _, args := range [][]string{
		{"member", "add", "ana", "--coop", "bakery", "--db", db},                   // taken
		{"member", "add", "cy", "--coop", "bakery", "--db", db, "--role", "owner"}, // bad role
		{"member", "remove", "nobody", "--coop", "bakery", "--db", db},
		{"member", "add", "--coop", "bakery"}, // no username
		{"member", "list"},                    // no coop
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("coopfed %s succeeded", strings.Join(args, " "))
		}
	}
}
