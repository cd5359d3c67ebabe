package transport

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// loopReader serves the same bytes forever: a peer that always has the next frame ready.
type loopReader struct {
	memConn
	data []byte
	off  int
}

func (l *loopReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k := copy(b[n:], l.data[l.off:])
		n += k
		l.off = (l.off + k) % len(l.data)
	}
	return n, nil
}

// BenchmarkReadFrame reads 300-byte SMB2 replies that are always there (plain read path): the
// framing and buffer handling alone, without system calls. reads/op is below 1 when read-ahead
// takes several frames per read.
func BenchmarkReadFrame(b *testing.B) {
	h := wire.Header{Command: wire.CmdEcho, Flags: wire.FlagServerToRedir}
	msg := append(h.AppendTo(nil), make([]byte, 300-wire.HeaderSize)...)
	frame := append(wire.AppendNetBIOSHeader(nil, len(msg)), msg...)
	c := New(b.Context(), &loopReader{data: frame}, Options{})
	defer c.Close()
	reads := countReads(c)
	ctx := b.Context()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		m, err := c.ReadFrame(ctx)
		if err != nil || len(m) != len(msg) {
			b.Fatal(err, len(m))
		}
	}
	b.ReportMetric(float64(*reads)/float64(b.N), "reads/op")
}

// BenchmarkCallLoopback is one ECHO round trip over loopback TCP against a minimal server
// goroutine (its work is in the figures too), on the raw read path (a *net.TCPConn: the
// connection waits for the reply without a buffer) and the plain one (the same socket behind
// a wrapper). reads/op counts the client's reads that returned data.
func BenchmarkCallLoopback(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				s, err := ln.Accept()
				if err != nil {
					return
				}
				defer s.Close()
				serveEcho(s)
			}()
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c := New(b.Context(), p.wrap(nc), Options{})
			defer c.Close()
			reads := countReads(c)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(*reads)/float64(b.N), "reads/op")
		})
	}
}

// serveEcho answers every request on s with a success reply of the same command and id.
func serveEcho(s net.Conn) {
	in := make([]byte, 4096)
	out := make([]byte, 0, 256)
	for {
		if _, err := io.ReadFull(s, in[:4]); err != nil {
			return
		}
		_, n, _ := wire.ParseNetBIOSHeader(in[:4])
		if n > len(in) || n < wire.HeaderSize {
			return
		}
		if _, err := io.ReadFull(s, in[:n]); err != nil {
			return
		}
		var h wire.Header
		if wire.DecodeHeader(in[:n], &h) != nil {
			return
		}
		rh := wire.Header{Command: h.Command, MessageID: h.MessageID, Credits: 1, Flags: wire.FlagServerToRedir}
		out = append(rh.AppendTo(append(out[:0], 0, 0, 0, 0)), 4, 0, 0, 0)
		_ = wire.PutNetBIOSHeader(out, len(out)-4)
		if _, err := s.Write(out); err != nil {
			return
		}
	}
}

// BenchmarkNegotiate311 is a 3.1.1 NEGOTIATE round trip against the in-memory fake server,
// with the preauth integrity hash (a connection that may sign) and without (NoSigning, the
// probes' connections). The fake's own work, which includes its hash, is in both.
func BenchmarkNegotiate311(b *testing.B) {
	for _, noSign := range []bool{false, true} {
		name := "hash"
		if noSign {
			name = "NoSigning"
		}
		b.Run(name, func(b *testing.B) {
			s := &fakeServer{t: b, dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESGMAC, cipher: wire.CipherAES128GCM}
			c := New(b.Context(), &memConn{serve: s.serve}, Options{NoSigning: noSign})
			defer c.Close()
			var guid wire.GUID
			var salt [32]byte
			req := wire.DefaultNegotiateRequest(guid, salt)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := c.Call(ctx, wire.CmdNegotiate, 0, &req)
				if err != nil || r.Header.Status != wire.StatusSuccess {
					b.Fatal(err, r.Header.Status)
				}
			}
		})
	}
}
