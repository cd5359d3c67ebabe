package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

func TestMain(m *testing.M) {
	code := sambatest.Run(m)
	if err := smb1only.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the SMB1-only fleet:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "no targets: give TARGETS as arguments or -l FILE"},
		{[]string{"scan", "-c", "0", "127.0.0.1"}, "-c 0: must be 1-100000"},
		{[]string{"scan", "-port", "70000", "127.0.0.1"}, "-port 70000: must be 1-65535"},
		{[]string{"scan", "-timeout", "0s", "127.0.0.1"}, "-timeout 0s: must be positive"},
		{[]string{"scan", "-jsonl", "-csv", "127.0.0.1"}, "-jsonl and -csv both given: choose one output format"},
		{[]string{"scan", "-text", "-csv", "-jsonl", "127.0.0.1"}, "-jsonl, -csv and -text given: choose one output format"},
		{[]string{"scan", "-rl", "NaN", "127.0.0.1"}, "-rl NaN: must be 0 (unlimited) or a positive number"},
		{[]string{"scan", "-rl", "+Inf", "127.0.0.1"}, "-rl +Inf: must be 0"},
		{[]string{"scan", "-path", "a", "127.0.0.1"}, "-path \"a\" needs -share"},
		{[]string{"scan", "-share", `a\b`, "127.0.0.1"}, "give the share name only"},
		{[]string{"scan", "-metrics-addr", "nope", "127.0.0.1"}, "want HOST:PORT"},
		{[]string{"scan", "-text-style", "grid", "127.0.0.1"}, `-text-style "grid": choose table or nxc`},
		{[]string{"scan", "-text-style", "nxc", "-csv", "127.0.0.1"}, "-text-style nxc is a readable view: it cannot be combined with -jsonl or -csv"},
		{[]string{"scan", "-job", "Nightly Scan", "127.0.0.1"}, `-job "Nightly Scan": must be 1-64 lowercase letters, digits, _ and -`},
		{[]string{"scan", "-job-interval", "-1h", "127.0.0.1"}, "-job-interval -1h0m0s: must not be negative"},
		{[]string{"scan", "-bogus", "127.0.0.1"}, "flag provided but not defined: -bogus\nRun 'smbsweep scan -h'"},
		{[]string{"scan", "10.0.0.300"}, `invalid target "10.0.0.300"`},
		{[]string{"scan", "-l", "/nonexistent/targets.txt"}, "-l /nonexistent/targets.txt: open"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
}

