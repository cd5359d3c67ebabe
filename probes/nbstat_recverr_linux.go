package probes

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/smbsweep/smbsweep/wire"
)

// Linux: the unconnected NBSTAT socket sets IP_RECVERR (ip(7)), so the ICMP errors its
// datagrams cause are queued on the socket with the destination they were sent to and the
// start of the datagram (the transaction id): a host without a name service answers "port
// unreachable" and its wait ends at once, as on a connected socket.

// sock_extended_err (linux/errqueue.h) and its origin for ICMP.
const (
	sockExtendedErrSize = 16
	soEEOriginICMP      = 2
	icmpDestUnreachable = 3
)

// enableRecvErr turns IP_RECVERR on; false when the kernel refused it.
func enableRecvErr(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_RECVERR, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// read is the socket's reader: datagrams and (with IP_RECVERR) queued ICMP errors, until the
// socket is closed.
func (s *NBStatSocket) read() {
	defer close(s.readerDone)
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, nbstatMaxDatagram)
	oob := make([]byte, 256)
	for {
		var (
			n     int
			from  syscall.Sockaddr
			isErr bool
			oobn  int
		)
		err := rc.Read(func(fd uintptr) bool {
			for {
				if s.recvErr {
					var rerr error
					n, oobn, _, from, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_ERRQUEUE)
					if rerr == nil {
						isErr = true
						return true
					}
				}
				var rerr error
				n, from, rerr = syscall.Recvfrom(int(fd), buf, 0)
				switch {
				case rerr == nil:
					return true
				case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK):
					return false // wait for the next datagram or error
				case errors.Is(rerr, syscall.EINTR), asyncICMPError(rerr):
					continue // a pending ICMP error reported (and cleared) by the read: its detail is queued
				default:
					n = -1
					return true
				}
			}
		})
		if err != nil {
			return // closed
		}
		if n < 0 {
			continue
		}
		sa, ok := from.(*syscall.SockaddrInet4)
		if !ok {
			continue
		}
		addr := netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
		if !isErr {
			s.deliver(addr, buf[:n])
			continue
		}
		s.icmpError(addr, buf[:n], oob[:oobn])
	}
}

// icmpError files one entry of the error queue: dst is the destination of the datagram that
// caused it, payload the start of that datagram.
func (s *NBStatSocket) icmpError(dst netip.AddrPort, payload, oob []byte) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil || len(payload) < 2 || len(payload) > wire.NBStatRequestSize {
		return
	}
	for _, m := range msgs {
		if m.Header.Level != syscall.IPPROTO_IP || m.Header.Type != syscall.IP_RECVERR || len(m.Data) < sockExtendedErrSize {
			continue
		}
		origin, typ, code := m.Data[4], m.Data[5], m.Data[6]
		if origin != soEEOriginICMP || typ != icmpDestUnreachable {
			continue
		}
		s.unreachable(dst, binary.BigEndian.Uint16(payload), icmpUnreachableWhy(code))
	}
}
