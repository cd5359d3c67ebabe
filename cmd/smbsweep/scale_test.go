package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/smbsweep/smbsweep/internal/testing/replay"
	"github.com/smbsweep/smbsweep/scanner"
)

// envHelperArgs makes the test binary act as smbsweep (TestHelperSmbsweep), so that a test can
// SIGKILL a real scan process.
const envHelperArgs = "SMBSWEEP_TEST_HELPER_ARGS"

func TestHelperSmbsweep(t *testing.T) {
	args := os.Getenv(envHelperArgs)
	if args == "" {
		t.Skip("helper process for TestResumeAfterSIGKILL")
	}
	os.Exit(run(strings.Split(args, "\x1f"), strings.NewReader(""), os.Stdout, os.Stderr))
}

// replayTargets starts a replay responder on 127.0.94.0/26 and returns the port and the
// targets: those 64 live addresses plus 64 on 127.0.93.0/26 where nothing listens.
func replayTargets(t *testing.T, delay time.Duration) (port uint16, targets []string, want map[string]bool) {
	t.Helper()
	srv := replay.New(replay.Options{Delay: delay})
	t.Cleanup(func() { srv.Close() })
	port, err := srv.ListenMany(netip.MustParseAddr("127.0.94.0"), 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]bool{}
	for _, base := range []string{"127.0.94.", "127.0.93."} {
		for i := range 64 {
			want[base+strconv.Itoa(i)] = true
		}
	}
	return port, []string{"127.0.94.0/26", "127.0.93.0/26"}, want
}

// jsonlHosts returns the ip of every host record and the number of summary lines; a partial
// last line fails the test.
func jsonlHosts(t *testing.T, path string) (ips []string, summaries int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends with a partial line", path)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Type, IP string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v: %q", path, err, sc.Text())
		}
		switch rec.Type {
		case "host":
			ips = append(ips, rec.IP)
		case "summary":
			summaries++
		}
	}
	return ips, summaries
}

func exactlyOnce(t *testing.T, ips []string, want map[string]bool) {
	t.Helper()
	seen := map[string]int{}
	for _, ip := range ips {
		if !want[ip] {
			t.Fatalf("%s is not a target", ip)
		}
		seen[ip]++
	}
	for ip := range want {
		if seen[ip] != 1 {
			t.Fatalf("%s written %d times (%d records for %d targets)", ip, seen[ip], len(ips), len(want))
		}
	}
}

// TestResumeAfterSIGKILL kills real scan processes with SIGKILL at several points (no chance to
// save anything), resumes each with the same command line, and checks that the output holds
// every target exactly once.
func TestResumeAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts scan processes")
	}
	port, targets, want := replayTargets(t, 10*time.Millisecond)
	for _, killAfter := range []time.Duration{150 * time.Millisecond, 500 * time.Millisecond, 1000 * time.Millisecond} {
		dir := t.TempDir()
		cp, out := filepath.Join(dir, "scan.ckpt"), filepath.Join(dir, "out.jsonl")
		args := append([]string{"scan", "-resume", cp, "-resume-interval", "50ms", "-o", out, "-c", "4",
			"-port", strconv.Itoa(int(port)), "-timeout", "5s", "-silent"}, targets...)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSmbsweep$")
		cmd.Env = append(os.Environ(), envHelperArgs+"="+strings.Join(args, "\x1f"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(killAfter)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		killed := false
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				killed = true
			}
		}
		// A process killed before it opened its output (a slow start on a busy machine) has
		// written nothing; the resumed run creates the file.
		var before []string
		if _, err := os.Stat(out); err == nil {
			before, _ = jsonlHosts(t, out)
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
		t.Logf("killed after %v (killed=%v): %d records on disk; stderr %q", killAfter, killed, len(before), stderr.String())
		// Resume with more concurrency: -c may change between runs.
		resumeArgs := append([]string{}, args...)
		resumeArgs[8] = "64"
		code, _, errOut := runCLI(t, "", resumeArgs...)
		if code != exitOK {
			t.Fatalf("resume: exit %d: %s", code, errOut)
		}
		ips, _ := jsonlHosts(t, out)
		exactlyOnce(t, ips, want)
	}
}

