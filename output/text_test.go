package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func textSummary() *probes.Summary {
	return &probes.Summary{
		Schema: probes.SchemaVersion, Type: "summary",
		Started: testTime, Finished: testTime, DurationSeconds: 1.2345,
		Targets: 4, Scanned: 3, Interrupted: true,
		Statuses: map[string]int{"smb": 2, "not-smb": 0, "connection-refused": 1, "io-timeout": 0},
		Findings: map[string]int{"smb1_enabled": 1, "signing_not_required": 2, "null_session": 1, "guest_session": 0},
		Errors:   []string{"write results to stdout: broken pipe\x1b[31m"},
	}
}

func renderText(t *testing.T, color bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", color)
	for _, r := range []*probes.Result{sambaRecord(), refusedRecord(), hostileRecord()} {
		if err := tx.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.WriteSummary(textSummary()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTextGolden(t *testing.T) {
	got := renderText(t, false)
	golden(t, "text/plain.golden", got)
	if bytes.IndexByte(got, 0x1b) >= 0 {
		t.Error("uncoloured output contains ESC")
	}
	// The hostile record cannot add lines: 3 hosts produce exactly these banner lines.
	banners := 0
	for _, l := range strings.Split(string(got), "\n") {
		if strings.HasPrefix(l, "127.") {
			banners++
		}
	}
	if banners != 3 {
		t.Errorf("%d banner lines, want 3", banners)
	}
}

func TestTextGoldenColor(t *testing.T) {
	got := renderText(t, true)
	golden(t, "text/color.golden", got)
	// Every ESC in the output starts one of our own SGR sequences.
	for i := bytes.IndexByte(got, 0x1b); i >= 0; {
		rest := got[i:]
		ok := false
		for _, sgr := range []string{ansiReset, ansiBold, ansiRed, ansiYellow, ansiCyan, ansiDim} {
			if bytes.HasPrefix(rest, []byte(sgr)) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("foreign escape sequence at %d: %q", i, rest[:min(len(rest), 10)])
		}
		j := bytes.IndexByte(got[i+1:], 0x1b)
		if j < 0 {
			break
		}
		i += 1 + j
	}
}

func TestSigningMode(t *testing.T) {
	tr, fa := probes.Bool(true), probes.Bool(false)
	for _, tc := range []struct {
		enabled, required *bool
		want              string
	}{
		{tr, tr, "required"}, {fa, tr, "required"}, {tr, fa, "optional"},
		{fa, fa, "disabled"}, {nil, fa, "?"}, {tr, nil, "?"}, {nil, nil, "?"},
	} {
		if got := signingMode(tc.enabled, tc.required); got != tc.want {
			t.Errorf("signingMode(%v, %v) = %s, want %s", yesNo(tc.enabled), yesNo(tc.required), got, tc.want)
		}
	}
}

// TestCoercionFindingLines: the text view names each reachable coercible interface (pipe and
// identity, terminal-sanitised) and never says "vulnerable"; WebClient and Spooler read as
// services running.
func TestCoercionFindingLines(t *testing.T) {
	r := &probes.Result{RPC: &probes.RPCSurface{Interfaces: []probes.RPCInterface{
		{Identity: "anonymous", Pipe: "netdfs", Interface: "MS-DFSNM", Reachable: probes.Bool(true)},
		{Identity: "anonymous", Pipe: "efsrpc", Interface: "MS-EFSR", Reachable: probes.Bool(false)},
		{Identity: "guest", Pipe: "spool\x1b[2Jss", Interface: "MS-RPRN", Reachable: probes.Bool(true)},
	}}}
	got := findingLines(probes.FindingCoercibleInterface, r)
	want := []string{`Coercible RPC interface reachable: MS-DFSNM on \netdfs (anonymous)`}
	if len(got) != 2 || got[0] != want[0] || strings.ContainsRune(got[1], '\x1b') {
		t.Errorf("lines %q, want %q and a sanitised spoolss line", got, want)
	}
	for _, l := range got {
		if strings.Contains(strings.ToLower(l), "vulnerab") {
			t.Errorf("line %q says vulnerable", l)
		}
	}
	if l := findingLines(probes.FindingWebClientRunning, r); len(l) != 1 || l[0] != "WebClient service running" {
		t.Errorf("webclient %q", l)
	}
	if l := findingLines(probes.FindingSpoolerRunning, r); len(l) != 1 || l[0] != "Print Spooler service running" {
		t.Errorf("spooler %q", l)
	}
}

// TestTextColumnsAndUnknowns: host lines line up whatever the address length; what the profile
// did not decide (the quick profile: sessions, names) is left out, never printed as "?"; the
// enumerated dialects and ciphers get their own line; the pacing line is in plain words.
func TestTextColumnsAndUnknowns(t *testing.T) {
	quick := &probes.Result{IP: "127.0.0.5", Port: 445, Status: probes.StatusSMB,
		Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1", SigningEnabled: probes.Bool(true), SigningRequired: probes.Bool(false)},
		SMB1:      &probes.SMB1Info{Enabled: probes.Bool(false)}}
	full := &probes.Result{IP: "127.0.0.100", Port: 4455, Status: probes.StatusSMB,
		Negotiate: &probes.NegotiateInfo{Dialect: "2.1", SigningEnabled: probes.Bool(true), SigningRequired: probes.Bool(true),
			Dialects: []string{"2.0.2", "2.1"}, Ciphers: []string{}},
		SMB1:     &probes.SMB1Info{Enabled: probes.Bool(true)},
		Sessions: probes.Sessions{Null: &probes.SessionInfo{Allowed: probes.Bool(false)}, Guest: &probes.SessionInfo{Allowed: probes.Bool(true)}},
		NTLM:     &probes.NTLMInfo{NetBIOSComputerName: probes.String("FS1")}}
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", false)
	for _, r := range []*probes.Result{quick, full} {
		if err := tx.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	tx.WriteSummary(&probes.Summary{Pacing: &probes.Pacing{Slots: 256, PeakProbes: 12, ConnectAhead: 4096, Window: 64, Decreases: 1, OverloadSigns: 3, QueueingEpochs: 2}})
	tx.Flush()
	lines := strings.Split(buf.String(), "\n")
	if want := "127.0.0.5:445          SMB 3.1.1  signing:optional  smb1:no"; lines[0] != want {
		t.Errorf("quick profile line\n got %q\nwant %q", lines[0], want)
	}
	if want := "127.0.0.100:4455       SMB 2.1    signing:required  smb1:yes  null:no   guest:yes  name:FS1"; lines[1] != want {
		t.Errorf("full profile line\n got %q\nwant %q", lines[1], want)
	}
	if want := "  dialects: 2.0.2 2.1  ciphers: none"; lines[2] != want {
		t.Errorf("dialects line %q, want %q", lines[2], want)
	}
	if strings.Contains(buf.String(), "?") {
		t.Errorf("unknowns printed as ?:\n%s", buf.String())
	}
	pacing := ""
	for _, l := range lines {
		if strings.Contains(l, "pacing:") {
			pacing = l
		}
	}
	want := "  pacing: at most 12 hosts probed at once (limit 256); up to 4096 more waited for their TCP handshake; slowed down once because 3 hosts stopped answering, reset or timed out; held steady 2 times because probes queued; 64 probes at once allowed at the end"
	if pacing != want {
		t.Errorf("pacing\n got %q\nwant %q", pacing, want)
	}
}

// TestTextSMB1Only: the record of a host that speaks SMB1 only shows SMB 1 as its version,
// NativeOS / NativeLanMan, and that its sessions, shares and access came over SMB1.
func TestTextSMB1Only(t *testing.T) {
	r := sambaRecord()
	r.Negotiate = nil
	r.SMB1 = &probes.SMB1Info{Enabled: probes.Bool(true), Only: true, SigningEnabled: probes.Bool(false), SigningRequired: probes.Bool(false),
		NativeOS: "Windows 5.1", NativeLanManager: "Windows 2000 LAN Manager"}
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", false)
	if err := tx.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"SMB 1 ", "smb1 native os: Windows 5.1 / Windows 2000 LAN Manager", "protocol: SMB1 only (no SMB2; sessions, shares and access over SMB1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text view lacks %q:\n%s", want, out)
		}
	}
}

// TestTextNBStat: the NBSTAT answer gets two lines under the host, nbtstat -A style (what the
// names say, then every name with its suffix and group flag), also under a host that answered
// only on UDP 137; a host that did not answer gets none; server-chosen names are sanitized.
func TestTextNBStat(t *testing.T) {
	answer := &probes.NBStatInfo{Answered: probes.Bool(true),
		Names: []probes.NBStatName{{Name: "FS1", Suffix: "0x00"}, {Name: "CORP", Suffix: "0x00", Group: true},
			{Name: "FS1", Suffix: "0x20"}, {Name: "CORP", Suffix: "0x1c", Group: true}, {Name: "ALICE", Suffix: "0x03"},
			{Name: "\x01\x02__MSBROWSE__\x02", Suffix: "0x01", Group: true}},
		MAC: probes.String("00:0c:29:aa:bb:cc"), ComputerName: probes.String("FS1"), Workgroup: probes.String("CORP"),
		Users: []string{"ALICE"}, DomainController: probes.Bool(true), MasterBrowser: probes.Bool(true)}
	hostile := &probes.NBStatInfo{Answered: probes.Bool(true), Names: []probes.NBStatName{{Name: "\x1b[31mEVIL", Suffix: "0x20"}},
		ComputerName: probes.String("\x1b[31mEVIL"), DomainController: probes.Bool(false), MasterBrowser: probes.Bool(false)}
	recs := []*probes.Result{
		{IP: "127.0.0.5", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1"}, NBStat: answer},
		{IP: "127.0.0.6", Port: 445, Status: probes.StatusConnectionRefused, Error: "negotiate: connection refused", NBStat: hostile},
		{IP: "127.0.0.7", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1"},
			NBStat: &probes.NBStatInfo{Names: []probes.NBStatName{}, Evidence: "no NBSTAT answer within 1s (query sent twice)"}},
		{IP: "127.0.0.8", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1"},
			NBStat: &probes.NBStatInfo{Answered: probes.Bool(false), Names: []probes.NBStatName{}}},
	}
	var buf bytes.Buffer
	tx := NewText(&buf, "stdout", false)
	for _, r := range recs {
		if err := tx.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	tx.Flush()
	want := "127.0.0.5:445          SMB 3.1.1\n" +
		"  netbios: name:FS1  workgroup:CORP  mac:00:0c:29:aa:bb:cc  users:ALICE  master browser  domain controller <1C>\n" +
		"  names: FS1<00> unique, CORP<00> group, FS1<20> unique, CORP<1C> group, ALICE<03> unique, " +
		SanitizeTerminal("\x01\x02__MSBROWSE__\x02") + "<01> group\n" +
		"127.0.0.6:445          connection-refused  error: negotiate: connection refused\n" +
		"  netbios: name:" + SanitizeTerminal("\x1b[31mEVIL") + "\n" +
		"  names: " + SanitizeTerminal("\x1b[31mEVIL") + "<20> unique\n" +
		"127.0.0.7:445          SMB 3.1.1\n" +
		"127.0.0.8:445          SMB 3.1.1\n"
	if got := buf.String(); got != want {
		t.Errorf("text view\n got %q\nwant %q", got, want)
	}
	if strings.Contains(buf.String(), "\x1b") || strings.Contains(buf.String(), "\x01") {
		t.Error("a control byte from a NetBIOS name reached the terminal")
	}
}
