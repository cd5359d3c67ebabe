//go:build !unix

package transport

import (
	"errors"
	"net"
	"syscall"
)

// rawConn returns nil: outside unix every connection is read with plain Read calls.
func rawConn(net.Conn) syscall.RawConn { return nil }

var errWouldBlock = errors.New("would block")

func sysRead(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }

// rawReads says that no connection is read through a RawConn.
const rawReads = false
