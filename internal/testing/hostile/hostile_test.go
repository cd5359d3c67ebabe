package hostile

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// The builders must reproduce the captures they stand in for, byte for byte, so that the
// "valid parts" of every hostile reply are what Samba really sends.

func TestNetShareEnumStubMatchesCapture(t *testing.T) {
	pdu := Capture(CapNetShareEnum)
	want := dcerpc.Response(pdu)
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	got := NetShareEnumStub(SambaShares(), 0)
	if !bytes.Equal(got, want.Stub()) {
		t.Fatalf("stub differs from the capture:\n got %x\nwant %x", got, want.Stub())
	}
	frag := ResponseFragments(2, got, 0)
	if !bytes.Equal(frag, pdu) {
		t.Fatalf("RESPONSE PDU differs from the capture:\n got %x\nwant %x", frag, pdu)
	}
}

func TestNegTokenRespMatchesCapture(t *testing.T) {
	want := Capture(CapNegTokenResp)
	got := NegTokenRespChallenge(Capture(CapChallenge), DERMinimal)
	if !bytes.Equal(got, want) {
		t.Fatalf("NegTokenResp differs from the capture:\n got %x\nwant %x", got, want)
	}
	for _, style := range []DERStyle{DERNonMinimal, DERIndefinite} {
		_, err := spnego.DecodeNegTokenResp(NegTokenRespChallenge(Capture(CapChallenge), style))
		if !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("style %d: decoder said %v, want ErrMalformed (DER is strict)", style, err)
		}
	}
}

func TestBuildChallenge(t *testing.T) {
	c := ntlmssp.Challenge(BuildChallenge(TargetInfo(SambaNames())))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var av ntlmssp.AVInfo
	if err := c.AVInfo(&av); err != nil {
		t.Fatal(err)
	}
	if got := wire.DecodeUTF16LE(av.NbComputerName); got != "SWEEP-DEFAULT" || !av.HasTimestamp {
		t.Errorf("names %q, timestamp %v", got, av.HasTimestamp)
	}
	if _, ok := c.Version(); !ok {
		t.Error("captured Version lost")
	}
}

func TestReplyBuildersValidate(t *testing.T) {
	req := &Request{Header: wire.Header{Command: wire.CmdIoctl, MessageID: 9, TreeID: 3, SessionID: 5}, Msg: make([]byte, 200)}
	io := wire.IoctlResponse(IoctlReply(req, wire.StatusSuccess, []byte("pipe data")))
	if err := io.Validate(); err != nil || string(io.Output()) != "pipe data" {
		t.Errorf("IOCTL: %v %q", err, io.Output())
	}
	req.Header.Command = wire.CmdRead
	rd := wire.ReadResponse(ReadReply(req, wire.StatusSuccess, []byte("more")))
	if err := rd.Validate(); err != nil || string(rd.Data()) != "more" {
		t.Errorf("READ: %v %q", err, rd.Data())
	}
	req.Header.Command = wire.CmdSessionSetup
	ss := wire.SessionSetupResponse(SessionSetupReply(req, wire.StatusMoreProcessingRequired, 77, 0, []byte{1, 2, 3}))
	if err := ss.Validate(); err != nil || !bytes.Equal(ss.SecurityBuffer(), []byte{1, 2, 3}) {
		t.Errorf("SESSION_SETUP: %v", err)
	}
	var h wire.Header
	if err := wire.DecodeHeader(ss, &h); err != nil || h.SessionID != 77 || h.MessageID != 9 {
		t.Errorf("header %+v %v", h, err)
	}
}

func TestManySharesSpanFragments(t *testing.T) {
	stub := NetShareEnumStub(ManyShares(700), 0)
	data := ResponseFragments(2, stub, 4280-24)
	if len(data) <= 64<<10 {
		t.Fatalf("700 shares are only %d bytes: they must exceed one 64 KiB pipe read", len(data))
	}
	var ra dcerpc.Reassembler
	ra.Reset(make([]byte, 0, len(stub)), 2, 0)
	for rest := data; len(rest) > 0; {
		n, _, err := ra.Add(rest)
		if err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	var e dcerpc.ShareEnum
	if err := dcerpc.NetShareEnumResponse(ra.Stub()).Decode(&e); err != nil || e.EntriesRead != 700 {
		t.Fatalf("decode: %v, %d entries", err, e.EntriesRead)
	}
	if 65536%4280 == 0 {
		t.Fatal("a 64 KiB cut would fall on a fragment boundary")
	}
}

// TestServerCloseLeavesNothing checks that Close ends every handler, even a tarpit with a
// client that never leaves.
func TestServerCloseLeavesNothing(t *testing.T) {
	for _, c := range Cases() {
		s, err := Start(c.New())
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", s.Target())
		if err != nil {
			// reset-on-accept may abort the connection before connect returns.
			s.Close()
			if c.Name != "reset-on-accept" {
				t.Fatal(err)
			}
			continue
		}
		_, _ = conn.Write(append(netbios(4), 0xfe, 'S', 'M', 'B'))
		deadline := time.Now().Add(2 * time.Second)
		for s.Accepted() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: Close did not return", c.Name)
		}
		if s.Active() != 0 {
			t.Errorf("%s: %d connections still open", c.Name, s.Active())
		}
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = io.Copy(io.Discard, conn)
		conn.Close()
	}
}

func TestCatalogNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] || c.About == "" || c.New == nil {
			t.Errorf("case %q duplicated or incomplete", c.Name)
		}
		seen[c.Name] = true
	}
	if _, ok := Lookup("tarpit"); !ok {
		t.Error("Lookup(tarpit) failed")
	}
}
