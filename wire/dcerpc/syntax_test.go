package dcerpc

import (
	"bytes"
	"testing"
)

// TestSyntaxConstants: the UUIDs parsed from their string form agree with the byte form
// SRVSVC was written in, print back as given, and go on the wire in the mixed-endian NDR form
// (the RPRN one as impacket and Wireshark show it: 78 56 34 12 34 12 cd ab ef 00 01 23 ...).
func TestSyntaxConstants(t *testing.T) {
	if got := mustUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"); got != SRVSVCSyntax.UUID {
		t.Errorf("SRVSVC %v, want %v", got, SRVSVCSyntax.UUID)
	}
	for s, want := range map[SyntaxID]string{
		RPRNSyntax:       "12345678-1234-abcd-ef00-0123456789ab v1.0",
		EFSRSyntax:       "df1941c5-fe89-4e79-bf10-463657acf44d v1.0",
		EFSRLsarpcSyntax: "c681d488-d850-11d0-8c52-00c04fd90f7e v1.0",
		DFSNMSyntax:      "4fc742e0-4a10-11cf-8273-00aa004ae673 v3.0",
		FSRVPSyntax:      "a8e0653c-2744-4389-a61d-7373df8b2292 v1.0",
		EVENSyntax:       "82273fdc-e32a-18c3-3f78-827929dc23ea v0.0",
		SRVSVCSyntax:     "4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0",
	} {
		if s.String() != want {
			t.Errorf("%v, want %s", s, want)
		}
	}
	wire := RPRNSyntax.AppendTo(nil)
	want := []byte{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 1, 0, 0, 0}
	if !bytes.Equal(wire, want) {
		t.Errorf("RPRN on the wire % x, want % x", wire, want)
	}
	for _, bad := range []string{"", "12345678-1234-abcd-ef00-0123456789az", "123456781234-abcd-ef00-0123456789ab0"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("mustUUID(%q) did not panic", bad)
				}
			}()
			mustUUID(bad)
		}()
	}
}
