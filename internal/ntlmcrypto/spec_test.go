package ntlmcrypto

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// unhex decodes hex with any whitespace in it.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// codecTestdata holds the captures the NTLM codec is tested against; the crypto reuses them.
const codecTestdata = "../../wire/ntlmssp/testdata/"

func readHexFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(codecTestdata + name)
	if err != nil {
		t.Fatal(err)
	}
	return unhex(t, string(b))
}

func u16(s string) []byte { return wire.AppendUTF16LE(nil, s) }

// MS-NLMP 4.2.1 Common Values.
const (
	specUser        = "User"
	specDomain      = "Domain"
	specPassword    = "Password"
	specWorkstation = "COMPUTER"
)

var (
	specServerChallenge  = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	specClientChallenge  = [8]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}
	specRandomSessionKey = Key{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}
)

// MS-NLMP 4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example.
const specChallengeHex = `
4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef 0000000000000000
24002400 44000000 060070170000000f
530065007200760065007200
02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000`

// MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE of the NTLMv2 example.
const specAuthenticateHex = `
4e544c4d53535000 03000000
18001800 6c000000 54005400 84000000 0c000c00 48000000 08000800 54000000
10001000 5c000000 10001000 d8000000 358288e2 0501280a0000000f
44006f006d00610069006e00 5500730065007200 43004f004d0050005500540045005200
86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa
68cd0ab851e51c96aabc927bebef6a1c 0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000
02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000 00000000
c5dad2544fc9799094ce1ce90bc9d03e`

// MS-NLMP 4.2.4 values.
const (
	specNTOWFv2           = "0c868a403bfd7a93a3001ef22ef02e3f"                 // 4.2.4.1.1
	specSessionBaseKey    = "8de40ccadbc14a82f15cb0ad0de95ca3"                 // 4.2.4.1.2
	specLMv2Response      = "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa" // 4.2.4.2.1
	specNTProofStr        = "68cd0ab851e51c96aabc927bebef6a1c"                 // 4.2.4.2.2
	specEncryptedRandomSK = "c5dad2544fc9799094ce1ce90bc9d03e"                 // 4.2.4.2.3
	specNTHashPassword    = "a4f49c406510bdcab6824ee7c30fd852"                 // 4.2.2.1.2 NTOWFv1("Password")
)

func TestSpecNTLMv2(t *testing.T) {
	if k := NTHash(specPassword); hex.EncodeToString(k[:]) != specNTHashPassword {
		t.Errorf("NTOWFv1 = %x", k[:])
	}
	key := NTOWFv2(specPassword, specUser, specDomain)
	if hex.EncodeToString(key[:]) != specNTOWFv2 {
		t.Fatalf("NTOWFv2 = %x", key[:])
	}
	if k := NTOWFv2FromHash(NTHash(specPassword), "uSeR", specDomain); k != key {
		t.Errorf("NTOWFv2FromHash with another case of the user name = %x", k[:])
	}
	if k := NTOWFv2(specPassword, specUser, "DOMAIN"); k == key {
		t.Error("the domain name must not be upper-cased")
	}
	if lm := LMv2Response(nil, key, specServerChallenge, specClientChallenge); hex.EncodeToString(lm) != specLMv2Response {
		t.Errorf("LMv2 = %x", lm)
	}

	c := ntlmssp.Challenge(unhex(t, specChallengeHex))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	in := NTLMv2Input{
		ResponseKeyNT:   key,
		ServerChallenge: c.ServerChallenge(),
		ClientChallenge: specClientChallenge,
		Time:            0,
		TargetInfo:      c.TargetInfo(),
	}
	prefix := []byte("keep")
	resp, base, err := ComputeNTLMv2Response(prefix, &in)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp[:4]) != "keep" {
		t.Fatal("dst prefix overwritten")
	}
	resp = resp[4:]
	if hex.EncodeToString(resp[:16]) != specNTProofStr {
		t.Errorf("NTProofStr = %x", resp[:16])
	}
	if hex.EncodeToString(base[:]) != specSessionBaseKey {
		t.Errorf("SessionBaseKey = %x", base[:])
	}
	a := ntlmssp.AuthenticateMessage(unhex(t, specAuthenticateHex))
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp, a.NtChallengeResponse()) {
		t.Errorf("NtChallengeResponse\n got %x\nwant %x", resp, a.NtChallengeResponse())
	}
	if k, ok := VerifyNTLMv2Response(key, specServerChallenge, a.NtChallengeResponse()); !ok || k != base {
		t.Errorf("VerifyNTLMv2Response = %x, %v", k[:], ok)
	}
	// 4.2.4.2.3: KEY_EXCH, KeyExchangeKey = SessionBaseKey, RandomSessionKey = 0x55 * 16.
	enc := RC4K(base, specRandomSessionKey)
	if hex.EncodeToString(enc[:]) != specEncryptedRandomSK {
		t.Errorf("EncryptedRandomSessionKey = %x", enc[:])
	}
	if RC4K(base, enc) != specRandomSessionKey {
		t.Error("RC4K does not invert itself")
	}
}

// TestWindowsCaptureNTLMv2 verifies the NTLMv2 response of a Windows 7 client (password
// "P@ssw0rd") against the Windows Server 2008 R2 CHALLENGE it answered.
func TestWindowsCaptureNTLMv2(t *testing.T) {
	c := ntlmssp.Challenge(readHexFile(t, "windows-2008r2-challenge.hex"))
	a := ntlmssp.AuthenticateMessage(readHexFile(t, "windows7-authenticate-mic.hex"))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	nt := NTHash("P@ssw0rd")
	if hex.EncodeToString(nt[:]) != "e19ccf75ee54e06b06a5907af13cef42" {
		t.Errorf("NT hash %x", nt[:])
	}
	key := NTOWFv2FromHash(nt, "Administrator", "WS2008R2")
	if _, ok := VerifyNTLMv2Response(key, c.ServerChallenge(), a.NtChallengeResponse()); !ok {
		t.Error("the Windows 7 NTLMv2 response does not verify")
	}
	if _, ok := VerifyNTLMv2Response(NTOWFv2("wrong", "Administrator", "WS2008R2"), c.ServerChallenge(), a.NtChallengeResponse()); ok {
		t.Error("a wrong password verifies")
	}
}
