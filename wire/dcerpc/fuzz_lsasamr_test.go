package dcerpc

import "testing"

// Fuzz targets of the LSA and SAMR decoders, seeded with the Samba captures
// (testdata/README.md) and the hostile stubs of TestHostileCounts; the committed corpora are in
// testdata/fuzz/<FuzzName>/.

func FuzzLsarLookupSidsResponse(f *testing.F) {
	f.Add(goldenStub(f, "samba-4.17-lsa-lsarlookupsids-response.bin"))
	f.Add(goldenStub(f, "samba-4.17-lsa-lsarlookupsids-7-response.bin"))
	f.Add(hostileLookupSids(0xffffffff, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var l LookupSids
		if LsarLookupSidsResponse(b).Decode(&l) != nil {
			return
		}
		if l.Names > MaxLookupSids || l.Domains > MaxReferencedDomains {
			t.Fatalf("%d names, %d domains", l.Names, l.Domains)
		}
		var tn TranslatedName
		n := 0
		for l.NextName(&tn) {
			if len(tn.Name)%2 != 0 || len(tn.Name) > 2*int(maxAccountNameChars) || tn.DomainIndex >= int32(l.Domains) {
				t.Fatalf("name %d: %d bytes, domain %d of %d", n, len(tn.Name), tn.DomainIndex, l.Domains)
			}
			var ti TrustInformation
			if tn.DomainIndex >= 0 && !l.Domain(int(tn.DomainIndex), &ti) {
				t.Fatalf("name %d: domain %d not found", n, tn.DomainIndex)
			}
			_ = SidTypeName(tn.Use)
			n++
		}
		var ti TrustInformation
		m := 0
		for l.NextDomain(&ti) {
			if ti.SID.SubCount > MaxSubAuthorities {
				t.Fatalf("SID of %d sub-authorities", ti.SID.SubCount)
			}
			_ = ti.SID.String()
			m++
		}
		if n != l.Names || m != l.Domains {
			t.Fatalf("iterated %d names, %d domains; decoded %d, %d", n, m, l.Names, l.Domains)
		}
	})
}

func FuzzLsarQueryInformationPolicyResponse(f *testing.F) {
	f.Add(goldenStub(f, "samba-4.17-lsa-lsarqueryinformationpolicy-response.bin"))
	f.Add(goldenStub(f, "samba-4.17-lsa-lsarqueryinformationpolicy-2-response.bin"))
	f.Add(goldenStub(f, "samba-4.17-lsa-lsaropenpolicy2-response.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var info PolicyDomainInfo
		if LsarQueryInformationPolicyResponse(b).Decode(&info) == nil {
			if len(info.Name)%2 != 0 || info.SID.SubCount > MaxSubAuthorities {
				t.Fatalf("%+v", info)
			}
			_ = info.SID.String()
		}
		_, _, _ = HandleStatusResponse(b).Decode()
	})
}

func FuzzSamrEnumerateDomainsResponse(f *testing.F) {
	f.Add(goldenStub(f, "samba-4.17-samr-samrenumeratedomainsinsamserver-response.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e DomainEnum
		if SamrEnumerateDomainsResponse(b).Decode(&e) != nil {
			return
		}
		n := 0
		for name, ok := e.Next(); ok; name, ok = e.Next() {
			if len(name)%2 != 0 {
				t.Fatalf("odd name %x", name)
			}
			n++
		}
		if n != e.Count || e.Count > MaxSAMDomains {
			t.Fatalf("iterated %d of %d", n, e.Count)
		}
	})
}

func FuzzSamrQueryInformationDomainResponse(f *testing.F) {
	f.Add(goldenStub(f, "samba-4.17-samr-samrqueryinformationdomain2-response.bin"))
	f.Add(goldenStub(f, "samba-4.17-samr-samrqueryinformationdomain2-2-response.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d DomainInfo
		if SamrQueryInformationDomainResponse(b).Decode(&d) == nil && d.Status == 0 && d.Class != 1 && d.Class != 12 {
			t.Fatalf("class %d decoded", d.Class)
		}
		_ = PasswordPropertyNames(d.PasswordProperties)
	})
}

func FuzzSamrLookupDomainResponse(f *testing.F) {
	f.Add(goldenStub(f, "samba-4.17-samr-samrlookupdomaininsamserver-response.bin"))
	f.Add(goldenStub(f, "samba-4.17-samr-samrconnect2-response.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SID
		if has, _, err := SamrLookupDomainResponse(b).Decode(&s); err == nil && has {
			if s.SubCount > MaxSubAuthorities {
				t.Fatalf("%d sub-authorities", s.SubCount)
			}
			if p, err := ParseSID(s.String()); err == nil && p != s && s.Authority[0] == 0 && s.Authority[1] == 0 {
				t.Fatalf("SID %s does not round-trip", s.String())
			}
		}
		_, _, _ = HandleStatusResponse(b).Decode()
	})
}
