package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/smbcrypto"
	"github.com/smbsweep/smbsweep/wire"
)

// countReads counts the reads of c that returned data: Read calls on the plain path, calls
// of the RawConn callback that did not have to wait on the raw path.
func countReads(c *Conn) *int {
	n := new(int)
	if c.rc != nil {
		inner := c.readRaw
		c.readRaw = func(fd uintptr) bool {
			ok := inner(fd)
			if ok {
				*n++
			}
			return ok
		}
		return n
	}
	c.nc = &countingConn{Conn: c.nc, n: n}
	return n
}

type countingConn struct {
	net.Conn
	n *int
}

func (cc *countingConn) Read(b []byte) (int, error) {
	k, err := cc.Conn.Read(b)
	if k > 0 {
		*cc.n++
	}
	return k, err
}

// TestOneReadPerFrame: a reply that arrives whole is read with one read, NetBIOS header and
// message together (before read-ahead: two).
func TestOneReadPerFrame(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			for {
				h, err := readRequest(c)
				if err != nil {
					return
				}
				reply(c, wire.Header{Command: h.Command, MessageID: h.MessageID, Credits: 1}, make([]byte, 300))
			}
		})
		c := newConn(t.Context(), nc, Options{})
		defer c.Close()
		reads := countReads(c)
		const calls = 8
		for i := range calls {
			r, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{})
			if err != nil || r.Header.MessageID != uint64(i) || len(r.Msg) != wire.HeaderSize+300 {
				t.Fatalf("call %d: %v, %d bytes", i, err, len(r.Msg))
			}
		}
		if *reads != calls {
			t.Fatalf("%d reads with data for %d replies, want one each", *reads, calls)
		}
	})
}

// TestReadAheadStream sends a random stream of frames (keep-alives, small and large session
// messages) in random pieces, and reads it with ReadFrame, calling Buffer and writing into it
// between frames at random (as a request would) and overwriting every returned frame up to its
// capacity, which for a TRANSFORM message includes the decryptSlack bytes after it (as
// in-place decryption does). Every frame must come back whole and in order: bytes read ahead
// survive both.
func TestReadAheadStream(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			var stream []byte
			var want [][]byte
			for i := range 300 {
				if rng.IntN(8) == 0 {
					stream = append(stream, wire.NetBIOSKeepAlive, 0, 0, 0)
					continue
				}
				var n int
				switch rng.IntN(10) {
				case 0:
					n = 4000 + rng.IntN(200) // around the pooled buffer's size
				case 1:
					n = 5000 + rng.IntN(100_000)
				default:
					n = 4 + rng.IntN(400)
				}
				msg := make([]byte, n)
				for j := range msg {
					msg[j] = byte(i + j*7)
				}
				binary.LittleEndian.PutUint32(msg, uint32(i))
				if i%3 == 0 && n >= 8 { // a TRANSFORM message: room to decrypt in place
					binary.LittleEndian.PutUint32(msg, wire.ProtocolSMB2Transform)
					binary.LittleEndian.PutUint32(msg[4:], uint32(i))
				}
				want = append(want, msg)
				stream = append(wire.AppendNetBIOSHeader(stream, n), msg...)
			}
			forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
				pieces := rand.New(rand.NewPCG(seed, 8))
				nc := peer(t, func(c net.Conn) {
					for rest := stream; len(rest) > 0; {
						k := min(len(rest), 1+pieces.IntN(9000))
						if _, err := c.Write(rest[:k]); err != nil {
							return
						}
						rest = rest[k:]
						if pieces.IntN(4) == 0 {
							time.Sleep(time.Millisecond)
						}
					}
					io.Copy(io.Discard, c)
				})
				c := newConn(t.Context(), nc, Options{})
				defer c.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				for i, w := range want {
					msg, err := c.ReadFrame(ctx)
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if !bytes.Equal(msg, w) {
						t.Fatalf("frame %d: got %d bytes (%x...), want %d (%x...)", i, len(msg), msg[:min(8, len(msg))], len(w), w[:8])
					}
					room := 0
					if binary.LittleEndian.Uint32(msg) == wire.ProtocolSMB2Transform {
						room = decryptSlack
					}
					if cap(msg) != len(msg)+room {
						t.Fatalf("frame %d: %d bytes of room after the message, want %d", i, cap(msg)-len(msg), room)
					}
					msg = msg[:cap(msg)]
					for j := range msg {
						msg[j] = 0xee
					}
					if rng.IntN(3) == 0 {
						b := c.Buffer()
						b = append(b, bytes.Repeat([]byte{0xdd}, rng.IntN(6000))...)
						c.keep(b)
					}
				}
			})
		})
	}
}

