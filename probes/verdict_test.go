package probes

import (
	"slices"
	"strings"
	"testing"
)

func TestWindowsBuildsSorted(t *testing.T) {
	if !slices.IsSortedFunc(windowsBuilds, cmpWindowsBuild) {
		t.Fatal("windowsBuilds is not sorted by (major, minor, build): lookupWindowsBuild's binary search needs it")
	}
	for i := 1; i < len(windowsBuilds); i++ {
		if cmpWindowsBuild(windowsBuilds[i-1], windowsBuilds[i]) == 0 {
			t.Errorf("build %d.%d.%d listed twice", windowsBuilds[i].major, windowsBuilds[i].minor, windowsBuilds[i].build)
		}
	}
}

func ntlmRecord(version string) *Result {
	r := &Result{Stages: map[StageName]*StageResult{}}
	if version != "" {
		r.NTLM = &NTLMInfo{OSVersion: String(version)}
	}
	return r
}

func TestIdentifyOS(t *testing.T) {
	cases := []struct {
		version, family, name, evidence string
	}{
		{"10.0.17763", OSFamilyWindows, "Windows 10 1809 / Windows Server 2019 (1809)", "Version 10.0 build 17763"},
		{"10.0.26100", OSFamilyWindows, "Windows 11 24H2 / Windows Server 2025 (24H2)", "build 26100"},
		{"10.0.20348", OSFamilyWindows, "Windows Server 2022 (21H2)", "build 20348"},
		{"10.0.19045", OSFamilyWindows, "Windows 10 22H2", "build 19045"},
		{"6.1.7601", OSFamilyWindows, "Windows 7 SP1 / Windows Server 2008 R2 SP1", "build 7601"},
		{"6.1.0", OSFamilySamba, "Samba", "Samba's fixed value"},
		// A build the table lacks stays raw: no family, no name, never the nearest release.
		{"10.0.19046", "", "", "not in the build table"},
		{"10.0.65000", "", "", "not in the build table"},
	}
	for _, c := range cases {
		os := identifyOS(ntlmRecord(c.version))
		if os == nil {
			t.Errorf("%s: no os", c.version)
			continue
		}
		if StringOr(os.Family, "") != c.family || StringOr(os.Name, "") != c.name || StringOr(os.Version, "") != c.version || os.Source != OSSourceNTLM {
			t.Errorf("%s: os = family %q name %q version %q source %q, want %q %q", c.version, StringOr(os.Family, "null"), StringOr(os.Name, "null"), StringOr(os.Version, "null"), os.Source, c.family, c.name)
		}
		if !strings.Contains(os.Evidence, c.evidence) {
			t.Errorf("%s: evidence %q lacks %q", c.version, os.Evidence, c.evidence)
		}
	}
	if os := identifyOS(ntlmRecord("")); os != nil {
		t.Errorf("os without NTLM or SMB1 tells = %+v, want nil", os)
	}
	r := ntlmRecord("")
	r.SMB1 = &SMB1Info{Enabled: Bool(true), Capabilities: []string{"CAP_UNICODE", "CAP_UNIX"}}
	if os := identifyOS(r); os == nil || StringOr(os.Family, "") != OSFamilySamba || os.Source != OSSourceSMB1 || !strings.Contains(os.Evidence, "CAP_UNIX") {
		t.Errorf("os from SMB1 CAP_UNIX alone = %+v", os)
	}
}

