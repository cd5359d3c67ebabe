package ntlmcrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// MS-NLMP 4.2.4.4: GSS_WrapEx with NTLMv2, RandomSessionKey 0x55 * 16, message "Plaintext".
func TestSpecGSSWrapEx(t *testing.T) {
	flags := ntlmssp.Flag56 | ntlmssp.Flag128 | ntlmssp.FlagSign | ntlmssp.FlagSeal | ntlmssp.FlagKeyExch | ntlmssp.FlagExtendedSessionSecurity
	if k := SealKey(flags, specRandomSessionKey, true); hex.EncodeToString(k[:]) != "59f600973cc4960a25480a7c196e4c58" {
		t.Errorf("SEALKEY %x", k[:])
	}
	if k := SignKey(specRandomSessionKey, true); hex.EncodeToString(k[:]) != "4788dc861b4782f35d43fd98fe1a2d39" {
		t.Errorf("SIGNKEY %x", k[:])
	}
	s, err := NewSigner(flags, specRandomSessionKey, true)
	if err != nil {
		t.Fatal(err)
	}
	msg := u16("Plaintext")
	sig := s.Seal(nil, msg)
	if hex.EncodeToString(msg) != "54e50165bf1936dc996020c1811b0f06fb5f" {
		t.Errorf("sealed %x", msg)
	}
	if hex.EncodeToString(sig) != "010000007fb38ec5c55d497600000000" {
		t.Errorf("signature %x", sig)
	}
	// The sequence number advances.
	if sig := s.Sign(nil, msg); sig[12] != 1 {
		t.Errorf("second signature % x", sig)
	}
}

func TestSignerRoundTrip(t *testing.T) {
	key := Key{1, 2, 3}
	for _, flags := range []ntlmssp.Flags{ntlmssp.FlagExtendedSessionSecurity | ntlmssp.Flag128 | ntlmssp.FlagKeyExch, ntlmssp.FlagExtendedSessionSecurity | ntlmssp.Flag56, ntlmssp.FlagExtendedSessionSecurity} {
		client, _ := NewSigner(flags, key, true)
		server, _ := NewSigner(flags, key, true) // the server's view of the client's direction
		other, _ := NewSigner(flags, key, false)
		for i, m := range [][]byte{[]byte("mechTypes"), nil, bytes.Repeat([]byte{7}, 1000)} {
			sig := client.Sign(nil, m)
			if len(sig) != SignatureSize {
				t.Fatal("size")
			}
			if !server.Verify(m, sig) {
				t.Errorf("flags %v message %d does not verify", flags, i)
			}
			if other.Verify(m, sig) {
				t.Errorf("flags %v: the other direction's keys verify", flags)
			}
		}
	}
	if _, err := NewSigner(ntlmssp.FlagNTLM, Key{}, true); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("no ESS: %v", err)
	}
}
