package ntlmssp

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
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

func readHexFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
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
	specWorkstation = "COMPUTER"
)

var specServerChallenge = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}

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
	specFlagsChallenge    = Flags(0xe28a8233)
	specLMv2Response      = "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa" // 4.2.4.2.1
	specEncryptedRandomSK = "c5dad2544fc9799094ce1ce90bc9d03e"                 // 4.2.4.2.3
	specTargetInfoHex     = "02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000"
)

func TestSpecFlagValues(t *testing.T) {
	// MS-NLMP 4.2.4 lists the flags behind 0xe28a8233 by name.
	f := FlagKeyExch | Flag56 | Flag128 | FlagVersion | FlagTargetInfo | FlagExtendedSessionSecurity |
		FlagTargetTypeServer | FlagAlwaysSign | FlagNTLM | FlagSeal | FlagSign | FlagOEM | FlagUnicode
	if f != specFlagsChallenge {
		t.Fatalf("flags = %#x, want %#x", uint32(f), uint32(specFlagsChallenge))
	}
}

func TestSpecChallenge(t *testing.T) {
	c := Challenge(unhex(t, specChallengeHex))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Flags() != specFlagsChallenge {
		t.Errorf("flags = %v", c.Flags())
	}
	if c.ServerChallenge() != specServerChallenge {
		t.Errorf("server challenge = %x", c.ServerChallenge())
	}
	if got := wire.DecodeUTF16LE(c.TargetName()); got != "Server" {
		t.Errorf("target name = %q", got)
	}
	if !bytes.Equal(c.TargetInfo(), unhex(t, specTargetInfoHex)) {
		t.Errorf("target info = %x", c.TargetInfo())
	}
	v, ok := c.Version()
	if want := (Version{6, 0, 6000, 15}); !ok || v != want {
		t.Errorf("version = %v, %v; want %v", v, ok, want)
	}
	var info AVInfo
	if err := c.AVInfo(&info); err != nil {
		t.Fatal(err)
	}
	if wire.DecodeUTF16LE(info.NbDomainName) != "Domain" || wire.DecodeUTF16LE(info.NbComputerName) != "Server" {
		t.Errorf("av names = %q %q", info.NbDomainName, info.NbComputerName)
	}
	if info.Pairs != 2 || info.HasTimestamp || info.HasFlags || info.DnsComputerName != nil {
		t.Errorf("av info = %+v", info)
	}
}

func TestSpecAuthenticateEncode(t *testing.T) {
	want := unhex(t, specAuthenticateHex)
	a := AuthenticateMessage(want)
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	enc := Authenticate{
		Flags:                     Flags(0xe2888235),
		LmChallengeResponse:       unhex(t, specLMv2Response),
		NtChallengeResponse:       a.NtChallengeResponse(),
		Domain:                    specDomain,
		User:                      specUser,
		Workstation:               specWorkstation,
		EncryptedRandomSessionKey: unhex(t, specEncryptedRandomSK),
		Version:                   Version{5, 1, 2600, 15},
	}
	if enc.Size() != len(want) {
		t.Errorf("Size = %d, want %d", enc.Size(), len(want))
	}
	got := enc.AppendTo(nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendTo\n got %x\nwant %x", got, want)
	}
	// The view reads back what the spec message holds.
	if a.Flags() != enc.Flags || wire.DecodeUTF16LE(a.User()) != specUser ||
		wire.DecodeUTF16LE(a.Domain()) != specDomain || wire.DecodeUTF16LE(a.Workstation()) != specWorkstation {
		t.Errorf("view: flags %v user %q domain %q ws %q", a.Flags(), a.User(), a.Domain(), a.Workstation())
	}
	if v, ok := a.Version(); !ok || v != enc.Version {
		t.Errorf("version = %v %v", v, ok)
	}
	if _, ok := a.MIC(); ok {
		t.Error("MIC reported in a message whose payload starts at byte 72")
	}
	if hex.EncodeToString(a.EncryptedRandomSessionKey()) != specEncryptedRandomSK {
		t.Errorf("session key = %x", a.EncryptedRandomSessionKey())
	}
}

// The gss-ntlmssp capture of a Windows 2008 R2 server and a Windows 7 client (see testdata/README.md).
func TestWindowsCaptureChallenge(t *testing.T) {
	c := Challenge(readHexFile(t, "windows-2008r2-challenge.hex"))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Flags() != 0xa2898205 {
		t.Errorf("flags %v", c.Flags())
	}
	if got := wire.DecodeUTF16LE(c.TargetName()); got != "WS2008R2" {
		t.Errorf("target name %q", got)
	}
	if v, ok := c.Version(); !ok || v != (Version{6, 1, 7600, 15}) {
		t.Errorf("version %v %v", v, ok)
	}
	var info AVInfo
	if err := c.AVInfo(&info); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{
		"WS2008R2":                   info.NbDomainName,
		"DC-WS2008R2":                info.NbComputerName,
		"ws2008r2.local":             info.DnsDomainName,
		"DC-ws2008r2.ws2008r2.local": info.DnsComputerName,
	} {
		if wire.DecodeUTF16LE(got) != name {
			t.Errorf("av name %q, want %q", wire.DecodeUTF16LE(got), name)
		}
	}
	if wire.DecodeUTF16LE(info.DnsTreeName) != "ws2008r2.local" {
		t.Errorf("tree %q", info.DnsTreeName)
	}
	if !info.HasTimestamp || info.Timestamp != 0x01cdde0bc33fe77b || info.Pairs != 6 {
		t.Errorf("av info %+v", info)
	}
}

func TestWindowsCaptureAuthenticate(t *testing.T) {
	c := Challenge(readHexFile(t, "windows-2008r2-challenge.hex"))
	a := AuthenticateMessage(readHexFile(t, "windows7-authenticate-mic.hex"))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	mic, ok := a.MIC()
	if !ok || hex.EncodeToString(mic[:]) != "f054a542b090b66c1fea1a2cc82e930b" {
		t.Errorf("MIC %x %v", mic, ok)
	}
	if v, ok := a.Version(); !ok || v != (Version{6, 1, 7600, 15}) {
		t.Errorf("version %v %v", v, ok)
	}
	if wire.DecodeUTF16LE(a.User()) != "Administrator" || wire.DecodeUTF16LE(a.Domain()) != "WS2008R2" ||
		wire.DecodeUTF16LE(a.Workstation()) != "WIN7-2-PC" {
		t.Errorf("names %q %q %q", a.User(), a.Domain(), a.Workstation())
	}
	if a.EncryptedRandomSessionKey() != nil || !bytes.Equal(a.LmChallengeResponse(), make([]byte, 24)) {
		t.Errorf("lm %x key %x", a.LmChallengeResponse(), a.EncryptedRandomSessionKey())
	}
	// The client's AV pairs say a MIC is present (MS-NLMP 3.1.5.1.2). They follow NTProofStr
	// and the 28 fixed bytes of the NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7).
	var info AVInfo
	if err := DecodeAVInfo(a.NtChallengeResponse()[16+28:], &info); err != nil {
		t.Fatal(err)
	}
	if !info.HasFlags || info.Flags&AvFlagMICPresent == 0 {
		t.Errorf("client av flags %+v", info)
	}
	if wire.DecodeUTF16LE(info.TargetName) != "HTTP/dc-ws2008r2.ws2008r2.local" {
		t.Errorf("client target name %q", wire.DecodeUTF16LE(info.TargetName))
	}
}