func TestSMBGhostVerdictRules(t *testing.T) {
	neg := func(dialect string, compression ...string) *NegotiateInfo {
		n := &NegotiateInfo{Dialect: dialect, DialectRevision: 0x0311, Compression: compression}
		n.Contexts = []string{"PREAUTH_INTEGRITY_CAPABILITIES"}
		if compression != nil {
			n.Contexts = append(n.Contexts, "COMPRESSION_CAPABILITIES")
		}
		return n
	}
	cases := []struct {
		name    string
		neg     *NegotiateInfo
		version string
		state   string
	}{
		{"1903", neg("3.1.1", "LZNT1"), "10.0.18362", StateLikely},
		{"1909", neg("3.1.1", "LZ77"), "10.0.18363", StateLikely},
		{"2004 with compression", neg("3.1.1", "LZNT1", "Pattern_V1"), "10.0.19041", StateNotVulnerable},
		{"1903 without compression", neg("3.1.1"), "10.0.18362", StateNotVulnerable},
		{"compression context with NONE only", neg("3.1.1", "NONE"), "10.0.18362", StateNotVulnerable},
		{"3.0.2", neg("3.0.2"), "10.0.18362", StateNotVulnerable},
		{"compression without NTLM", neg("3.1.1", "LZNT1"), "", StateUnknown},
		{"build 18362 of another major", neg("3.1.1", "LZNT1"), "6.1.18362", StateNotVulnerable},
		{"no negotiate", nil, "10.0.18362", StateUnknown},
	}
	for _, c := range cases {
		r := ntlmRecord(c.version)
		r.Negotiate = c.neg
		v := smbghostVerdict(r)
		if v.state != c.state {
			t.Errorf("%s: state %s (%s), want %s", c.name, v.state, v.reason, c.state)
		}
		if (v.state == StateUnknown) != (v.confidence == "") {
			t.Errorf("%s: state %s with confidence %q", c.name, v.state, v.confidence)
		}
	}
	// value follows the state.
	for state, want := range map[string]string{StateVulnerable: "true", StateLikely: "true", StateNotVulnerable: "false", StateUnknown: "null"} {
		r := &Result{}
		addVerdict(r, FindingSMBGhost, verdict{state: state})
		got := "null"
		if v := r.Findings[0].Value; v != nil {
			got = map[bool]string{true: "true", false: "false"}[*v]
		}
		if got != want {
			t.Errorf("state %s: value %s, want %s", state, got, want)
		}
	}
}

func TestDomainControllerDetection(t *testing.T) {
	opts := &Options{}
	listed := func(names ...string) []Share {
		var out []Share
		for _, n := range names {
			out = append(out, Share{Name: n, ListedBy: []string{"anonymous"}})
		}
		return out
	}
	cases := []struct {
		name   string
		shares []Share
		stage  StageName // the stage that produced the list, "" for none
		status StageStatus
		tree   *string
		want   string
	}{
		{"both listed", listed("IPC$", "SYSVOL", "NETLOGON"), "shares", StageOK, String("corp.example"), "true"},
		{"both probed", []Share{{Name: "SYSVOL", ListedBy: []string{ListedByProbe}}, {Name: "NETLOGON", ListedBy: []string{ListedByProbe}}}, StageShareProbe, StageOK, nil, "true"},
		{"member with full list", listed("IPC$", "data"), "shares", StageOK, String("corp.example"), "false"},
		{"only NETLOGON listed", listed("IPC$", "NETLOGON"), "shares", StageOK, String("corp.example"), "false"},
		{"member, list refused", nil, "shares", StageFailed, String("corp.example"), "null"},
		{"workgroup, list refused", nil, "shares", StageFailed, String(""), "false"},
		{"workgroup, no tree pair", nil, "shares", StageFailed, nil, "false"},
	}
	for _, c := range cases {
		r := &Result{Stages: map[StageName]*StageResult{}, Shares: c.shares, NTLM: &NTLMInfo{DNSTreeName: c.tree}}
		if c.stage != "" {
			r.Stages[c.stage] = &StageResult{Status: c.status}
		}
		dc := detectDC(r, opts)
		if dc == nil {
			t.Errorf("%s: no domain_controller", c.name)
			continue
		}
		got := "null"
		if dc.Value != nil {
			got = map[bool]string{true: "true", false: "false"}[*dc.Value]
		}
		if got != c.want || len(dc.Evidence) == 0 {
			t.Errorf("%s: domain_controller %s %q, want %s", c.name, got, dc.Evidence, c.want)
		}
	}
	if dc := detectDC(&Result{Stages: map[StageName]*StageResult{}}, opts); dc != nil {
		t.Errorf("domain_controller without NTLM or a share stage = %+v, want nil", dc)
	}
	// A probe that did not ask for both DC shares cannot say they are absent.
	r := &Result{Stages: map[StageName]*StageResult{StageShareProbe: {Status: StageOK}}, NTLM: &NTLMInfo{DNSTreeName: String("corp.example")}}
	if dc := detectDC(r, &Options{ProbeShares: []string{"C$", "SYSVOL"}}); dc == nil || dc.Value != nil {
		t.Errorf("probe without NETLOGON decided domain_controller: %+v", dc)
	}
}

