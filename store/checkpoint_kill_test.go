//go:build unix

package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCommitsSurviveAKillBeforeTheirCheckpoint runs a child process that
// commits rows and is killed with SIGKILL right after its last commit, long
// before the checkpointer's wait ends: what it committed is only in the
// WAL, and a reopened store must have every row.
func TestCommitsSurviveAKillBeforeTheirCheckpoint(t *testing.T) {
	if onPostgres {
		t.Skip("PostgreSQL has no WAL file to checkpoint")
	}
	const rows = 300
	if path := os.Getenv("COOPFED_STORE_KILL_CHILD"); path != "" {
		s, err := Open(path)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		for i := range rows {
			if err := s.Update(context.Background(), func(tx *Tx) error {
				_, err := tx.MarkSeen(fmt.Sprintf("https://peer.example/activities/%d", i), "")
				return err
			}); err != nil {
				fmt.Println("commit:", err)
				os.Exit(1)
			}
		}
		fmt.Println("committed")
		select {} // until killed
	}
	path := filepath.Join(t.TempDir(), "coopfed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommitsSurviveAKillBeforeTheirCheckpoint$")
	cmd.Env = append(os.Environ(), "COOPFED_STORE_KILL_CHILD="+path, "COOPFED_TEST_POSTGRES=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "committed\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("WAL after the kill: %v, %v; want the commits in it", fi, err)
	}
	s := openTestStoreAt(t, path, nil)
	var n int
	if err := s.read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM inbox_seen`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("%d rows after the kill and a reopen, want %d", n, rows)
	}
}
