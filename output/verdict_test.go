package output

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smbsweep/smbsweep/probes"
)

// verdictRecord is a domain controller whose build negotiates SMB 3.1.1 compression: smbghost
// likely, signing_not_required raised to high.
func verdictRecord() *probes.Result {
	r := sambaRecord()
	r.OS = &probes.OSInfo{Family: probes.String(probes.OSFamilyWindows), Name: probes.String("Windows 10 1903 / Windows Server 1903"),
		Version: probes.String("10.0.18362"), Source: probes.OSSourceNTLM, Evidence: "NTLM CHALLENGE Version 10.0 build 18362"}
	r.DomainController = &probes.DomainControllerInfo{Value: probes.Bool(true), Evidence: []string{"SYSVOL share listed by anonymous", "NETLOGON share listed by anonymous"}}
	for i := range r.Findings {
		if r.Findings[i].ID == probes.FindingSigningNotRequired {
			r.Findings[i].Severity, r.Findings[i].SeverityReason = "high", "raised from medium: the host is a domain controller (...)"
		}
	}
	r.Findings = append(r.Findings,
		probes.Finding{ID: probes.FindingSMBGhost, Value: probes.Bool(true), Severity: "critical", Reason: "likely",
			State: probes.StateLikely, Confidence: "medium", CVE: []string{"CVE-2020-0796"}, References: []string{"https://msrc.microsoft.com/update-guide/vulnerability/CVE-2020-0796"},
			Evidence: "compression algorithms LZNT1; NTLM CHALLENGE Version 10.0.18362"})
	return r
}

func TestVerdictText(t *testing.T) {
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", false)
	if err := tx.WriteResult(verdictRecord()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{
		"  os: Windows 10 1903 / Windows Server 1903 (NTLM 10.0.18362)  domain controller\n",
		"  [critical] VULNERABLE: Remote Code Execution vulnerability in Microsoft SMBv3 compression (SMBGhost) CVE-2020-0796\n",
		"               State: LIKELY VULNERABLE\n",
		"  [high]   Message signing enabled but not required (severity raised: domain controller)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text view lacks %q:\n%s", want, got)
		}
	}
}

func TestVerdictCSVMetricsSummary(t *testing.T) {
	rows := writeCSV(t, verdictRecord(), refusedRecord())
	for col, want := range map[string]string{"os_name": "Windows 10 1903 / Windows Server 1903", "domain_controller": "true", "verdicts": "smbghost=likely"} {
		if rows[0][col] != want {
			t.Errorf("CSV %s = %q, want %q", col, rows[0][col], want)
		}
		if rows[1][col] != "" {
			t.Errorf("CSV %s of a refused host = %q, want empty", col, rows[1][col])
		}
	}
	if !strings.Contains(rows[0]["findings"], probes.FindingSMBGhost) {
		t.Errorf("findings cell %q lacks smbghost", rows[0]["findings"])
	}

	m := NewScanMetrics(prometheus.NewPedanticRegistry())
	m.Observe(verdictRecord())
	if v := testutil.ToFloat64(m.findings.WithLabelValues(probes.FindingSMBGhost)); v != 1 {
		t.Errorf(`smbsweep_findings_total{finding="smbghost"} = %v, want 1`, v)
	}
}

