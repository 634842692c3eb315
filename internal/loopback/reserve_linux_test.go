package loopback

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// A reserved port refuses connections, is never the local end of an
// outgoing connection, cannot be reserved again while a server listens on
// it, and a server listens on it beside the reservation, again and again.
func TestReservedPortWaitsForItsServer(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	fixed := 20000 + peer.Addr().(*net.TCPAddr).Port%10000
	for _, tc := range []struct {
		name    string
		reserve func() (string, func(), error)
	}{
		{"a free port", ReserveFree},
		{"a given port", func() (string, func(), error) {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(fixed))
			release, err := Reserve(fixed)
			return addr, release, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, release, err := tc.reserve()
			if err != nil {
				t.Skipf("no port to reserve: %v", err)
			}
			defer release()
			if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial a reserved port: %v, want connection refused", err)
			}
			local, _ := net.ResolveTCPAddr("tcp", addr)
			d := net.Dialer{LocalAddr: local}
			if c, err := d.Dial("tcp", peer.Addr().String()); !errors.Is(err, syscall.EADDRINUSE) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("outgoing connection from the reserved port: %v, want address in use", err)
			}
			for round := range 2 {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("round %d: listen beside the reservation: %v", round, err)
				}
				port := l.Addr().(*net.TCPAddr).Port
				if again, err := Reserve(port); err == nil {
					again()
					l.Close()
					t.Fatalf("round %d: reserved a port a server listens on", round)
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					l.Close()
					t.Fatalf("round %d: dial the server: %v", round, err)
				}
				c.Close()
				l.Close()
			}
		})
	}
}
