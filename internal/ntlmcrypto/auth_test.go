package ntlmcrypto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// TestSpecAppendAuthenticate builds the MS-NLMP 4.2.4.3 AUTHENTICATE_MESSAGE from the 4.2.1
// common values and the 4.2.4.3 CHALLENGE, byte for byte (KEY_EXCH, LMv2, no MIC).
func TestSpecAppendAuthenticate(t *testing.T) {
	ch := ntlmssp.Challenge(unhex(t, specChallengeHex))
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	p := NTLMv2Auth{
		User: specUser, Domain: specDomain, Workstation: specWorkstation,
		ResponseKeyNT:   NTOWFv2(specPassword, specUser, specDomain),
		ClientChallenge: specClientChallenge, ExportedSessionKey: specRandomSessionKey,
		Version: ntlmssp.Version{ProductMajor: 5, ProductMinor: 1, ProductBuild: 2600, NTLMRevision: 15},
	}
	msg, exported, err := p.AppendAuthenticate([]byte("hdr"), ntlmssp.Flags(0xe2888235), nil, ch)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, specAuthenticateHex); !bytes.Equal(msg[3:], want) || string(msg[:3]) != "hdr" {
		t.Fatalf("got  %x\nwant %x", msg, want)
	}
	if exported != specRandomSessionKey {
		t.Error("exported session key")
	}
	// Without KEY_EXCH the exported key is the session base key and no key is sent.
	msg, exported, err = p.AppendAuthenticate(nil, ntlmssp.Flags(0xe2888235)&^ntlmssp.FlagKeyExch, nil, ch)
	if err != nil {
		t.Fatal(err)
	}
	if m := ntlmssp.AuthenticateMessage(msg); m.Validate() != nil || m.EncryptedRandomSessionKey() != nil {
		t.Error("session key sent without KEY_EXCH")
	}
	if string(exported[:]) != string(unhex(t, specSessionBaseKey)) {
		t.Errorf("exported %x", exported[:])
	}
}

// TestAppendAuthenticateMIC checks a guest-probe style logon with a MIC the way a server would.
func TestAppendAuthenticateMIC(t *testing.T) {
	ti := ntlmssp.AppendAVPairString(nil, ntlmssp.AvNbDomainName, "CORP")
	ti = ntlmssp.AppendAVTimestamp(ti, 0x01dc000000000000)
	ti = ntlmssp.AppendAVEOL(ti)
	neg := ntlmssp.Negotiate{Flags: ntlmssp.DefaultNegotiateFlags | ntlmssp.FlagKeyExch | ntlmssp.FlagSign, Version: ntlmssp.DefaultVersion}
	negBytes := neg.AppendTo(nil)
	cb := ntlmssp.ChallengeBuilder{Flags: neg.Flags | ntlmssp.FlagTargetTypeServer, ServerChallenge: [8]byte{9, 9}, TargetInfo: ti}
	ch := ntlmssp.Challenge(cb.AppendTo(nil))
	p := NTLMv2Auth{User: "xq7Jd2", Domain: "", ResponseKeyNT: NTOWFv2("r4nd0m", "xq7Jd2", ""),
		ClientChallenge: [8]byte{1}, ExportedSessionKey: Key{2}, Time: 3, IncludeMIC: true}
	msg, exported, err := p.AppendAuthenticate(nil, ch.Flags()&neg.Flags, negBytes, ch)
	if err != nil {
		t.Fatal(err)
	}
	m := ntlmssp.AuthenticateMessage(msg)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.LmChallengeResponse(), make([]byte, 24)) {
		t.Errorf("LM with a server timestamp: %x", m.LmChallengeResponse())
	}
	base, ok := VerifyNTLMv2Response(NTOWFv2("r4nd0m", wire.DecodeUTF16LE(m.User()), wire.DecodeUTF16LE(m.Domain())), [8]byte{9, 9}, m.NtChallengeResponse())
	if !ok {
		t.Fatal("response does not verify")
	}
	var enc Key
	copy(enc[:], m.EncryptedRandomSessionKey())
	if RC4K(base, enc) != exported || exported != p.ExportedSessionKey {
		t.Fatal("key exchange")
	}
	want, err := MIC(exported, negBytes, ch, msg)
	got, ok := m.MIC()
	if err != nil || !ok || got != want || got == (Key{}) {
		t.Errorf("MIC %x, want %x (%v)", got, want, err)
	}
	// Errors: OEM-only flags, a malformed TargetInfo.
	if _, _, err := p.AppendAuthenticate(nil, ntlmssp.FlagOEM|ntlmssp.FlagNTLM, negBytes, ch); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("OEM: %v", err)
	}
	bad := ntlmssp.ChallengeBuilder{Flags: cb.Flags, TargetInfo: []byte{1, 0, 9, 0}}
	if out, _, err := p.AppendAuthenticate([]byte("x"), cb.Flags, negBytes, ntlmssp.Challenge(bad.AppendTo(nil))); !errors.Is(err, wire.ErrBadOffset) || string(out) != "x" {
		t.Errorf("bad target info: %v", err)
	}
}
