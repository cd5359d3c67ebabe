//go:build linux

package scanner

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// epollConnector makes the connect-ahead stage's connections with non-blocking sockets
// registered with an epoll instance of its own. One goroutine waits on it and forwards the ready
// sockets to the stage's loop, which reads each one's result (SO_ERROR) and turns a connected
// socket into a net.Conn with net.FileConn. A pending connect therefore costs its socket and the
// stage's bookkeeping (a few hundred bytes), not a goroutine: thousands of addresses that drop
// SYNs can wait side by side.
type epollConnector struct {
	epfd   int
	wake   [2]int // a pipe whose read end is registered: a write stops the waiter
	ch     chan []completion
	quit   chan struct{}
	exited chan struct{}
	other  *goConnector // addresses the sockets here do not handle (IPv6 with a zone)
	once   sync.Once
}

// wakeSlot is the epoll token of the wake pipe (slots are never negative).
const wakeSlot = -1

// newConnector returns the epoll connector, or the goroutine connector when epoll is not
// available.
func newConnector(base context.Context) connector {
	nd := &net.Dialer{KeepAlive: -1}
	other := newGoConnector(base, func(ctx context.Context, t Target) (net.Conn, error) {
		return nd.DialContext(ctx, "tcp", t.AddrPort().String())
	})
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return other
	}
	e := &epollConnector{epfd: epfd, ch: make(chan []completion, 16), quit: make(chan struct{}),
		exited: make(chan struct{}), other: other}
	if err := syscall.Pipe2(e.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return other
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: wakeSlot}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, e.wake[0], &ev); err != nil {
		syscall.Close(e.wake[0])
		syscall.Close(e.wake[1])
		syscall.Close(epfd)
		return other
	}
	go e.wait()
	return e
}

// wait forwards ready sockets to the loop until close.
func (e *epollConnector) wait() {
	defer close(e.exited)
	evs := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(e.epfd, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // only after close (EBADF); nothing else is expected
		}
		out := make([]completion, 0, n)
		stop := false
		for _, ev := range evs[:n] {
			if ev.Fd == wakeSlot {
				stop = true
				continue
			}
			out = append(out, completion{slot: ev.Fd, gen: uint32(ev.Pad), events: ev.Events})
		}
		if len(out) > 0 {
			select {
			case e.ch <- out:
			case <-e.quit:
				return
			}
		}
		if stop {
			return
		}
	}
}

// sockaddr returns the socket address family and address of ap.
func sockaddr(ap netip.AddrPort) (int, syscall.Sockaddr, bool) {
	a := ap.Addr().Unmap()
	switch {
	case a.Is4():
		return syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, true
	case a.Is6() && a.Zone() == "":
		return syscall.AF_INET6, &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}, true
	}
	return 0, nil, false
}

func (e *epollConnector) start(p *pending, deadline time.Time) (bool, net.Conn, error) {
	family, sa, ok := sockaddr(p.t.AddrPort())
	if !ok {
		p.fd = -1
		return e.other.start(p, deadline)
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return true, nil, connectError(p.t, "socket", err)
	}
	switch err := syscall.Connect(fd, sa); err {
	case nil:
		conn, err := fileConn(p.t, fd)
		return true, conn, err
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
	default:
		syscall.Close(fd)
		return true, nil, connectError(p.t, "connect", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: p.slot, Pad: int32(p.gen)}
	if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		syscall.Close(fd)
		return true, nil, connectError(p.t, "epoll_ctl", err)
	}
	p.fd = fd
	return false, nil, nil
}

func (e *epollConnector) finish(p *pending, c completion) (net.Conn, error, bool) {
	if p.fd < 0 {
		return e.other.finish(p, c)
	}
	fd := p.fd
	soErr, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		e.cancel(p)
		return nil, connectError(p.t, "getsockopt", err), false
	}
	switch errno := syscall.Errno(soErr); errno {
	case 0:
		p.fd = -1
		conn, err := fileConn(p.t, fd)
		return conn, err, false
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		// Not ready after all: wait again.
		ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: p.slot, Pad: int32(p.gen)}
		if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
			e.cancel(p)
			return nil, connectError(p.t, "epoll_ctl", err), false
		}
		return nil, nil, true
	default:
		e.cancel(p)
		return nil, connectError(p.t, "connect", errno), false
	}
}

// fileConn turns a connected socket into a net.Conn (and owns fd from then on). O_NONBLOCK is
// cleared first so that os.NewFile does not register the descriptor with the runtime's poller
// only to deregister it again at Close; net.FileConn works on a non-blocking duplicate.
func fileConn(t Target, fd int) (net.Conn, error) {
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFL, syscall.O_RDWR); errno != 0 {
		syscall.Close(fd)
		return nil, connectError(t, "fcntl", errno)
	}
	f := os.NewFile(uintptr(fd), "")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(t.AddrPort()), Err: err}
	}
	return conn, nil
}

func (e *epollConnector) cancel(p *pending) {
	if p.fd < 0 {
		if p.stop != nil {
			e.other.cancel(p)
		}
		return
	}
	syscall.Close(p.fd) // also takes it out of the epoll instance
	p.fd = -1
}

// completions merges the goroutine connector's completions (rare: zoned IPv6) into the epoll
// ones by having the loop read both through one channel.
func (e *epollConnector) completions() <-chan []completion {
	e.once.Do(func() {
		go func() {
			for {
				select {
				case cs := <-e.other.ch:
					select {
					case e.ch <- cs:
					case <-e.quit:
						for _, c := range cs {
							if c.conn != nil {
								c.conn.Close()
							}
						}
						return
					}
				case <-e.quit:
					return
				}
			}
		}()
	})
	return e.ch
}

func (e *epollConnector) close() {
	close(e.quit)
	syscall.Write(e.wake[1], []byte{0})
	<-e.exited
	syscall.Close(e.epfd)
	syscall.Close(e.wake[0])
	syscall.Close(e.wake[1])
	e.other.close()
}

// synRetransmitted reports whether the kernel had to retransmit the SYN of connection c (its
// first SYN went unanswered: a full accept queue or a lost packet), from TCP_INFO. known is
// false when c is not a TCP connection or the kernel did not say.
func synRetransmitted(c net.Conn) (retrans, known bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var ti syscall.TCPInfo
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		l := uint32(syscall.SizeofTCPInfo)
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&ti)), uintptr(unsafe.Pointer(&l)), 0)
	}); err != nil || errno != 0 {
		return false, false
	}
	return ti.Total_retrans > 0, true
}
