package ntlmcrypto

import (
	"encoding/hex"
	"testing"
)

// TestNTLMv1Vectors checks MS-NLMP 4.2.2 (NTLM v1 authentication without extended session
// security): password "Password", server challenge 0123456789abcdef.
func TestNTLMv1Vectors(t *testing.T) {
	h := NTHash("Password")
	if got := hex.EncodeToString(h[:]); got != "a4f49c406510bdcab6824ee7c30fd852" {
		t.Fatalf("NTOWFv1 %s", got)
	}
	resp, key := NTLMv1Response(h, [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef})
	if got := hex.EncodeToString(resp[:]); got != "67c43011f30298a2ad35ece64f16331c44bdbed927841f94" {
		t.Errorf("NTChallengeResponse %s (MS-NLMP 4.2.2.2.1)", got)
	}
	if got := hex.EncodeToString(key[:]); got != "d87262b0cde4b1cb7499becccdf10784" {
		t.Errorf("SessionBaseKey %s (MS-NLMP 4.2.2.1.3)", got)
	}
}
