package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// streamPeer is the client side of a connection whose server sends stream, then closes: each
// Read returns at most the next chunks byte's worth of it (0 or no byte left: all that is
// left), then io.EOF. Writes are accepted and dropped. Not a *net.TCPConn, so Conn reads it
// with plain Reads.
type streamPeer struct {
	stream []byte
	chunks []byte
	closed bool
}

func (p *streamPeer) Read(b []byte) (int, error) {
	if p.closed {
		return 0, net.ErrClosed
	}
	if len(p.stream) == 0 {
		return 0, io.EOF
	}
	n := len(p.stream)
	if len(p.chunks) > 0 {
		if p.chunks[0] != 0 {
			n = min(n, int(p.chunks[0]))
		}
		p.chunks = p.chunks[1:]
	}
	n = copy(b, p.stream[:n])
	p.stream = p.stream[n:]
	return n, nil
}

func (p *streamPeer) Write(b []byte) (int, error) {
	if p.closed {
		return 0, net.ErrClosed
	}
	return len(b), nil
}

var streamPeerAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 445}

func (p *streamPeer) Close() error                     { p.closed = true; return nil }
func (p *streamPeer) LocalAddr() net.Addr              { return streamPeerAddr }
func (p *streamPeer) RemoteAddr() net.Addr             { return streamPeerAddr }
func (p *streamPeer) SetDeadline(time.Time) error      { return nil }
func (p *streamPeer) SetReadDeadline(time.Time) error  { return nil }
func (p *streamPeer) SetWriteDeadline(time.Time) error { return nil }

