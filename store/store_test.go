package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/store/pgtest"
)

// onPostgres is set for the second run of the suite, on PostgreSQL.
var onPostgres bool

func TestMain(m *testing.M) { os.Exit(pgtest.RunBoth(m, &onPostgres)) }

// testClock is a settable clock, so lease and retry tests move time
// forward by hand instead of sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTestStore opens a fresh database file in a temporary directory (a
// bare :memory: would give each pooled connection its own empty database)
// and closes it when the test ends.
func openTestStore(t *testing.T, clock *testClock) *Store {
	t.Helper()
	if onPostgres {
		return openTestStoreAt(t, pgtest.NewDatabase(t), clock)
	}
	return openTestStoreAt(t, filepath.Join(t.TempDir(), "coopfed.db"), clock)
}

func openTestStoreAt(t *testing.T, path string, clock *testClock) *Store {
	t.Helper()
	var opts []Option
	if clock != nil {
		opts = append(opts, WithClock(clock.Now))
	}
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustUpdate runs fn in a write transaction and fails the test on error.
func mustUpdate(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// createTestCoop stores a coop with placeholder keys: the store keeps PEM
// text as given and never parses it.
func createTestCoop(t *testing.T, s *Store, name string) *coopfed.Coop {
	t.Helper()
	c := &coopfed.Coop{Name: name, PublicKeyPEM: "public " + name, PrivateKeyPEM: "private " + name}
	mustUpdate(t, s, func(tx *Tx) error { return tx.CreateCoop(c) })
	return c
}

// wantCode fails the test unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := coopfed.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

type migrationRow struct {
	version   int
	name      string
	appliedAt int64
}

func appliedMigrations(t *testing.T, s *Store) []migrationRow {
	t.Helper()
	rows, err := s.read.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var m migrationRow
		if err := rows.Scan(&m.version, &m.name, &m.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenMigratesFreshDatabase(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)

	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	applied := appliedMigrations(t, s)
	if len(applied) == 0 || len(applied) != len(files) {
		t.Fatalf("applied %d migrations, embedded %d", len(applied), len(files))
	}
	if applied[0].version != 1 || applied[0].name != "0001_core.sql" || applied[0].appliedAt != clock.Now().UnixMilli() {
		t.Errorf("first migration recorded as %+v", applied[0])
	}

	// Every table of the schema exists and starts empty.
	counts, err := s.Counts(context.Background())
	if err != nil {
		t.Fatalf("counting tables of a fresh database: %v", err)
	}
	for table, n := range counts {
		if n != 0 {
			t.Errorf("table %s has %d rows in a fresh database", table, n)
		}
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("ping: %v", err)
	}
}

func TestOpenSetsPragmas(t *testing.T) {
	if onPostgres {
		t.Skip("SQLite's pragmas")
	}
	s := openTestStore(t, nil)
	var mode string
	if err := s.read.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal (readers beside the writer)", mode)
	}
	var fk int
	if err := s.write.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 1 {
		t.Errorf("foreign_keys = %d on the write pool, want 1", fk)
	}
	// Foreign keys are enforced: a token for a missing coop is refused.
	err := s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.CreateToken(999, "orphan")
		return err
	})
	if err == nil {
		t.Error("a token for a coop that does not exist was stored")
	}
}

func TestReopenKeepsDataAndAppliesNothingTwice(t *testing.T) {
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "coopfed.db")
	s := openTestStoreAt(t, path, clock)
	createTestCoop(t, s, "bakery")
	before := appliedMigrations(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Add(time.Hour)
	s2 := openTestStoreAt(t, path, clock)
	after := appliedMigrations(t, s2)
	if len(after) != len(before) {
		t.Fatalf("reopen changed the migrations from %v to %v", before, after)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("migration %d re-recorded: %+v, was %+v", before[i].version, after[i], before[i])
		}
	}
	if _, err := s2.CoopByName(context.Background(), "bakery"); err != nil {
		t.Errorf("coop lost on reopen: %v", err)
	}
	if s2.Path() != path {
		t.Errorf("Path() = %q, want %q", s2.Path(), path)
	}
}

func TestOpenPathWithSpecialCharacters(t *testing.T) {
	// The path becomes a file: URI; a space or '?' must not be read as URI
	// syntax and open some other file.
	path := filepath.Join(t.TempDir(), "my coop?x=1.db")
	s := openTestStoreAt(t, path, nil)
	createTestCoop(t, s, "bakery")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
	s2 := openTestStoreAt(t, path, nil)
	if _, err := s2.CoopByName(context.Background(), "bakery"); err != nil {
		t.Errorf("reopening %q did not find the coop: %v", path, err)
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	boom := coopfed.Errorf(coopfed.ECONFLICT, "stop")
	err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateCoop(&coopfed.Coop{Name: "bakery", PublicKeyPEM: "p", PrivateKeyPEM: "k"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	if _, err := s.CoopByName(ctx, "bakery"); coopfed.ErrorCode(err) != coopfed.ENOTFOUND {
		t.Errorf("coop of a rolled-back transaction is visible (err %v)", err)
	}
}

func TestTxNowIsTheStoreClock(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, clock)
	if !s.Now().Equal(clock.Now()) {
		t.Errorf("Store.Now() = %v, want %v", s.Now(), clock.Now())
	}
	mustUpdate(t, s, func(tx *Tx) error {
		if !tx.Now().Equal(clock.Now()) {
			t.Errorf("Tx.Now() = %v, want %v", tx.Now(), clock.Now())
		}
		return nil
	})
}