func TestHelpIsGrouped(t *testing.T) {
	code, out, _ := runCLI(t, "", "scan", "-h")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	last := -1
	for _, g := range []string{"INPUT:", "OUTPUT:", "RATE:", "PROBES:", "DEBUG:"} {
		i := strings.Index(out, g)
		if i <= last {
			t.Fatalf("group %s missing or out of order in:\n%s", g, out)
		}
		last = i
	}
	for _, f := range []string{"-l FILE", "-eh TARGETS", "-c int", "-rl N", "-timeout duration", "-share SHARE", "-stats", "-silent"} {
		if !strings.Contains(out, f) {
			t.Errorf("help lacks %q", f)
		}
	}
	if code, out, _ := runCLI(t, "", "version"); code != 0 || !strings.HasPrefix(out, "smbsweep ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestScanFleetJSONL runs the whole CLI against the Samba fleet and checks the stream: one
// record per target, schema and required keys, then the summary line with the counts.
func TestScanFleetJSONL(t *testing.T) {
	fleet := sambatest.Require(t)
	targets := fleet.Targets()
	args := append([]string{"scan", "-jsonl", "-timeout", "10s", "-c", "16"}, targets...)
	code, out, stderr := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(targets)+1 {
		t.Fatalf("%d lines for %d targets:\n%s", len(lines), len(targets), out)
	}
	seen := map[string]map[string]any{}
	for _, l := range lines[:len(lines)-1] {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		for _, k := range []string{"schema", "ip", "port", "status", "timestamp", "duration_seconds", "smb1", "negotiate", "ntlm", "sessions", "shares", "findings", "stages"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("record lacks %q: %s", k, l)
			}
		}
		if rec["schema"] != "smbsweep/v1" || rec["type"] != "host" {
			t.Errorf("schema/type: %s", l)
		}
		seen[rec["ip"].(string)] = rec
	}
	def := seen[fleet.Server("default").Addr.String()]
	if def["status"] != "smb" || def["negotiate"].(map[string]any)["dialect"] != "3.1.1" {
		t.Errorf("default server record: %v", def)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum["type"] != "summary" {
		t.Fatalf("last line is not the summary: %s", lines[len(lines)-1])
	}
	st := sum["statuses"].(map[string]any)
	if st["smb"] != float64(len(fleet.Servers)) || st["io-timeout"] != 1.0 || st["not-smb"] != 1.0 || st["connection-refused"] != 1.0 {
		t.Errorf("summary statuses %v", st)
	}
	// One host per configuration that accepts SMB1 (smb1, smb1only) or an anonymous IPC$.
	wantSMB1, wantNull := 0, 0
	for _, s := range fleet.Servers {
		if s.Config.Expect.SMB1 {
			wantSMB1++
		}
		if s.Config.Expect.NullSession {
			wantNull++
		}
	}
	if f := sum["findings"].(map[string]any); f["smb1_enabled"] != float64(wantSMB1) || f["null_session"] != float64(wantNull) {
		t.Errorf("summary findings %v, want smb1_enabled %d, null_session %d", f, wantSMB1, wantNull)
	}
	// The SMB1-only server answers its sessions over SMB1.
	if only := seen[fleet.Server("smb1only").Addr.String()]; only["status"] != "smb" || only["smb1"].(map[string]any)["only"] != true ||
		only["stages"].(map[string]any)["session"].(map[string]any)["protocol"] != "smb1" {
		t.Errorf("smb1only server record: %v", only)
	}
	if sum["targets"] != float64(len(targets)) || sum["scanned"] != float64(len(targets)) {
		t.Errorf("summary counts %v", sum)
	}
}

// TestScanFleetCSVAndFile writes CSV to a file through -o: the header is the documented column
// order and there is one row per target.
func TestScanFleetCSVAndFile(t *testing.T) {
	fleet := sambatest.Require(t)
	path := filepath.Join(t.TempDir(), "out.csv")
	srv := fleet.Server("smb1")
	code, out, stderr := runCLI(t, srv.Target()+"\n# comment\n\n"+fleet.Server("signing").Target()+"\n", "scan", "-o", path, "-l", "-")
	if code != exitOK || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(output.CSVColumns, ",") {
		t.Fatalf("csv rows %v", rows)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for _, row := range rows[1:] {
		switch row[col["ip"]] {
		case srv.Addr.String():
			if row[col["smb1_enabled"]] != "true" || !strings.Contains(row[col["findings"]], "smb1_enabled") {
				t.Errorf("smb1 row %v", row)
			}
		default:
			if row[col["signing_required"]] != "true" || row[col["smb1_enabled"]] != "false" {
				t.Errorf("signing row %v", row)
			}
		}
	}
}

// TestScanTextView renders a real scan record of the SMB1 server through the text view and
// checks nmap's wording for its findings and the banner fields.
func TestScanTextView(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("smb1")
	code, out, stderr := runCLI(t, "", "scan", srv.Target())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// stdout is not a terminal here, so JSONL is the default.
	first := strings.SplitN(out, "\n", 2)[0]
	var rec probes.Result
	if err := json.Unmarshal([]byte(first), &rec); err != nil {
		t.Fatalf("non-TTY default is not JSONL: %v: %q", err, first)
	}
	// -text forces the readable view into a pipe.
	code, text, stderr := runCLI(t, "", "scan", "-text", "-no-color", srv.Target())
	if code != exitOK {
		t.Fatalf("-text: exit %d: %s", code, stderr)
	}
	for _, want := range []string{srv.Target(), "SMB 3.1.1", "smb1:yes", "SMBv1 enabled", "Message signing enabled but not required", "SWEEP-SMB1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text view lacks %q:\n%s", want, text)
		}
	}
}

func TestShardFlag(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"1", "want I/N"}, {"4/4", "0 <= I < N"}, {"-1/4", "0 <= I < N"}, {"a/b", "0 <= I < N"},
	} {
		code, _, stderr := runCLI(t, "", "scan", "-shard", c.spec, "127.0.0.1")
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("-shard %s: exit %d, %q", c.spec, code, stderr)
		}
	}
	if sh, err := parseShard("3/8"); err != nil || sh.Index != 3 || sh.Count != 8 {
		t.Errorf("parseShard(3/8) = %+v, %v", sh, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	t.Setenv("SMBSWEEP_SHARDS", "5")
	var f scaleFlags
	var cfg scanner.Config
	if err := f.apply(&cfg); err != nil || cfg.Shard.Index != 2 || cfg.Shard.Count != 5 {
		t.Errorf("shard from the Indexed Job environment: %+v %v", cfg.Shard, err)
	}
}

// TestFullProfileWithinHostDeadline scans the whole fleet, silent server included, with the
// full profile: every host record is written within one host deadline (plus scheduling slack),
// and the silent server is io-timeout with its findings unknown.
func TestFullProfileWithinHostDeadline(t *testing.T) {
	fleet := sambatest.Require(t)
	const deadline = 4 * time.Second
	args := append([]string{"scan", "-jsonl", "-profile", "full", "-timeout", deadline.String(), "-session-timeout", "2s"}, fleet.Targets()...)
	code, out, stderr := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines[:len(lines)-1] {
		var r probes.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		// The deadline is a context on every stage and socket; what runs after it is bookkeeping.
		if d := time.Duration(r.DurationSeconds * float64(time.Second)); d > deadline+time.Second {
			t.Errorf("%s took %s, beyond the %s host deadline", r.IP, d, deadline)
		}
		if r.IP == fleet.Silent.Addr().String() {
			if r.Status != probes.StatusIOTimeout {
				t.Errorf("silent server: %s", r.Status)
			}
			for _, f := range r.Findings {
				if f.Value != nil {
					t.Errorf("silent server finding %s = %v, want unknown", f.ID, *f.Value)
				}
			}
		}
	}
}

// TestMetricsFile writes the scan's metrics for node_exporter's textfile collector.
func TestMetricsFile(t *testing.T) {
	fleet := sambatest.Require(t)
	path := filepath.Join(t.TempDir(), "smbsweep.prom")
	code, _, stderr := runCLI(t, "", "scan", "-jsonl", "-metrics-file", path, fleet.Server("smb1").Target(), fleet.Closed.String())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`smbsweep_hosts_scanned_total{scan_job="scan",status="smb"} 1`, `smbsweep_hosts_scanned_total{scan_job="scan",status="connection-refused"} 1`, `smbsweep_findings_total{finding="smb1_enabled",scan_job="scan"} 1`, `smbsweep_targets{scan_job="scan"} 2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, b)
		}
	}
	if code, _, stderr := runCLI(t, "", "scan", "-metrics-file", "/tmp/x.txt", "127.0.0.1"); code != exitUsage || !strings.Contains(stderr, "*.prom") {
		t.Errorf("non-.prom file: exit %d %q", code, stderr)
	}
}

// TestScanWithCredentials runs the auth, ls and read stages from the scan command against the
// signing-mandatory server, and checks no output carries the password.
func TestScanWithCredentials(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("signing")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(sambatest.TestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(t.TempDir(), "out.csv")
	code, out, stderr := runCLI(t, "", "scan", "-jsonl", "-probes", "ls,read", "-u", sambatest.TestUser, "-password-file", pwFile,
		"-share", "private", "-path", "secret.txt", "-timeout", "20s", srv.Target())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r probes.Result
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &r); err != nil {
		t.Fatal(err)
	}
	if st := r.Stages["auth"]; st == nil || st.Status != probes.StageOK {
		t.Fatalf("auth stage %+v", st)
	}
	if st := r.Stages["read"]; st == nil || st.Status != probes.StageOK || r.Read == nil {
		t.Fatalf("read stage %+v, record %+v", st, r.Read)
	}
	code, _, stderr = runCLI(t, "", "scan", "-csv", "-o", csvPath, "-u", sambatest.TestUser, "-password-file", pwFile, srv.Target())
	if code != exitOK {
		t.Fatalf("csv run: exit %d: %s", code, stderr)
	}
	csvBytes, _ := os.ReadFile(csvPath)
	for name, text := range map[string]string{"jsonl": out, "stderr": stderr, "csv": string(csvBytes)} {
		if strings.Contains(text, sambatest.TestPassword) {
			t.Errorf("%s output contains the password", name)
		}
	}
	// A wrong password is a failed auth stage naming STATUS_LOGON_FAILURE, not a crash.
	t.Setenv("SMBSWEEP_PASSWORD", "wrong-password")
	code, out, stderr = runCLI(t, "", "scan", "-jsonl", "-u", sambatest.TestUser, srv.Target())
	if code != exitOK || !strings.Contains(out, "STATUS_LOGON_FAILURE") || strings.Contains(out+stderr, "wrong-password") {
		t.Errorf("wrong password: exit %d, STATUS_LOGON_FAILURE named: %v", code, strings.Contains(out, "STATUS_LOGON_FAILURE"))
	}
	// A missing password file fails before any output file is created.
	missing := filepath.Join(t.TempDir(), "never.jsonl")
	code, _, stderr = runCLI(t, "", "scan", "-o", missing, "-u", "x", "-password-file", "/nonexistent/pw", srv.Target())
	if _, err := os.Stat(missing); code != exitUsage || err == nil || !strings.Contains(stderr, "-password-file") {
		t.Errorf("bad password file: exit %d, output created: %v, %q", code, err == nil, stderr)
	}
}
