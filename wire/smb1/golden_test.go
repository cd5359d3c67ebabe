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

// TestGoldenSambaNT1NonExtended decodes Samba's reply to a client that asks for neither Unicode
// nor extended security: the non-extended NT form, Flags2 without Unicode (Samba echoes the
// request's bit), CAP_UNICODE announced, and the names in UTF-16 as CAP_UNICODE says. Decoded
// by Flags2 alone they came out as "S" and "S" (each name cut at the NUL byte of its first
// UTF-16 unit).
func TestGoldenSambaNT1NonExtended(t *testing.T) {
	r := readGolden(t, "samba-4.17-nt1-negotiate-non-extended.bin")
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !r.AcceptedNTLM012(ProbeDialects) || r.Form() != "NT" {
		t.Fatalf("form %s, index %d: not an NT LM 0.12 acceptance", r.Form(), r.DialectIndex())
	}
	if r.ExtendedSecurity() || r.Flags2()&(Flags2Unicode|Flags2ExtendedSecurity) != 0 {
		t.Fatalf("capture is not the non-extended, non-Unicode-Flags2 reply: caps %#x flags2 %#x", r.Capabilities(), r.Flags2())
	}
	if r.Capabilities()&CapUnicode == 0 || !r.Unicode() {
		t.Fatalf("caps %#x: CAP_UNICODE set, Unicode() %v", r.Capabilities(), r.Unicode())
	}
	if len(r.Challenge()) != 8 {
		t.Fatalf("challenge % x", r.Challenge())
	}
	if d, s := string(r.AppendDomainName(nil)), string(r.AppendServerName(nil)); d != "SMBSWEEP" || s != "SMBSWEEPCAP" {
		t.Fatalf("domain %q server %q, want the workgroup SMBSWEEP and netbios name SMBSWEEPCAP", d, s)
	}
}

// LANMANForm turns a captured NT-form NEGOTIATE reply into the LAN Manager form (MS-CIFS
// 2.2.4.52.2, WordCount 13) selecting dialect index: the header and SMB_Data as captured, the
// first 13 parameter words kept and DialectIndex set, the other 4 dropped.
func lanmanForm(t testing.TB, nt []byte, index uint16) NegotiateResponse {
	t.Helper()
	if nt[offWordCount] != WordCountNTLM {
		t.Fatalf("not an NT-form capture: word count %d", nt[offWordCount])
	}
	b := append([]byte(nil), nt[:offWordCount+1+2*WordCountLANMAN]...)
	b[offWordCount] = WordCountLANMAN
	b[offDialectIndex], b[offDialectIndex+1] = byte(index), byte(index>>8)
	return NegotiateResponse(append(b, nt[offNTByteCount:]...))
}

// TestProbeAcceptance checks AcceptedNTLM012 on the captures and on the NT1 capture bent into
// other forms and indexes: only the NT form selecting index 0 accepts the one offered dialect.
func TestProbeAcceptance(t *testing.T) {
	nt1 := readGolden(t, "samba-4.17-nt1-negotiate.bin")
	index3 := bytes.Clone(nt1)
	index3[offDialectIndex] = 3
	core0 := NegotiateResponse(append(append(bytes.Clone(nt1[:offWordCount]), WordCountCore, 0, 0), 0, 0))
	for _, c := range []struct {
		name     string
		r        NegotiateResponse
		form     string
		accepted bool
	}{
		{"nt1 capture", nt1, "NT", true},
		{"smb1-disabled capture", readGolden(t, "samba-4.17-smb1-disabled-negotiate.bin"), "Core", false},
		{"non-extended capture", readGolden(t, "samba-4.17-nt1-negotiate-non-extended.bin"), "NT", true},
		{"NT form, index 3", index3, "NT", false},
		{"LANMAN form, index 3", lanmanForm(t, nt1, 3), "LANMAN", false},
		{"LANMAN form, index 0", lanmanForm(t, nt1, 0), "LANMAN", false},
		{"Core form, index 0", core0, "Core", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.r.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.r.AcceptedNTLM012(ProbeDialects); got != c.accepted {
				t.Errorf("AcceptedNTLM012(1) = %v, want %v (form %s, index %d)", got, c.accepted, c.r.Form(), c.r.DialectIndex())
			}
			if c.r.Form() != c.form {
				t.Errorf("Form() = %q, want %q", c.r.Form(), c.form)
			}
			if c.r.AcceptedNTLM012(0) {
				t.Error("AcceptedNTLM012(0): nothing offered, nothing can be accepted")
			}
		})
	}
	// The LANMAN-form reply selecting index 3 is what DialectAccepted alone took for an
	// acceptance.
	if r := lanmanForm(t, nt1, 3); !r.DialectAccepted() || r.DialectIndex() != 3 {
		t.Fatalf("LANMAN variant: accepted %v index %d", r.DialectAccepted(), r.DialectIndex())
	}
}
