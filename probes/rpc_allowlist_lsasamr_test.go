package probes

import (
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// TestLSASAMRAllowlistReadOnly: on LSA and SAMR the allowlist holds exactly the read-only calls
// of stages lsa and samr, so every method that changes the server (MS-LSAD/MS-LSAT and MS-SAMR
// opnums listed below from the specifications' method tables) is refused by buildRequest.
func TestLSASAMRAllowlistReadOnly(t *testing.T) {
	want := map[dcerpc.SyntaxID][]uint16{
		dcerpc.LSARPCSyntax: {0, 7, 15, 44, 46},
		dcerpc.SAMRSyntax:   {1, 5, 6, 7, 46, 57},
	}
	for syn, opnums := range want {
		var got []uint16
		for op := range 1 << 16 {
			if _, ok := allowed(syn, uint16(op)); ok {
				got = append(got, uint16(op))
			}
		}
		if len(got) != len(opnums) {
			t.Errorf("%s: allowlisted opnums %v, want exactly %v", syn, got, opnums)
			continue
		}
		for i := range got {
			if got[i] != opnums[i] {
				t.Errorf("%s: allowlisted opnums %v, want exactly %v", syn, got, opnums)
				break
			}
		}
	}
	writes := []struct {
		iface rpcInterface
		opnum uint16
		name  string
	}{
		{ifLSARPC, 8, "LsarSetInformationPolicy (MS-LSAD 3.1.4.4.6)"},
		{ifLSARPC, 10, "LsarCreateAccount (MS-LSAD 3.1.4.5.1)"},
		{ifLSARPC, 12, "LsarCreateTrustedDomain (MS-LSAD 3.1.4.7.1)"},
		{ifLSARPC, 16, "LsarCreateSecret (MS-LSAD 3.1.4.6.1)"},
		{ifLSARPC, 29, "LsarSetSecret (MS-LSAD 3.1.4.6.3)"},
		{ifLSARPC, 34, "LsarDeleteObject (MS-LSAD 3.1.4.9.2)"},
		{ifLSARPC, 37, "LsarAddAccountRights (MS-LSAD 3.1.4.5.11)"},
		{ifLSARPC, 42, "LsarStorePrivateData (MS-LSAD 3.1.4.6.5)"},
		{ifSAMR, 9, "SamrSetInformationDomain (MS-SAMR 3.1.5.6.1)"},
		{ifSAMR, 12, "SamrCreateUserInDomain (MS-SAMR 3.1.5.4.4)"},
		{ifSAMR, 37, "SamrSetInformationUser (MS-SAMR 3.1.5.6.5)"},
		{ifSAMR, 38, "SamrChangePasswordUser (MS-SAMR 3.1.5.10.1)"},
		{ifSAMR, 50, "SamrCreateUser2InDomain (MS-SAMR 3.1.5.4.4)"},
		{ifSAMR, 55, "SamrUnicodeChangePasswordUser2 (MS-SAMR 3.1.5.10.3)"},
		{ifSAMR, 58, "SamrSetInformationUser2 (MS-SAMR 3.1.5.6.4)"},
		{ifSAMR, 73, "SamrUnicodeChangePasswordUser4 (MS-SAMR 3.1.5.10.4)"},
	}
	for _, w := range writes {
		if pdu, err := buildRequest(nil, w.iface, w.opnum, 1, 0, make([]byte, 8)); !errors.Is(err, errOpnumNotAllowed) || len(pdu) != 0 {
			t.Errorf("%s opnum %d (%s) built: %v", w.iface.Spec, w.opnum, w.name, err)
		}
	}
}
