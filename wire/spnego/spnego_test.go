package spnego

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// Tokens observed on the wire and published by several independent projects.
const (
	// The NegTokenInit2 hint of a Samba file server in the SMB2 NEGOTIATE response: NTLMSSP only.
	sambaHintHex = `604806062b0601050502a03e303ca00e300c060a2b06010401823702020a
		a32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265`
	// The hint of a Samba AD domain controller: ms-kerberos, kerberos, ntlmssp.
	sambaADHintHex = `605e06062b0601050502a0543052a024302206092a864882f712010202
		06092a864886f712010202060a2b06010401823702020a
		a32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265`
	// A client's first SESSION_SETUP token: NTLMSSP offered, an NTLM NEGOTIATE_MESSAGE inside.
	clientInitHex = `604806062b0601050502a03e303ca00e300c060a2b06010401823702020a
		a22a04284e544c4d5353500001000000078208a2000000000000000000000000000000000501280a0000000f`
	clientNTLMNegotiateHex = `4e544c4d5353500001000000078208a2000000000000000000000000000000000501280a0000000f`
	// The server's last SESSION_SETUP token: negState accept-completed and nothing else.
	acceptCompletedHex = `a1073005a0030a0100`
)

func TestOIDs(t *testing.T) {
	for _, c := range []struct {
		oid    OID
		dotted string
		name   string
	}{
		{OIDSPNEGO, "1.3.6.1.5.5.2", "1.3.6.1.5.5.2"},
		{OIDNTLMSSP, "1.3.6.1.4.1.311.2.2.10", "NTLMSSP"},
		{OIDKerberos, "1.2.840.113554.1.2.2", "Kerberos"},
		{OIDMSKerberos, "1.2.840.48018.1.2.2", "MS-Kerberos"},
		{OIDNegoEx, "1.3.6.1.4.1.311.2.2.30", "NEGOEX"},
		{OID{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03}, "1.2.840.113554.1.2.2.3", "1.2.840.113554.1.2.2.3"},
		{OID{0x00}, "0.0", "0.0"},
		{OID{0x88, 0x37, 0x03}, "2.999.3", "2.999.3"},
		{OID{}, "invalid-oid", "invalid-oid"},
		{OID{0x2b, 0x86}, "invalid-oid", "invalid-oid"},                    // unterminated
		{OID{0x2b, 0x80, 0x01}, "invalid-oid", "invalid-oid"},              // non-minimal sub-identifier
		{OID(bytes.Repeat([]byte{0xff}, 9)), "invalid-oid", "invalid-oid"}, // overflow
	} {
		if got := c.oid.String(); got != c.dotted {
			t.Errorf("%x: String = %q, want %q", []byte(c.oid), got, c.dotted)
		}
		if got := MechName(c.oid); got != c.name {
			t.Errorf("%x: MechName = %q, want %q", []byte(c.oid), got, c.name)
		}
	}
}

func TestDecodeSambaHint(t *testing.T) {
	b := unhex(t, sambaHintHex)
	tok, err := DecodeNegTokenInit(b)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Len() != 1 || !tok.At(0).Equal(OIDNTLMSSP) || tok.Truncated {
		t.Fatalf("mechs: %d %v", tok.Len(), tok.At(0))
	}
	if string(tok.HintName) != HintNameIgnore || tok.HintAddress != nil || tok.MechToken != nil || tok.MechListMIC != nil {
		t.Errorf("token %+v", tok)
	}
	if !bytes.Equal(tok.MechTypesDER, unhex(t, "300c060a2b06010401823702020a")) {
		t.Errorf("mechTypes DER %x", tok.MechTypesDER)
	}
	// The encoder produces the same bytes from the decoded fields.
	if got := tok.AppendTo(nil); !bytes.Equal(got, b) {
		t.Errorf("re-encoded\n got %x\nwant %x", got, b)
	}
	if tok.Size() != len(b) {
		t.Errorf("Size %d, want %d", tok.Size(), len(b))
	}
}

