package fedtest_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/coopfed/coopfed/fedtest"
)

// An instance shut down right after it started has freed its port when
// Shutdown returns, so a restart on the same address binds it (Serve runs
// in a goroutine that may not have begun when Shutdown is called).
func TestShutdownRightAfterStartFreesThePort(t *testing.T) {
	a := fedtest.Start(t, fedtest.Options{Coop: "alpha"})
	addr := strings.TrimPrefix(a.URL, "http://")
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for round := range 30 {
		a = fedtest.Start(t, fedtest.Options{Coop: "alpha", DB: a.DB, Addr: addr})
		if err := a.Shutdown(context.Background()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("round %d: the port is still taken after Shutdown: %v", round, err)
		}
		l.Close()
	}
}
