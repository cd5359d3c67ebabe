package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

func jobConfig(dir string, targets []string, schedule string, extra string) string {
	q := make([]string, len(targets))
	for i, t := range targets {
		q[i] = fmt.Sprintf("%q", t)
	}
	return fmt.Sprintf(`listen: 127.0.0.1:0
output_dir: %s
shutdown_timeout: 10s
jobs:
  - name: fleet
    targets: [%s]
    schedule: %q
    jitter: 0s
    timeout: 1500ms
    connect_timeout: 1s
    shares: [public]
    keep_runs: 2
    csv: true
%s`, dir, strings.Join(q, ", "), schedule, extra)
}

// checkRunFile reads a committed run: every line parses, host lines then one summary line,
// the summary's counts agree with the lines. It returns the host records and the summary.
func checkRunFile(t *testing.T, path string) ([]*probes.Result, *probes.Summary) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	data, err := io.ReadAll(fh)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a whole line", path)
	}
	var hosts []*probes.Result
	var sum *probes.Summary
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if sum != nil {
			t.Fatalf("%s: a line after the summary", path)
		}
		var head struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			t.Fatalf("%s: %v in %q", path, err, sc.Text())
		}
		if head.Type == "summary" {
			sum = &probes.Summary{}
			if err := json.Unmarshal(sc.Bytes(), sum); err != nil {
				t.Fatal(err)
			}
			continue
		}
		r := &probes.Result{}
		if err := json.Unmarshal(sc.Bytes(), r); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, r)
	}
	if sum == nil {
		t.Fatalf("%s has no summary line", path)
	}
	if uint64(len(hosts)) != sum.Scanned {
		t.Fatalf("%s: %d host lines, summary says %d scanned", path, len(hosts), sum.Scanned)
	}
	return hosts, sum
}

func waitReport(t *testing.T, ch <-chan runReport, d time.Duration) runReport {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		t.Fatalf("no job run finished within %s", d)
	}
	return runReport{}
}

