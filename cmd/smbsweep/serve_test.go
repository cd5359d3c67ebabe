package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

func TestConfigCheck(t *testing.T) {
	code, out, errOut := runCLI(t, "", "config", "check", "../../configs/smbsweep.yml")
	const wantExample = `ok: 2 jobs
job local_default (0 */6 * * *) scans 1 target:
  127.0.0.1 port 445
job local_quick (@every 1h) scans 1 target:
  ::1 port 445
`
	if code != exitOK || out != wantExample || errOut != "" {
		t.Errorf("example config: %d %q %q", code, out, errOut)
	}
	bad := "../../configs/testdata/invalid-job-profile.yml"
	code, out, errOut = runCLI(t, "", "config", "check", bad)
	if code != exitUsage || out != "" || errOut != "smbsweep config: "+bad+`: job "lan": profile "fast": want one of default, full, quick, vuln`+"\n" {
		t.Errorf("invalid config: %d %q %q", code, out, errOut)
	}
	for _, args := range [][]string{{"config"}, {"config", "check"}, {"config", "lint", "x.yml"}} {
		if code, _, errOut := runCLI(t, "", args...); code != exitUsage || !strings.Contains(errOut, "want 'smbsweep config check FILE'") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "", "config", "check", "/nonexistent/smbsweep.yml"); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
}

