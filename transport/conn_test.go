package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// peer runs fn on the server side of a loopback TCP connection and returns the client side.
func peer(t *testing.T, fn func(c net.Conn)) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fn(c)
	}()
	t.Cleanup(func() { <-done })
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// paths are the two ways a Conn reads: through the socket's syscall.RawConn (a *net.TCPConn
// on unix: it waits for data without holding a buffer) and with plain Read calls (any other
// net.Conn: test fakes, pipes, wrappers).
var paths = []struct {
	name string
	wrap func(net.Conn) net.Conn
}{
	{"raw", func(c net.Conn) net.Conn { return c }},
	{"plain", func(c net.Conn) net.Conn { return plainConn{c} }},
}

// plainConn hides the concrete type of a net.Conn, so that Conn reads it with plain Reads.
type plainConn struct{ net.Conn }

// forPaths runs fn as a subtest per read path; newConn wraps New with the path's conn and
// checks that the path is the one taken.
func forPaths(t *testing.T, fn func(t *testing.T, newConn func(ctx context.Context, nc net.Conn, opts Options) *Conn)) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			fn(t, func(ctx context.Context, nc net.Conn, opts Options) *Conn {
				t.Helper()
				c := New(ctx, p.wrap(nc), opts)
				if raw := c.rc != nil; raw != (p.name == "raw" && rawReads) {
					t.Fatalf("path %s: RawConn used = %v", p.name, raw)
				}
				return c
			})
		})
	}
}

// readRequest reads one framed SMB2 request on the server side.
func readRequest(c net.Conn) (wire.Header, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return wire.Header{}, err
	}
	_, n, _ := wire.ParseNetBIOSHeader(hdr[:])
	msg := make([]byte, n)
	if _, err := io.ReadFull(c, msg); err != nil {
		return wire.Header{}, err
	}
	var h wire.Header
	return h, wire.DecodeHeader(msg, &h)
}

func reply(c net.Conn, h wire.Header, body []byte) {
	h.Flags |= wire.FlagServerToRedir
	msg := h.AppendTo(nil)
	msg = append(msg, body...)
	c.Write(append(wire.AppendNetBIOSHeader(nil, len(msg)), msg...))
}

type rawBody []byte

func (b rawBody) AppendTo(dst []byte) []byte { return append(dst, b...) }

func TestCallMatchesAndSkipsInterim(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			for {
				h, err := readRequest(c)
				if err != nil {
					return
				}
				// A keep-alive, an unsolicited break notification, an interim response, then the answer.
				c.Write([]byte{0x85, 0, 0, 0})
				reply(c, wire.Header{Command: wire.CmdOplockBreak, MessageID: ^uint64(0)}, []byte{24, 0})
				reply(c, wire.Header{Command: h.Command, MessageID: h.MessageID, Status: wire.StatusPending, Flags: wire.FlagAsyncCommand, AsyncID: 1}, nil)
				reply(c, wire.Header{Command: h.Command, MessageID: h.MessageID, Credits: 10, Status: wire.StatusAccessDenied}, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0})
			}
		})
		c := newConn(context.Background(), nc, Options{})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i := 0; i < 3; i++ {
			r, err := c.Call(ctx, wire.CmdTreeConnect, 0, rawBody{9, 0})
			if err != nil {
				t.Fatal(err)
			}
			if r.Header.Status != wire.StatusAccessDenied || r.Header.MessageID != uint64(i) {
				t.Fatalf("call %d: got status %s id %d", i, r.Header.Status, r.Header.MessageID)
			}
		}
	})
}

