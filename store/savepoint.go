package store

import "fmt"

// SavepointError is returned by Savepoint when the savepoint itself could
// not be set, released or rolled back to: the transaction is then in an
// unknown state and must not be committed.
type SavepointError struct{ Err error }

func (e *SavepointError) Error() string { return "store: savepoint: " + e.Err.Error() }

// Unwrap returns the database error.
func (e *SavepointError) Unwrap() error { return e.Err }

// Savepoint runs fn inside a savepoint of tx: when fn fails, what it wrote
// is rolled back and the rest of the transaction is kept, so several
// independent changes can share one commit and one bad change does not
// fail the others. It returns fn's error, or a *SavepointError.
// SAVEPOINT, RELEASE and ROLLBACK TO are the same in SQLite and PostgreSQL.
func (tx *Tx) Savepoint(fn func() error) error {
	if _, err := tx.tx.ExecContext(tx.ctx, `SAVEPOINT activity`); err != nil {
		return &SavepointError{err}
	}
	if err := fn(); err != nil {
		if _, rerr := tx.tx.ExecContext(tx.ctx, `ROLLBACK TO SAVEPOINT activity`); rerr != nil {
			return &SavepointError{fmt.Errorf("%w (after %v)", rerr, err)}
		}
		if _, rerr := tx.tx.ExecContext(tx.ctx, `RELEASE SAVEPOINT activity`); rerr != nil {
			return &SavepointError{rerr}
		}
		return err
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `RELEASE SAVEPOINT activity`); err != nil {
		return &SavepointError{err}
	}
	return nil
}
