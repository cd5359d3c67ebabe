package spnego

import (
	"bytes"
	"os"
	"testing"
)

// Security buffers a Samba 4.17 smbd sent during smbsweep's anonymous logon, captured by
// wire/ntlmssp/capture_test.go.
func readSamba(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../ntlmssp/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSambaNegotiateHint(t *testing.T) {
	b := readSamba(t, "samba-4.17-negotiate-spnego.bin")
	// The same bytes other projects published from other Samba servers.
	if !bytes.Equal(b, unhex(t, sambaHintHex)) {
		t.Errorf("hint differs from the published one: %x", b)
	}
	tok, err := DecodeNegTokenInit(b)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Len() != 1 || MechName(tok.At(0)) != "NTLMSSP" || string(tok.HintName) != HintNameIgnore {
		t.Errorf("%+v", tok)
	}
}

func TestSambaChallengeToken(t *testing.T) {
	b := readSamba(t, "samba-4.17-session-setup-challenge.bin")
	r, err := DecodeNegTokenResp(b)
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasNegState || r.NegState != AcceptIncomplete || !r.SupportedMech.Equal(OIDNTLMSSP) || r.MechListMIC != nil {
		t.Errorf("state %v/%v mech %v", r.NegState, r.HasNegState, r.SupportedMech)
	}
	if !IsRawNTLMSSP(r.ResponseToken) || r.ResponseToken[8] != 2 || IsRawNTLMSSP(b) {
		t.Errorf("response token % x", r.ResponseToken[:12])
	}
	if got := r.AppendTo(nil); !bytes.Equal(got, b) {
		t.Errorf("re-encoded\n got %x\nwant %x", got, b)
	}
}

func TestSambaAccept(t *testing.T) {
	b := readSamba(t, "samba-4.17-session-setup-accept.bin")
	r, err := DecodeNegTokenResp(b)
	if err != nil || !r.HasNegState || r.NegState != AcceptCompleted || r.ResponseToken != nil {
		t.Fatalf("%v %+v", err, r)
	}
}