func TestDecodeSambaADHint(t *testing.T) {
	b := unhex(t, sambaADHintHex)
	tok, err := DecodeNegTokenInit(b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range tok.Len() {
		names = append(names, MechName(tok.At(i)))
	}
	if got := strings.Join(names, ","); got != "MS-Kerberos,Kerberos,NTLMSSP" {
		t.Errorf("mechs %s", got)
	}
	if !tok.Contains(OIDNTLMSSP) || tok.Contains(OIDNegoEx) {
		t.Error("Contains")
	}
	if got := tok.AppendTo(nil); !bytes.Equal(got, b) {
		t.Errorf("re-encoded\n got %x\nwant %x", got, b)
	}
}

func TestAppendNegTokenInitMatchesClient(t *testing.T) {
	want := unhex(t, clientInitHex)
	neg := unhex(t, clientNTLMNegotiateHex)
	if got := AppendNegTokenInit(nil, neg); !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
	// mechToken sharing dst's backing array, as a caller with one scratch buffer does.
	var scratch [256]byte
	n := copy(scratch[:], neg)
	got := AppendNegTokenInit(scratch[n:n], scratch[:n])
	if !bytes.Equal(got, want) {
		t.Fatalf("shared buffer: got %x", got)
	}
	tok, err := DecodeNegTokenInit(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok.MechToken, neg) || tok.Len() != 1 || tok.HintName != nil {
		t.Errorf("decoded %+v", tok)
	}
	// A bare NegotiationToken ([0] NegTokenInit without the GSS-API wrapper) is accepted too.
	bare := want[2+2+len(OIDSPNEGO):]
	if tok2, err := DecodeNegTokenInit(bare); err != nil || !bytes.Equal(tok2.MechToken, neg) {
		t.Errorf("bare token: %v", err)
	}
}

func TestAcceptCompleted(t *testing.T) {
	b := unhex(t, acceptCompletedHex)
	r, err := DecodeNegTokenResp(b)
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasNegState || r.NegState != AcceptCompleted || r.SupportedMech != nil || r.ResponseToken != nil || r.MechListMIC != nil {
		t.Errorf("%+v", r)
	}
	if got := r.AppendTo(nil); !bytes.Equal(got, b) {
		t.Errorf("re-encoded %x", got)
	}
}

func TestNegTokenRespRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0x5a}, 70000)
	for _, c := range []NegTokenResp{
		{},
		{NegState: AcceptIncomplete, HasNegState: true, SupportedMech: OIDNTLMSSP, ResponseToken: []byte("NTLMSSP\x00\x02")},
		{ResponseToken: []byte{}},
		{ResponseToken: big[:127], MechListMIC: big[:16]},
		{ResponseToken: big[:128]},
		{ResponseToken: big[:255]},
		{ResponseToken: big[:256]},
		{ResponseToken: big[:65000]},
		{NegState: Reject, HasNegState: true},
		{NegState: RequestMIC, HasNegState: true, MechListMIC: []byte{}},
	} {
		enc := c.AppendTo(nil)
		if len(enc) != c.Size() {
			t.Errorf("Size %d, encoded %d", c.Size(), len(enc))
		}
		got, err := DecodeNegTokenResp(enc)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got.HasNegState != c.HasNegState || got.NegState != c.NegState ||
			!got.SupportedMech.Equal(c.SupportedMech) || (got.SupportedMech == nil) != (c.SupportedMech == nil) ||
			!sameField(got.ResponseToken, c.ResponseToken) || !sameField(got.MechListMIC, c.MechListMIC) {
			t.Errorf("round trip of %d-byte token: got state %v/%v mech %v tok %d mic %d", len(c.ResponseToken),
				got.NegState, got.HasNegState, got.SupportedMech, len(got.ResponseToken), len(got.MechListMIC))
		}
	}
	// Over 64 KiB: the encoder still writes valid DER, the decoder refuses it by size.
	enc := AppendNegTokenResp(nil, big, nil)
	if _, err := DecodeNegTokenResp(enc); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversized token: %v", err)
	}
}