// TestDomainControllerFromNBStat: the NBSTAT answer's <1C> group makes a host a domain
// controller whatever else is (not) known; an answer without it says "not a DC" where nothing
// else decides; no answer decides nothing.
func TestDomainControllerFromNBStat(t *testing.T) {
	names := func(dc bool) *NBStatInfo {
		nb := &NBStatInfo{Answered: Bool(true), Names: []NBStatName{
			{Name: "DC1", Suffix: "0x00"}, {Name: "CORP", Suffix: "0x00", Group: true}, {Name: "DC1", Suffix: "0x20"}}}
		if dc {
			nb.Names = append(nb.Names, NBStatName{Name: "CORP", Suffix: "0x1c", Group: true})
		}
		return nb
	}
	memberNTLM := &NTLMInfo{DNSTreeName: String("corp.example")}
	cases := []struct {
		name   string
		nb     *NBStatInfo
		ntlm   *NTLMInfo
		shares string // "" no share stage, "refused", "member" (a complete list without the DC shares)
		want   string
	}{
		{"quick profile, <1C>", names(true), nil, "", "true"},
		{"quick profile, no <1C>", names(false), nil, "", "false"},
		{"AD member, list refused, <1C>", names(true), memberNTLM, "refused", "true"},
		{"AD member, list refused, no <1C>", names(false), memberNTLM, "refused", "false"},
		{"AD member, list refused, no NBSTAT answer", &NBStatInfo{Answered: Bool(false)}, memberNTLM, "refused", "null"},
		{"AD member, list refused, NBSTAT silent", &NBStatInfo{}, memberNTLM, "refused", "null"},
	}
	for _, c := range cases {
		r := &Result{Stages: map[StageName]*StageResult{}, NBStat: c.nb, NTLM: c.ntlm}
		switch c.shares {
		case "refused":
			r.Stages["shares"] = &StageResult{Status: StageFailed}
		case "member":
			r.Stages["shares"] = &StageResult{Status: StageOK}
		}
		dc := detectDC(r, &Options{})
		if dc == nil {
			t.Errorf("%s: no domain_controller", c.name)
			continue
		}
		got := "null"
		if dc.Value != nil {
			got = map[bool]string{true: "true", false: "false"}[*dc.Value]
		}
		if got != c.want {
			t.Errorf("%s: domain_controller %s %q, want %s", c.name, got, dc.Evidence, c.want)
		}
		if c.want == "true" && !slices.ContainsFunc(dc.Evidence, func(e string) bool { return strings.Contains(e, "<1C> group CORP") }) {
			t.Errorf("%s: evidence %q does not name the <1C> group", c.name, dc.Evidence)
		}
	}
	// An NBSTAT that did not answer informs nothing: without another stage, no record.
	for _, nb := range []*NBStatInfo{{Answered: Bool(false)}, {}} {
		if dc := detectDC(&Result{Stages: map[StageName]*StageResult{}, NBStat: nb}, &Options{}); dc != nil {
			t.Errorf("nbstat %+v alone decided %+v", nb, dc)
		}
	}
	// The severity of smb1_enabled goes up on a host that is a DC by its <1C> name alone.
	r := &Result{Stages: map[StageName]*StageResult{"smb1": {Status: StageOK}}, SMB1: &SMB1Info{Enabled: Bool(true)}, NBStat: names(true)}
	evaluateFindings(r, &Options{})
	for _, f := range r.Findings {
		if f.ID == FindingSMB1Enabled && (f.SeverityReason == "" || !strings.Contains(f.SeverityReason, "<1C>")) {
			t.Errorf("smb1_enabled on a <1C> host: severity %s, reason %q", f.Severity, f.SeverityReason)
		}
	}
}

