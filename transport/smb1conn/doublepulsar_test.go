package smb1conn

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// pingServer answers one request on a pipe with Samba's captured PeekNamedPipe error reply
// turned into a TRANSACTION2 STATUS_NOT_IMPLEMENTED (an unaltered Windows' answer to
// TRANS2_SESSION_SETUP), under the request's MID plus delta (16: the DoublePulsar implant). The
// request is sent on got.
func pingServer(t *testing.T, delta uint16, got chan<- []byte) *Conn {
	t.Helper()
	reply := capture(t, "peek-named-pipe")
	cli, srv := net.Pipe()
	go func() {
		defer srv.Close()
		var hdr [4]byte
		if _, err := readFull(srv, hdr[:]); err != nil {
			return
		}
		req := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3]))
		if _, err := readFull(srv, req); err != nil {
			return
		}
		got <- req
		r := reply
		r[4] = smb1.CommandTransaction2
		binary.LittleEndian.PutUint32(r[5:], uint32(wire.StatusNotImplemented))
		binary.LittleEndian.PutUint16(r[30:], binary.LittleEndian.Uint16(req[30:])+delta)
		_, _ = srv.Write(append(wire.AppendNetBIOSHeader(nil, len(r)), r...))
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	c := New(ctx, cli, Options{ServerName: "fake"})
	t.Cleanup(func() { _ = c.Close() })
	c.neg = Negotiated{Capabilities: smb1.CapUnicode, Unicode: true, MaxBufferSize: 16644}
	c.done = true
	return c
}

// TestDoublePulsarPing checks the ping's request against the public detection request
// (Countercept's doublepulsar-detection-script: TRANSACTION2, MID 65, Timeout bytes a6 d9 a4 00,
// one setup word 0x000e, 12 zero parameter bytes) and that the reply is read whatever its MID:
// 81 (the implant's answer) is not skipped as a stray reply.
func TestDoublePulsarPing(t *testing.T) {
	for _, delta := range []uint16{0, 16} {
		got := make(chan []byte, 1)
		c := pingServer(t, delta, got)
		res, err := c.DoublePulsarPing(t.Context(), 7)
		if err != nil {
			t.Fatal(err)
		}
		if res.MID != DoublePulsarPingMID+delta || !res.NTStatus || res.Status.NTStatus() != wire.StatusNotImplemented {
			t.Errorf("delta %d: result %+v, want MID %d and STATUS_NOT_IMPLEMENTED", delta, res, DoublePulsarPingMID+delta)
		}
		req := <-got
		le := binary.LittleEndian
		if req[4] != smb1.CommandTransaction2 || le.Uint16(req[30:]) != 65 || le.Uint16(req[24:]) != 7 {
			t.Fatalf("request header % x: want TRANSACTION2, TID 7, MID 65", req[:32])
		}
		w := req[33:]
		if req[32] != 15 || le.Uint16(w[0:]) != 12 || le.Uint16(w[2:]) != 0 || le.Uint16(w[4:]) != 1 ||
			le.Uint32(w[12:]) != 0x00a4d9a6 || le.Uint16(w[18:]) != 12 || w[26] != 1 || le.Uint16(w[28:]) != 0x000e {
			t.Errorf("request words % x: want the ping's counts, Timeout a6 d9 a4 00 and setup 0x000e", req[32:64])
		}
		off := int(le.Uint16(w[20:]))
		if off+12 > len(req) {
			t.Fatalf("parameter offset %d past the request (%d bytes)", off, len(req))
		}
		for _, b := range req[off : off+12] {
			if b != 0 {
				t.Errorf("parameters % x, want 12 zero bytes", req[off:off+12])
				break
			}
		}
	}
}
