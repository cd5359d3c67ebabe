package ntlmssp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// TestGoldenSambaChallenge decodes NTLM CHALLENGE messages captured from Samba 4.17 by `make
// goldens` (testdata/README.md): the names are the configured NetBIOS names, the timestamp is
// present, the Version is what Samba reports (6.1, NTLM revision 15).
func TestGoldenSambaChallenge(t *testing.T) {
	for file, name := range map[string]string{
		"samba-default-challenge.bin": "SWEEP-DEFAULT",
		"samba-nonull-challenge.bin":  "SWEEP-NONULL",
		"samba-smb2_10-challenge.bin": "SWEEP-SMB2-10",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatalf("golden file missing (run make goldens): %v", err)
		}
		c := Challenge(b)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if got := wire.DecodeUTF16LE(c.TargetName()); got != name {
			t.Errorf("%s: target name %q, want %q", file, got, name)
		}
		var av AVInfo
		if err := c.AVInfo(&av); err != nil {
			t.Fatalf("%s: AV pairs: %v", file, err)
		}
		if got := wire.DecodeUTF16LE(av.NbComputerName); got != name {
			t.Errorf("%s: NetBIOS computer %q", file, got)
		}
		if got := wire.DecodeUTF16LE(av.NbDomainName); got != name {
			t.Errorf("%s: NetBIOS domain %q (standalone server: its own name)", file, got)
		}
		if !av.HasTimestamp {
			t.Errorf("%s: no MsvAvTimestamp", file)
		} else if ts, ok := wire.FiletimeToTime(av.Timestamp); !ok || ts.Year() < 2020 {
			t.Errorf("%s: timestamp %v", file, ts)
		}
		v, ok := c.Version()
		if !ok || v.ProductMajor != 6 || v.ProductMinor != 1 || v.NTLMRevision != 15 {
			t.Errorf("%s: version %+v %v", file, v, ok)
		}
		f := c.Flags()
		if !f.Has(FlagUnicode) || !f.Has(FlagTargetInfo) || !f.Has(FlagExtendedSessionSecurity) {
			t.Errorf("%s: flags %s", file, f)
		}
		if c.ServerChallenge() == [8]byte{} {
			t.Errorf("%s: zero server challenge", file)
		}
	}
}
