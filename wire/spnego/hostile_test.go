package spnego

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func TestTruncatedEveryLength(t *testing.T) {
	for _, h := range []string{sambaHintHex, sambaADHintHex, clientInitHex} {
		b := unhex(t, h)
		for n := 0; n < len(b); n++ {
			if _, err := DecodeNegTokenInit(b[:n]); err == nil {
				t.Errorf("negTokenInit prefix %d/%d decoded", n, len(b))
			}
		}
	}
	resp := AppendNegTokenResp(nil, bytes.Repeat([]byte{1}, 200), []byte("0123456789abcdef"))
	for _, b := range [][]byte{resp, unhex(t, acceptCompletedHex)} {
		for n := 0; n < len(b); n++ {
			if _, err := DecodeNegTokenResp(b[:n]); err == nil {
				t.Errorf("negTokenResp prefix %d/%d decoded", n, len(b))
			}
		}
	}
}

func TestDERStrictness(t *testing.T) {
	hint := unhex(t, sambaHintHex) // 60 48 06 06 <spnego> a0 3e 30 3c a0 0e 30 0c 06 0a <ntlmssp> a3 2a ...
	withByte := func(b []byte, at int, v byte) []byte { c := bytes.Clone(b); c[at] = v; return c }
	splice := func(b []byte, at int, drop int, ins ...byte) []byte {
		c := append([]byte{}, b[:at]...)
		c = append(c, ins...)
		return append(c, b[at+drop:]...)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, wire.ErrShort},
		{"indefinite outer length", append(splice(hint, 1, 1, 0x80), 0, 0), wire.ErrMalformed},
		{"non-minimal outer length", splice(hint, 1, 1, 0x81, 0x48), wire.ErrMalformed},
		{"leading zero length octet", splice(hint, 1, 1, 0x82, 0x00, 0x48), wire.ErrMalformed},
		{"five length octets", splice(hint, 1, 1, 0x85, 0, 0, 0, 0, 0x48), wire.ErrTooLarge},
		{"outer length past end", withByte(hint, 1, 0x49), wire.ErrBadOffset},
		{"long-form length past end", splice(hint, 1, 1, 0x82, 0x01, 0x00), wire.ErrBadOffset},
		{"trailing garbage after token", append(bytes.Clone(hint), 0), wire.ErrMalformed},
		{"wrong thisMech", withByte(hint, 9, 0x03), wire.ErrBadProtocol},
		{"not a token", []byte{0x30, 0x00}, wire.ErrMalformed},
		{"high tag number", []byte{0x7f, 0x01, 0x00}, wire.ErrMalformed},
		{"negTokenResp where init expected", unhex(t, acceptCompletedHex), wire.ErrMalformed},
		{"OID with 0x80 sub-identifier start", withByte(hint, 20, 0x80), wire.ErrMalformed},
		{"hintName with wrong tag", withByte(hint, 34, 0xa2), wire.ErrMalformed},
		{"hintName as OCTET STRING", withByte(hint, 36, 0x04), wire.ErrMalformed},
		{"mechTypes not a SEQUENCE", withByte(hint, 16, 0x31), wire.ErrMalformed},
		{"constructed OCTET STRING", withByte(unhex(t, clientInitHex), 32, 0x24), wire.ErrMalformed},
	} {
		_, err := DecodeNegTokenInit(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Trailing bytes inside each constructed level, with every enclosing length fixed up.
	mech := appendTLV(nil, tagOID, OIDNTLMSSP)
	for level := 0; level < 4; level++ {
		inner := appendTLV(nil, tagSequence, mech)
		if level == 0 {
			inner = appendTLV(nil, tagSequence, append(bytes.Clone(mech), 0x05, 0x00))
		}
		c0 := appendTLV(nil, tagContext0, inner)
		if level == 1 {
			c0 = appendTLV(nil, tagContext0, append(inner, 0x05, 0x00))
		}
		seq := appendTLV(nil, tagSequence, c0)
		if level == 2 {
			seq = appendTLV(nil, tagSequence, append(c0, 0x05, 0x00))
		}
		neg := appendTLV(nil, tagContext0, seq)
		if level == 3 {
			neg = appendTLV(nil, tagContext0, append(seq, 0x05, 0x00))
		}
		body := append(appendTLV(nil, tagOID, OIDSPNEGO), neg...)
		tok := appendTLV(nil, tagApplication0, body)
		if _, err := DecodeNegTokenInit(tok); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("trailing bytes at level %d: %v", level, err)
		}
	}
	// Fields out of order: mechToken [2] before mechTypes [0].
	tokField := appendTLV(nil, tagContext2, appendTLV(nil, tagOctetString, []byte("x")))
	mt := appendTLV(nil, tagContext0, appendTLV(nil, tagSequence, mech))
	if _, err := DecodeNegTokenInit(appendTLV(nil, tagContext0, appendTLV(nil, tagSequence, append(tokField, mt...)))); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("out of order: %v", err)
	}
	// mechListMIC at [3] (NegTokenInit) and again at [4].
	mic3 := appendTLV(nil, tagContext3, appendTLV(nil, tagOctetString, []byte("m")))
	mic4 := appendTLV(nil, tagContext4, appendTLV(nil, tagOctetString, []byte("m")))
	if _, err := DecodeNegTokenInit(appendTLV(nil, tagContext0, appendTLV(nil, tagSequence, append(mic3, mic4...)))); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("two MICs: %v", err)
	}
}

func TestNegTokenRespStrictness(t *testing.T) {
	ok := unhex(t, acceptCompletedHex) // a1 07 30 05 a0 03 0a 01 00
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"two-octet negState", unhex(t, "a1083006a0040a020001"), wire.ErrMalformed},
		{"negative negState", unhex(t, "a1073005a0030a01ff"), wire.ErrMalformed},
		{"empty negState", unhex(t, "a1063004a0020a00"), wire.ErrMalformed},
		{"negState as INTEGER", unhex(t, "a1073005a003020100"), wire.ErrMalformed},
		{"trailing after negState in [0]", unhex(t, "a1093007a0050a01000500"), wire.ErrMalformed},
		{"trailing after token", append(bytes.Clone(ok), 0), wire.ErrMalformed},
		{"unknown field [4]", unhex(t, "a1093007a4050403010203"), wire.ErrMalformed},
		{"bad supportedMech", unhex(t, "a1083006a10406022b80"), wire.ErrMalformed},
		{"indefinite", unhex(t, "a1803005a0030a01000000"), wire.ErrMalformed},
		{"init token", unhex(t, sambaHintHex), wire.ErrMalformed},
		{"raw ntlmssp", []byte("NTLMSSP\x00\x02\x00\x00\x00"), wire.ErrMalformed},
	} {
		_, err := DecodeNegTokenResp(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// An out-of-range but well-formed state is reported as such.
	r, err := DecodeNegTokenResp(unhex(t, "a1073005a0030a0107"))
	if err != nil || r.NegState != 7 || r.NegState.String() != "negstate-7" {
		t.Errorf("state 7: %v %v", err, r.NegState)
	}
	if AcceptIncomplete.String() != "accept-incomplete" || RequestMIC.String() != "request-mic" {
		t.Error("state names")
	}
}