// TestSurplusAcrossCalls: a reply followed at once by an unsolicited notification and a
// keep-alive; the next Call sends its request (the buffer is rewritten, or was released in
// between) and must still see them, skip them, and match its own reply.
func TestSurplusAcrossCalls(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			for {
				h, err := readRequest(c)
				if err != nil {
					return
				}
				var out []byte
				for _, m := range []struct {
					h    wire.Header
					body []byte
				}{
					{wire.Header{Command: h.Command, MessageID: h.MessageID, Credits: 1, Status: wire.StatusAccessDenied}, []byte{9, 0, 0, 0, 0, 0, 0, 0, byte(h.MessageID)}},
					{wire.Header{Command: wire.CmdOplockBreak, MessageID: ^uint64(0)}, bytes.Repeat([]byte{24}, 24)},
				} {
					m.h.Flags |= wire.FlagServerToRedir
					msg := append(m.h.AppendTo(nil), m.body...)
					out = append(wire.AppendNetBIOSHeader(out, len(msg)), msg...)
				}
				out = append(out, wire.NetBIOSKeepAlive, 0, 0, 0)
				c.Write(out)
			}
		})
		c := newConn(t.Context(), nc, Options{})
		defer c.Close()
		for i := range 4 {
			r, err := c.Call(t.Context(), wire.CmdTreeConnect, 0, rawBody(bytes.Repeat([]byte{0xab}, 100+i*1000)))
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if r.Header.MessageID != uint64(i) || r.Msg[len(r.Msg)-1] != byte(i) {
				t.Fatalf("call %d: reply to message %d", i, r.Header.MessageID)
			}
			if i%2 == 1 { // idle between requests: no buffer, the bytes read ahead kept
				c.Release()
				if c.buf != nil || len(c.pend) == 0 {
					t.Fatalf("after Release: buffer %d bytes, %d bytes set aside", len(c.buf), len(c.pend))
				}
			}
		}
	})
}

// TestEncryptedReplyWithSurplus: an encrypted reply decrypted in place, with bytes of the next
// frame right behind it in the same read, leaves them intact.
func TestEncryptedReplyWithSurplus(t *testing.T) {
	for _, cipher := range []uint16{wire.CipherAES128GCM, wire.CipherAES256CCM} {
		t.Run(wire.CipherName(cipher), func(t *testing.T) {
			s := &fakeServer{dialect: uint16(wire.Dialect311), cipher: cipher}
			c, mc := newFake(t, s)
			defer c.Close()
			if _, err := logon(t, c, s, SessionOptions{Encrypt: true}); err != nil {
				t.Fatal(err)
			}
			mc.serve = func(req, out []byte) []byte {
				out = s.serve(req, out)
				return append(out, wire.NetBIOSKeepAlive, 0, 0, 0)
			}
			for i := range 5 {
				s.extra = bytes.Repeat([]byte{byte(i)}, i*100)
				r, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{})
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if !s.lastEncrypted || len(s.errs) > 0 || len(r.Msg) != wire.HeaderSize+4+i*100 {
					t.Fatalf("call %d: encrypted %v, server errors %v, %d bytes", i, s.lastEncrypted, s.errs, len(r.Msg))
				}
			}
		})
	}
}

// TestNoBufferWhileWaiting: on the raw path a connection that waits for a reply with nothing
// received holds no buffer; one that waits for the rest of a frame keeps what it has.
func TestNoBufferWhileWaiting(t *testing.T) {
	if !rawReads {
		t.Skip("no RawConn reads on this platform")
	}
	nc := peer(t, func(c net.Conn) {
		for i := 0; ; i++ {
			h, err := readRequest(c)
			if err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // the client waits with nothing received
			rh := wire.Header{Command: h.Command, MessageID: h.MessageID, Credits: 1, Flags: wire.FlagServerToRedir}
			msg := append(rh.AppendTo(nil), 4, 0, 0, 0)
			frame := append(wire.AppendNetBIOSHeader(nil, len(msg)), msg...)
			c.Write(frame[:10])
			time.Sleep(20 * time.Millisecond) // the client waits with part of a frame
			c.Write(frame[10:])
		}
	})
	c := New(t.Context(), nc, Options{})
	defer c.Close()
	if c.rc == nil {
		t.Fatal("a *net.TCPConn is not read through its RawConn")
	}
	var emptyWaits, partialWaits, heldEmpty int
	inner := c.readRaw
	c.readRaw = func(fd uintptr) bool {
		ok := inner(fd)
		switch {
		case ok:
		case c.w > c.r:
			partialWaits++
			if c.buf == nil {
				t.Error("buffer released with part of a frame in it")
			}
		default:
			emptyWaits++
			if c.buf != nil {
				heldEmpty++
			}
		}
		return ok
	}
	const calls = 3
	for i := range calls {
		if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if c.buf == nil {
			t.Fatal("reply returned without a buffer")
		}
	}
	if emptyWaits < calls || partialWaits < calls || heldEmpty != 0 {
		t.Fatalf("%d waits with nothing received (%d of them holding the buffer), %d with part of a frame; want >= %d, 0, >= %d",
			emptyWaits, heldEmpty, partialWaits, calls, calls)
	}
}

