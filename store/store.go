// Package store keeps coopfed's data in SQLite (the embedded default) or
// PostgreSQL (for instances that run several processes): numbered embedded
// migrations per backend, hand-written SQL and one transaction per write. It
// knows nothing of HTTP or ActivityPub; callers hand it plain domain values
// and JSON documents.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coopfed/coopfed"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// Store is the database of one instance. On SQLite it keeps two pools: one
// connection for writes, so writers queue in Go instead of spinning on
// SQLITE_BUSY, and several read connections, which WAL lets run beside it.
// On PostgreSQL both are one pool shared by several processes (pg.go).
type Store struct {
	path string // the SQLite file, or the PostgreSQL DSN
	pg   bool
	// writerKey is the advisory lock of PostgreSQL write transactions.
	writerKey int64
	write     *db
	read      *db
	now       func() time.Time
	// notify is PostgreSQL's listener that tells this process of cache
	// changes other processes committed (nil on SQLite).
	notify *pgListener
	// onDeliveries is called when deliveries were queued (PostgreSQL).
	onDeliveries atomic.Pointer[func()]
	cache        cache
	hot          map[string]*sql.Stmt // prepared write statements, by query text
	// ckpt copies the WAL into the database file (SQLite only).
	ckpt *checkpointer

	// dir is the directory of coops seen in groups, computed at dirAt.
	dirMu sync.Mutex
	dir   []DirectoryEntry
	dirAt time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for timestamps (tests use a fixed one).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// IsPostgres reports whether a --db value names a PostgreSQL database
// (a postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database and applies pending migrations: a PostgreSQL
// URL (postgres://…) or else the path of a SQLite file, created if needed.
func Open(path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if IsPostgres(path) {
		return s, s.openPostgres(path)
	}
	var err error
	// WAL lets readers run while one writer commits; synchronous=NORMAL is
	// durable across process crashes in WAL mode (only an OS crash may lose
	// the last commits); busy_timeout waits instead of failing when a backup
	// or another process holds the lock; foreign_keys is off by default in
	// SQLite; _txlock=immediate takes the write lock at BEGIN so two writers
	// never deadlock upgrading a read lock.
	params := "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_foreign_keys=on"
	write, err := sql.Open(sqliteDriver, dsn(path, params+"&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open(sqliteDriver, dsn(path, params))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	s.write, s.read = &db{DB: write}, &db{DB: read}
	if err := s.migrate(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareHot(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	// Checkpoints run on a read connection: any connection may run one,
	// and the write connection stays free for commits.
	s.ckpt = newCheckpointer(s.read.DB, path)
	s.ckpt.committed() // what the migrations wrote
	return s, nil
}

func dsn(path, params string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params
}

// Path returns the SQLite file's path, or the PostgreSQL DSN.
func (s *Store) Path() string { return s.path }

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.pg }

// Close closes both pools.
func (s *Store) Close() error {
	if s.ckpt != nil {
		s.ckpt.close()
	}
	for _, st := range s.hot {
		st.Close()
	}
	if s.notify != nil {
		s.notify.close()
	}
	err1 := s.write.Close()
	if s.read == s.write {
		return err1
	}
	err2 := s.read.Close()
	return errors.Join(err1, err2)
}

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks that the database answers (for readiness probes).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations"
	if s.pg {
		dir = "migrations/postgres"
	}
	err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, dir+"/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with a number", base)
		}
		if err := s.migrateFile(ctx, version, base, name); err != nil {
			return err
		}
	}
	return nil
}

// migrateFile applies one migration in its own transaction, so a failed
// migration leaves the schema as it was. On PostgreSQL the transaction
// holds the writer lock, so two processes starting at once apply each
// migration once.
func (s *Store) migrateFile(ctx context.Context, version int, base, name string) error {
	return s.Update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		// Why the bare Tx: a migration is many statements and no
		// placeholders; pgx sends it as one simple-protocol query.
		if _, err := tx.tx.Tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, version, base, s.now().UnixMilli())
		return err
	})
}

// SchemaVersion returns the number of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Tx is one write transaction. Its methods may read and write; everything
// done through it commits or rolls back together.
type Tx struct {
	tx  *dbtx
	ctx context.Context
	now time.Time
	s   *Store
	// dirty is set by writes that change what the cache holds.
	dirty bool
	// enqueued is set when the transaction queued deliveries.
	enqueued bool
}

// Enqueued reports whether the transaction queued any delivery, so the
// caller can wake the delivery workers once it commits.
func (tx *Tx) Enqueued() bool { return tx.enqueued }

// Now returns the transaction's timestamp, one value for all its rows.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a write transaction and commits it when fn returns nil.
// Write transactions run one at a time: on SQLite through the one write
// connection, on PostgreSQL under the writer lock that every process takes
// (pg.go), so the invariants the store's transactions check (one vote per
// member, quantities never below zero) hold across processes as they do
// in one.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	sqltx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer sqltx.Rollback()
	tx := &Tx{tx: &dbtx{Tx: sqltx, pg: s.pg}, ctx: ctx, now: s.now(), s: s}
	if s.pg {
		if err := tx.lockWriter(); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.dirty && s.pg {
		if err := tx.notify(cacheChannel); err != nil {
			return err
		}
	}
	if tx.enqueued && s.pg {
		if err := tx.notify(deliveryChannel); err != nil {
			return err
		}
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if tx.dirty {
		s.cache.invalidate()
	}
	if s.ckpt != nil {
		s.ckpt.committed()
	}
	return nil
}

// Checkpoints returns the counts of the background WAL checkpoints (zero
// on PostgreSQL).
func (s *Store) Checkpoints() CheckpointStats {
	if s.ckpt == nil {
		return CheckpointStats{}
	}
	return s.ckpt.Stats()
}

// querier is what both the read pool and a transaction offer, so that one
// query function serves Store (reads) and Tx (reads inside a write).
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func notFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return coopfed.Errorf(coopfed.ENOTFOUND, "%s not found", what)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// Counts returns the number of rows of a few tables, keyed by table name: a
// cheap fingerprint tests use to check that a refused request wrote nothing.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	tables := []string{"coops", "tokens", "remote_actors", "budget_rounds", "budget_buckets", "budget_allocators", "budget_allocations", "budget_spends", "followers", "following", "objects", "activities", "deliveries", "inbox_seen", "timeline", "domain_blocks", "actor_blocks", "listings", "notifications", "members", "member_actors", "motions", "motion_eligible", "votes", "ballots", "vote_changes", "motion_replies", "motion_amendments", "motion_tasks", "motion_reviews", "motion_follow_ups", "sessions", "trades", "ledger_entries", "credit_limits", "reviews", "projects", "pledges", "disputes",
		"groups", "group_moderators", "group_bans", "group_posts", "listing_groups", "market_removals", "reports", "member_classes", "coop_federations"}
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, nil
}

// IntegrityCheck runs SQLite's integrity check (after a restore, say). On
// PostgreSQL, which checks its pages itself, it checks that the database
// answers.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.pg {
		return s.Ping(ctx)
	}
	var res string
	if err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("store: integrity check: %s", res)
	}
	return nil
}
