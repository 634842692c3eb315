package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/coopfed/coopfed/store"
)

// migrateDBCmd moves an instance from its SQLite file to an empty
// PostgreSQL database: it migrates the destination to the same schema,
// copies every row in one transaction and checks each table's row count
// and content digest on both sides.
func migrateDBCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate-db", stderr)
	from := fs.String("from", "", "the SQLite database to move, as sqlite:PATH (or a plain path)")
	to := fs.String("to", "", "the empty PostgreSQL database to move it to, as postgres://…")
	if err := fs.parse(args); err != nil {
		return err
	}
	const use = "usage: coopfed migrate-db --from sqlite:FILE --to postgres://USER@HOST/DB"
	if *from == "" || *to == "" {
		return usageError{use}
	}
	src := strings.TrimPrefix(*from, "sqlite:")
	if store.IsPostgres(src) {
		return usageError{"migrate-db: --from must be a SQLite file\n" + use}
	}
	if !store.IsPostgres(*to) {
		return usageError{"migrate-db: --to must be a postgres:// URL\n" + use}
	}
	// Why: opening a missing path would create an empty SQLite file and
	// "move" nothing.
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	s, err := store.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := store.Open(*to)
	if err != nil {
		return err
	}
	defer d.Close()
	rep, err := s.CopyTo(ctx, d)
	if err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	var rows int64
	for _, t := range rep.Tables {
		fmt.Fprintf(stdout, "%-20s %8d rows  digest %s\n", t.Name, t.Rows, t.Digest)
		rows += t.Rows
	}
	fmt.Fprintf(stdout, "Moved %d rows in %d tables from %s to %s; every table's count and digest agree.\n", rows, len(rep.Tables), src, redactDSN(*to))
	fmt.Fprintln(stdout, "Start the server with --db set to the PostgreSQL URL; keep the SQLite file until you have checked it.")
	return nil
}

// redactDSN hides a PostgreSQL URL's password, for messages and logs.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the database"
	}
	return u.Redacted()
}
