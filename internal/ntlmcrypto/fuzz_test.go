package ntlmcrypto

import (
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// FuzzNTLMv2Response feeds CHALLENGE messages (the seeds are FuzzChallenge's of package
// wire/ntlmssp): the NTLMv2 computation survives any target info the codec accepts, fails
// exactly when the codec rejects the AV pairs (or the response would not fit its field), and
// its own response verifies.
func FuzzNTLMv2Response(f *testing.F) {
	f.Add(unhex(f, specChallengeHex))
	f.Add(readHexFile(f, "windows-2008r2-challenge.hex"))
	cb := ntlmssp.ChallengeBuilder{Flags: ntlmssp.DefaultNegotiateFlags, TargetName: u16("X"), TargetInfo: ntlmssp.AppendAVEOL(ntlmssp.AppendAVTimestamp(nil, 5))}
	f.Add(cb.AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := ntlmssp.Challenge(b)
		if c.Validate() != nil {
			return
		}
		var info ntlmssp.AVInfo
		avErr := c.AVInfo(&info)
		in := NTLMv2Input{TargetInfo: c.TargetInfo(), IncludeMIC: true}
		resp, _, err := ComputeNTLMv2Response(nil, &in)
		if (err == nil) != (avErr == nil) && !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("response error %v, av error %v", err, avErr)
		}
		if err == nil {
			if _, ok := VerifyNTLMv2Response(Key{}, [8]byte{}, resp); !ok {
				t.Fatal("own response does not verify")
			}
		}
	})
}
