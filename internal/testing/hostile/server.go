// Package hostile runs misbehaving servers on loopback for tests: tarpits, slow and garbage
// talkers, middleboxes that speak HTTP or TLS on 445, and scripted SMB servers whose replies
// start from real Samba captures (wire/testdata and its siblings) and are then bent — lengths
// that lie, offsets outside the buffer, counts that overflow, DER that is not DER, resets after
// any stage, slow logons, a zero clock.
//
// Every server listens on 127.0.0.1 with a kernel-chosen port, so tests may run in parallel
// and never touch a non-loopback address. Close stops the listener, closes every connection
// and waits for every handler goroutine, so a test that closes its servers leaves nothing
// behind (the leak tests depend on that).
package hostile

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/loopsrv"
)

// Handler serves one accepted connection. ctx is cancelled when the server closes; the
// connection is closed after the handler returns (unless the handler already closed it).
type Handler func(ctx context.Context, c net.Conn)

// Server is a loopback TCP server that hands every connection to one Handler.
type Server struct {
	// Addr is the listening address (127.0.0.1 and a kernel-chosen port).
	Addr netip.AddrPort

	ctx    context.Context
	cancel context.CancelFunc
	group  loopsrv.Group
}

// Start listens on 127.0.0.1:0 and serves every connection with h.
func Start(h Handler) (*Server, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Addr: ap, ctx: ctx, cancel: cancel}
	if err := s.group.Serve(ln, func(c net.Conn) { h(ctx, c) }); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// StartT is Start for tests: it fails t on error and closes the server in t.Cleanup.
func StartT(t testing.TB, h Handler) *Server {
	t.Helper()
	s, err := Start(h)
	if err != nil {
		t.Fatalf("hostile: start server: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Target is the server as a scan target ("127.0.0.1:PORT").
func (s *Server) Target() string { return s.Addr.String() }

// Port is the listening port.
func (s *Server) Port() uint16 { return s.Addr.Port() }

// Accepted returns how many connections the server has accepted.
func (s *Server) Accepted() int { return s.group.Accepted() }

// Active returns how many accepted connections are still open on the server side.
func (s *Server) Active() int { return s.group.Active() }

// Close cancels the handlers' context, stops accepting, closes every open connection and waits
// for every handler. It is safe to call more than once.
func (s *Server) Close() {
	s.cancel()
	s.group.Close()
}

// String names the server by its address.
func (s *Server) String() string {
	return "hostile server " + net.JoinHostPort(s.Addr.Addr().String(), strconv.Itoa(int(s.Addr.Port())))
}

// Reset aborts c with a TCP RST instead of an orderly FIN (SO_LINGER 0, then close).
func Reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// sleep waits d or until ctx is done; it reports whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
