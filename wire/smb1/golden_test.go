package smb1

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// Golden replies captured from Samba 4.17.12 by capture_test.go; see testdata/README.md for
// the server configuration of each.

func readGolden(t testing.TB, name string) NegotiateResponse {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return NegotiateResponse(b)
}

// TestGoldenSambaNT1 decodes the reply of a Samba with "server min protocol = NT1" and
// "server signing = auto" to smbsweep's probe.
func TestGoldenSambaNT1(t *testing.T) {
	r := readGolden(t, "samba-4.17-nt1-negotiate.bin")
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	var h Header
	if err := DecodeHeader(r, &h); err != nil {
		t.Fatal(err)
	}
	// The reply echoes the probe's PID and MID and carries the reply flag.
	if !h.IsReply() || h.PIDLow != ProbePIDLow || h.MID != 0 || h.Command != CommandNegotiate {
		t.Fatalf("header %+v", h)
	}
	if r.Err() != nil || !r.UsesNTStatus() {
		t.Fatalf("status %v (nt %v)", r.Err(), r.UsesNTStatus())
	}
	if r.DialectIndex() != 0 || !r.DialectAccepted() || !r.NTLanManager() {
		t.Fatalf("dialect index %d accepted %v word count %d", r.DialectIndex(), r.DialectAccepted(), r.WordCount())
	}
	if !r.ExtendedSecurity() || r.Flags2()&Flags2ExtendedSecurity == 0 || !r.Unicode() {
		t.Fatalf("extended security: caps %#x flags2 %#x", r.Capabilities(), r.Flags2())
	}
	for _, c := range []uint32{CapUnicode, CapNTSMBs, CapStatus32, CapLargeFiles, CapExtendedSecurity} {
		if r.Capabilities()&c == 0 {
			t.Errorf("capability %s missing from %#x", CapabilityName(c), r.Capabilities())
		}
	}
	if r.ServerGUID() == ([16]byte{}) {
		t.Fatal("zero server guid")
	}
	// Samba derives its SMB1 ServerGUID from the lower-cased NetBIOS name of smb.conf.
	if g := r.ServerGUID(); !bytes.HasPrefix(g[:], []byte("smbsweepcap")) {
		t.Errorf("server guid % x, expected the netbios name", g)
	}
	// SPNEGO (RFC 4178) inside a GSS-API InitialContextToken (RFC 2743 3.1): tag 0x60, a
	// short-form length covering the rest, then the SPNEGO OID 1.3.6.1.5.5.2.
	blob := r.SecurityBlob()
	if len(blob) < 10 || blob[0] != 0x60 || int(blob[1]) != len(blob)-2 {
		t.Fatalf("security blob % x", blob)
	}
	if !bytes.Equal(blob[2:10], []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}) {
		t.Fatalf("blob does not start with the SPNEGO OID: % x", blob[:10])
	}
	if len(blob)+guidSize != len(r.Bytes()) {
		t.Fatalf("blob %d bytes, SMB_Data %d", len(blob), len(r.Bytes()))
	}
	// server signing = auto: signing enabled, not required; user-level security with
	// challenge/response.
	if !r.SigningEnabled() || r.SigningRequired() {
		t.Fatalf("security mode %#x: want signing enabled, not required", r.SecurityMode())
	}
	if m := r.SecurityMode(); m&SecurityModeUserSecurity == 0 || m&SecurityModeEncryptPasswords == 0 {
		t.Fatalf("security mode %#x", m)
	}
	if r.ChallengeLength() != 0 || r.Challenge() != nil || r.DomainName() != nil {
		t.Fatal("non-extended fields in an extended reply")
	}
	st, ok := wire.FiletimeToTime(r.SystemTime())
	if !ok || st.Before(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) || st.After(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("system time %#x = %v", r.SystemTime(), st)
	}
	if r.MaxBufferSize() < 4096 || r.MaxMpxCount() == 0 || r.MaxNumberVcs() == 0 {
		t.Fatalf("max buffer %d mpx %d vcs %d", r.MaxBufferSize(), r.MaxMpxCount(), r.MaxNumberVcs())
	}
}

// TestGoldenSambaSMB1Disabled decodes the reply of a Samba with the default min protocol
// (SMB2_02) to the same probe: an SMB1 NEGOTIATE reply with success status, WordCount 1 and
// DialectIndex 0xFFFF, after which Samba closes the connection.
func TestGoldenSambaSMB1Disabled(t *testing.T) {
	r := readGolden(t, "samba-4.17-smb1-disabled-negotiate.bin")
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.WordCount() != WordCountCore || r.DialectIndex() != NoDialect || r.DialectAccepted() {
		t.Fatalf("word count %d dialect %#x accepted %v", r.WordCount(), r.DialectIndex(), r.DialectAccepted())
	}
	if r.Status() != 0 || r.Err() != nil {
		t.Fatalf("status %v", r.Err())
	}
	if r.NTLanManager() || r.ExtendedSecurity() || r.Capabilities() != 0 || len(r.Bytes()) != 0 {
		t.Fatal("NT fields reported for a no-dialect reply")
	}
}
