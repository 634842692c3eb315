package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL backend. Several coopfed processes may share one database, so
// what SQLite gets from being one process with one write connection is
// spelled out here:
//   - write transactions take one transaction-scoped advisory lock, the
//     writer lock, so they run one at a time across processes, as on SQLite;
//     reads, and all the work outside transactions (signatures, fetches,
//     HTTP), run in parallel in every process;
//   - the delivery claim needs no writer lock: it is one UPDATE over rows
//     picked FOR UPDATE SKIP LOCKED, so two processes claiming at once get
//     disjoint rows;
//   - periodic jobs run in one process at a time (Exclusive);
//   - a commit that changes what the in-memory cache holds sends a NOTIFY,
//     and every process's listener drops its cache.

// writerLockKey is the base of the advisory lock keys (PostgreSQL's
// advisory locks are numbers the application chooses): the writer lock is
// writerLockKey plus a hash of the schema shifted into bits 16-31, and a
// job's lock is the writer key plus 0x100 to 0xffff from the job's name.
const writerLockKey = 0x636f6f70_00000000 // "coop" in the high bytes

// NOTIFY channels: cache invalidations, and deliveries queued (so that
// every process's workers start on a fan-out at once, not at their next
// poll).
const (
	cacheChannel    = "coopfed_cache"
	deliveryChannel = "coopfed_deliveries"
)

// PostgresMaxConns bounds each process's pool. Several processes share the
// server's max_connections (100 by default), so one process takes a
// modest share.
const PostgresMaxConns = 24

func (s *Store) openPostgres(dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	// Why jit off (unless the DSN says otherwise): the store's queries are
	// short, and a market search over a million listings crosses the
	// planner's JIT cost threshold, where compiling took longer than the
	// query itself (a 300 ms tail on a 20 ms search).
	if _, ok := cfg.RuntimeParams["jit"]; !ok {
		cfg.RuntimeParams["jit"] = "off"
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(PostgresMaxConns)
	pool.SetMaxIdleConns(PostgresMaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	s.pg = true
	s.write = &db{DB: pool, pg: true}
	s.read = s.write
	// pgx caches each connection's prepared statements itself.
	s.hot = map[string]*sql.Stmt{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The writer lock is per schema: instances that share one database in
	// schemas of their own (search_path in the DSN) do not wait for each
	// other. current_schema() is NULL when search_path names no schema
	// that exists.
	var schema sql.NullString
	if err := pool.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return fmt.Errorf("store: postgres: %w", err)
	} else if !schema.Valid {
		pool.Close()
		return fmt.Errorf("store: postgres: the search_path names no schema that exists")
	}
	s.writerKey = int64(writerLockKey) + int64(jobHash(schema.String))<<16
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return err
	}
	l, err := listen(cfg, func(channel string) {
		switch channel {
		case cacheChannel:
			s.cache.invalidate()
		case deliveryChannel:
			if fn := s.onDeliveries.Load(); fn != nil {
				(*fn)()
			}
		}
	})
	if err != nil {
		pool.Close()
		return err
	}
	s.notify = l
	return nil
}

// lockWriter takes the writer lock for the rest of the transaction.
func (tx *Tx) lockWriter() error {
	if _, err := tx.tx.Tx.ExecContext(tx.ctx, `SELECT pg_advisory_xact_lock($1)`, tx.s.writerKey); err != nil {
		return fmt.Errorf("store: writer lock: %w", err)
	}
	return nil
}

// notify tells the other processes, when the transaction commits, that
// the coops or blocks changed or that deliveries were queued (PostgreSQL
// delivers a NOTIFY at commit, and drops it on rollback).
func (tx *Tx) notify(channel string) error {
	_, err := tx.tx.Tx.ExecContext(tx.ctx, `SELECT pg_notify($1, '')`, channel)
	return err
}

// OnDeliveriesQueued registers fn to be called when a process sharing the
// PostgreSQL database (this one included) commits queued deliveries; the
// delivery workers use it to wake. On SQLite it is never called: the one
// process wakes its workers itself (Tx.Enqueued).
func (s *Store) OnDeliveriesQueued(fn func()) { s.onDeliveries.Store(&fn) }

// pgListener holds one connection of its own that LISTENs for cache
// invalidations.
type pgListener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// listen starts the listener, which calls on with each notification's
// channel. A lost connection is reopened; while it is down every channel
// is signalled after each attempt (the cache dropped, the workers woken),
// so a missed NOTIFY costs at most a reconnect delay.
func listen(cfg *pgx.ConnConfig, on func(channel string)) (*pgListener, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &pgListener{cancel: cancel, done: make(chan struct{})}
	connect := func() (*pgx.Conn, error) {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if _, err := c.Exec(ctx, `LISTEN `+cacheChannel+`; LISTEN `+deliveryChannel); err != nil {
			c.Close(context.Background())
			return nil, err
		}
		return c, nil
	}
	first, err := connect()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("store: postgres listen: %w", err)
	}
	go func() {
		defer close(l.done)
		c := first
		for {
			if c != nil {
				if n, err := c.WaitForNotification(ctx); err == nil {
					on(n.Channel)
					continue
				}
				c.Close(context.Background())
				c = nil
			}
			if ctx.Err() != nil {
				return
			}
			on(cacheChannel)
			on(deliveryChannel)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			c, _ = connect()
		}
	}()
	return l, nil
}

func (l *pgListener) close() {
	l.cancel()
	<-l.done
}

// Exclusive runs fn only if no other process sharing the database is
// running the job of that name, and reports whether it ran. Periodic jobs
// (opening and closing motions, listing expiry, purges) go through it so
// that two processes do not both send the Note of a closed motion. On
// SQLite, where one process owns the database, fn always runs.
func (s *Store) Exclusive(ctx context.Context, name string, fn func() error) (bool, error) {
	if !s.pg {
		return true, fn()
	}
	// A session-level lock on a connection held for the job: it is
	// released when fn returns, or by the server if this process dies.
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	key := s.writerKey + 0x100 + int64(jobHash(name))%0xff00
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return false, fmt.Errorf("store: job lock: %w", err)
	}
	if !got {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	return true, fn()
}

// jobHash maps a job name to the low 16 bits of its lock key (FNV-1a).
func jobHash(name string) uint16 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return uint16(h ^ h>>16)
}