func writeJSONL(t *testing.T, path string, recs ...any) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiffCommand(t *testing.T) {
	dir := t.TempDir()
	on, off := true, false
	rec := func(ip string, smb1 *bool, dialect string) *probes.Result {
		return &probes.Result{Schema: probes.SchemaVersion, Type: "host", IP: ip, Port: 445, Status: probes.StatusSMB,
			SMB1: &probes.SMB1Info{Enabled: smb1}, Negotiate: &probes.NegotiateInfo{Dialect: dialect}, Stages: map[probes.StageName]*probes.StageResult{}}
	}
	sum := &probes.Summary{Schema: probes.SchemaVersion, Type: "summary"}
	oldF, newF := filepath.Join(dir, "old.jsonl"), filepath.Join(dir, "new.jsonl")
	writeJSONL(t, oldF, rec("127.0.0.2", &off, "3.1.1"), rec("127.0.0.3", &off, "2.1"), sum)
	writeJSONL(t, newF, rec("127.0.0.2", &on, "3.1.1"), rec("127.0.0.3", &off, "3.0"), sum)

	code, out, errOut := runCLI(t, "", "diff", oldF, newF)
	want := `{"type":"smb1_changed","ip":"127.0.0.2","port":445,"field":"smb1.enabled","old":false,"new":true}` + "\n" +
		`{"type":"dialect_changed","ip":"127.0.0.3","port":445,"field":"negotiate.dialect","old":"2.1","new":"3.0"}` + "\n"
	if code != exitOK || out != want || errOut != "" {
		t.Errorf("diff: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "diff", "-text", oldF, newF)
	if code != exitOK || !strings.Contains(out, "127.0.0.2:445") || !strings.Contains(out, "SMBv1 turned ON") || !strings.Contains(out, "dialect 2.1 -> 3.0") {
		t.Errorf("diff -text: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "", "diff", oldF, oldF); code != exitOK || out != "" {
		t.Errorf("no changes: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, "", "diff", oldF, filepath.Join(dir, "missing.jsonl")); code != exitFailure || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
	os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte("{\"type\":\"host\"}\nnot json\n"), 0o644)
	if code, _, errOut := runCLI(t, "", "diff", oldF, filepath.Join(dir, "bad.jsonl")); code != exitFailure || !strings.Contains(errOut, "line 2: not a JSON object") {
		t.Errorf("bad file: %d %q", code, errOut)
	}
	for _, args := range [][]string{{"diff"}, {"diff", oldF}, {"diff", "-jsonl", "-text", oldF, newF}, {"diff", "-x", oldF, newF}} {
		if code, _, _ := runCLI(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestServeUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "config.yml"}, `unexpected argument "config.yml": the configuration file is given with -config FILE`},
		{[]string{"serve", "-listen", "0.0.0.0:9445"}, "listen 0.0.0.0:9445 is not a loopback address and no API token is configured"},
		{[]string{"serve", "-listen", "nope"}, `-listen: "nope": want HOST:PORT`},
		{[]string{"serve", "-allow-targets", "10.0.0.0/33"}, `-allow-targets: "10.0.0.0/33" is not a CIDR`},
		{[]string{"serve", "-token-file", "/nonexistent/tokens"}, "-token-file: open /nonexistent/tokens"},
		{[]string{"serve", "-log-level", "loud"}, `-log-level "loud": want debug, info, warn or error`},
		{[]string{"serve", "-config", "../../configs/testdata/invalid-job-name.yml"}, `job "Lan Scan": name must be`},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(t, "", c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q lacks %q", c.args, code, errOut, c.want)
		}
	}
	code, out, _ := runCLI(t, "", "serve", "-h")
	if code != exitOK || !strings.Contains(out, "-allow-targets CIDRS") || !strings.Contains(out, "-token-file FILE") {
		t.Errorf("serve -h: %d %s", code, out)
	}
}

// lockedBuffer collects the daemon's log from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listenRE = regexp.MustCompile(`msg="smbsweep serve started" listen=(\S+)`)

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func serveConfig(dir string, targets []string, jobs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:0\noutput_dir: %s\nshutdown_timeout: 10s\njobs:\n", dir)
	for _, j := range jobs {
		q, _ := json.Marshal(targets)
		fmt.Fprintf(&b, "  - name: %s\n    targets: %s\n    schedule: \"@every 1s\"\n    jitter: 0s\n    timeout: 2s\n    connect_timeout: 1s\n", j, q)
	}
	return b.String()
}

func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServeInProcess runs the serve command with a signal channel: SIGHUP reloads the file
// (a second job appears), SIGTERM stops it with exit 0.
func TestServeInProcess(t *testing.T) {
	fleet := sambatest.Require(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "smbsweep.yml")
	targets := []string{fleet.Server("default").Target()}
	os.WriteFile(cfg, []byte(serveConfig(dir, targets, "one")), 0o600)
	sigs := make(chan os.Signal, 1)
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- serve(context.Background(), []string{"-config", cfg}, &stdout, &stderr, sigs) }()
	var addr string
	waitFor(t, "the listen line", 5*time.Second, func() bool {
		m := listenRE.FindStringSubmatch(stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	waitFor(t, "a run of job one", 10*time.Second, func() bool { return strings.Contains(stderr.String(), `msg="run finished" job=one`) })

	os.WriteFile(cfg, []byte(serveConfig(dir, targets, "one", "two")), 0o600)
	sigs <- syscall.SIGHUP
	waitFor(t, "the reload", 5*time.Second, func() bool { return strings.Contains(stderr.String(), `msg="configuration reloaded" jobs=2`) })
	waitFor(t, "job two in the metrics", 5*time.Second, func() bool {
		return strings.Contains(metricsText(t, addr), `smbsweep_job_interval_seconds{scan_job="two"} 1`)
	})
	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exit %d\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(stderr.String(), `msg="signal received: shutting down" signal=terminated`) || !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("shutdown log:\n%s", stderr.String())
	}
}

// TestServeHelperProcess is the daemon process of TestServeSignals (it only runs there).
func TestServeHelperProcess(t *testing.T) {
	if os.Getenv("SMBSWEEP_SERVE_HELPER") != "1" {
		t.Skip("helper process of TestServeSignals")
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv("SMBSWEEP_SERVE_ARGS")), &args); err != nil {
		os.Exit(99)
	}
	os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
}

// TestServeSignals runs `smbsweep serve` as a real process and sends it real signals: SIGHUP
// reloads the configuration; SIGTERM in the middle of a run lets the hosts in flight finish,
// writes the run whole and exits 0.
func TestServeSignals(t *testing.T) {
	fleet := sambatest.Require(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "smbsweep.yml")
	targets := fleet.Targets() // includes the silent endpoint: every run takes the 2s host timeout
	os.WriteFile(cfg, []byte(serveConfig(dir, targets, "audit")), 0o600)
	args, _ := json.Marshal([]string{"serve", "-config", cfg, "-log-level", "debug"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(os.Environ(), "SMBSWEEP_SERVE_HELPER=1", "SMBSWEEP_SERVE_ARGS="+string(args))
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var logs lockedBuffer
	go func() {
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	}()
	var addr string
	waitFor(t, "the listen line", 10*time.Second, func() bool {
		m := listenRE.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})

	// SIGHUP with a bad file: rejected, the daemon keeps running.
	os.WriteFile(cfg, []byte("jobs: [{name: audit}]\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the rejected reload", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "reload rejected; keeping the running configuration")
	})
	if !strings.Contains(metricsText(t, addr), "smbsweep_config_last_reload_successful 0") {
		t.Error("rejected reload not in the metrics")
	}
	// SIGHUP with a good file: taken.
	os.WriteFile(cfg, []byte(serveConfig(dir, targets, "audit", "second")), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", 5*time.Second, func() bool { return strings.Contains(logs.String(), `msg="configuration reloaded" jobs=2`) })

	// SIGTERM while a run is in flight.
	waitFor(t, "a run in progress", 10*time.Second, func() bool {
		return strings.Contains(metricsText(t, addr), `smbsweep_job_running{scan_job="audit"} 1`)
	})
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	// Every run file of the job is whole: host lines, then the summary; the last one was cut
	// by the shutdown but lost no line.
	files, _ := filepath.Glob(filepath.Join(dir, "audit", "*.jsonl"))
	var runs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".diff.jsonl") {
			runs = append(runs, f)
		}
	}
	if len(runs) == 0 {
		t.Fatal("no run file")
	}
	sawInterrupted := false
	for _, f := range runs {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(data) == 0 || data[len(data)-1] != '\n' || len(lines) != len(targets)+1 {
			t.Errorf("%s: %d lines, want %d", f, len(lines), len(targets)+1)
			continue
		}
		var s probes.Summary
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.Type != "summary" || s.Scanned != uint64(len(targets)) {
			t.Errorf("%s: last line %q", f, lines[len(lines)-1])
		}
		for _, l := range lines[:len(lines)-1] {
			if !json.Valid([]byte(l)) {
				t.Errorf("%s: bad line %q", f, l)
			}
		}
		sawInterrupted = sawInterrupted || s.Interrupted
	}
	if !sawInterrupted {
		t.Error("no run was marked interrupted by SIGTERM")
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "audit", ".*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestSystemdUnits parses the shipped units (sections of key=value lines), checks the
// hardening of both services, checks that their command lines are accepted by this binary's
// flag parsers, and runs systemd-analyze verify when it is installed.
func TestSystemdUnits(t *testing.T) {
	dir := "../../configs/systemd"
	units := map[string]map[string][]string{}
	for _, name := range []string{"smbsweep-serve.service", "smbsweep-scan.service", "smbsweep-scan.timer"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string][]string{}
		section := ""
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
				section = line[1 : len(line)-1]
				if section != "Unit" && section != "Service" && section != "Timer" && section != "Install" {
					t.Errorf("%s:%d: unexpected section %s", name, i+1, section)
				}
			default:
				k, v, ok := strings.Cut(line, "=")
				if !ok || section == "" || k == "" || strings.ContainsAny(k, " \t") {
					t.Errorf("%s:%d: not a key=value line in a section: %q", name, i+1, line)
					continue
				}
				keys[section+"."+k] = append(keys[section+"."+k], v)
			}
		}
		units[name] = keys
	}
	for _, name := range []string{"smbsweep-serve.service", "smbsweep-scan.service"} {
		u := units[name]
		for k, want := range map[string]string{
			"Service.DynamicUser": "yes", "Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict",
			"Service.ReadWritePaths": "/var/lib/smbsweep", "Service.CapabilityBoundingSet": "", "Service.StateDirectory": "smbsweep",
			"Service.PrivateTmp": "yes", "Service.ProtectHome": "yes",
		} {
			if got := u[k]; len(got) != 1 || got[0] != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
	}
	cmdline := func(unit, key string) []string {
		v := units[unit]["Service."+key]
		if len(v) != 1 {
			t.Fatalf("%s: %s %q", unit, key, v)
		}
		f := strings.Fields(v[0])
		if f[0] != "/usr/local/bin/smbsweep" {
			t.Fatalf("%s: %s runs %s", unit, key, f[0])
		}
		return f[1:]
	}
	serveArgs := cmdline("smbsweep-serve.service", "ExecStart")
	if serveArgs[0] != "serve" {
		t.Fatalf("serve unit runs %v", serveArgs)
	}
	if code, _, errOut := runCLI(t, "", append(serveArgs, "-h")...); code != exitOK {
		t.Errorf("serve unit flags rejected: %s", errOut)
	}
	if pre := cmdline("smbsweep-serve.service", "ExecStartPre"); strings.Join(pre[:2], " ") != "config check" {
		t.Errorf("serve unit ExecStartPre %v", pre)
	}
	if units["smbsweep-serve.service"]["Service.ExecReload"][0] != "/bin/kill -HUP $MAINPID" {
		t.Error("serve unit does not reload with SIGHUP")
	}
	scanArgs := cmdline("smbsweep-scan.service", "ExecStart")
	if scanArgs[0] != "scan" {
		t.Fatalf("scan unit runs %v", scanArgs)
	}
	if code, _, errOut := runCLI(t, "", append(scanArgs, "-h")...); code != exitOK {
		t.Errorf("scan unit flags rejected: %s", errOut)
	}
	// The scan's metrics: labelled like a serve job, written where the dynamic user may
	// write (its state directory), then published for node_exporter by ExecStopPost.
	var metricsFile string
	for i, a := range scanArgs {
		if a == "-metrics-file" && i+1 < len(scanArgs) {
			metricsFile = scanArgs[i+1]
		}
	}
	if !strings.HasPrefix(metricsFile, "/var/lib/smbsweep/") || !strings.Contains(strings.Join(scanArgs, " "), "-job scan -job-interval 6h") {
		t.Errorf("scan unit: -metrics-file %q (want under the state directory /var/lib/smbsweep) and -job/-job-interval in %v", metricsFile, scanArgs)
	}
	publishScript(t, units["smbsweep-scan.service"], metricsFile)

	timer := units["smbsweep-scan.timer"]
	if len(timer["Timer.OnCalendar"]) != 1 || timer["Timer.Unit"][0] != "smbsweep-scan.service" || timer["Install.WantedBy"][0] != "timers.target" {
		t.Errorf("timer: %v", timer)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: parsed only")
		return
	}
	tmp := t.TempDir()
	var paths []string
	for name := range units {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		fixed := strings.ReplaceAll(string(data), "/usr/local/bin/smbsweep", "/bin/true") // the binary is not installed here
		p := filepath.Join(tmp, name)
		os.WriteFile(p, []byte(fixed), 0o644)
		paths = append(paths, p)
	}
	out, _ := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "smbsweep-") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// publishScript runs the scan unit's ExecStopPost (with its paths moved into a temporary
// directory, and systemd's $$ unescaped) under the unit's UMask, and checks that it publishes
// the metrics file readable by everyone (node_exporter is another user) and leaves no temporary
// file; and that it does nothing, successfully, when the scan wrote no metrics.
func publishScript(t *testing.T, unit map[string][]string, metricsFile string) {
	t.Helper()
	post := unit["Service.ExecStopPost"]
	if len(post) != 1 || !strings.HasPrefix(post[0], "+/bin/sh -c '") || !strings.HasSuffix(post[0], "'") {
		t.Fatalf("scan unit: ExecStopPost %q: want one +/bin/sh -c '...' (root: the dynamic user cannot write node_exporter's directory)", post)
	}
	var textDir string
	for _, e := range unit["Service.Environment"] {
		if v, ok := strings.CutPrefix(e, "SMBSWEEP_TEXTFILE_DIR="); ok {
			textDir = v
		}
	}
	if textDir == "" || strings.HasPrefix(textDir, "/var/lib/smbsweep") {
		t.Fatalf("scan unit: SMBSWEEP_TEXTFILE_DIR %q: want node_exporter's directory, outside the private state directory", textDir)
	}
	if u := unit["Service.UMask"]; len(u) != 1 || u[0] != "0027" {
		t.Fatalf("scan unit: UMask %v", u)
	}
	script := strings.TrimSuffix(strings.TrimPrefix(post[0], "+/bin/sh -c '"), "'")
	script = strings.ReplaceAll(script, "$$", "$")
	tmp := t.TempDir()
	state, text := filepath.Join(tmp, "state"), filepath.Join(tmp, "node-exporter")
	script = strings.ReplaceAll(script, "/var/lib/smbsweep", state)
	src := strings.Replace(metricsFile, "/var/lib/smbsweep", state, 1)
	runScript := func() {
		t.Helper()
		cmd := exec.Command("/bin/sh", "-c", "umask 0027; "+script)
		cmd.Env = append(os.Environ(), "SMBSWEEP_TEXTFILE_DIR="+text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ExecStopPost: %v\n%s", err, out)
		}
	}
	runScript() // no metrics file yet: nothing to publish, no failure
	if _, err := os.Stat(filepath.Join(text, "smbsweep.prom")); !os.IsNotExist(err) {
		t.Errorf("published without a metrics file: %v", err)
	}
	os.MkdirAll(filepath.Dir(src), 0o750)
	os.WriteFile(src, []byte("smbsweep_job_running{scan_job=\"scan\"} 0\n"), 0o640)
	runScript()
	st, err := os.Stat(filepath.Join(text, "smbsweep.prom"))
	if err != nil {
		t.Fatalf("not published: %v", err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("published with mode %v: node_exporter (another user) needs 0644", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(text, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
