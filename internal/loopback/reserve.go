// Package loopback reserves ports of 127.0.0.1 for servers that tests and
// the load tool start, stop and start again on the same address.
//
// A reservation is a socket bound to the port that never listens:
// connections to the port are refused as to a stopped server, the kernel
// never picks a bound port as the local end of an outgoing connection, and
// a server (this process or a child) may still listen on the port beside
// the reservation, since both set SO_REUSEADDR. Without it, the port of a
// server that is down (or not up yet) may become the local end of some
// other connection, and the server's bind then fails.
package loopback

import (
	"net"
	"strconv"
)

// ReserveFree reserves a port of 127.0.0.1 that the kernel picks among the
// free ones and returns its address and the function that releases it.
func ReserveFree() (addr string, release func(), err error) {
	port, release, err := reserve(0)
	if err != nil {
		return "", nil, err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), release, nil
}

// Reserve reserves port of 127.0.0.1; it fails when something listens
// there or another socket holds it without SO_REUSEADDR.
func Reserve(port int) (release func(), err error) {
	_, release, err = reserve(port)
	return release, err
}
