package dcerpc

import (
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func TestPDUHeader(t *testing.T) {
	p := PDU(buildPDU(PacketResponse, FlagFirstFrag|FlagLastFrag, 0xdeadbeef, make([]byte, 12)))
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Type() != PacketResponse || p.Flags() != 3 || p.FragLength() != 28 || p.AuthLength() != 0 ||
		p.CallID() != 0xdeadbeef || p.DataRep() != DataRepLittleEndian {
		t.Fatalf("type %v flags %x frag %d auth %d call %x drep %x", p.Type(), p.Flags(), p.FragLength(), p.AuthLength(), p.CallID(), p.DataRep())
	}
	if n, err := FragmentLength(p); err != nil || n != 28 {
		t.Fatalf("FragmentLength = %d, %v", n, err)
	}
	// Bytes after frag_length belong to the next PDU.
	if err := PDU(append(p[:28:28], 5, 0, 2)).Validate(); err != nil {
		t.Fatalf("trailing bytes: %v", err)
	}
	expectTruncationsFail(t, p, func(b []byte) error { return PDU(b).Validate() })
	if err := p.ValidateMax(27); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("ValidateMax(27) on 28 bytes: %v", err)
	}

	mod := func(f func(b []byte)) PDU {
		b := append([]byte(nil), p...)
		f(b)
		return b
	}
	cases := []struct {
		name string
		pdu  PDU
		want error
	}{
		{"version 4", mod(func(b []byte) { b[0] = 4 }), wire.ErrBadProtocol},
		{"minor 1", mod(func(b []byte) { b[1] = 1 }), wire.ErrBadProtocol},
		{"big-endian", mod(func(b []byte) { b[4] = 0x00 }), ErrUnsupportedDataRep},
		{"EBCDIC", mod(func(b []byte) { b[4] = 0x11 }), ErrUnsupportedDataRep},
		{"VAX floats", mod(func(b []byte) { b[5] = 1 }), ErrUnsupportedDataRep},
		{"frag_length 15", mod(func(b []byte) { le.PutUint16(b[8:], 15) }), wire.ErrMalformed},
		{"frag_length past end", mod(func(b []byte) { le.PutUint16(b[8:], 29) }), wire.ErrShort},
		{"auth_length past end", mod(func(b []byte) { le.PutUint16(b[10:], 5) }), wire.ErrBadOffset},
	}
	for _, c := range cases {
		if err := c.pdu.Validate(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := mod(func(b []byte) { b[4] = 0 }).Validate(); err == nil || !containsAll(err.Error(), "big-endian") {
		t.Errorf("big-endian error does not say so: %v", err)
	}
	if _, err := FragmentLength([]byte{5, 0, 2, 3, 0x10, 0, 0, 0, 9}); !errors.Is(err, wire.ErrShort) {
		t.Errorf("FragmentLength of 9 bytes: %v", err)
	}
	if _, err := FragmentLength([]byte{5, 0, 2, 3, 0x10, 0, 0, 0, 8, 0}); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("FragmentLength 8: %v", err)
	}
	if _, err := FragmentLength([]byte{4, 0, 2, 3, 0x10, 0, 0, 0, 16, 0}); !errors.Is(err, wire.ErrBadProtocol) {
		t.Errorf("FragmentLength of version 4: %v", err)
	}
}

func TestPDUWrongType(t *testing.T) {
	resp := buildResponse(1, 3, 0, nil)
	for name, err := range map[string]error{
		"bind_ack": BindAck(resp).Validate(),
		"bind_nak": BindNak(resp).Validate(),
		"fault":    Fault(resp).Validate(),
	} {
		if !errors.Is(err, wire.ErrBadCommand) {
			t.Errorf("%s view of a response: %v", name, err)
		}
	}
	if err := Response(buildFault(1, 5)).Validate(); !errors.Is(err, wire.ErrBadCommand) {
		t.Errorf("response view of a fault: %v", err)
	}
}

func TestPacketTypeString(t *testing.T) {
	for typ, want := range map[PacketType]string{
		PacketRequest: "request", PacketResponse: "response", PacketFault: "fault", PacketBind: "bind",
		PacketBindAck: "bind_ack", PacketBindNak: "bind_nak", PacketAuth3: "rpc_auth_3", PacketOrphaned: "orphaned",
		20: "ptype(20)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", uint8(typ), got, want)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		found := false
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
