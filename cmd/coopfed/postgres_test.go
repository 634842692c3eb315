//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
	"github.com/coopfed/coopfed/federation"
	"github.com/coopfed/coopfed/store"
	"github.com/coopfed/coopfed/store/pgtest"
)

// TestTwoProcessesFanOutSurvivesSIGKILL runs two coopfed processes on one
// PostgreSQL database, as behind a proxy, and kills one with SIGKILL in
// the middle of a fan-out to 50 inboxes: every inbox still receives the
// activity, the other process finishes the work, and the only POSTs sent
// twice are ones the killed process had sent but not yet recorded.
func TestTwoProcessesFanOutSurvivesSIGKILL(t *testing.T) {
	f := newFixtureAt(t, pgtest.NewDatabase(t))
	const inboxes = 50
	recvAddr := freeAddr(t)
	for i := range inboxes {
		f.addFollower(t, fmt.Sprintf("http://%s/users/member%d", recvAddr, i))
	}
	// Slow receivers keep the fan-out going for a few seconds, so the
	// kill lands in the middle of it.
	recv := newReceiver(f, 150*time.Millisecond)
	recv.listen(t, recvAddr)

	lease := federation.MinDeliveryLease
	// Both serve the same public URL (a proxy in front would send
	// requests to either); the second listens on an address of its own.
	args := f.serveArgs("--workers", "4", "--delivery-lease", lease.String(), "--retry-base", "200ms")
	first := startChild(t, args...)
	f.waitReady(t, first)
	secondAddr := freeAddr(t)
	second := startChild(t, "serve", "--allow-private-network", "--db", f.db, "--addr", secondAddr, "--url", f.base, "--coop", "bakery",
		"--workers", "4", "--delivery-lease", lease.String(), "--retry-base", "200ms")
	waitReadyAt(t, second, "http://"+secondAddr)

	activity := f.announce(t, "Surplus apples, two crates, free to a good coop")
	poll(t, 30*time.Second, "a fifth of the fan-out", func() (bool, string) {
		n := len(recv.all())
		return n >= inboxes/5, fmt.Sprintf("%d POSTs", n)
	})
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := first.wait(t); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first process ended with %v, want killed by SIGKILL", err)
	}
	killedAt := time.Now()
	before := len(recv.all())

	// The survivor finishes: at once for the rows nobody holds, after the
	// lease for those the killed process had claimed.
	poll(t, lease+30*time.Second, "every delivery done by the surviving process", func() (bool, string) {
		done := 0
		for _, d := range f.rows(t, activity) {
			if d.State == coopfed.DeliveryDone {
				done++
			}
		}
		return done == inboxes, fmt.Sprintf("%d of %d done, %d POSTs received", done, inboxes, len(recv.all()))
	})
	t.Logf("killed after %d of %d POSTs; the survivor sent the rest", before, inboxes)

	got := map[string][]received{}
	for _, r := range recv.all() {
		got[r.path] = append(got[r.path], r)
		if r.sigErr != nil {
			t.Errorf("POST to %s: signature: %v", r.path, r.sigErr)
		}
		if r.activity != activity {
			t.Errorf("POST to %s carried %s, want %s", r.path, r.activity, activity)
		}
	}
	twice := 0
	for i := range inboxes {
		p := fmt.Sprintf("/users/member%d/inbox", i)
		switch rs := got[p]; {
		case len(rs) == 0:
			t.Errorf("%s never received the activity", p)
		case len(rs) > 2:
			t.Errorf("%s received it %d times", p, len(rs))
		case len(rs) == 2:
			// At least once is the guarantee: a POST the killed
			// process made is sent again when its lease lapses,
			// never while the first process lived.
			twice++
			if rs[0].at.After(killedAt) {
				t.Errorf("%s received it twice, both after the kill: two processes sent one row", p)
			}
			if rs[1].at.Sub(rs[0].at) < lease-time.Second && rs[1].at.Before(killedAt.Add(lease-time.Second)) {
				t.Errorf("%s received it again %v after the first POST, before the lease lapsed", p, rs[1].at.Sub(rs[0].at))
			}
		}
	}
	// The killed process held at most one claim: workers*2 rows.
	if twice > 8 {
		t.Errorf("%d inboxes received the activity twice, more than the killed process could hold", twice)
	}
	second.stop(t)
}

// waitReadyAt waits until the child answers /readyz at base.
func waitReadyAt(t *testing.T, c *child, base string) {
	t.Helper()
	poll(t, 30*time.Second, "the instance to be ready", func() (bool, string) {
		select {
		case <-c.done:
			t.Fatalf("coopfed exited before it was ready: %v\n%s", c.err, c.out.String())
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// TestMigrateDB moves an instance made with the CLI from SQLite to
// PostgreSQL and checks what the command refuses.
func TestMigrateDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "coopfed.db")
	var out bytes.Buffer
	for _, args := range [][]string{
		{"coop", "create", "bakery", "--db", src},
		{"coop", "create", "dairy", "--db", src},
		{"token", "create", "--coop", "bakery", "--db", src},
		{"member", "add", "ana", "--coop", "bakery", "--db", src, "--role", "admin"},
		{"block", "--domain", "spam.example", "--db", src},
	} {
		out.Reset()
		if err := run(ctx, args, &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	dst := pgtest.NewDatabase(t)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no destination", []string{"--from", "sqlite:" + src}, "usage: coopfed migrate-db"},
		{"destination not PostgreSQL", []string{"--from", "sqlite:" + src, "--to", filepath.Join(dir, "other.db")}, "--to must be a postgres:// URL"},
		{"source missing", []string{"--from", "sqlite:" + filepath.Join(dir, "missing.db"), "--to", dst}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			err := run(ctx, append([]string{"migrate-db"}, tc.args...), &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("migrate-db %v: %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}

	out.Reset()
	if err := run(ctx, []string{"migrate-db", "--from", "sqlite:" + src, "--to", dst}, &out, &out); err != nil {
		t.Fatalf("migrate-db: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "every table's count and digest agree") {
		t.Errorf("migrate-db said:\n%s", out.String())
	}
	s, err := store.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := store.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want, _ := s.Digests(ctx)
	got, _ := p.Digests(ctx)
	for table, w := range want {
		if table != "schema_migrations" && got[table] != w {
			t.Errorf("%s: %+v on PostgreSQL, %+v on SQLite", table, got[table], w)
		}
	}
	// The moved instance works: new rows get fresh ids after the copied
	// ones, and the coops are there.
	if _, err := federation.NewCoop(ctx, p, "cannery", ""); err != nil {
		t.Fatalf("a coop created after the move: %v", err)
	}
	coops, _ := p.Coops(ctx)
	if len(coops) != 3 {
		t.Errorf("%d coops after the move, want 3", len(coops))
	}

	// A second run finds the destination in use and changes nothing.
	before, _ := p.Digests(ctx)
	out.Reset()
	if err := run(ctx, []string{"migrate-db", "--from", src, "--to", dst}, &out, &out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second migrate-db: %v, want a refusal of a database not empty", err)
	}
	after, _ := p.Digests(ctx)
	for table := range before {
		if before[table] != after[table] {
			t.Errorf("a refused migrate-db changed %s", table)
		}
	}
}
