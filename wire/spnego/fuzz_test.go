package spnego

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func isSentinel(err error) bool {
	for _, s := range []error{wire.ErrShort, wire.ErrBadOffset, wire.ErrBadProtocol, wire.ErrTooLarge, wire.ErrMalformed} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzNegTokenInit(f *testing.F) {
	f.Add(unhex(f, sambaHintHex))
	f.Add(unhex(f, sambaADHintHex))
	f.Add(unhex(f, clientInitHex))
	var l MechTypeList
	l.Add(OIDNegoEx)
	l.Add(OIDNTLMSSP)
	f.Add((&NegTokenInit{MechTypeList: l, MechToken: []byte("t"), MechListMIC: []byte("m")}).AppendTo(nil))
	f.Add((&NegTokenInit{MechTypeList: l, HintAddress: []byte("a"), MechListMIC: []byte("m")}).AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := DecodeNegTokenInit(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		if tok.Len() > MaxMechTypes || (tok.Len() > 0 && tok.MechTypesDER == nil) {
			t.Fatalf("mech list %d, der %x", tok.Len(), tok.MechTypesDER)
		}
		for i := range tok.Len() {
			_ = MechName(tok.At(i))
		}
		// Encoding the decoded fields and decoding again gives the same fields.
		enc := tok.AppendTo(nil)
		if len(enc) != tok.Size() {
			t.Fatalf("Size %d, encoded %d", tok.Size(), len(enc))
		}
		again, err := DecodeNegTokenInit(enc)
		if err != nil {
			t.Fatalf("re-encoded token: %v", err)
		}
		if again.Len() != tok.Len() || !sameField(again.MechToken, tok.MechToken) || !sameField(again.MechListMIC, tok.MechListMIC) ||
			!sameField(again.HintName, tok.HintName) || !sameField(again.HintAddress, tok.HintAddress) {
			t.Fatal("round trip changed the fields")
		}
		for i := range tok.Len() {
			if !again.At(i).Equal(tok.At(i)) {
				t.Fatal("round trip changed a mech")
			}
		}
	})
}

func FuzzNegTokenResp(f *testing.F) {
	f.Add(unhex(f, acceptCompletedHex))
	f.Add(AppendNegTokenResp(nil, []byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 16)))
	f.Add((&NegTokenResp{NegState: AcceptIncomplete, HasNegState: true, SupportedMech: OIDNTLMSSP, ResponseToken: make([]byte, 200)}).AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeNegTokenResp(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		// DER is canonical and every field is kept, so re-encoding gives back the input.
		if enc := r.AppendTo(nil); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded\n got %x\nwant %x", enc, b)
		}
	})
}