func waitRunning(t *testing.T, d *Daemon, job string, want float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for testutil.ToFloat64(d.metrics.running.WithLabelValues(job)) != want {
		if time.Now().After(deadline) {
			t.Fatalf("job %s running never became %v", job, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) []sample {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return parseMetrics(t, string(b))
}

// TestJobsEndToEnd runs `serve` in-process with a job against the Samba fleet every 2 s:
// two runs, a reload in the middle of the third, a rejected reload, and a shutdown in the
// middle of a fourth. Every file written is whole, the diffs and pruning happen, and the
// metrics' last-run gauges match the last run's JSONL.
func TestJobsEndToEnd(t *testing.T) {
	fleet := sambatest.Require(t)
	targets := fleet.Targets()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "smbsweep.yml")
	write := func(s string) {
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(jobConfig(dir, targets, "@every 2s", ""))
	reports := make(chan runReport, 16)
	logBuf := &syncBuffer{}
	d, err := New(Options{ConfigFile: cfgPath, Version: "e2e", Env: testEnv(nil), OnRun: func(r runReport) { reports <- r },
		Log: slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", logBuf.String())
		}
	}()

	// Two complete runs.
	var last runReport
	for i := 0; i < 2; i++ {
		last = waitReport(t, reports, 30*time.Second)
		if last.Result != runSuccess || last.Err != nil {
			t.Fatalf("run %d: %s %v", i+1, last.Result, last.Err)
		}
	}
	if last.DiffFile == "" {
		t.Error("the second run wrote no diff")
	}

	// Reload in the middle of the third run: the run goes on and completes; the new schedule
	// (yearly) then stops the job from running again during the test.
	waitRunning(t, d, "fleet", 1, 10*time.Second)
	write(jobConfig(dir, targets, "@yearly", ""))
	resp, err := http.Post(url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"jobs":1,"success":true}`+"\n" {
		t.Fatalf("reload: %d %s", resp.StatusCode, body)
	}
	last = waitReport(t, reports, 15*time.Second)
	if last.Result != runSuccess {
		t.Fatalf("the run in flight during the reload: %s %v", last.Result, last.Err)
	}
	select {
	case r := <-reports:
		t.Fatalf("a run after the reload to @yearly: %+v", r)
	case <-time.After(2200 * time.Millisecond):
	}

	// The last-run gauges equal the counts in the last run's JSONL.
	hosts, sum := checkRunFile(t, last.File)
	if len(hosts) != len(targets) || sum.Interrupted {
		t.Fatalf("last run: %d hosts of %d, interrupted %v", len(hosts), len(targets), sum.Interrupted)
	}
	counts := map[string]int{}
	statuses := map[string]int{}
	for _, h := range hosts {
		statuses[string(h.Status)]++
		for _, f := range h.Findings {
			if f.Value != nil && *f.Value {
				counts[f.ID]++
			}
		}
	}
	if counts[probes.FindingSMB1Enabled] == 0 || counts[probes.FindingSigningNotRequired] == 0 {
		t.Errorf("the fleet should show SMB1 and signing-not-required hosts: %v", counts)
	}
	m := scrape(t, url)
	for _, id := range output.FindingIDs {
		v, ok := find(m, "smbsweep_job_last_run_hosts", jobLabel, "fleet", "finding", id)
		if !ok || int(v) != counts[id] {
			t.Errorf("smbsweep_job_last_run_hosts{finding=%q} = %v (present %v), JSONL has %d", id, v, ok, counts[id])
		}
	}
	for _, st := range probes.Statuses {
		if v, _ := find(m, "smbsweep_job_last_run_status_hosts", jobLabel, "fleet", "status", string(st)); int(v) != statuses[string(st)] {
			t.Errorf("status %s: metric %v, JSONL %d", st, v, statuses[string(st)])
		}
	}
	if v, _ := find(m, "smbsweep_job_runs_total", jobLabel, "fleet", "result", "success"); v < 3 {
		t.Errorf("successful runs %v", v)
	}
	if v, _ := find(m, "smbsweep_targets", jobLabel, "fleet"); int(v) != len(targets) {
		t.Errorf("smbsweep_targets %v", v)
	}
	if v, _ := find(m, "smbsweep_targets_done", jobLabel, "fleet"); int(v) != len(targets) {
		t.Errorf("smbsweep_targets_done %v", v)
	}
	if v, _ := find(m, "smbsweep_hosts_scanned_total", jobLabel, "fleet", "status", "smb"); v < float64(3*len(fleet.Servers)) {
		t.Errorf("hosts scanned (smb) %v", v)
	}
	for _, name := range []string{"smbsweep_job_last_run_start_timestamp_seconds", "smbsweep_job_last_success_timestamp_seconds", "smbsweep_job_last_run_duration_seconds"} {
		if v, ok := find(m, name, jobLabel, "fleet"); !ok || v <= 0 {
			t.Errorf("%s = %v", name, v)
		}
	}
	if v, _ := find(m, "smbsweep_job_interval_seconds", jobLabel, "fleet"); v < 365*24*3600 {
		t.Errorf("interval after reload to @yearly: %v", v)
	}
	if v, _ := find(m, "smbsweep_config_last_reload_successful"); v != 1 {
		t.Error("reload not reported successful")
	}
	if _, ok := find(m, "smbsweep_build_info", "version", "e2e"); !ok {
		t.Error("no build info")
	}
	for _, s := range m {
		for k, v := range s.labels {
			if strings.HasPrefix(v, fleet.Block.Addr().String()[:4]) || strings.Contains(v, "public") {
				t.Errorf("label %s=%q of %s looks like a target or share", k, v, s.name)
			}
		}
	}
	if problems, err := testutil.GatherAndLint(d.metrics.Registry); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %+v", err, problems)
	}

	// Files: keep_runs 2 pruned the older runs and their CSV and diff; each kept run has its
	// CSV and a diff against the run before it; nothing temporary is left.
	jobDir := filepath.Join(dir, "fleet")
	ids, err := listRuns(jobDir)
	if err != nil || len(ids) != 2 {
		t.Fatalf("runs kept: %v %v", ids, err)
	}
	ents, _ := os.ReadDir(jobDir)
	if len(ents) != 6 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files in the job directory: %v", names)
	}
	for _, id := range ids {
		checkRunFile(t, filepath.Join(jobDir, id+extJSONL))
		csvData, err := os.ReadFile(filepath.Join(jobDir, id+extCSV))
		if err != nil || strings.Count(string(csvData), "\n") != len(targets)+1 {
			t.Errorf("%s.csv: %v, %d lines", id, err, strings.Count(string(csvData), "\n"))
		}
		diffData, err := os.ReadFile(filepath.Join(jobDir, id+extDiff))
		if err != nil {
			t.Errorf("%s: no diff: %v", id, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(diffData)), "\n") {
			if line != "" && !json.Valid([]byte(line)) {
				t.Errorf("%s diff line %q", id, line)
			}
		}
	}

	// A bad configuration is rejected; the running one stays.
	write("jobs:\n  - name: fleet\n    schedule: nope\n")
	resp, err = http.Post(url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), "reload rejected, the running configuration stays") {
		t.Errorf("bad reload: %d %s", resp.StatusCode, body)
	}
	if v, _ := find(scrape(t, url), "smbsweep_config_last_reload_successful"); v != 0 {
		t.Error("a rejected reload is not reported")
	}
	if len(d.config().Jobs) != 1 || d.config().Jobs[0].Schedule != "@yearly" {
		t.Error("the running configuration was replaced by a bad one")
	}

	// Shutdown in the middle of a run: every host in flight finishes, the file is whole and
	// says interrupted, no diff is written for it, Run returns nil.
	write(jobConfig(dir, targets, "@every 1s", ""))
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, d, "fleet", 1, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run after shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	final := waitReport(t, reports, time.Second)
	if final.Result != runInterrupted || final.File == "" || final.DiffFile != "" {
		t.Fatalf("the run cut by shutdown: %+v", final)
	}
	hosts, sum = checkRunFile(t, final.File)
	if !sum.Interrupted || len(hosts) != len(targets) {
		t.Errorf("interrupted run: %d hosts of %d, interrupted %v", len(hosts), len(targets), sum.Interrupted)
	}
	ents, _ = os.ReadDir(jobDir)
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestJobWithCredentials: a job's credentials reach the auth stage; the password is in no
// file the run writes.
func TestJobWithCredentials(t *testing.T) {
	fleet := sambatest.Require(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`output_dir: %s
credentials:
  - name: test
    username: %s
    password_env: SMBSWEEP_TEST_JOB_PASSWORD
jobs:
  - name: creds
    targets: [%q]
    profile: quick
    credentials: test
    schedule: "@yearly"
    csv: true
`, dir, sambatest.TestUser, fleet.Server("default").Target())
	c, err := parseConfig([]byte(cfg), dir, testEnv(map[string]string{"SMBSWEEP_TEST_JOB_PASSWORD": sambatest.TestPassword}))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	j := c.Jobs[0]
	rep := d.runJob(context.Background(), context.Background(), j, d.metrics.addJob(j.Name, time.Hour))
	if rep.Result != runSuccess {
		t.Fatalf("run: %+v", rep)
	}
	hosts, _ := checkRunFile(t, rep.File)
	if len(hosts) != 1 || hosts[0].Stages["auth"] == nil || hosts[0].Stages["auth"].Status != probes.StageOK {
		t.Fatalf("auth stage: %+v", hosts[0].Stages)
	}
	for _, f := range []string{rep.File, rep.CSV} {
		data, _ := os.ReadFile(f)
		if strings.Contains(string(data), sambatest.TestPassword) {
			t.Errorf("%s holds the password", f)
		}
	}
}
