package interop

import (
	"os"
	"syscall"
)

// terminateSignal asks a child process to stop.
var terminateSignal = syscall.SIGTERM

// childProcAttr makes the kernel kill a Node child when the test binary
// dies, so an interrupted run leaves no peer behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// lockFile takes an exclusive lock on path, creating it, and returns the
// function that releases it. Test binaries of several people sharing a
// checkout must not run `npm ci` in the same folder at once.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
