package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// sqliteDriver is the driver name of the store's SQLite connections: the
// mattn driver with SQLite's automatic checkpoints turned off, since the
// store's checkpointer does them (see checkpointer), and with the WAL file
// cut back to walSizeLimit whenever it is rewound, since between
// checkpoints under load it grows well beyond that.
const sqliteDriver = "coopfed-sqlite3"

const walSizeLimit = 16 << 20

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d", walSizeLimit), nil)
			return err
		},
	})
}

const (
	// checkpointTarget is how many WAL frames (pages) a checkpoint aims to
	// copy; the wait before one adapts to the rate of writes to reach it.
	// SQLite's own default is a checkpoint at every 1,000 frames.
	checkpointTarget  = 4000
	checkpointMinWait = 50 * time.Millisecond
	checkpointMaxWait = 2 * time.Second
)

// checkpointer copies the write-ahead log into the database file off the
// write path. SQLite's automatic checkpoint runs inside the commit that
// crosses 1,000 frames, so that commit (and every inbox request batched in
// it) waits while pages are read back from the WAL, written to the file
// and both are synced, and a page many commits rewrite (an index's last
// leaf) is copied at every checkpoint. Here a commit only signals; after a
// wait that grows while checkpoints copy little and shrinks while they
// copy much, one PASSIVE checkpoint copies what the commits of that wait
// wrote, each page once. A PASSIVE checkpoint waits for no reader or
// writer (SQLite's automatic one is PASSIVE too, but runs in the writer),
// and durability is unchanged: a commit is durable in the WAL, the
// checkpoint only moves it. When the last connection closes, SQLite
// checkpoints whatever is left.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{} // cap 1: a commit happened
	stop chan struct{}
	done chan struct{}
	once sync.Once

	wal string // the WAL file's path

	mu       sync.Mutex
	lastSeq  uint32
	lastDone int64
	stats    CheckpointStats
}

// CheckpointStats counts the background checkpoints of a SQLite store.
type CheckpointStats struct {
	Runs   int64 // checkpoints run
	Frames int64 // WAL frames they copied
	// Pending is how many frames of the WAL the last checkpoint left
	// uncopied (readers still needed them).
	Pending int64
}

func newCheckpointer(db *sql.DB, path string) *checkpointer {
	c := &checkpointer{db: db, wal: path + "-wal", kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that a commit wrote to the WAL.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	wait := checkpointMinWait
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// Why wait: the frames later commits write meanwhile are copied
		// by the same checkpoint.
		t := time.NewTimer(wait)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		copied, err := c.checkpoint()
		if err != nil {
			slog.Warn("store: checkpoint", "err", err)
			continue
		}
		switch {
		case copied < checkpointTarget/2 && wait < checkpointMaxWait:
			wait = min(wait*2, checkpointMaxWait)
		case copied > checkpointTarget*2 && wait > checkpointMinWait:
			wait = max(wait/2, checkpointMinWait)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and returns how many frames it
// copied.
func (c *checkpointer) checkpoint() (int64, error) {
	var busy, log, done int64
	if err := c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return 0, err
	}
	seq, seqErr := walSequence(c.wal)
	c.mu.Lock()
	defer c.mu.Unlock()
	// log and done count frames from the WAL's start, which a writer
	// rewinds to once a checkpoint has copied it all (and bumps the
	// header's checkpoint sequence). Since the last run, this one copied
	// done less what that had done, or all of done after a rewind.
	copied := done
	if seqErr == nil && seq == c.lastSeq && done >= c.lastDone {
		copied = done - c.lastDone
	}
	c.lastSeq, c.lastDone = seq, done
	c.stats.Runs++
	c.stats.Frames += copied
	c.stats.Pending = log - done
	return copied, nil
}

// walSequence reads the checkpoint sequence number of a WAL file's header
// (big-endian, at byte 12: https://www.sqlite.org/fileformat.html#walformat),
// which changes whenever the WAL is rewound.
func walSequence(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadAt(b[:], 12); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// Stats returns the counts so far.
func (c *checkpointer) Stats() CheckpointStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// close stops the checkpointer and waits for a checkpoint in progress.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
