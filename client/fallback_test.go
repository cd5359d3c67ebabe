package client

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// fakeServer accepts connections on a loopback port and answers the first frame with reply
// (nil: closes the connection; "silent": never answers).
func fakeServer(t *testing.T, reply func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:])&0xffffff)); err != nil {
					return
				}
				reply(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestNoSMB2Decision: Connect falls back to SMB1 only when the SMB2 NEGOTIATE was answered by
// a closed connection or an SMB1 message; a silent server or a refused port is not "no SMB2".
func TestNoSMB2Decision(t *testing.T) {
	smb1Reply := func(c net.Conn) {
		msg := append([]byte{0xFF, 'S', 'M', 'B', 0x72}, make([]byte, 28)...)
		_, _ = c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...))
	}
	closed := fakeServer(t, func(net.Conn) {})
	smb1 := fakeServer(t, smb1Reply)
	silent := fakeServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	for _, tc := range []struct {
		name, addr string
		want       bool
	}{{"closed", closed, true}, {"smb1 reply", smb1, true}, {"silent", silent, false}, {"refused", refused, false}} {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		_, err := Dial(ctx, dialer, tc.addr, Options{})
		cancel()
		if err == nil || NoSMB2(err) != tc.want {
			t.Errorf("%s: NoSMB2(%v) = %v, want %v", tc.name, err, NoSMB2(err), tc.want)
		}
	}
	// Connect on the closed one tries SMB1 next (which fails the same way here) and says so;
	// with encryption asked for it does not try SMB1 at all.
	_, err := Connect(t.Context(), dialer, closed, ConnectOptions{}, testCreds())
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "negotiate (SMB1)" {
		t.Errorf("fallback on a closed connection: %v, want the SMB1 NEGOTIATE's failure", err)
	}
	_, err = Connect(t.Context(), dialer, closed, ConnectOptions{Options: Options{Encrypt: true}}, testCreds())
	if !errors.Is(err, ErrNoSMB2) {
		t.Errorf("-encrypt on a closed connection: %v, want ErrNoSMB2", err)
	}
}
