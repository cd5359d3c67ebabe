package dcerpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unicode/utf16"

	"github.com/smbsweep/smbsweep/wire"
)

// goldenStub reassembles a captured reply (every fragment of it, testdata/README.md) and
// returns its stub; a FAULT is returned as the error.
func goldenStub(t testing.TB, name string) []byte {
	t.Helper()
	b := readGolden(t, name)
	var ra Reassembler
	ra.Reset(make([]byte, 0, 64<<10), PDU(b).CallID(), 1<<20)
	if _, err := ra.Write(b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !ra.Done() {
		t.Fatalf("%s: reply incomplete", name)
	}
	return ra.Stub()
}

func utf16s(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// The Samba captures (testdata/README.md): instance lsaopen, workgroup SMBSWEEP, netbios name
// SWEEP-LSAOPEN, pdbedit policy min length 11, history 4, lockout 7 attempts, 45 min, reset
// after 20 min.
func TestLSASambaGoldens(t *testing.T) {
	h, st, err := HandleStatusResponse(goldenStub(t, "samba-4.17-lsa-lsaropenpolicy2-response.bin")).Decode()
	if err != nil || st != StatusSuccess || h.IsZero() {
		t.Fatalf("LsarOpenPolicy2: handle %x status %#x %v", h, st, err)
	}
	b := readGolden(t, "samba-4.17-lsa-lsarqueryinformationpolicy2-fault.bin")
	if f := Fault(b); f.Validate() != nil || f.Status() != FaultOpRangeError {
		t.Errorf("Samba's answer to opnum 46: % x, want a nca_s_op_rng_error FAULT", b)
	}

	var acct, prim PolicyDomainInfo
	if err := LsarQueryInformationPolicyResponse(goldenStub(t, "samba-4.17-lsa-lsarqueryinformationpolicy-response.bin")).Decode(&acct); err != nil {
		t.Fatal(err)
	}
	if acct.Class != PolicyAccountDomainInformation || utf16s(acct.Name) != "SWEEP-LSAOPEN" || !acct.HasSID || acct.Status != 0 {
		t.Errorf("account domain %+v %q", acct, utf16s(acct.Name))
	}
	if s := acct.SID.String(); len(s) < 12 || s[:9] != "S-1-5-21-" || acct.SID.SubCount != 4 {
		t.Errorf("account domain SID %s", s)
	}
	if err := LsarQueryInformationPolicyResponse(goldenStub(t, "samba-4.17-lsa-lsarqueryinformationpolicy-2-response.bin")).Decode(&prim); err != nil {
		t.Fatal(err)
	}
	if prim.Class != PolicyPrimaryDomainInformation || utf16s(prim.Name) != "SMBSWEEP" || prim.HasSID {
		t.Errorf("primary domain %+v %q, want SMBSWEEP without a SID (a workgroup)", prim, utf16s(prim.Name))
	}

	// LsarLookupSids of RID 500 and S-1-5-32-544.
	var l LookupSids
	if err := LsarLookupSidsResponse(goldenStub(t, "samba-4.17-lsa-lsarlookupsids-response.bin")).Decode(&l); err != nil {
		t.Fatal(err)
	}
	var tn TranslatedName
	var got []string
	for l.NextName(&tn) {
		var ti TrustInformation
		dom := ""
		if l.Domain(int(tn.DomainIndex), &ti) {
			dom = utf16s(ti.Name)
		}
		got = append(got, dom+`\`+utf16s(tn.Name)+" "+SidTypeName(tn.Use))
	}
	if l.Names != 2 || len(got) != 2 || got[1] != `BUILTIN\Administrators alias` {
		t.Errorf("lookup of 2 SIDs: %d names %q, status %#x", l.Names, got, l.Status)
	}

	// RIDs 1000-1099: the harness's test user (the first account a Samba passdb creates).
	if err := LsarLookupSidsResponse(goldenStub(t, "samba-4.17-lsa-lsarlookupsids-7-response.bin")).Decode(&l); err != nil {
		t.Fatal(err)
	}
	var users []string
	for l.NextName(&tn) {
		if tn.Use == SidTypeUser {
			users = append(users, utf16s(tn.Name))
		}
	}
	if l.Names != 100 || l.Status != StatusSomeNotMapped || len(users) != 1 || users[0] != "smbsweep-test" {
		t.Errorf("RIDs 1000-1099: %d names, status %#x, users %q", l.Names, l.Status, users)
	}
	if l.Domains != 1 {
		t.Errorf("%d referenced domains, want 1", l.Domains)
	}
}

func TestSAMRSambaGoldens(t *testing.T) {
	var e DomainEnum
	if err := SamrEnumerateDomainsResponse(goldenStub(t, "samba-4.17-samr-samrenumeratedomainsinsamserver-response.bin")).Decode(&e); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n, ok := e.Next(); ok; n, ok = e.Next() {
		names = append(names, utf16s(n))
	}
	if len(names) != 2 || names[0] != "SWEEP-LSAOPEN" || names[1] != "Builtin" || e.Status != 0 {
		t.Errorf("domains %q status %#x", names, e.Status)
	}
	var sid SID
	has, st, err := SamrLookupDomainResponse(goldenStub(t, "samba-4.17-samr-samrlookupdomaininsamserver-response.bin")).Decode(&sid)
	var acct PolicyDomainInfo
	_ = LsarQueryInformationPolicyResponse(goldenStub(t, "samba-4.17-lsa-lsarqueryinformationpolicy-response.bin")).Decode(&acct)
	if err != nil || !has || st != 0 || sid != acct.SID {
		t.Errorf("SamrLookupDomainInSamServer: %s %v %#x %v; LSA says %s", sid.String(), has, st, err, acct.SID.String())
	}
	var d DomainInfo
	if err := SamrQueryInformationDomainResponse(goldenStub(t, "samba-4.17-samr-samrqueryinformationdomain2-response.bin")).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Class != 1 || d.MinPasswordLength != 11 || d.PasswordHistoryLength != 4 || d.PasswordProperties != 0 || d.MinPasswordAge != 0 {
		t.Errorf("password information %+v", d)
	}
	if err := SamrQueryInformationDomainResponse(goldenStub(t, "samba-4.17-samr-samrqueryinformationdomain2-2-response.bin")).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Class != 12 || d.LockoutThreshold != 7 || d.LockoutDuration/-10_000_000 != 45*60 || d.LockoutObservationWindow/-10_000_000 != 20*60 {
		t.Errorf("lockout information %+v", d)
	}
	for _, name := range []string{"samba-4.17-samr-samrconnect2-response.bin", "samba-4.17-samr-samropendomain-response.bin",
		"samba-4.17-samr-samrclosehandle-response.bin", "samba-4.17-lsa-lsarclose-response.bin"} {
		if _, st, err := HandleStatusResponse(goldenStub(t, name)).Decode(); err != nil || st != 0 {
			t.Errorf("%s: %#x %v", name, st, err)
		}
	}
}

func TestSIDStringParse(t *testing.T) {
	for _, s := range []string{"S-1-5-32-544", "S-1-5-21-1-2-3-500", "S-1-0", "S-1-5-21-4294967295-0-1"} {
		sid, err := ParseSID(s)
		if err != nil || sid.String() != s {
			t.Errorf("ParseSID(%q) = %s, %v", s, sid.String(), err)
		}
	}
	for _, s := range []string{"", "S-1", "X-1-5", "S-1-5-x", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"} {
		if _, err := ParseSID(s); err == nil {
			t.Errorf("ParseSID(%q) accepted", s)
		}
	}
	big := SID{Revision: 1, Authority: [6]byte{1, 0, 0, 0, 0, 0}}
	if got := big.String(); got != "S-1-0x10000000000" {
		t.Errorf("authority >= 2^32: %s", got)
	}
	full := SID{SubCount: MaxSubAuthorities}
	if _, ok := full.WithRID(1); ok {
		t.Error("WithRID beyond 15 sub-authorities")
	}
}

// TestRequestSizes: every request's Size is what AppendTo appends, and the stubs are 4-aligned
// where NDR wants it.
func TestRequestSizes(t *testing.T) {
	sid, _ := ParseSID("S-1-5-21-1-2-3")
	h := Handle{1, 2, 3}
	for name, r := range map[string]interface {
		Size() int
		AppendTo([]byte) []byte
	}{
		"OpenPolicy2":     &LsarOpenPolicy2Request{DesiredAccess: 0x801},
		"QueryInfoPolicy": &LsarQueryInformationPolicyRequest{Handle: h, Class: 5},
		"LookupSids0":     &LsarLookupSidsRequest{Handle: h},
		"LookupSids2":     &LsarLookupSidsRequest{Handle: h, SIDs: []SID{sid, wellKnownAdminsForTest()}},
		"Close":           &HandleRequest{Handle: h},
		"Connect2":        &SamrConnect2Request{ServerName: `\\127.0.0.1`, DesiredAccess: 0x31},
		"Connect2NULL":    &SamrConnect2Request{},
		"EnumDomains":     &SamrEnumerateDomainsRequest{Handle: h, PreferedMaximumLength: 0xffffffff},
		"LookupDomain":    &SamrLookupDomainRequest{Handle: h, Name: "SWEEP-😀"},
		"OpenDomain":      &SamrOpenDomainRequest{Handle: h, DesiredAccess: 1, DomainID: sid},
		"QueryDomain":     &SamrQueryInformationDomainRequest{Handle: h, Class: 12},
	} {
		b := r.AppendTo([]byte{0xee})[1:]
		if len(b) != r.Size() {
			t.Errorf("%s: %d bytes, Size %d", name, len(b), r.Size())
		}
	}
	// LsarLookupSids of two SIDs, byte for byte (MS-LSAT 3.1.4.11 with C706 14.3.12 deferral).
	got := (&LsarLookupSidsRequest{Handle: h, SIDs: []SID{sid}}).AppendTo(nil)
	want := append(append([]byte{}, h[:]...),
		1, 0, 0, 0, 0, 0, 2, 0, // Entries 1, SidInfo referent
		1, 0, 0, 0, 4, 0, 2, 0, // conformance 1, SID pointer referent
		4, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, // RPC_SID
		0, 0, 0, 0, 0, 0, 0, 0, // TranslatedNames {0, NULL}
		1, 0, 0, 0, // LookupLevel LsapLookupWksta + pad
		0, 0, 0, 0) // MappedCount
	if !bytes.Equal(got, want) {
		t.Errorf("LsarLookupSids stub\n% x\nwant\n% x", got, want)
	}
}

func wellKnownAdminsForTest() SID { s, _ := ParseSID("S-1-5-32-544"); return s }

// hostileLookupSids builds a LsarLookupSids reply stub that claims names translated names
// (without the array behind the claim) and domains referenced domains.
func hostileLookupSids(domains, names uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0x20000) // ReferencedDomains
	b = le.AppendUint32(b, domains)
	b = le.AppendUint32(b, 0x20004)
	b = le.AppendUint32(b, domains)
	b = le.AppendUint32(b, domains) // conformance
	b = le.AppendUint32(b, names)   // (read as domain data or names.Entries)
	b = le.AppendUint32(b, 0x20008)
	b = le.AppendUint32(b, names)
	return append(b, make([]byte, 64)...)
}

// TestHostileCounts: counts far beyond the caps (an NDR count of 2^32-1, an LSA reply claiming
// 10^6 names) are refused with ErrTooLarge before anything is sized by them, and every
// truncation of a golden is an error, never a panic.
func TestHostileCounts(t *testing.T) {
	var l LookupSids
	for _, c := range []struct{ domains, names uint32 }{{0xffffffff, 0}, {1_000_000, 0}} {
		if err := LsarLookupSidsResponse(hostileLookupSids(c.domains, c.names)).Decode(&l); !errors.Is(err, wire.ErrTooLarge) {
			t.Errorf("%d domains: %v, want ErrTooLarge", c.domains, err)
		}
	}
	// No referenced domains, then TranslatedNames claiming 10^6 and 2^32-1 names.
	le := binary.LittleEndian
	for _, n := range []uint32{1_000_000, 0xffffffff, MaxLookupSids + 1} {
		b := le.AppendUint32(nil, 0) // ReferencedDomains NULL
		b = le.AppendUint32(b, n)
		b = le.AppendUint32(b, 0x20000)
		b = le.AppendUint32(b, n)
		b = append(b, make([]byte, 32)...)
		if err := LsarLookupSidsResponse(b).Decode(&l); !errors.Is(err, wire.ErrTooLarge) {
			t.Errorf("%d names: %v, want ErrTooLarge", n, err)
		}
	}
	// A count within the cap but more entries than the stub holds.
	b := le.AppendUint32(nil, 0)
	b = le.AppendUint32(b, MaxLookupSids)
	b = le.AppendUint32(b, 0x20000)
	b = le.AppendUint32(b, MaxLookupSids)
	if err := LsarLookupSidsResponse(b).Decode(&l); !errors.Is(err, wire.ErrShort) {
		t.Errorf("1000 names in 16 bytes: %v, want ErrShort", err)
	}
	// SAMR domain enumeration with EntriesRead 2^32-1.
	e := le.AppendUint32(nil, 0)
	e = le.AppendUint32(e, 0x20000)
	e = le.AppendUint32(e, 0xffffffff)
	e = le.AppendUint32(e, 0x20004)
	e = le.AppendUint32(e, 0xffffffff)
	var de DomainEnum
	if err := SamrEnumerateDomainsResponse(e).Decode(&de); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("EntriesRead 2^32-1: %v, want ErrTooLarge", err)
	}
	// A SID with 255 sub-authorities, a string of 2^32-1 characters.
	var sid SID
	s := le.AppendUint32(nil, 0x20000)
	s = le.AppendUint32(s, 255)
	s = append(s, 1, 255, 0, 0, 0, 0, 0, 5)
	if _, _, err := SamrLookupDomainResponse(s).Decode(&sid); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("255 sub-authorities: %v, want ErrTooLarge", err)
	}
	q := le.AppendUint32(nil, 0x20000)
	q = le.AppendUint16(q, 5)
	q = le.AppendUint16(q, 0)
	q = le.AppendUint16(q, 0xfffe)
	q = le.AppendUint16(q, 0xfffe)
	q = le.AppendUint32(q, 0x20004)
	q = le.AppendUint32(q, 0)
	q = le.AppendUint32(q, 0xffffffff)
	q = le.AppendUint32(q, 0)
	q = le.AppendUint32(q, 0x7fff)
	var info PolicyDomainInfo
	if err := LsarQueryInformationPolicyResponse(q).Decode(&info); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("string of 2^32-1 characters: %v, want ErrTooLarge", err)
	}

	// Every truncation of a golden by 8 bytes or more (more than NDR's end padding) fails to
	// decode as itself, and no truncation panics any decoder.
	decoders := map[string]func([]byte) error{
		"samba-4.17-lsa-lsarlookupsids-response.bin": func(b []byte) error { return LsarLookupSidsResponse(b).Decode(&l) },
		"samba-4.17-lsa-lsarqueryinformationpolicy-response.bin": func(b []byte) error {
			return LsarQueryInformationPolicyResponse(b).Decode(&info)
		},
		"samba-4.17-samr-samrenumeratedomainsinsamserver-response.bin": func(b []byte) error {
			return SamrEnumerateDomainsResponse(b).Decode(&de)
		},
		"samba-4.17-samr-samrqueryinformationdomain2-2-response.bin": func(b []byte) error {
			var d DomainInfo
			return SamrQueryInformationDomainResponse(b).Decode(&d)
		},
		"samba-4.17-samr-samrlookupdomaininsamserver-response.bin": func(b []byte) error {
			_, _, err := SamrLookupDomainResponse(b).Decode(&sid)
			return err
		},
	}
	for name, own := range decoders {
		stub := goldenStub(t, name)
		if own(stub) != nil {
			t.Fatalf("%s does not decode whole", name)
		}
		for n := 0; n <= len(stub); n++ {
			for _, dec := range decoders {
				_ = dec(stub[:n])
			}
			if n <= len(stub)-8 && own(stub[:n]) == nil {
				t.Errorf("%s cut to %d of %d bytes decoded", name, n, len(stub))
			}
		}
	}
}

// TestLSASAMRAllocs: decoding the goldens and encoding the requests allocate nothing.
func TestLSASAMRAllocs(t *testing.T) {
	lookup := goldenStub(t, "samba-4.17-lsa-lsarlookupsids-7-response.bin")
	qip := goldenStub(t, "samba-4.17-lsa-lsarqueryinformationpolicy-response.bin")
	enum := goldenStub(t, "samba-4.17-samr-samrenumeratedomainsinsamserver-response.bin")
	qd := goldenStub(t, "samba-4.17-samr-samrqueryinformationdomain2-2-response.bin")
	ld := goldenStub(t, "samba-4.17-samr-samrlookupdomaininsamserver-response.bin")
	sid, _ := ParseSID("S-1-5-21-1-2-3")
	sids := []SID{sid, sid, sid}
	buf := make([]byte, 0, 4096)
	var l LookupSids
	var tn TranslatedName
	var info PolicyDomainInfo
	var de DomainEnum
	var d DomainInfo
	var out SID
	n := testing.AllocsPerRun(100, func() {
		if LsarLookupSidsResponse(lookup).Decode(&l) != nil || LsarQueryInformationPolicyResponse(qip).Decode(&info) != nil ||
			SamrEnumerateDomainsResponse(enum).Decode(&de) != nil || SamrQueryInformationDomainResponse(qd).Decode(&d) != nil {
			panic("decode")
		}
		for l.NextName(&tn) {
		}
		for _, ok := de.Next(); ok; _, ok = de.Next() {
		}
		if _, _, err := SamrLookupDomainResponse(ld).Decode(&out); err != nil {
			panic(err)
		}
		buf = (&LsarLookupSidsRequest{SIDs: sids}).AppendTo(buf[:0])
		buf = (&SamrOpenDomainRequest{DomainID: sid}).AppendTo(buf[:0])
		buf = (&SamrLookupDomainRequest{Name: "DOMAIN"}).AppendTo(buf[:0])
		buf = (&SamrConnect2Request{ServerName: `\\host`}).AppendTo(buf[:0])
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkLsarLookupSidsDecode(b *testing.B) {
	b.ReportAllocs()
	stub := goldenStub(b, "samba-4.17-lsa-lsarlookupsids-7-response.bin")
	var l LookupSids
	var tn TranslatedName
	var ti TrustInformation
	for b.Loop() {
		if err := LsarLookupSidsResponse(stub).Decode(&l); err != nil {
			b.Fatal(err)
		}
		for l.NextName(&tn) {
		}
		for l.NextDomain(&ti) {
		}
	}
}