// TestResumeCLI interrupts nothing: it checks the command-line side of -resume — a finished
// checkpoint resumes to nothing, the CSV header is not repeated, a changed target list is a
// clear usage error.
func TestResumeCLI(t *testing.T) {
	port, targets, want := replayTargets(t, 0)
	dir := t.TempDir()
	cp, out := filepath.Join(dir, "cp.json"), filepath.Join(dir, "out.csv")
	args := append([]string{"scan", "-resume", cp, "-o", out, "-port", strconv.Itoa(int(port)), "-silent"}, targets...)
	if code, _, errOut := runCLI(t, "", args...); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	first, _ := os.ReadFile(out)
	// Cut the file and the checkpoint back as if the run had been killed midway: keep the
	// header and 10 rows.
	lines := strings.SplitAfter(string(first), "\n")
	if len(lines) < 12 {
		t.Fatalf("csv: %d lines", len(lines))
	}
	var st map[string]any
	data, _ := os.ReadFile(cp)
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if st["complete"] != true {
		t.Fatalf("checkpoint after a full run: %s", data)
	}
	// Rebuild a checkpoint that says "the first 10 positions are written": the rows are in
	// position order only with one worker and no connect-ahead, so rescan that way.
	os.Remove(cp)
	os.Remove(out)
	seedArgs := append([]string{"scan", "-resume", cp, "-o", out, "-port", strconv.Itoa(int(port)), "-silent", "-c", "1", "-connect-ahead", "0", "-seed", "77"}, targets...)
	if code, _, errOut := runCLI(t, "", seedArgs...); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	full, _ := os.ReadFile(out)
	lines = strings.SplitAfter(string(full), "\n")
	kept := strings.Join(lines[:11], "")
	st = map[string]any{}
	data, _ = os.ReadFile(cp)
	_ = json.Unmarshal(data, &st)
	st["next"], st["open"], st["done"], st["complete"], st["watermark"] = 10, []int{}, 10, false, 10
	st["files"] = map[string]int{out: len(kept)}
	data, _ = json.Marshal(st)
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The file holds more than the checkpoint says (as after a kill): resume cuts it back.
	code, _, errOut := runCLI(t, "", seedArgs...)
	if code != exitOK {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	got, _ := os.ReadFile(out)
	rows := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if rows[0] != strings.TrimSuffix(lines[0], "\n") || strings.Count(string(got), rows[0]+"\n") != 1 {
		t.Fatalf("CSV header missing or repeated:\n%s", got)
	}
	var ips []string
	for _, r := range rows[1:] {
		ips = append(ips, strings.SplitN(r, ",", 2)[0])
	}
	exactlyOnce(t, ips, want)

	// A finished checkpoint resumes to nothing.
	if code, _, errOut := runCLI(t, "", seedArgs...); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, got) {
		t.Error("resuming a complete scan wrote more rows")
	}
	// Other targets, or another seed, are refused with a message that says why.
	other := append(append([]string{}, seedArgs[:len(seedArgs)-2]...), "127.0.94.0/27")
	code, _, errOut = runCLI(t, "", other...)
	if code != exitUsage || !strings.Contains(errOut, "different scan") || !strings.Contains(errOut, "configuration") {
		t.Errorf("changed targets: exit %d: %s", code, errOut)
	}
	bad := append([]string{}, seedArgs...)
	for i, a := range bad {
		if a == "77" {
			bad[i] = "78"
		}
	}
	code, _, errOut = runCLI(t, "", bad...)
	if code != exitUsage || !strings.Contains(errOut, "-seed 77, this run has 78") {
		t.Errorf("changed seed: exit %d: %s", code, errOut)
	}
}

// TestShardsCLI: the shards of one scan, run through the command line (-shard, and
// $JOB_COMPLETION_INDEX with -shards) and without -seed (sharded runs derive it from the
// targets), together write every target exactly once.
func TestShardsCLI(t *testing.T) {
	port, targets, want := replayTargets(t, 0)
	for _, n := range []int{1, 2, 3, 7, 64} {
		var all []string
		for i := range n {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			args := []string{"scan", "-o", out, "-port", strconv.Itoa(int(port)), "-silent"}
			if i%2 == 0 {
				args = append(args, "-shard", fmt.Sprintf("%d/%d", i, n))
			} else {
				t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(i))
				args = append(args, "-shards", strconv.Itoa(n))
			}
			code, _, errOut := runCLI(t, "", append(args, targets...)...)
			os.Unsetenv("JOB_COMPLETION_INDEX")
			if code != exitOK {
				t.Fatalf("shard %d/%d: exit %d: %s", i, n, code, errOut)
			}
			ips, _ := jsonlHosts(t, out)
			all = append(all, ips...)
		}
		exactlyOnce(t, all, want)
	}
	code, _, errOut := runCLI(t, "", "scan", "-shards", "4", "127.0.0.1")
	if code != exitUsage || !strings.Contains(errOut, "JOB_COMPLETION_INDEX") {
		t.Errorf("-shards without an index: exit %d: %s", code, errOut)
	}
}

