package storetest

import (
	"context"
	"fmt"

	"github.com/coopfed/coopfed/store"
	"github.com/jackc/pgx/v5"
)

// generatePG is GenerateListings on PostgreSQL: the rows go in with COPY,
// ids chosen here so the listing_groups rows can name them, and the
// listings indexes (the GIN text index among them) are dropped first and
// rebuilt once at the end, in the same transaction.
func generatePG(ctx context.Context, s *store.Store, cfg Config) error {
	conn, err := pgx.Connect(ctx, s.Path())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	// Why: building an index once over a million rows is far cheaper
	// than maintaining it row by row; more memory makes the sorts of
	// the rebuild run in memory.
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '512MB'`); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'listings' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'`)
	if err != nil {
		return err
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			rows.Close()
			return err
		}
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{n}.Sanitize()); err != nil {
			return err
		}
	}
	var base int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM listings`).Scan(&base); err != nil {
		return err
	}
	g := NewGenerator(cfg)
	var vias [][]any
	cols := append([]string{"id"}, store.ListingColumns()...)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= cfg.N {
			return nil, nil
		}
		l := g.Listing(i)
		args, err := store.ListingArgs(l)
		if err != nil {
			return nil, err
		}
		id := base + int64(i) + 1
		for k, a := range args {
			// Flags are integer columns, as on SQLite.
			if v, ok := a.(bool); ok {
				args[k] = int64(0)
				if v {
					args[k] = int64(1)
				}
			}
		}
		if len(cfg.Groups) > 0 && l.CoopID == 0 {
			groups := []string{cfg.Groups[i%len(cfg.Groups)]}
			if i%5 == 0 && len(cfg.Groups) > 1 {
				groups = append(groups, cfg.Groups[(i+1)%len(cfg.Groups)])
			}
			for _, gr := range groups {
				vias = append(vias, []any{id, gr, "", cfg.Now.UnixMilli()})
			}
		}
		i++
		return append([]any{id}, args...), nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"listings"}, cols, src); err != nil {
		return fmt.Errorf("storetest: copy listings: %w", err)
	}
	if len(vias) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"listing_groups"}, []string{"listing_id", "group_iri", "announce_iri", "added_at"}, pgx.CopyFromRows(vias)); err != nil {
			return fmt.Errorf("storetest: copy listing_groups: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('listings', 'id'), $1)`, base+int64(cfg.N)); err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := tx.Exec(ctx, d); err != nil {
			return fmt.Errorf("storetest: recreate: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// Why VACUUM too: it sets the visibility map, without which the geo
	// search's index-only scan visits the table for every row, as it
	// would not once autovacuum has passed on a live instance.
	_, err = conn.Exec(ctx, `VACUUM ANALYZE listings, listing_groups`)
	return err
}
