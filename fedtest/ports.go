package fedtest

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/coopfed/coopfed/internal/loopback"
)

// Ports handed to instances come from below Linux's default ephemeral range
// (32768-60999), and each stays reserved (package loopback) until its test
// ends. Why: a restart test listens again on the port its instance had (the
// port is in every IRI of the instance), and between the shutdown and the
// restart the port must not become the local end of some other test's
// outgoing connection (possible on a machine whose ephemeral range is
// wider) nor another instance's port.
const (
	lowPortFirst = 20000
	lowPortCount = 12000
)

// reserved holds the ports this process has reserved, so that two instances
// of one test binary (whose reservations could share a port, neither of
// them listening) never draw the same one.
var reserved = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// ReserveAddr returns an address of 127.0.0.1 below the ephemeral range on
// which nothing listens and which stays reserved until t ends: a server
// that is down until something listens there (a process started with
// --addr, or net.Listen, may bind it beside the reservation).
func ReserveAddr(t testing.TB) string {
	t.Helper()
	for range 64 {
		port := lowPortFirst + rand.IntN(lowPortCount)
		if reserve(t, port) {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
	}
	t.Fatal("no free port to reserve below the ephemeral range")
	return ""
}

// listenLoopback listens on addr, or, when addr is empty, on an address
// from ReserveAddr.
func listenLoopback(t testing.TB, addr string) (net.Listener, error) {
	if addr == "" {
		addr = ReserveAddr(t)
	}
	return net.Listen("tcp", addr)
}

// reserve reserves port until t ends; false when this process already holds
// it or the kernel refuses (something listens there).
func reserve(t testing.TB, port int) bool {
	reserved.Lock()
	defer reserved.Unlock()
	if reserved.ports[port] {
		return false
	}
	release, err := loopback.Reserve(port)
	if err != nil {
		return false
	}
	reserved.ports[port] = true
	// Registered before the instance's own cleanup, so it runs after the
	// instance has stopped.
	t.Cleanup(func() {
		release()
		reserved.Lock()
		delete(reserved.ports, port)
		reserved.Unlock()
	})
	return true
}