// TestVerdictTextUnknown: a verdict the checks could not decide on an SMB host is written with
// nmap's "UNKNOWN (unable to test)" and the reason; on a host that did not answer SMB it is
// not (the error line says why), and a not-vulnerable verdict is not written.
func TestVerdictTextUnknown(t *testing.T) {
	ms17 := probes.Finding{ID: probes.FindingMS17010, Severity: "critical", State: probes.StateUnknown,
		Reason: "unknown: ms17010: anonymous SESSION_SETUP_ANDX refused with STATUS_ACCESS_DENIED\x1b[2J", CVE: []string{"CVE-2017-0143"}}
	ghost := probes.Finding{ID: probes.FindingSMBGhost, Value: probes.Bool(false), Severity: "critical", State: probes.StateNotVulnerable,
		Reason: "SMB 3.1.1 without compression", CVE: []string{"CVE-2020-0796"}}
	smb := sambaRecord()
	smb.Findings = append(smb.Findings, ms17, ghost)
	refused := refusedRecord()
	refused.Findings = append(refused.Findings, ms17)
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", false)
	for _, r := range []*probes.Result{smb, refused} {
		if err := tx.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	want := "  [critical] Remote Code Execution vulnerability in Microsoft SMBv1 servers (ms17-010) CVE-2017-0143\n" +
		"               State: UNKNOWN (unable to test): ms17010: anonymous SESSION_SETUP_ANDX refused with STATUS_ACCESS_DENIED\\x1b[2J\n"
	if strings.Count(got, want) != 1 {
		t.Errorf("want the unknown ms17-010 verdict once, for the SMB host:\n%s", got)
	}
	if strings.Contains(got, "SMBGhost") || strings.Contains(got, "VULNERABLE") {
		t.Errorf("a not-vulnerable verdict was written:\n%s", got)
	}
}

// TestCoercionTextByIdentity: the coercion finding without credentials names the anonymous and
// guest reach only, the credentialed finding the account's only.
func TestCoercionTextByIdentity(t *testing.T) {
	r := sambaRecord()
	r.RPC = &probes.RPCSurface{Interfaces: []probes.RPCInterface{
		{Identity: probes.IdentityAnonymous, Pipe: "netdfs", Interface: "MS-DFSNM", Reachable: probes.Bool(true)},
		{Identity: probes.IdentityUser, Pipe: "spoolss", Interface: "MS-RPRN", Reachable: probes.Bool(true)},
	}}
	r.Findings = append(r.Findings,
		probes.Finding{ID: probes.FindingCoercibleInterface, Value: probes.Bool(true), Severity: "medium"},
		probes.Finding{ID: probes.FindingCoercibleCredentialed, Value: probes.Bool(true), Severity: "low"})
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", false)
	if err := tx.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	tx.Flush()
	got := buf.String()
	for _, want := range []string{
		"  [medium] Coercible RPC interface reachable: MS-DFSNM on \\netdfs (anonymous)\n",
		"  [low]    Coercible RPC interface reachable: MS-RPRN on \\spoolss (user)\n",
	} {
		if strings.Count(got, want) != 1 {
			t.Errorf("want once %q in:\n%s", want, got)
		}
	}
	if strings.Count(got, "Coercible RPC interface reachable") != 2 {
		t.Errorf("an identity's reach is listed under the other finding:\n%s", got)
	}
}

// TestVerdictCounts: the summary and the metrics count the verdict states of the hosts that
// answered SMB, zeros included, one state per host and verdict id; a host that did not answer
// SMB is not counted (its status says why nothing was decided); the text summary lists the
// non-zero states.
func TestVerdictCounts(t *testing.T) {
	unknown := probes.Finding{ID: probes.FindingMS17010, Severity: "critical", State: probes.StateUnknown, Reason: "unknown: logon refused"}
	patched := probes.Finding{ID: probes.FindingMS17010, Value: probes.Bool(false), Severity: "critical", State: probes.StateNotVulnerable}
	a, b, refused, odd := sambaRecord(), sambaRecord(), refusedRecord(), sambaRecord()
	a.Findings = append(a.Findings, unknown, unknown) // a repeated id counts once
	b.Findings = append(b.Findings, patched)
	refused.Findings = append(refused.Findings, unknown)
	odd.Findings = append(odd.Findings, probes.Finding{ID: probes.FindingMS17010, State: "bogus"}) // outside the closed set: not counted
	recs := []*probes.Result{a, b, refused, odd, verdictRecord()}

	var buf bytes.Buffer
	m := NewScanMetrics(prometheus.NewPedanticRegistry())
	w := NewWriter(NewText(&buf, "stdout", false), m)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	s := &probes.Summary{Targets: uint64(len(recs))}
	if err := w.Close(s); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{
		probes.FindingMS17010:      {"vulnerable": 0, "likely": 0, "not_vulnerable": 1, "unknown": 1},
		probes.FindingSMBGhost:     {"vulnerable": 0, "likely": 1, "not_vulnerable": 0, "unknown": 0},
		probes.FindingDoublePulsar: {"vulnerable": 0, "likely": 0, "not_vulnerable": 0, "unknown": 0},
	}
	if fmt.Sprint(s.Verdicts) != fmt.Sprint(want) {
		t.Errorf("summary verdicts %v, want %v", s.Verdicts, want)
	}
	for id, states := range want {
		for st, n := range states {
			if got := testutil.ToFloat64(m.verdicts.WithLabelValues(id, st)); got != float64(n) {
				t.Errorf(`smbsweep_verdicts_total{finding=%q,state=%q} = %v, want %d`, id, st, got, n)
			}
		}
	}
	text := buf.String()
	for _, line := range []string{
		"  verdicts (hosts that answered SMB):\n",
		"    ms17_010  not_vulnerable 1, unknown 1\n",
		"    smbghost  likely 1\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("text summary lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(text, "doublepulsar_implant ") {
		t.Errorf("a verdict without counts is listed:\n%s", text)
	}
}
