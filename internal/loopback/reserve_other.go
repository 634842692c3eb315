//go:build !linux

package loopback

import "net"

// reserve reserves nothing where bound, non-listening sockets do not
// behave as on Linux: for port 0 it asks the kernel for a free port and
// frees it again, and a server there relies on the port staying free.
func reserve(port int) (int, func(), error) {
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return port, func() {}, nil
}