// TestFitConcurrency: a soft open-file limit too low for -c is raised towards the hard limit
// without a warning.
func TestFitConcurrency(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	var warned string
	warn := func(f string, a ...any) { warned = fmt.Sprintf(f, a...) }
	// Soft limit low, hard limit high enough: raised, no warning.
	low := rl
	low.Cur = 256
	if low.Max < 2*1000+fdReserve || syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low) != nil {
		t.Skip("cannot lower the soft limit")
	}
	if c, _ := fitConcurrency(1000, 0, warn); c != 1000 || warned != "" {
		t.Errorf("raisable: c=%d warned %q", c, warned)
	}
	var now syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if now.Cur < 2*1000+fdReserve {
		t.Errorf("soft limit %d not raised", now.Cur)
	}
	// A hard limit too low is covered by TestFitWithin (the arithmetic) and
	// TestDefaultConnectAheadFitsQuietly (the warnings, in a child whose limit is lowered).
}

// TestFitWithin: the arithmetic of fitConcurrency. Connect-ahead gives way first, down to a
// sixteenth of the budget; -c gives way for that share.
func TestFitWithin(t *testing.T) {
	for _, tc := range []struct {
		c, ahead     int
		limit        uint64
		wantC, wantA int
	}{
		{10000, 1024, 100000, 10000, 1024},                                  // fits
		{10000, 1024, 20000, (20000 - fdReserve - 1024) / fdsPerHost, 1024}, // keeps connect-ahead, -c gives way
		{10000, 4096, 20000, (20000 - fdReserve - 1245) / fdsPerHost, 1246}, // connect-ahead down to a sixteenth
		{100, 1000, 300, 100, 300 - fdReserve - 200},                        // -c fits, connect-ahead takes the rest
		{10000, 0, 300, (300 - fdReserve) / fdsPerHost, 0},                  // no connect-ahead asked
		{5, 10, 10, 1, 0}, // nothing fits: one probe slot
	} {
		c, a := fitWithin(tc.c, tc.ahead, tc.limit)
		if c != tc.wantC || a != tc.wantA || c*fdsPerHost+a+fdReserve > int(max(tc.limit, fdReserve+fdsPerHost)) {
			t.Errorf("fitWithin(%d, %d, %d) = %d, %d; want %d, %d", tc.c, tc.ahead, tc.limit, c, a, tc.wantC, tc.wantA)
		}
	}
}

// TestKubernetesArgsParse: the CronJob's container args are a valid smbsweep command line (the
// manifests' own test checks their structure).
func TestKubernetesArgsParse(t *testing.T) {
	data, err := os.ReadFile("../../configs/kubernetes/cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Spec struct {
			JobTemplate struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct{ Args []string }
						}
					}
				}
			} `yaml:"jobTemplate"`
		}
	}
	if err := yaml.Unmarshal(data, &cj); err != nil {
		t.Fatal(err)
	}
	args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
	if len(args) < 2 || args[0] != "scan" {
		t.Fatalf("args %v", args)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "3")
	var f scanFlags
	g := newGroupedFlags("smbsweep scan")
	defineScanFlags(g, &f)
	g.SetOutput(io.Discard)
	repl := strings.NewReplacer("$(JOB_COMPLETION_INDEX)", "3", "$(JOB_NAME)", "smbsweep-123")
	for i := range args {
		args[i] = repl.Replace(args[i])
	}
	if err := g.Parse(args[1:]); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if err := f.validate(g.NArg()); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var cfg scanner.Config
	if err := f.scale.apply(&cfg); err != nil || cfg.Shard.Index != 3 || cfg.Shard.Count != 4 {
		t.Errorf("shard %v, %v", cfg.Shard, err)
	}
}

