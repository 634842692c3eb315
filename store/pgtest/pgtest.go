// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the server that COOPFED_TEST_POSTGRES names (an admin DSN, as
// .ci/postgres prints). Suites run once on SQLite and, where PostgreSQL is
// available, once more on it; under CI=true it must be available.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvDSN names the environment variable with the admin DSN.
const EnvDSN = "COOPFED_TEST_POSTGRES"

// AdminDSN returns the admin DSN, or "" when no PostgreSQL is configured.
func AdminDSN() string { return os.Getenv(EnvDSN) }

// RunBoth runs a package's tests on SQLite and then, when PostgreSQL is
// configured, again with use set to true (the package's helpers read it
// to open their stores on PostgreSQL). Under CI=true a missing PostgreSQL
// fails the run: CI must test both backends. It returns the exit code.
func RunBoth(m *testing.M, use *bool) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	if AdminDSN() == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "%s is not set: CI runs every suite on PostgreSQL too (see .ci/postgres)\n", EnvDSN)
			return 1
		}
		return 0
	}
	fmt.Println("=== the same tests on PostgreSQL")
	*use = true
	return m.Run()
}

// NewDatabase creates an empty schema and returns a DSN whose search_path
// is that schema, so the store migrates into it as into a new database.
// The schema is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminDSN()
	if admin == "" && os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: CI runs the PostgreSQL tests too (see .ci/postgres)", EnvDSN)
	} else if admin == "" {
		t.Skipf("%s is not set", EnvDSN)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