// TestWaitingConnsHoldNoBuffers: many connections blocked in ReadFrame on silent servers cost
// less heap each, everything included (both ends' sockets, the Conn, its goroutine's
// closure), than the 4 KiB buffer each held before.
func TestWaitingConnsHoldNoBuffers(t *testing.T) {
	if !rawReads {
		t.Skip("no RawConn reads on this platform")
	}
	const conns = 400
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var servers []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			servers = append(servers, c)
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var cs []*Conn
	defer func() {
		cancel()
		wg.Wait()
		for _, c := range cs {
			c.Close()
		}
		ln.Close()
		<-accepted
		for _, s := range servers {
			s.Close()
		}
	}()
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range conns {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, New(ctx, nc, Options{}))
	}
	started := make(chan struct{}, conns)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.WriteFrame(ctx, append(c.Buffer(), make([]byte, 64)...)); err != nil {
				t.Error(err)
			}
			started <- struct{}{}
			_, _ = c.ReadFrame(ctx)
		}()
	}
	for range conns {
		<-started
	}
	<-accepted
	time.Sleep(200 * time.Millisecond) // let every reader reach its wait
	runtime.GC()
	runtime.GC() // the pool is emptied by two collections
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapInuse) - int64(before.HeapInuse)) / conns
	t.Logf("%d bytes of heap per waiting connection", per)
	if per >= initialBuffer {
		t.Fatalf("%d bytes of heap per waiting connection: the buffer is held while waiting", per)
	}
}

// TestReadErrorsAsNetRead: on both paths a reset and a deadline read as the net package reports
// them ("read tcp ...: read: connection reset by peer", a net.Error with Timeout), so that
// classification and messages do not depend on the path.
func TestReadErrorsAsNetRead(t *testing.T) {
	forPaths(t, func(t *testing.T, newConn func(context.Context, net.Conn, Options) *Conn) {
		nc := peer(t, func(c net.Conn) {
			readRequest(c)
			c.(*net.TCPConn).SetLinger(0)
			c.Close() // RST
		})
		c := newConn(t.Context(), nc, Options{})
		defer c.Close()
		_, err := c.Call(t.Context(), wire.CmdNegotiate, 0, rawBody{36, 0})
		var oe *net.OpError
		if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &oe) || oe.Op != "read" || !strings.HasSuffix(err.Error(), "read: connection reset by peer") {
			t.Fatalf("reset: got %v", err)
		}

		c2 := newConn(t.Context(), peer(t, func(c net.Conn) { io.Copy(io.Discard, c) }), Options{})
		defer c2.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		_, err = c2.Call(ctx, wire.CmdNegotiate, 0, rawBody{36, 0})
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.As(err, &oe) || oe.Op != "read" {
			t.Fatalf("deadline: got %v", err)
		}
	})
}

// TestNoSigning: a connection opened with NoSigning computes no preauth integrity hash,
// still negotiates and runs unsigned sessions, and refuses to establish a signed one; the
// same exchange without it keeps the hash (TestPreauthHashMatchesServer checks its value).
func TestNoSigning(t *testing.T) {
	for _, noSign := range []bool{false, true} {
		t.Run(fmt.Sprint("NoSigning=", noSign), func(t *testing.T) {
			s := &fakeServer{dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESCMAC, cipher: wire.CipherAES128GCM,
				sessionID: 0x11, sessionKey: bytes.Repeat([]byte{1}, 16)}
			s.t = t
			mc := &memConn{serve: s.serve}
			c := New(t.Context(), mc, Options{NoSigning: noSign})
			defer c.Close()
			_, err := logon(t, c, s, SessionOptions{})
			n := c.Negotiated()
			if n.Dialect != uint16(wire.Dialect311) || n.Cipher != wire.CipherAES128GCM || n.SigningAlgorithm != wire.SigningAESCMAC {
				t.Fatalf("negotiated %+v", n)
			}
			zero := smbcrypto.PreauthHash{}
			if noSign {
				if n.PreauthHash != zero || c.SessionPreauthHash() != zero {
					t.Fatal("preauth hash computed with NoSigning")
				}
				if err == nil || !strings.Contains(err.Error(), "NoSigning") {
					t.Fatalf("EstablishSession with NoSigning: %v", err)
				}
				if _, ok := c.Security(s.sessionID); ok {
					t.Fatal("session established with NoSigning")
				}
				// The unsigned session still works.
				if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil || s.lastSigned {
					t.Fatalf("echo: %v, signed %v", err, s.lastSigned)
				}
				return
			}
			if err != nil || n.PreauthHash != s.connHash || n.PreauthHash == zero {
				t.Fatalf("without NoSigning: %v, hash %v want %v", err, n.PreauthHash, s.connHash)
			}
		})
	}
}
