package loopback

import (
	"errors"
	"syscall"
)

// reserve binds a socket to 127.0.0.1:port (0: a free port the kernel
// picks) without listening on it.
func reserve(port int) (int, func(), error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, err
	}
	// Why SO_REUSEADDR: Linux lets a listener bind beside a bound socket
	// only when both set it and the other one does not listen.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		syscall.Close(fd)
		return 0, nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return 0, nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return 0, nil, err
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		syscall.Close(fd)
		return 0, nil, errors.New("loopback: reservation is not an IPv4 socket")
	}
	return in4.Port, func() { syscall.Close(fd) }, nil
}
