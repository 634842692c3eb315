package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TableDigest is one table's row count and a digest of all its rows.
type TableDigest struct {
	Rows   int64
	Digest string
}

// Tables returns the names of the instance's tables, sorted: on SQLite
// without its internal tables and the FTS5 index's shadow tables, which
// are derived from listings.
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'listings_fts%' ORDER BY name`
	if s.pg {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	return queryStrings(ctx, s.read, q)
}

// Digests returns, per table, its row count and a digest of its contents
// that does not depend on the backend: columns are taken in name order and
// every value is written in one canonical form (integers in decimal, reals
// in Go's shortest form, text quoted, NULL as NULL), and the rows are
// sorted. A table moved from SQLite to PostgreSQL intact has the same
// digest on both; tests use it to check that a refused request changed
// nothing, including rows changed in place.
func (s *Store) Digests(ctx context.Context) (map[string]TableDigest, error) {
	names, err := s.Tables(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]TableDigest, len(names))
	for _, name := range names {
		d, err := s.digest(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("store: digest of %s: %w", name, err)
		}
		out[name] = d
	}
	return out, nil
}

func (s *Store) digest(ctx context.Context, table string) (TableDigest, error) {
	return digestOf(ctx, s.read, s.pg, table)
}

// digestOf is the digest of one table read through q (the read pool, or a
// transaction that has not committed yet).
func digestOf(ctx context.Context, q querier, pg bool, table string) (TableDigest, error) {
	// Generated columns (PostgreSQL's stored text-search vector) are
	// derived from the others and have no SQLite twin: left out.
	var generated []string
	if pg {
		var err error
		generated, err = queryStrings(ctx, q, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'ALWAYS'`, table)
		if err != nil {
			return TableDigest{}, err
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return TableDigest{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return TableDigest{}, err
	}
	var order []int
	for i, c := range cols {
		if !slices.Contains(generated, c) {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(cols[a], cols[b]) })
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for k := range vals {
		ptrs[k] = &vals[k]
	}
	var lines []string
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return TableDigest{}, err
		}
		b.Reset()
		for _, i := range order {
			b.WriteString(cols[i])
			b.WriteByte('=')
			b.WriteString(canonical(vals[i]))
			b.WriteByte(';')
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		return TableDigest{}, err
	}
	// Why: without ORDER BY rows come in any order; sorting makes the
	// digest depend on the contents only.
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return TableDigest{Rows: int64(len(lines)), Digest: hex.EncodeToString(sum[:8])}, nil
}

// canonical writes a scanned value the same way whichever driver read it.
func canonical(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []byte:
		return strconv.Quote(string(v))
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// quoteIdent quotes a table name for either dialect.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
