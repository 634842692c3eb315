//go:build !linux

package fedtest

// reservePort reserves nothing where bound, non-listening sockets do not
// behave as on Linux; a restart there relies on the port staying free.
func reservePort(port int) (release func(), err error) { return func() {}, nil }
