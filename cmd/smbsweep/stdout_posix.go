//go:build linux || darwin

package main

import (
	"io"
	"os"
	"syscall"
)

// stdoutClosedAtStart reports whether w is the process's standard output and it was closed when
// the process started (smbsweep scan >&-). The Go runtime then opens /dev/null read-write in its
// place (runtime.checkfds), and results written there would vanish without an error. A shell's
// >/dev/null opens it write-only and is not reported, so stdout can still be discarded on
// purpose; only the unusual 1<>/dev/null looks the same as a closed stdout.
func stdoutClosedAtStart(w io.Writer) bool {
	fh, ok := w.(*os.File)
	if !ok || fh != os.Stdout {
		return false
	}
	var null, st syscall.Stat_t
	if syscall.Stat(os.DevNull, &null) != nil || syscall.Fstat(syscall.Stdout, &st) != nil {
		return false
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || st.Rdev != null.Rdev {
		return false
	}
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(syscall.Stdout), syscall.F_GETFL, 0)
	return errno == 0 && flags&syscall.O_ACCMODE == syscall.O_RDWR
}