// sameField compares two optional fields: both absent, or both present with equal bytes.
func sameField(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestAppendNegTokenResp(t *testing.T) {
	auth := []byte("NTLMSSP\x00\x03\x00\x00\x00")
	mic := bytes.Repeat([]byte{7}, 16)
	enc := AppendNegTokenResp([]byte("pre"), auth, mic)
	if string(enc[:3]) != "pre" {
		t.Fatal("prefix lost")
	}
	r, err := DecodeNegTokenResp(enc[3:])
	if err != nil {
		t.Fatal(err)
	}
	if r.HasNegState || r.SupportedMech != nil || !bytes.Equal(r.ResponseToken, auth) || !bytes.Equal(r.MechListMIC, mic) {
		t.Errorf("%+v", r)
	}
	// DER structure: [1] { SEQUENCE { [2] { OCTET STRING } [3] { OCTET STRING } } }.
	if want := unhex(t, "a1 26 30 24 a2 0e 04 0c"); !bytes.HasPrefix(enc[3:], want) {
		t.Errorf("header % x", enc[3:11])
	}
}

func TestNegTokenInitEncodeVariants(t *testing.T) {
	var l MechTypeList
	l.Add(OIDNegoEx)
	l.Add(OIDMSKerberos)
	l.Add(OIDNTLMSSP)
	for _, c := range []NegTokenInit{
		{MechTypeList: l, MechToken: []byte("tok"), MechListMIC: []byte("mic")},               // RFC 4178: MIC at [3]
		{MechTypeList: l, HintName: []byte(HintNameIgnore), MechListMIC: []byte("mic")},       // MS-SPNG: MIC at [4]
		{MechTypeList: l, HintAddress: []byte{1, 2}, MechToken: bytes.Repeat([]byte{1}, 300)}, // long lengths
		{HintName: []byte{}},
		{},
	} {
		enc := c.AppendTo(nil)
		if len(enc) != c.Size() {
			t.Errorf("Size %d, encoded %d", c.Size(), len(enc))
		}
		got, err := DecodeNegTokenInit(enc)
		if err != nil {
			t.Fatalf("%x: %v", enc, err)
		}
		if got.Len() != c.Len() || !sameField(got.MechToken, c.MechToken) || !sameField(got.MechListMIC, c.MechListMIC) ||
			!sameField(got.HintName, c.HintName) || !sameField(got.HintAddress, c.HintAddress) {
			t.Errorf("round trip: %+v", got)
		}
		for i := range c.Len() {
			if !got.At(i).Equal(c.At(i)) {
				t.Errorf("mech %d: %v", i, got.At(i))
			}
		}
	}
}

func TestMechTypeListCap(t *testing.T) {
	var l MechTypeList
	for i := 0; i < MaxMechTypes+5; i++ {
		if ok := l.Add(OIDKerberos); ok != (i < MaxMechTypes) {
			t.Fatalf("Add %d = %v", i, ok)
		}
	}
	if l.Len() != MaxMechTypes || !l.Truncated {
		t.Fatalf("len %d truncated %v", l.Len(), l.Truncated)
	}
	// A list longer than the cap decodes, keeps the first MaxMechTypes, and says so.
	var long []byte
	for i := 0; i < 40; i++ {
		long = appendTLV(long, tagOID, OIDNTLMSSP)
	}
	seq := appendTLV(nil, tagSequence, long)
	body := appendTLV(nil, tagContext0, seq)
	body = appendTLV(nil, tagSequence, body)
	tok := appendTLV(nil, tagContext0, body)
	got, err := DecodeNegTokenInit(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != MaxMechTypes || !got.Truncated {
		t.Errorf("len %d truncated %v", got.Len(), got.Truncated)
	}
}

func TestIsRawNTLMSSP(t *testing.T) {
	for b, want := range map[string]bool{
		"NTLMSSP\x00\x02\x00\x00\x00": true,
		"NTLMSSP\x00":                 true,
		"NTLMSSP":                     false,
		"\xa1\x07\x30\x05":            false,
		"":                            false,
	} {
		if IsRawNTLMSSP([]byte(b)) != want {
			t.Errorf("%q: %v", b, !want)
		}
	}
}

func TestNTLMMechTypeListDER(t *testing.T) {
	l := NTLMMechTypeList()
	der := l.AppendDER(nil)
	tok, err := DecodeNegTokenInit(AppendNegTokenInit(nil, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	// The DER the client signs is the one it sent.
	if !bytes.Equal(der, tok.MechTypesDER) || !bytes.Equal(der, unhex(t, "300c060a2b06010401823702020a")) {
		t.Errorf("der %x, sent %x", der, tok.MechTypesDER)
	}
}
