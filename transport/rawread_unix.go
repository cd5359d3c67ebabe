//go:build unix

package transport

import (
	"net"
	"syscall"
)

// rawConn returns the syscall.RawConn of a TCP connection, through which ReadFrame waits for
// data without holding a buffer; nil for every other net.Conn (test fakes, pipes, wrappers
// whose Read does more than read the socket), which are read with plain Read calls.
func rawConn(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// errWouldBlock is what sysRead returns when no data is there yet.
var errWouldBlock error = syscall.EAGAIN

// sysRead is read(2) on a non-blocking socket, retried on EINTR.
func sysRead(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		switch err {
		case nil:
			return n, nil
		case syscall.EINTR:
			continue
		}
		return 0, err
	}
}

// rawReads says that connections of type *net.TCPConn are read through their RawConn.
const rawReads = true
