package spnego

import (
	"os"
	"path/filepath"
	"testing"
)

func goldenFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("golden file missing (run make goldens): %v", err)
	}
	return b
}

// TestGoldenSambaNegTokenInit2 decodes the SPNEGO hint of a Samba 4.17 NEGOTIATE response
// (captured by `make goldens`): a NegTokenInit2 offering NTLMSSP only (no Kerberos on a
// standalone server) with the "please_ignore" hint name.
func TestGoldenSambaNegTokenInit2(t *testing.T) {
	tok, err := DecodeNegTokenInit(goldenFile(t, "samba-default-negtokeninit2.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Len() != 1 || MechName(tok.At(0)) != "NTLMSSP" {
		t.Errorf("mechs: %d, first %s", tok.Len(), MechName(tok.At(0)))
	}
	if string(tok.HintName) != HintNameIgnore {
		t.Errorf("hint name %q", tok.HintName)
	}
}

// TestGoldenSambaNegTokenResp decodes Samba's first SESSION_SETUP reply token: accept-incomplete,
// NTLMSSP chosen, an NTLM CHALLENGE inside.
func TestGoldenSambaNegTokenResp(t *testing.T) {
	for _, f := range []string{"samba-default-negtokenresp-challenge.bin", "samba-nonull-negtokenresp-challenge.bin"} {
		resp, err := DecodeNegTokenResp(goldenFile(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !resp.HasNegState || resp.NegState != AcceptIncomplete || MechName(resp.SupportedMech) != "NTLMSSP" {
			t.Errorf("%s: state %v/%v mech %s", f, resp.HasNegState, resp.NegState, MechName(resp.SupportedMech))
		}
		if len(resp.ResponseToken) < 48 || string(resp.ResponseToken[:8]) != "NTLMSSP\x00" {
			t.Errorf("%s: response token is not NTLMSSP", f)
		}
		if IsRawNTLMSSP(goldenFile(t, f)) {
			t.Errorf("%s: SPNEGO token mistaken for raw NTLMSSP", f)
		}
	}
}

func TestResponseMechToken(t *testing.T) {
	buf := goldenFile(t, "samba-default-negtokenresp-challenge.bin")
	tok, err := ResponseMechToken(buf)
	if err != nil || string(tok[:8]) != "NTLMSSP\x00" {
		t.Fatalf("wrapped: %q %v", tok, err)
	}
	if raw, err := ResponseMechToken(tok); err != nil || &raw[0] != &tok[0] {
		t.Fatalf("a bare NTLMSSP token must come back as is: %v", err)
	}
	rej := AppendNegTokenResp(nil, nil, nil)
	var r NegTokenResp
	if err := r.Decode(rej); err != nil {
		t.Fatal(err)
	}
	r.HasNegState, r.NegState = true, Reject
	if _, err := ResponseMechToken(r.AppendTo(nil)); err == nil {
		t.Fatal("a reject must be an error")
	}
}