func TestSeverityRaisedOnDC(t *testing.T) {
	r := &Result{
		Stages: map[StageName]*StageResult{"shares": {Status: StageOK}, "smb1": {Status: StageOK}, "negotiate": {Status: StageOK}},
		Shares: []Share{{Name: "SYSVOL", ListedBy: []string{"anonymous"}}, {Name: "NETLOGON", ListedBy: []string{"anonymous"}}},
		SMB1:   &SMB1Info{Enabled: Bool(true)},
		Negotiate: &NegotiateInfo{Dialect: "3.1.1", DialectRevision: 0x0311, SigningEnabled: Bool(true), SigningRequired: Bool(false),
			Contexts: []string{"PREAUTH_INTEGRITY_CAPABILITIES"}},
	}
	evaluateFindings(r, &Options{})
	want := map[string]string{FindingSMB1Enabled: "critical", FindingSigningNotRequired: "high", FindingSMB3Unsupported: "low"}
	for id, sev := range want {
		f := findingByID(r, id)
		if f == nil {
			t.Fatalf("no %s finding", id)
		}
		if f.Severity != sev {
			t.Errorf("%s severity %s on a DC, want %s", id, f.Severity, sev)
		}
		raised := sev != findingSeverity[id]
		if raised != (f.SeverityReason != "") || raised && !strings.Contains(f.SeverityReason, "domain controller") {
			t.Errorf("%s severity_reason %q", id, f.SeverityReason)
		}
	}
	// Not a DC: severities stay.
	r.Shares, r.Findings = r.Shares[:1], nil
	evaluateFindings(r, &Options{})
	if f := findingByID(r, FindingSigningNotRequired); f == nil || f.Severity != "medium" || f.SeverityReason != "" {
		t.Errorf("signing_not_required off a DC: %+v", f)
	}
}

func findingByID(r *Result, id string) *Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestIdentifyOSFromNativeOS: without an NTLM version, the SMB1 NativeOS names the release when
// it is one of the table (a "Windows 5.x" or a string carrying a known build), keeps only the
// family otherwise; Samba's NativeLanMan is a Samba tell.
func TestIdentifyOSFromNativeOS(t *testing.T) {
	for _, c := range []struct{ native, lanman, family, name, evidence string }{
		{"Windows 5.1", "Windows 2000 LAN Manager", OSFamilyWindows, "Windows XP", `NativeOS "Windows 5.1"`},
		{"Windows 5.0", "Windows 2000 LAN Manager", OSFamilyWindows, "Windows 2000", `NativeOS "Windows 5.0"`},
		{"Windows Server 2003 3790 Service Pack 2", "Windows Server 2003 5.2", OSFamilyWindows, "Windows Server 2003 / Windows XP x64", "build 3790"},
		{"Windows 7 Professional 7601 Service Pack 1", "Windows 7 Professional 6.1", OSFamilyWindows, "Windows 7 SP1 / Windows Server 2008 R2 SP1", "build 7601"},
		{"Windows Embedded 4242", "", OSFamilyWindows, "", "left unnamed"},
		{"Windows 6.1", "Samba 4.17.12-Debian", OSFamilySamba, "Samba", `NativeLanMan "Samba 4.17.12-Debian"`},
	} {
		r := ntlmRecord("")
		r.SMB1 = &SMB1Info{Enabled: Bool(true), NativeOS: c.native, NativeLanManager: c.lanman}
		os := identifyOS(r)
		if os == nil || StringOr(os.Family, "") != c.family || StringOr(os.Name, "") != c.name || os.Source != OSSourceSMB1 || os.Version != nil || !strings.Contains(os.Evidence, c.evidence) {
			t.Errorf("%q / %q: os = %+v, want family %q name %q from smb1 with %q", c.native, c.lanman, os, c.family, c.name, c.evidence)
		}
	}
	r := ntlmRecord("")
	r.SMB1 = &SMB1Info{Enabled: Bool(true), NativeOS: "Unix", NativeLanManager: "NAS"}
	if os := identifyOS(r); os != nil {
		t.Errorf("non-Windows NativeOS: os = %+v, want nil", os)
	}
}