// TestMetricsPush: at the end of a scan the registry is pushed to the Pushgateway under the
// grouping key job/shard (a loopback stand-in records the request).
func TestMetricsPush(t *testing.T) {
	type req struct{ method, path, body string }
	got := make(chan req, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- req{r.Method, r.URL.Path, string(b)}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	port, targets, _ := replayTargets(t, 0)
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	args := append([]string{"scan", "-silent", "-o", filepath.Join(t.TempDir(), "out.jsonl"), "-port", strconv.Itoa(int(port)),
		"-shards", "2", "-metrics-push", srv.URL, "-metrics-push-job", "nightly"}, targets...)
	if code, _, errOut := runCLI(t, "", args...); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	select {
	case r := <-got:
		if r.method != http.MethodPut || r.path != "/metrics/job/nightly/shard/1" {
			t.Errorf("pushed %s %s", r.method, r.path)
		}
		if !strings.Contains(r.body, "smbsweep_hosts_scanned_total") {
			t.Errorf("pushed body lacks smbsweep_hosts_scanned_total (%d bytes)", len(r.body))
		}
	default:
		t.Fatal("nothing pushed")
	}
	// An unreachable Pushgateway is a warning, not a failed scan.
	srv.Close()
	code, _, errOut := runCLI(t, "", append([]string{"scan", "-metrics-push", srv.URL, "-port", strconv.Itoa(int(port)),
		"-o", filepath.Join(t.TempDir(), "out.jsonl")}, targets...)...)
	if code != exitOK || !strings.Contains(errOut, "warning: -metrics-push") {
		t.Errorf("unreachable gateway: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "scan", "-metrics-push", "pushgateway:9091", "127.0.0.1"); code != exitUsage || !strings.Contains(errOut, "want an http(s) URL") {
		t.Errorf("bad URL: exit %d: %s", code, errOut)
	}
}

// TestDefaultConnectAheadFitsQuietly: under an open-file limit too low for the default
// -connect-ahead, a scan with default flags fits it to the limit without a warning; the same
// limit with -connect-ahead given, or with -c too large for it, warns and says what it uses.
func TestDefaultConnectAheadFitsQuietly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts scan processes")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no shell: %v", err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Max < 2000 {
		t.Skipf("open-file hard limit %d (%v): the test lowers it to 2000", rl.Max, err)
	}
	bin := buildSmbsweep(t)
	target := fmt.Sprintf("127.0.94.0/30:%d", closedLoopbackPort(t))
	for _, tc := range []struct {
		name string
		args []string
		warn string
	}{
		{"defaults", nil, ""},
		{"connect-ahead given", []string{"-connect-ahead", "4096"}, "using -c 256 -connect-ahead 1424"},
		{"c too large", []string{"-c", "1000"}, "-c 1000 with -connect-ahead 4096 needs about 6160 open files, but the limit is 2000 (hard limit 2000): using -c 907 -connect-ahead 122 instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The shell lowers the limits for the scan only (no privilege needed).
			args := append(append([]string{"-c", `ulimit -n 2000 && exec "$@"`, "sh", bin, "scan", "-jsonl", "-timeout", "5s"}, tc.args...), target)
			cmd := exec.Command(sh, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v\n%s", tc.args, err, stderr.String())
			}
			if n := strings.Count(string(out), `"type":"host"`); n != 4 {
				t.Errorf("%d host records, want 4", n)
			}
			switch {
			case tc.warn == "" && strings.Contains(stderr.String(), "warning"):
				t.Errorf("default flags warned: %s", stderr.String())
			case tc.warn != "" && !strings.Contains(stderr.String(), tc.warn):
				t.Errorf("stderr %q, want a warning with %q", stderr.String(), tc.warn)
			}
		})
	}
}

// TestResumeHashCoversWhatIsScanned: every flag that changes what a scan probes or writes
// changes the -resume configuration hash (so a resume with it changed is refused as "a
// different scan"), a flag left at its default does not (older checkpoints keep their hash),
// and the secret of the credentials never enters it.
func TestResumeHashCoversWhatIsScanned(t *testing.T) {
	b := scanner.NewTargetBuilder(445)
	if err := b.Add("127.0.0.1/30"); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	hash := func(args ...string) string {
		t.Helper()
		var f scanFlags
		g := newGroupedFlags("smbsweep scan")
		defineScanFlags(g, &f)
		g.SetOutput(io.Discard)
		if err := g.Parse(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		g.Visit(func(fl *flag.Flag) { f.ridRangeSet = f.ridRangeSet || fl.Name == "rid-range" })
		h, err := resumeHash(&f, set)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return h
	}
	base := hash()
	if got := hash("-max-entries", "1000", "-max-bytes", "65536", "-depth", "0", "-c", "7", "-timeout", "3s"); got != base {
		t.Error("defaults given explicitly, or concurrency and timeouts, changed the hash")
	}
	for _, args := range [][]string{
		{"-profile", "full"},
		{"-enum-users"},
		{"-probe-shares", "C$,ADMIN$"},
		{"-u", "alice"},
		{"-u", "alice", "-d", "CORP"},
		{"-encrypt"},
		{"-depth", "2"},
		{"-max-entries", "10"},
		{"-max-bytes", "1"},
		{"-ports", "445,139"},
	} {
		if hash(args...) == base {
			t.Errorf("%v does not change the resume hash", args)
		}
	}
	if hash("-enum-users", "-rid-range", "500-600") == hash("-enum-users") {
		t.Error("-rid-range does not change the hash of an -enum-users scan")
	}
	if hash("-u", "alice", "-p", "one") != hash("-u", "alice", "-p", "two") ||
		hash("-u", "alice", "-H", strings.Repeat("a", 32)) != hash("-u", "alice") {
		t.Error("the password or NT hash enters the resume hash")
	}
}