func TestNotSMB(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		})
		c := newConn(context.Background(), nc, Options{})
		defer c.Close()
		_, err := c.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0})
		var ns *NotSMBError
		if !errors.As(err, &ns) || !errors.Is(err, ErrNotSMB) || string(ns.First) != "HTTP/1.1 400 Bad" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOversizeFrameIsProtocolError(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte{0, 0xff, 0xff, 0xff})
			time.Sleep(100 * time.Millisecond)
		})
		c := newConn(context.Background(), nc, Options{MaxFrame: 4096})
		defer c.Close()
		_, err := c.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0})
		var pe *ProtocolError
		if !errors.As(err, &pe) || !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestTruncatedFrame(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte{0, 0, 0x10, 0, 0xfe, 'S', 'M', 'B'}) // announces 4096, sends 4, closes
		})
		c := newConn(context.Background(), nc, Options{})
		defer c.Close()
		_, err := c.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0})
		if !errors.Is(err, wire.ErrShort) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestWrongMessageID(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			h, _ := readRequest(c)
			reply(c, wire.Header{Command: h.Command, MessageID: h.MessageID + 5}, nil)
		})
		c := newConn(context.Background(), nc, Options{})
		defer c.Close()
		_, err := c.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0})
		if !errors.Is(err, wire.ErrMalformed) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDeadlineAndCancel(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		silent := func(c net.Conn) { io.Copy(io.Discard, c) }
		// The context deadline bounds the read.
		c := newConn(context.Background(), peer(t, silent), Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := c.Call(ctx, wire.CmdNegotiate, 0, rawBody{36, 0})
		cancel()
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("deadline: got %v", err)
		}
		c.Close()
		// Cancelling the connection's context unblocks a read that has no deadline.
		cctx, ccancel := context.WithCancel(context.Background())
		c = newConn(cctx, peer(t, silent), Options{})
		defer c.Close()
		go func() { time.Sleep(50 * time.Millisecond); ccancel() }()
		if _, err := c.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0}); err == nil {
			t.Fatal("read returned without error after cancel")
		}
	})
}

func TestCreditsEnforced(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			h, _ := readRequest(c)
			reply(c, wire.Header{Command: h.Command, MessageID: h.MessageID, Credits: 1}, []byte{65, 0})
			io.Copy(io.Discard, c)
		})
		c := newConn(context.Background(), nc, Options{})
		defer c.Close()
		c.neg.Dialect = 0x0311
		if _, err := c.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CallCharge(context.Background(), wire.CmdRead, 1, 4, rawBody{49, 0}); err == nil {
			t.Fatal("a 4-credit request with 1 credit granted must fail")
		}
	})
}

// TestFrameBufferGrowsWithData: a peer that announces a 1 MiB frame and then stalls costs no
// 1 MiB buffer; a large frame that does arrive, in pieces, is read whole.
func TestFrameBufferGrowsWithData(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		release := make(chan struct{})
		nc := peer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte{0, 0x10, 0, 0}) // 1 MiB announced
			c.Write(make([]byte, 5000))
			<-release
		})
		c := newConn(context.Background(), nc, Options{MaxFrame: 2 << 20})
		defer c.Close()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := c.Call(ctx, wire.CmdNegotiate, 0, rawBody{36, 0})
		cancel()
		runtime.ReadMemStats(&after)
		close(release)
		if err == nil {
			t.Fatal("a stalled frame was accepted")
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 256<<10 {
			t.Fatalf("a 1 MiB claim with 5000 bytes (more than the pooled buffer) of payload allocated %d bytes", got)
		}

		const size = 3<<20 + 123
		nc = peer(t, func(c net.Conn) {
			h, _ := readRequest(c)
			msg := (&wire.Header{Command: h.Command, MessageID: h.MessageID, Flags: wire.FlagServerToRedir}).AppendTo(nil)
			msg = append(msg, make([]byte, size-len(msg))...)
			msg[size-1] = 0xaa
			frame := append(wire.AppendNetBIOSHeader(nil, len(msg)), msg...)
			for len(frame) > 0 { // in pieces of odd sizes
				k := min(len(frame), 70001)
				c.Write(frame[:k])
				frame = frame[k:]
			}
		})
		c2 := newConn(context.Background(), nc, Options{MaxFrame: HardMaxFrame})
		defer c2.Close()
		r, err := c2.Call(context.Background(), wire.CmdNegotiate, 0, rawBody{36, 0})
		if err != nil || len(r.Msg) != size || r.Msg[size-1] != 0xaa || cap(r.Msg) < size {
			t.Fatalf("large frame: %v, %d bytes", err, len(r.Msg))
		}
	})
}
