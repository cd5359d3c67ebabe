package smb1conn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// fakeServer answers each request on the other end of a pipe with respond(request), which
// returns the reply messages (without NetBIOS headers); their MID is set to the request's.
func fakeServer(t *testing.T, respond func(req []byte) [][]byte) *Conn {
	t.Helper()
	cli, srv := net.Pipe()
	go func() {
		defer srv.Close()
		for {
			var hdr [4]byte
			if _, err := readFull(srv, hdr[:]); err != nil {
				return
			}
			req := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3]))
			if _, err := readFull(srv, req); err != nil {
				return
			}
			for _, r := range respond(req) {
				r = bytes.Clone(r)
				copy(r[30:32], req[30:32])
				frame := wire.AppendNetBIOSHeader(nil, len(r))
				if _, err := srv.Write(append(frame, r...)); err != nil {
					return
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	c := New(ctx, cli, Options{ServerName: "fake", FindCount: 2})
	t.Cleanup(func() { _ = c.Close() })
	c.neg = Negotiated{Capabilities: smb1.CapUnicode | smb1.CapLargeReadX, Unicode: true, MaxBufferSize: 16644}
	c.done = true
	return c
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func capture(t *testing.T, step string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "wire", "smb1", "testdata", "samba-4.17-smb1-"+step+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A FIND whose resume point never advances (the server answers every FIND_NEXT2 with the
// same page) is stopped after the second identical page, and the search is closed.
func TestListResumeNeverAdvances(t *testing.T) {
	first, next := capture(t, "find-first2"), capture(t, "find-next2")
	var closed bool
	rounds := 0
	c := fakeServer(t, func(req []byte) [][]byte {
		switch req[4] {
		case smb1.CommandTransaction2:
			rounds++
			if rounds == 1 {
				return [][]byte{first}
			}
			return [][]byte{next}
		case smb1.CommandFindClose2:
			closed = true
			h := smb1.Header{Command: smb1.CommandFindClose2, Flags: smb1.FlagsReply, Flags2: smb1.Flags2NTStatus}
			return [][]byte{append(h.AppendTo(nil), 0, 0, 0)}
		}
		return nil
	})
	n := 0
	err := c.List(t.Context(), 1, `page\*`, func(*Entry) error { n++; return nil })
	if !errors.Is(err, wire.ErrMalformed) || !closed || rounds != 3 {
		t.Fatalf("err %v closed %v rounds %d entries %d", err, closed, rounds, n)
	}
}

// A transaction reply that announces more data than ever arrives is cut off after
// MaxTransactionFragments messages.
func TestTransactionEndlessFragments(t *testing.T) {
	frag := bytes.Clone(capture(t, "transact-nmpipe"))
	words := frag[smb1.HeaderSize+1:]
	binary.LittleEndian.PutUint16(words[2:], 0xffff) // TotalDataCount
	sent := 0
	c := fakeServer(t, func(req []byte) [][]byte {
		out := make([][]byte, MaxTransactionFragments+5)
		for i := range out {
			out[i] = frag
		}
		sent += len(out)
		return out
	})
	out := make([]byte, 0xffff)
	_, err := c.TransactNamedPipe(t.Context(), 1, 0x4000, []byte("bind"), out)
	if !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("err %v", err)
	}
	if c.broken == nil {
		t.Fatal("connection still usable after a runaway transaction")
	}
}

// A transaction reply larger than the caller's buffer is refused before anything is copied.
func TestTransactionOverCap(t *testing.T) {
	c := fakeServer(t, func([]byte) [][]byte { return [][]byte{capture(t, "transact-nmpipe")} })
	out := make([]byte, 16) // the bind_ack is 68 bytes
	if _, err := c.TransactNamedPipe(t.Context(), 1, 0x4000, []byte("bind"), out); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("err %v", err)
	}
}

// Replies with other MIDs are skipped a bounded number of times.
func TestStrayReplies(t *testing.T) {
	reply := capture(t, "close")
	cli, srv := net.Pipe()
	go func() {
		defer srv.Close()
		var hdr [4]byte
		if _, err := readFull(srv, hdr[:]); err != nil {
			return
		}
		req := make([]byte, int(hdr[3])|int(hdr[2])<<8)
		_, _ = readFull(srv, req)
		for range maxStrayReplies + 2 {
			r := bytes.Clone(reply)
			binary.LittleEndian.PutUint16(r[30:], 0x7777)
			_, _ = srv.Write(append(wire.AppendNetBIOSHeader(nil, len(r)), r...))
		}
	}()
	c := New(t.Context(), cli, Options{ServerName: "fake"})
	defer c.Close()
	c.done = true
	if err := c.CloseFile(t.Context(), 1, 2); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("err %v", err)
	}
}

// A READ_ANDX reply with more data than asked for is a protocol error, not a buffer overrun.
func TestReadMoreThanAsked(t *testing.T) {
	c := fakeServer(t, func([]byte) [][]byte { return [][]byte{capture(t, "read-andx")} })
	buf := make([]byte, 4)
	if n, err := c.ReadAt(t.Context(), 1, 2, buf, 0); !errors.Is(err, wire.ErrTooLarge) || n != 0 {
		t.Fatalf("n %d err %v", n, err)
	}
}
