package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

// TestNXCLines renders the test records NetExec-style: one line per host, NetExec's columns
// and (key:value) items, only decided items, no line breaks from hostile strings.
func TestNXCLines(t *testing.T) {
	var buf bytes.Buffer
	n := NewNXC(&buf, "stdout", false)
	quick := &probes.Result{IP: "127.0.0.5", Port: 445, Status: probes.StatusSMB,
		Negotiate: &probes.NegotiateInfo{Dialect: "3.0.2", SigningRequired: probes.Bool(true)}, SMB1: &probes.SMB1Info{}}
	for _, r := range []*probes.Result{sambaRecord(), refusedRecord(), hostileRecord(), quick} {
		if err := n.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	n.WriteSummary(&probes.Summary{Targets: 4, Scanned: 4, DurationSeconds: 1.5, Statuses: map[string]int{"smb": 3, "connection-refused": 1}})
	n.Flush()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 4 hosts and a summary:\n%s", len(lines), buf.String())
	}
	want := []string{
		"SMB         127.0.0.2       445    FILESRV          [*] 6.1.0 (name:FILESRV) (domain:WORKGROUP) (signing:False) (SMBv1:True) (Null Auth:True) (findings:smb1_enabled,signing_not_required,null_session,anonymous_share_readable,share_writable)",
		"SMB         127.0.0.3       445    -                [-] connection-refused (dial tcp 127.0.0.3:445: connect: connection refused)",
		"SMB         127.0.0.5       445    -                [*] SMB 3.0.2 (signing:True)",
		"[*] 4 of 4 targets scanned in 1.5s: smb 3, connection-refused 1",
	}
	for i, j := range []int{0, 1, 3, 4} {
		if lines[j] != want[i] {
			t.Errorf("line %d\n got %q\nwant %q", j, lines[j], want[i])
		}
	}
	if !strings.HasPrefix(lines[2], "SMB         127.0.0.4       445    EVIL\\x1b[2J\\x1b[H [*] 1\\x0d\\x0a127.0.0.9:445") {
		t.Errorf("hostile line not escaped: %q", lines[2])
	}
	if strings.ContainsAny(buf.String(), "\x1b?") {
		t.Error("raw escape or ? in the output")
	}
}

// TestSMBOnly: the wrapped sink gets only status smb records, and the summary.
func TestSMBOnly(t *testing.T) {
	var buf bytes.Buffer
	s := SMBOnly(NewJSONL(&buf, "x"))
	for _, r := range []*probes.Result{sambaRecord(), refusedRecord(), hostileRecord()} {
		if err := s.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	s.WriteSummary(&probes.Summary{Type: "summary", Targets: 3, Scanned: 3})
	s.Flush()
	out := buf.String()
	if strings.Count(out, `"type":"host"`) != 2 || strings.Contains(out, "127.0.0.3") || !strings.Contains(out, `"targets":3`) {
		t.Errorf("filtered output:\n%s", out)
	}
}

// TestNXCOSNativeOS: without an NTLM version, an SMB1 host's line shows the NativeOS of its
// SMB1 logon, as NetExec does for SMB1 hosts; the NTLM version still comes first.
func TestNXCOSNativeOS(t *testing.T) {
	r := &probes.Result{SMB1: &probes.SMB1Info{Enabled: probes.Bool(true), NativeOS: "Windows 5.1\x1b"}}
	if got := NXCOS(r); got != "Windows 5.1\\x1b" {
		t.Errorf("NXCOS = %q, want the escaped NativeOS", got)
	}
	r.NTLM = &probes.NTLMInfo{OSVersion: probes.String("5.1.2600")}
	if got := NXCOS(r); got != "5.1.2600" {
		t.Errorf("NXCOS = %q, want the NTLM version first", got)
	}
}

// TestNXCOSName: a record whose OS was identified shows the name as NetExec does, a Windows
// name with its build and Samba by its SMB1 NativeLanMan when the logon gave one; escaped.
func TestNXCOSName(t *testing.T) {
	win := &probes.Result{NTLM: &probes.NTLMInfo{OSVersion: probes.String("10.0.17763")},
		OS: &probes.OSInfo{Family: probes.String(probes.OSFamilyWindows), Name: probes.String("Windows 10 1809 / Windows Server 2019 (1809)"), Version: probes.String("10.0.17763")}}
	samba := &probes.Result{NTLM: &probes.NTLMInfo{OSVersion: probes.String("6.1.0")},
		OS: &probes.OSInfo{Family: probes.String(probes.OSFamilySamba), Name: probes.String("Samba"), Version: probes.String("6.1.0")}}
	sambaSMB1 := &probes.Result{NTLM: samba.NTLM, OS: samba.OS,
		SMB1: &probes.SMB1Info{NativeOS: "Windows 6.1", NativeLanManager: "Samba 4.17.12-Debian\x1b[2J"}}
	unnamed := &probes.Result{NTLM: &probes.NTLMInfo{OSVersion: probes.String("10.0.99999")},
		OS: &probes.OSInfo{Version: probes.String("10.0.99999")}}
	for _, c := range []struct {
		r    *probes.Result
		want string
	}{
		{win, "Windows 10 1809 / Windows Server 2019 (1809) Build 17763"},
		{samba, "Samba"},
		{sambaSMB1, "Samba 4.17.12-Debian\\x1b[2J"},
		{unnamed, "10.0.99999"},
	} {
		if got := NXCOS(c.r); got != c.want {
			t.Errorf("NXCOS = %q, want %q", got, c.want)
		}
	}
}