// tcpPeer returns the client side of a loopback TCP connection (a *net.TCPConn, so Conn reads
// it through its RawConn) whose server writes stream in chunks (as streamPeer cuts it), then
// closes its sending side and reads until the client closes. The returned wait blocks until
// the server is done.
func tcpPeer(t *testing.T, ln net.Listener, stream, chunks []byte) (net.Conn, func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		p := &streamPeer{stream: stream, chunks: chunks}
		buf := make([]byte, 64<<10)
		for {
			n, err := p.Read(buf)
			if err != nil {
				break
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return nc, func() { <-done }
}

// expectedError reports whether err is one of the ways a read from a peer may fail: the
// connection closed (io.EOF, io.ErrUnexpectedEOF), a framing or header the protocol does not
// allow (*ProtocolError) or a peer that is not SMB (*NotSMBError).
func expectedError(err error) bool {
	var pe *ProtocolError
	var ns *NotSMBError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &pe) || errors.As(err, &ns)
}

// totalAlloc returns the bytes allocated by the process so far.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzReadFrame plays stream as the server's side of a connection — in reads cut as chunks
// says, over an in-memory conn (plain reads) or loopback TCP (tcp: reads through the RawConn,
// buffer released while waiting) — and checks, through the public API only:
//
//   - ReadFrame returns, in order, exactly the session messages of the stream (keep-alives
//     skipped), each within the frame cap, or an error of an expected kind; it never returns
//     more frames than the stream holds;
//   - what the reads allocate grows with the bytes that arrived, never with a length the peer
//     claims (a frame cap of HardMaxFrame, so an 8 MiB claim is accepted and must cost only
//     the bytes that follow it);
//   - Call (a NEGOTIATE, then an ECHO) returns a reply that matches the request, or an error
//     after which the Conn is unusable: the next Call fails with that error and sends nothing.
func FuzzReadFrame(f *testing.F) {
	// The seeds in testdata/fuzz/FuzzReadFrame are Samba's replies (wire/testdata) framed as
	// they crossed the wire, plus hostile framings; these few keep the target meaningful
	// without them.
	neg := append(wire.AppendNetBIOSHeader(nil, 4), 0xfe, 'S', 'M', 'B')
	f.Add(neg, []byte{}, false)
	f.Add([]byte{0, 0, 0, 0}, []byte{}, false)
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xfe, 'S', 'M', 'B'}, []byte{2}, true)
	f.Add([]byte{0x85, 0, 0, 0, 0, 0x80, 0, 0, 0xfe, 'S', 'M', 'B'}, []byte{1, 1, 1, 1, 1}, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	f.Fuzz(func(t *testing.T, stream, chunks []byte, tcp bool) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		peer := func() (net.Conn, func()) {
			if tcp {
				return tcpPeer(t, ln, stream, chunks)
			}
			return &streamPeer{stream: stream, chunks: bytes.Clone(chunks)}, func() {}
		}

		// ReadFrame, frame by frame, against a reference walk of the stream.
		nc, wait := peer()
		c := New(ctx, nc, Options{MaxFrame: HardMaxFrame})
		before := totalAlloc()
		pos, frames := 0, 0
		var rerr error
		for {
			var frame []byte
			frame, rerr = c.ReadFrame(ctx)
			if rerr != nil {
				break
			}
			frames++
			if frames > len(stream)/8+1 {
				t.Fatalf("%d frames from %d bytes", frames, len(stream))
			}
			for pos+4 <= len(stream) && bytes.Equal(stream[pos:pos+4], []byte{wire.NetBIOSKeepAlive, 0, 0, 0}) {
				pos += 4
			}
			if pos+4 > len(stream) {
				t.Fatalf("frame %d of %d bytes where the stream has %d bytes left", frames, len(frame), len(stream)-pos)
			}
			typ, n, _ := wire.ParseNetBIOSHeader(stream[pos:])
			if typ != wire.NetBIOSSessionMessage || n != len(frame) || n > HardMaxFrame || pos+4+n > len(stream) ||
				!bytes.Equal(frame, stream[pos+4:pos+4+n]) {
				t.Fatalf("frame %d: %d bytes, stream at %d has type %#x length %d", frames, len(frame), pos, typ, n)
			}
			pos += 4 + n
		}
		allocated := totalAlloc() - before
		if !expectedError(rerr) {
			t.Fatalf("ReadFrame after %d frames: unexpected error %T %v", frames, rerr, rerr)
		}
		if limit := 4*uint64(len(stream)) + 512<<10; allocated > limit {
			t.Fatalf("reading %d bytes allocated %d bytes (limit %d)", len(stream), allocated, limit)
		}
		_, _ = c.ReadFrame(ctx) // after a failure: may fail again, must not panic
		c.Close()
		wait()

		// Call: a reply that matches, or an error that leaves the Conn unusable.
		nc, wait = peer()
		sent := 0
		c = New(ctx, nc, Options{Trace: func(dir Direction, _ []byte) {
			if dir == Sent {
				sent++
			}
		}})
		defer func() { c.Close(); wait() }()
		var guid wire.GUID
		var salt [32]byte
		req := wire.DefaultNegotiateRequest(guid, salt)
		r, err := c.Call(ctx, wire.CmdNegotiate, 0, &req)
		if err != nil {
			if !expectedError(err) {
				t.Fatalf("NEGOTIATE: unexpected error %T %v", err, err)
			}
		} else if r.Header.MessageID != 0 || r.Header.Command != wire.CmdNegotiate || r.Header.Flags&wire.FlagServerToRedir == 0 ||
			len(r.Msg) > DefaultMaxFrame || !bytes.Contains(stream, r.Msg) {
			t.Fatalf("NEGOTIATE reply accepted: %+v, %d bytes", r.Header, len(r.Msg))
		}
		// ECHOs until one fails: the stream runs out at the latest.
		for calls := 0; err == nil; calls++ {
			if calls > len(stream)/wire.HeaderSize {
				t.Fatalf("%d calls answered from %d bytes", calls, len(stream))
			}
			_, err = c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{})
		}
		failed, before2 := err, sent
		if _, err := c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{}); !errors.Is(err, failed) || sent != before2 {
			t.Fatalf("Call after the failure %v: %v, %d requests sent", failed, err, sent-before2)
		}
	})
}
