package fedtest

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// A stopped instance's port stays reserved for its restart: connections to
// it are refused, no other instance of the process draws it, and the
// restarted listener binds it.
func TestStoppedInstancesPortStaysReserved(t *testing.T) {
	l, err := listenLoopback(t, "")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	if addr.Port < lowPortFirst || addr.Port >= lowPortFirst+lowPortCount {
		t.Fatalf("port %d outside the low range", addr.Port)
	}
	l.Close()
	if _, err := net.Dial("tcp", addr.String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial a stopped instance: %v, want connection refused", err)
	}
	if reserve(t, addr.Port) {
		t.Fatal("another instance drew the reserved port")
	}
	again, err := listenLoopback(t, addr.String())
	if err != nil {
		t.Fatalf("restart on the reserved port: %v", err)
	}
	again.Close()
}
