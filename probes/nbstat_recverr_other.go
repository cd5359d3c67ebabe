//go:build !linux

package probes

import (
	"errors"
	"net"
)

// Elsewhere than Linux the unconnected socket learns nothing of ICMP errors: a host without a
// name service costs the whole window.
func enableRecvErr(*net.UDPConn) bool { return false }

// read is the socket's reader, until the socket is closed.
func (s *NBStatSocket) read() {
	defer close(s.readerDone)
	buf := make([]byte, nbstatMaxDatagram)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.deliver(from, buf[:n])
	}
}
