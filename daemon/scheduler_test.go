package daemon

import (
	"slices"

	"context"
	"encoding/json"
	"fmt"
	"github.com/smbsweep/smbsweep/configs"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smbsweep/smbsweep/probes"
)

// silentListener accepts connections on loopback and never answers: a host that costs a run
// its whole host timeout.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	t.Cleanup(func() { close(done); ln.Close() })
	return ln.Addr().String()
}

// TestOverlappingRunsAreSkipped: a run that outlasts the schedule period makes the next
// scheduled runs skip (counted), never overlap.
func TestOverlappingRunsAreSkipped(t *testing.T) {
	target := silentListener(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\noutput_dir: %s\njobs:\n  - name: slow\n    targets: [%q]\n    schedule: \"@every 1s\"\n    jitter: 0s\n    timeout: 2500ms\n", dir, target)
	path := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	reports := make(chan runReport, 8)
	d, err := New(Options{ConfigFile: path, Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnRun: func(r runReport) { reports <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	r := waitReport(t, reports, 10*time.Second)
	if r.Result != runSuccess || r.Summary.Statuses["io-timeout"] != 1 {
		t.Errorf("slow run: %+v", r)
	}
	if n := testutil.ToFloat64(d.metrics.skipped.WithLabelValues("slow")); n < 1 {
		t.Errorf("skipped runs %v, want at least 1 (period 1s, run 2.5s)", n)
	}
	if v := testutil.ToFloat64(d.metrics.interval.WithLabelValues("slow")); v != 1 {
		t.Errorf("interval gauge %v", v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func writeRunFile(t *testing.T, path string, s probes.Summary, hosts int) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < hosts; i++ {
		fmt.Fprintf(&b, `{"schema":"smbsweep/v1","type":"host","ip":"127.0.0.%d","port":445,"status":"smb"}`+"\n", i+1)
	}
	s.Type, s.Schema = "summary", probes.SchemaVersion
	line, _ := json.Marshal(s)
	b.Write(line)
	b.WriteByte('\n')
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreLastRunAtStart: after a restart the last-run gauges come from the newest run
// files, so dashboards and "no successful run" alerts do not reset.
func TestRestoreLastRunAtStart(t *testing.T) {
	dir := t.TempDir()
	jobDir := filepath.Join(dir, "lan")
	if err := os.MkdirAll(jobDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	ok := probes.Summary{Started: t0, Finished: t0.Add(time.Minute), DurationSeconds: 60, Targets: 3, Scanned: 3,
		Findings: map[string]int{"smb1_enabled": 2, "signing_not_required": 3}, Statuses: map[string]int{"smb": 3}}
	writeRunFile(t, filepath.Join(jobDir, runID(t0)+extJSONL), ok, 3)
	cut := probes.Summary{Started: t0.Add(time.Hour), Finished: t0.Add(time.Hour + time.Second), DurationSeconds: 1, Interrupted: true,
		Findings: map[string]int{"smb1_enabled": 0}}
	writeRunFile(t, filepath.Join(jobDir, runID(t0.Add(time.Hour))+extJSONL), cut, 0)
	os.WriteFile(filepath.Join(jobDir, "notes.txt"), []byte("x"), 0o644)

	cfg := fmt.Sprintf("output_dir: %s\njobs:\n  - name: lan\n    targets: [127.0.0.1]\n    schedule: \"@yearly\"\n", dir)
	path := filepath.Join(dir, "c.yml")
	os.WriteFile(path, []byte(cfg), 0o600)
	d, err := New(Options{ConfigFile: path, Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.sched = newScheduler(d, ctx, ctx)
	d.sched.apply(d.config().Jobs)
	defer func() { cancel(); d.sched.wait() }()
	m := d.metrics
	if v := testutil.ToFloat64(m.lastRunHosts.WithLabelValues("lan", "smb1_enabled")); v != 2 {
		t.Errorf("smb1 hosts %v (from the newest complete run, not the interrupted one)", v)
	}
	if v := testutil.ToFloat64(m.lastSuccess.WithLabelValues("lan")); v != unixSeconds(t0.Add(time.Minute)) {
		t.Errorf("last success %v", v)
	}
	if v := testutil.ToFloat64(m.lastRunStart.WithLabelValues("lan")); v != unixSeconds(t0.Add(time.Hour)) {
		t.Errorf("last run start %v (the newest run)", v)
	}
	if v := testutil.ToFloat64(m.lastRunSuccess.WithLabelValues("lan")); v != 0 {
		t.Errorf("last run success %v (the newest run was interrupted)", v)
	}
	// Removing the job on reload removes its series.
	d.sched.apply(nil)
	if n, _ := testutil.GatherAndCount(m.Registry, "smbsweep_job_last_run_hosts", "smbsweep_hosts_scanned_total", "smbsweep_job_interval_seconds"); n != 0 {
		t.Errorf("%d series of a removed job remain", n)
	}
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	f, err := createAtomic(filepath.Join(dir, "20261121T065300Z.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	if _, err := os.Stat(filepath.Join(dir, "20261121T065300Z.jsonl")); !os.IsNotExist(err) {
		t.Fatal("the final name exists before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if f.Commit() == nil {
		t.Error("second Commit accepted")
	}
	g, _ := createAtomic(filepath.Join(dir, "20261121T070000Z.jsonl"))
	g.Abort()
	stale, _ := os.Create(filepath.Join(dir, ".20261121T080000Z.jsonl"+tmpMarker+"123"))
	stale.Close()
	removeStaleTemps(dir)
	for _, id := range []string{"20261120T000000Z", "20261121T000000Z", "20261122T000000Z", "20261122T000000Z_"} {
		for _, ext := range []string{extJSONL, extCSV, extDiff} {
			os.WriteFile(filepath.Join(dir, id+ext), nil, 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, "other.jsonl"), nil, 0o644)
	ids, _ := listRuns(dir)
	if strings.Join(ids, " ") != "20261120T000000Z 20261121T000000Z 20261121T065300Z 20261122T000000Z 20261122T000000Z_" {
		t.Errorf("runs %v", ids)
	}
	pruned, err := pruneRuns(dir, 2)
	if err != nil || len(pruned) != 3 {
		t.Fatalf("pruned %v %v", pruned, err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := "20261122T000000Z.csv 20261122T000000Z.diff.jsonl 20261122T000000Z.jsonl 20261122T000000Z_.csv 20261122T000000Z_.diff.jsonl 20261122T000000Z_.jsonl other.jsonl"
	if strings.Join(names, " ") != want {
		t.Errorf("after pruning:\n got  %s\n want %s", strings.Join(names, " "), want)
	}
	if _, err := readSummary(filepath.Join(dir, "other.jsonl")); err == nil {
		t.Error("a file without a summary has one")
	}
	if runID(time.Date(2026, 11, 21, 6, 53, 0, 0, time.FixedZone("X", 3600))) != "20261121T055300Z" {
		t.Error("run ids are not UTC")
	}
}

func TestProfileStages(t *testing.T) {
	if got := strings.Join(profileStages("quick", false), ","); got != "negotiate,smb1,nbstat" {
		t.Errorf("quick: %s", got)
	}
	if got := profileStages("default", false); strings.Join(got, ",") != strings.Join(probes.DefaultStages, ",") {
		t.Errorf("default: %v", got)
	}
	if got := profileStages("default", true); got[len(got)-1] != "auth" {
		t.Errorf("default with credentials: %v", got)
	}
	// full is the shipped configs/profiles.yaml profile (the same one `scan -profile full` runs),
	// with the auth stage added when the job has credentials.
	full := configs.BuiltinProfiles()["full"].Stages
	if got := profileStages("full", true); strings.Join(got, ",") != strings.Join(append(slices.Clone(full), "auth"), ",") {
		t.Errorf("full: %v, want %v + auth", got, full)
	}
	for _, p := range profileNames() {
		if pipelineFor(p, &probes.Options{}) == nil {
			t.Errorf("profile %s has no pipeline", p)
		}
	}
}
