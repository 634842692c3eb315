package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// childEnv, when set to 1, makes the test binary behave as the coopfed
// command: process tests re-execute it, so the child runs exactly what main
// runs (flags, signals, exit status) without a second cgo link.
const childEnv = "COOPFED_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// serve -h prints the flags and stops: before the fix it went on to open
// (and create) the database and serve with the defaults.
func TestServeHelpDoesNotServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	var out bytes.Buffer
	// Cancelled, so that a serve that does not stop at -h shuts down at
	// once rather than hanging the test.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "-h"}, &out, &out); err != nil {
		t.Fatalf("serve -h: %v", err)
	}
	if !strings.Contains(out.String(), "-retry-base") || !strings.Contains(out.String(), "COOPFED_RETRY_BASE") {
		t.Errorf("serve -h does not document --retry-base and its variable:\n%s", out.String())
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve -h touched the database: %v", err)
	}
}

// A retry base that would retry in a tight loop, or not parse, is a usage
// error, reported before anything is opened.
func TestServeRejectsBadRetryBase(t *testing.T) {
	for _, args := range [][]string{{"--retry-base", "0s"}, {"--retry-base", "-1m"}, {"--retry-base", "7h"}, {"--retry-base", "soon"}} {
		db := filepath.Join(t.TempDir(), "never.db")
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"serve", "--db", db}, args...), &out, &out)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("serve %v: err = %v, want a usage error", args, err)
		}
		if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve %v opened the database", args)
		}
	}
}
