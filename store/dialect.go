package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// The store's SQL is written once, in the dialect SQLite and PostgreSQL
// share: `?` placeholders, ON CONFLICT, RETURNING, integer milliseconds for
// times and integer 0/1 for flags. db and dbtx wrap the database/sql pool
// and transaction so that every statement passes through bind, which turns
// the placeholders into PostgreSQL's $1, $2 … when the store runs there.
// Where the dialects really differ (full-text search, the delivery claim,
// locking) the code asks s.pg and writes each form.

// db is a connection pool of either backend.
type db struct {
	*sql.DB
	pg bool
}

// dbtx is a transaction of either backend.
type dbtx struct {
	*sql.Tx
	pg bool
}

func (d *db) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, bind(d.pg, q), pgArgs(d.pg, args)...)
}

func (d *db) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, bind(d.pg, q), pgArgs(d.pg, args)...)
}

func (d *db) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, bind(d.pg, q), pgArgs(d.pg, args)...)
}

func (d *db) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return d.DB.PrepareContext(ctx, bind(d.pg, q))
}

func (t *dbtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, bind(t.pg, q), pgArgs(t.pg, args)...)
}

func (t *dbtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, bind(t.pg, q), pgArgs(t.pg, args)...)
}

func (t *dbtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, bind(t.pg, q), pgArgs(t.pg, args)...)
}

func (t *dbtx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, bind(t.pg, q))
}

// stmt runs a prepared statement inside the transaction. Its arguments go
// through pgArgs like any other statement's.
func (t *dbtx) stmt(ctx context.Context, st *sql.Stmt) *txStmt {
	return &txStmt{st: t.Tx.StmtContext(ctx, st), pg: t.pg}
}

type txStmt struct {
	st *sql.Stmt
	pg bool
}

func (s *txStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return s.st.ExecContext(ctx, pgArgs(s.pg, args)...)
}

func (s *txStmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return s.st.QueryContext(ctx, pgArgs(s.pg, args)...)
}

func (s *txStmt) Close() error { return s.st.Close() }

// bound caches the PostgreSQL form of each query text: the store's queries
// are a few hundred constant strings, and rewriting one costs a scan.
var bound sync.Map

// bind returns q with its `?` placeholders numbered for PostgreSQL ($1,
// $2 …), leaving any `?` inside a quoted string or identifier alone.
func bind(pg bool, q string) string {
	if !pg || !strings.Contains(q, "?") {
		return q
	}
	if v, ok := bound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	bound.Store(q, out)
	return out
}

// pgArgs converts Go booleans to 0 and 1 for PostgreSQL: the schemas keep
// flags as integers (SQLite has no boolean type), and pgx will not encode
// a bool into an integer column. SQLite's driver does the same conversion
// itself.
func pgArgs(pg bool, args []any) []any {
	if !pg {
		return args
	}
	var out []any
	for i, a := range args {
		v, ok := a.(bool)
		if !ok {
			continue
		}
		if out == nil {
			// Why: the caller's slice may be reused for another query.
			out = append([]any(nil), args...)
		}
		out[i] = int64(0)
		if v {
			out[i] = int64(1)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation, in
// either backend.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "PRIMARY KEY")
}

// mayFail runs one statement whose failure the caller handles and then
// goes on with the transaction (a duplicate vote, a name taken). SQLite
// undoes only the failed statement; PostgreSQL aborts the whole
// transaction, so there the statement runs inside a savepoint that is
// rolled back on failure.
func (tx *Tx) mayFail(fn func() error) error {
	if !tx.s.pg {
		return fn()
	}
	if _, err := tx.tx.Tx.ExecContext(tx.ctx, `SAVEPOINT may_fail`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := tx.tx.Tx.ExecContext(tx.ctx, `ROLLBACK TO SAVEPOINT may_fail`); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := tx.tx.Tx.ExecContext(tx.ctx, `RELEASE SAVEPOINT may_fail`)
	return err
}

// insertID runs an INSERT with RETURNING id (both backends have it; pgx has
// no LastInsertId) and returns the new row's id. inserted is false when an
// ON CONFLICT DO NOTHING clause skipped the row.
func (tx *Tx) insertID(q string, args ...any) (id int64, inserted bool, err error) {
	err = tx.tx.QueryRowContext(tx.ctx, q+` RETURNING id`, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// The context-free forms, for tests and one-off statements.

func (d *db) Exec(q string, args ...any) (sql.Result, error) {
	return d.ExecContext(context.Background(), q, args...)
}

func (d *db) Query(q string, args ...any) (*sql.Rows, error) {
	return d.QueryContext(context.Background(), q, args...)
}

func (d *db) QueryRow(q string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), q, args...)
}

func (t *dbtx) Exec(q string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), q, args...)
}

func (t *dbtx) Query(q string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(context.Background(), q, args...)
}

func (t *dbtx) QueryRow(q string, args ...any) *sql.Row {
	return t.QueryRowContext(context.Background(), q, args...)
}
