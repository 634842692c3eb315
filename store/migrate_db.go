package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// CopyReport is what CopyTo moved, per table, with the digests that prove
// it: the source's and the destination's agree table by table.
type CopyReport struct {
	Tables []CopiedTable
}

// CopiedTable is one table of a CopyReport.
type CopiedTable struct {
	Name   string
	Rows   int64
	Digest string
}

// copyBatch is how many rows one INSERT carries: large enough that a
// million-row market copies in seconds, small enough to stay far below
// PostgreSQL's 65535 parameters (listings have 28 columns).
const copyBatch = 500

// CopyTo copies every row of s into dst, an empty PostgreSQL database of the same
// schema version (freshly opened, so migrated), in one transaction of dst:
// a failure leaves dst as empty as it was. The source must not be written
// meanwhile (stop the server first). It then compares the row count and
// the content digest of every table on both sides and fails unless all
// agree, so that what it reports moved is what arrived.
func (s *Store) CopyTo(ctx context.Context, dst *Store) (*CopyReport, error) {
	if !dst.pg || s.pg {
		return nil, fmt.Errorf("store: copy: the source must be a SQLite database and the destination a PostgreSQL one")
	}
	sv, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if sv != dv {
		return nil, fmt.Errorf("store: copy: source schema version %d, destination %d: open both with the same coopfed", sv, dv)
	}
	tables, err := s.Tables(ctx)
	if err != nil {
		return nil, err
	}
	dstTables, err := dst.Tables(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if !slices.Contains(dstTables, t) {
			return nil, fmt.Errorf("store: copy: the destination has no table %s", t)
		}
	}
	// Every table but the migrations' own must be empty: a server
	// started once on the destination has written at least a setting
	// (the instance key), which the copy would collide with.
	for _, t := range dstTables {
		if t == "schema_migrations" {
			continue
		}
		var n int64
		if err := dst.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return nil, err
		} else if n > 0 {
			return nil, fmt.Errorf("store: copy: the destination is not empty (%s has %d rows)", t, n)
		}
	}
	src, err := s.Digests(ctx)
	if err != nil {
		return nil, err
	}
	rep := &CopyReport{}
	order, err := dst.fkOrder(ctx, tables)
	if err != nil {
		return nil, err
	}
	err = dst.Update(ctx, func(tx *Tx) error {
		// Why: the vote trigger refuses votes on motions that are not
		// open, which every closed motion's votes are; the copy moves
		// history, so the trigger is off in this transaction only.
		if _, err := tx.tx.ExecContext(ctx, `ALTER TABLE votes DISABLE TRIGGER votes_check`); err != nil {
			return fmt.Errorf("store: copy needs to own the destination's tables: %w", err)
		}
		for _, t := range order {
			if t == "schema_migrations" {
				continue // the destination's own migrations wrote it
			}
			if err := s.copyTable(ctx, tx, t); err != nil {
				return fmt.Errorf("store: copy %s: %w", t, err)
			}
		}
		if _, err := tx.tx.ExecContext(ctx, `ALTER TABLE votes ENABLE TRIGGER votes_check`); err != nil {
			return err
		}
		if err := tx.resetIdentities(); err != nil {
			return err
		}
		// The check runs inside the transaction, so a copy that does
		// not match its source is rolled back, not left behind.
		var bad []string
		for _, t := range tables {
			if t == "schema_migrations" {
				continue
			}
			got, err := digestOf(ctx, tx.tx, true, t)
			if err != nil {
				return fmt.Errorf("store: digest of %s: %w", t, err)
			}
			if src[t] != got {
				bad = append(bad, fmt.Sprintf("%s (source %d rows %s, destination %d rows %s)", t, src[t].Rows, src[t].Digest, got.Rows, got.Digest))
			}
			rep.Tables = append(rep.Tables, CopiedTable{Name: t, Rows: got.Rows, Digest: got.Digest})
		}
		if len(bad) > 0 {
			return fmt.Errorf("store: copy: tables differ after the copy, nothing was kept: %s", strings.Join(bad, "; "))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	dst.cache.invalidate()
	return rep, nil
}

// copyTable streams one table's rows into the destination transaction by
// column name (the two schemas may order columns differently).
func (s *Store) copyTable(ctx context.Context, tx *Tx, table string) error {
	rows, err := s.read.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	row := `(?` + strings.Repeat(`, ?`, len(cols)-1) + `)`
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n := len(batch) / len(cols)
		q := `INSERT INTO ` + quoteIdent(table) + ` (` + strings.Join(quoted, ", ") + `) VALUES ` + row + strings.Repeat(`, `+row, n-1)
		_, err := tx.tx.ExecContext(ctx, q, batch...)
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			// Why: SQLite's driver may hand TEXT back as bytes; the
			// destination's TEXT column wants a string.
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		batch = append(batch, vals...)
		if len(batch)/len(cols) >= copyBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// resetIdentities moves each identity column's sequence past the largest
// id copied, so the next row PostgreSQL numbers does not collide.
func (tx *Tx) resetIdentities() error {
	tables, err := queryStrings(tx.ctx, tx.tx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := tx.tx.ExecContext(tx.ctx, `SELECT setval(pg_get_serial_sequence(?, 'id'), COALESCE((SELECT MAX(id) FROM `+quoteIdent(t)+`), 0) + 1, false)`, t); err != nil {
			return err
		}
	}
	return nil
}

// fkOrder sorts tables so that every table comes after the tables its
// foreign keys reference (PostgreSQL checks them row by row).
func (s *Store) fkOrder(ctx context.Context, tables []string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	deps := map[string][]string{}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return nil, err
		}
		deps[from] = append(deps[from], to)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("store: copy: foreign keys form a cycle through %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if d != t {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		state[t] = 2
		if slices.Contains(tables, t) {
			out = append(out, t)
		}
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}
