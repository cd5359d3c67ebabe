package ntlmssp

import (
	"os"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// TestSambaChallenge decodes the CHALLENGE a Samba 4.17 smbd sent to smbsweep's own NEGOTIATE
// (testdata/samba-4.17-session-setup-challenge.bin, written by capture_test.go; Samba then
// granted the anonymous session that AnonymousAuthenticate built).
func TestSambaChallenge(t *testing.T) {
	b, err := os.ReadFile("testdata/samba-4.17-session-setup-challenge.bin")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := spnego.DecodeNegTokenResp(b)
	if err != nil {
		t.Fatal(err)
	}
	c := Challenge(resp.ResponseToken)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Samba echoes what DefaultNegotiateFlags asked for and adds the target type.
	if want := DefaultNegotiateFlags | FlagTargetTypeServer; c.Flags() != want {
		t.Errorf("flags %v, want %v", c.Flags(), want)
	}
	if got := wire.DecodeUTF16LE(c.TargetName()); got != "SMBSWEEPNTLM" {
		t.Errorf("target name %q", got)
	}
	if v, ok := c.Version(); !ok || v != (Version{6, 1, 0, 15}) {
		t.Errorf("version %v %v", v, ok)
	}
	var info AVInfo
	if err := c.AVInfo(&info); err != nil {
		t.Fatal(err)
	}
	if wire.DecodeUTF16LE(info.NbDomainName) != "SMBSWEEPNTLM" || wire.DecodeUTF16LE(info.NbComputerName) != "SMBSWEEPNTLM" {
		t.Errorf("netbios names %q %q", wire.DecodeUTF16LE(info.NbDomainName), wire.DecodeUTF16LE(info.NbComputerName))
	}
	// A standalone Samba sends an empty DNS domain name (present, zero length) and its host name.
	if info.DnsDomainName == nil || len(info.DnsDomainName) != 0 || len(info.DnsComputerName) == 0 {
		t.Errorf("dns names %q %q", info.DnsDomainName, info.DnsComputerName)
	}
	if !info.HasTimestamp || info.Pairs != 5 {
		t.Errorf("av info %+v", info)
	}
	if _, ok := wire.FiletimeToTime(info.Timestamp); !ok {
		t.Errorf("timestamp %#x", info.Timestamp)
	}
	// The anonymous answer to it.
	a := AnonymousAuthenticate(c.Flags() & DefaultNegotiateFlags)
	if a.Flags != DefaultNegotiateFlags|FlagAnonymous {
		t.Errorf("authenticate flags %v", a.Flags)
	}
}
