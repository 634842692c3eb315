package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"github.com/mattn/go-sqlite3"
)

// Backup copies the database at src into a new file at dest with SQLite's
// online backup API. It runs beside a live server: the copy is a consistent
// snapshot, and WAL mode lets the server keep writing meanwhile. dest must
// not exist, so a backup never overwrites anything.
func Backup(ctx context.Context, src, dest string) (pages int, err error) {
	if _, err := os.Stat(src); err != nil {
		return 0, fmt.Errorf("store: backup source: %w", err)
	}
	if _, err := os.Stat(dest); err == nil {
		return 0, fmt.Errorf("store: backup: %s already exists", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	// mode=ro: taking a backup must never change the source.
	srcDB, err := sql.Open("sqlite3", dsn(src, "mode=ro&_busy_timeout=10000"))
	if err != nil {
		return 0, err
	}
	defer srcDB.Close()
	destDB, err := sql.Open("sqlite3", dsn(dest, "_busy_timeout=10000"))
	if err != nil {
		return 0, err
	}
	defer destDB.Close()
	srcConn, err := srcDB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	defer srcConn.Close()
	destConn, err := destDB.Conn(ctx)
	if err != nil {
		os.Remove(dest)
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	defer destConn.Close()
	err = destConn.Raw(func(d any) error {
		return srcConn.Raw(func(s any) error {
			b, err := d.(*sqlite3.SQLiteConn).Backup("main", s.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return err
			}
			// One step copies the whole file under one read transaction:
			// a consistent snapshot. Stepping in slices would restart
			// whenever the live server writes in between.
			if _, err := b.Step(-1); err != nil {
				b.Close()
				return err
			}
			pages = b.PageCount()
			return b.Finish()
		})
	})
	if err != nil {
		destConn.Close()
		destDB.Close()
		os.Remove(dest)
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	return pages, nil
}
