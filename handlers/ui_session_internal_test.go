package handlers

import (
	"fmt"
	"testing"
	"time"
)

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"/coops/bakery/admin":           "/coops/bakery/admin",
		"/market?q=flour":               "/market?q=flour",
		"":                              "",
		"https://evil.example/":         "",
		"//evil.example/":               "",
		"/\\evil.example/":              "",
		"/\t/evil.example/x":            "",
		"/\n/evil.example/x":            "",
		"/%09/evil.example/x":           "/%09/evil.example/x", // stays a path: browsers do not decode it
		"relative/path":                 "",
		"/" + string(make([]byte, 600)): "",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// Filling the failure table must neither reset a victim's lockout nor let
// new keys guess without limit.
func TestLoginLimiterFull(t *testing.T) {
	var u uiState
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for range maxLoginFailures {
		u.loginFailed("victim", now)
	}
	if !u.loginBlocked("victim", maxLoginFailures, now) {
		t.Fatal("victim not blocked after its failures")
	}
	for i := range maxLoginEntries + 10 {
		u.loginFailed(fmt.Sprintf("junk-%d", i), now)
	}
	if !u.loginBlocked("victim", maxLoginFailures, now) {
		t.Fatal("filling the table reset the victim's lockout")
	}
	if !u.loginBlocked("newcomer", maxLoginFailures, now) {
		t.Fatal("a new key is not refused while the table is full")
	}
	later := now.Add(loginWindow + time.Minute)
	u.loginFailed("newcomer", later)
	if u.loginBlocked("victim", maxLoginFailures, later) {
		t.Fatal("the lockout outlived its window")
	}
}
