package ntlmcrypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// TestMICWithoutMICField: a message whose header has no room for a MIC has none to compute.
func TestMICWithoutMICField(t *testing.T) {
	good := unhex(t, specAuthenticateHex)
	if _, err := MIC(Key{}, nil, nil, good); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("MIC over a message without a MIC field: %v", err)
	}
}

// TestNTLMv2WithMIC runs a complete credentialed exchange the way the later auth stage will,
// then checks it the way a server does: response, key exchange and MIC.
func TestNTLMv2WithMIC(t *testing.T) {
	const serverTime = 0x01dc0a0b0c0d0e0f
	ti := ntlmssp.AppendAVPairString(nil, ntlmssp.AvNbDomainName, "CORP")
	ti = ntlmssp.AppendAVPairString(ti, ntlmssp.AvNbComputerName, "FS01")
	ti = ntlmssp.AppendAVTimestamp(ti, serverTime)
	ti = ntlmssp.AppendAVEOL(ti)
	neg := ntlmssp.Negotiate{Flags: ntlmssp.DefaultNegotiateFlags | ntlmssp.FlagSign | ntlmssp.FlagKeyExch, Version: ntlmssp.DefaultVersion}
	negBytes := neg.AppendTo(nil)
	cb := ntlmssp.ChallengeBuilder{Flags: neg.Flags | ntlmssp.FlagTargetTypeServer, ServerChallenge: [8]byte{8, 7, 6, 5, 4, 3, 2, 1}, TargetInfo: ti}
	chBytes := cb.AppendTo(nil)
	ch := ntlmssp.Challenge(chBytes)
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}

	key := NTOWFv2("Secret#1", "alice", "CORP")
	in := NTLMv2Input{ResponseKeyNT: key, ServerChallenge: ch.ServerChallenge(), ClientChallenge: [8]byte{0xc1, 0xc2},
		Time: 1, TargetInfo: ch.TargetInfo(), IncludeMIC: true}
	nt, base, err := ComputeNTLMv2Response(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	// temp uses the server's timestamp, not in.Time, and its AV pairs end with MsvAvFlags=MIC, EOL.
	if ts := binary.LittleEndian.Uint64(nt[16+8:]); ts != serverTime {
		t.Errorf("timestamp %#x", ts)
	}
	pairs := nt[16+ntlmv2BlobFixed : len(nt)-4]
	wantPairs := ntlmssp.AppendAVEOL(ntlmssp.AppendAVFlags(bytes.Clone(ti[:len(ti)-4]), ntlmssp.AvFlagMICPresent))
	if !bytes.Equal(pairs, wantPairs) {
		t.Errorf("client AV pairs\n got %x\nwant %x", pairs, wantPairs)
	}
	exported := Key{0x11, 0x22, 0x33}
	auth := ntlmssp.Authenticate{
		Flags: ch.Flags() & neg.Flags, LmChallengeResponse: make([]byte, 24), NtChallengeResponse: nt,
		User: "alice", Domain: "CORP", EncryptedRandomSessionKey: func() []byte { k := RC4K(base, exported); return k[:] }(),
		Version: ntlmssp.DefaultVersion, IncludeMIC: true,
	}
	authBytes := auth.AppendTo(nil)
	mic, err := MIC(exported, negBytes, chBytes, authBytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := ntlmssp.PutMIC(authBytes, mic); err != nil {
		t.Fatal(err)
	}
	// MIC is independent of what the MIC field holds.
	if again, _ := MIC(exported, negBytes, chBytes, authBytes); again != mic {
		t.Error("MIC depends on the MIC field")
	}

	// Server side.
	m := ntlmssp.AuthenticateMessage(authBytes)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	sk, ok := VerifyNTLMv2Response(NTOWFv2("Secret#1", wire.DecodeUTF16LE(m.User()), wire.DecodeUTF16LE(m.Domain())), cb.ServerChallenge, m.NtChallengeResponse())
	if !ok || sk != base {
		t.Fatal("server could not verify the response")
	}
	var enc Key
	copy(enc[:], m.EncryptedRandomSessionKey())
	if got := RC4K(sk, enc); got != exported {
		t.Errorf("server recovered a different session key")
	}
	// Recompute the MIC independently: HMAC-MD5 over the three messages with the field zeroed.
	zeroed := bytes.Clone(authBytes)
	copy(zeroed[ntlmssp.MICOffset:ntlmssp.MICOffset+16], make([]byte, 16))
	h := hmac.New(md5.New, exported[:])
	h.Write(negBytes)
	h.Write(chBytes)
	h.Write(zeroed)
	got, _ := m.MIC()
	if !hmac.Equal(h.Sum(nil), got[:]) {
		t.Error("MIC does not match HMAC_MD5(ExportedSessionKey, NEGOTIATE||CHALLENGE||AUTHENTICATE)")
	}
	// A tampered response fails.
	nt[20] ^= 1
	if _, ok := VerifyNTLMv2Response(key, cb.ServerChallenge, nt); ok {
		t.Error("tampered response verified")
	}
	if _, ok := VerifyNTLMv2Response(key, cb.ServerChallenge, nt[:20]); ok {
		t.Error("short response verified")
	}
}

func TestComputeNTLMv2ResponseErrors(t *testing.T) {
	in := NTLMv2Input{TargetInfo: []byte{1, 0, 0xff, 0xff}}
	dst := []byte("x")
	out, _, err := ComputeNTLMv2Response(dst, &in)
	if !errors.Is(err, wire.ErrBadOffset) || string(out) != "x" {
		t.Errorf("bad target info: %v %q", err, out)
	}
	// A hostile server's TargetInfo of nearly 64 KiB would overflow the 16-bit field.
	big := ntlmssp.AppendAVPair(nil, ntlmssp.AvNbComputerName, make([]byte, ntlmssp.MaxFieldLen-40))
	in.TargetInfo = ntlmssp.AppendAVEOL(big)
	out, _, err = ComputeNTLMv2Response(dst, &in)
	if !errors.Is(err, wire.ErrTooLarge) || string(out) != "x" {
		t.Errorf("huge target info: %v, %d bytes", err, len(out))
	}
}

func TestSecretsNotFormatted(t *testing.T) {
	key := NTOWFv2(specPassword, specUser, specDomain)
	in := NTLMv2Input{ResponseKeyNT: key, TargetInfo: []byte{1}}
	_, _, err := ComputeNTLMv2Response(nil, &in)
	s := fmt.Sprintf("%v %+v %#v %x %X %s %q %d", key, in, in, key, key, key, key, &key) + err.Error()
	for _, leak := range []string{specNTOWFv2, strings.ToUpper(specNTOWFv2), "12 134 138", "0xc, 0x86", "[12 "} {
		if strings.Contains(s, leak) {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if !strings.Contains(s, "[REDACTED]") {
		t.Errorf("no redaction marker in %s", s)
	}
}

func BenchmarkComputeNTLMv2Response(b *testing.B) {
	b.ReportAllocs()
	ch := ntlmssp.Challenge(readHexFile(b, "windows-2008r2-challenge.hex"))
	in := NTLMv2Input{ResponseKeyNT: NTOWFv2("P@ssw0rd", "Administrator", "WS2008R2"), ServerChallenge: ch.ServerChallenge(),
		TargetInfo: ch.TargetInfo(), IncludeMIC: true}
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		var err error
		if buf, _, err = ComputeNTLMv2Response(buf[:0], &in); err != nil {
			b.Fatal(err)
		}
	}
}
