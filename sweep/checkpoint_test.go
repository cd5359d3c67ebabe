package sweep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/internal/testing/replay"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// fixture is a replay responder on 64 loopback addresses plus 64 addresses where nothing
// listens (connection refused), all on one port.
type fixture struct {
	set      *scanner.TargetSet
	pipeline *probes.Pipeline
}

func newFixture(t *testing.T, delay time.Duration) *fixture {
	t.Helper()
	srv := replay.New(replay.Options{Delay: delay})
	t.Cleanup(func() { srv.Close() })
	port, err := srv.ListenMany(netip.MustParseAddr("127.0.96.0"), 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := scanner.NewTargetBuilder(port)
	for _, s := range []string{"127.0.96.0/26", "127.0.95.0/26"} {
		if err := b.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := probes.NewPipeline(configs.BuiltinProfiles()["default"].Stages,
		&probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{set: set, pipeline: p}
}

// run scans with the checkpoint at cpPath, appending to or truncating out as the checkpoint
// says; cancelAfter > 0 cancels dispatch after that many results (and aborts when hard), and
// snap, when set, is called once after snapAt results, from the emitting worker.
func (f *fixture) run(t *testing.T, cpPath, out string, seed uint64, shard scanner.Shard, cancelAfter int, hard bool, snapAt int, snap func()) {
	t.Helper()
	hash := ConfigHash(f.set, "profile=default")
	cp, err := OpenCheckpoint(cpPath, hash, seed, shard, shard.Len(f.set.Len()))
	if err != nil {
		t.Fatal(err)
	}
	cp.SetInterval(5 * time.Millisecond)
	app, err := cp.PrepareOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if app {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	fh, err := os.OpenFile(out, flags, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort, abortAll := context.WithCancel(context.Background())
	defer abortAll()
	var mu sync.Mutex
	n := 0
	counting := &countSink{fn: func() {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == cancelAfter {
			cancel()
			if hard {
				abortAll()
			}
		}
		if n == snapAt && snap != nil {
			snap()
		}
	}}
	w := output.NewWriter(cp.WrapSinks([]output.Sink{output.NewJSONL(fh, out), counting})...)
	_, err = Run(ctx, abort, Config{
		Targets: f.set, Pipeline: f.pipeline, Writer: w, Checkpoint: cp,
		Scanner: scanner.Config{Concurrency: 8, HostTimeout: 5 * time.Second, Shard: shard,
			Progress: &scanner.Progress{}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countSink calls fn for every result (on the writer goroutine).
type countSink struct{ fn func() }

func (c *countSink) Name() string                       { return "count" }
func (c *countSink) WriteResult(*probes.Result) error   { c.fn(); return nil }
func (c *countSink) WriteSummary(*probes.Summary) error { return nil }
func (c *countSink) Flush() error                       { return nil }

// hostIPs reads the host records of a JSONL file, failing on a partial line.
func hostIPs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends with a partial line", path)
	}
	var ips []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Type, IP, Status string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %v in %q", path, err, sc.Text())
		}
		if rec.Type == "host" {
			ips = append(ips, rec.IP)
			// The replay responder answers every address of 127.0.96.0/26 and nothing listens
			// on the others: an interrupted probe must never be written as something the host
			// did (io-timeout, connection-reset), nor as "interrupted" in a resumable scan.
			want := probes.StatusConnectionRefused
			if strings.HasPrefix(rec.IP, "127.0.96.") {
				want = probes.StatusSMB
			}
			if rec.Status != string(want) {
				t.Errorf("%s: %s written with status %q, want %s", path, rec.IP, rec.Status, want)
			}
		}
	}
	return ips
}

func checkExactlyOnce(t *testing.T, ips []string, want map[string]bool, what string) {
	t.Helper()
	seen := map[string]int{}
	for _, ip := range ips {
		seen[ip]++
		if !want[ip] {
			t.Fatalf("%s: %s is not a target", what, ip)
		}
	}
	for ip := range want {
		if seen[ip] != 1 {
			t.Fatalf("%s: %s written %d times", what, ip, seen[ip])
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err == nil {
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResumeAfterCancelAtRandomPoints interrupts scans against the replay responder at random
// points — gracefully (dispatch stops, hosts in flight finish), hard (hosts in flight are
// aborted), or as a crash (the checkpoint and output files are taken at random moments while
// the scan runs, the output later than the checkpoint, and the run's own later writes are
// thrown away) — then resumes until done, and checks that the output holds every target exactly
// once.
func TestResumeAfterCancelAtRandomPoints(t *testing.T) {
	f := newFixture(t, 2*time.Millisecond) // replies take a little while, so an abort meets hosts in flight
	rng := rand.New(rand.NewPCG(7, 9))
	crashesAhead := 0
	defer func() { t.Logf("%d crashes left the output ahead of the checkpoint", crashesAhead) }()
	for trial := range 9 {
		dir := t.TempDir()
		cpPath, out := filepath.Join(dir, "cp.json"), filepath.Join(dir, "out.jsonl")
		shard := scanner.Shard{}
		if trial%3 == 2 {
			shard = scanner.Shard{Index: 1, Count: 3}
		}
		want := map[string]bool{}
		perm := scanner.NewPermutation(f.set.Len(), 1234)
		for j := range shard.Len(f.set.Len()) {
			want[f.set.At(perm.At(shard.Position(j))).Addr.String()] = true
		}
		mode := trial % 3 // 0 graceful, 1 hard abort, 2 crash
		for round := 0; ; round++ {
			if round > 12 {
				t.Fatalf("trial %d: not done after %d rounds", trial, round)
			}
			total := len(want)
			stop := 1 + rng.IntN(total)
			switch {
			case mode == 2 && round < 4: // later rounds finish, or a crash could repeat forever
				cpSnap, outSnap := filepath.Join(dir, "cp.snap"), filepath.Join(dir, "out.snap")
				os.Remove(cpSnap)
				os.Remove(outSnap)
				at := 1 + rng.IntN(total)
				f.run(t, cpPath, out, 1234, shard, 0, false, at, func() {
					copyFile(t, cpPath, cpSnap)
					time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
					copyFile(t, out, outSnap)
				})
				if _, err := os.Stat(cpSnap); err == nil {
					// The process "died" at the snapshot: only what was on disk then remains.
					copyFile(t, cpSnap, cpPath)
					copyFile(t, outSnap, out)
					var st CheckpointFile
					data, _ := os.ReadFile(cpSnap)
					_ = json.Unmarshal(data, &st)
					if fi, err := os.Stat(out); err == nil && fi.Size() > st.Files[out] {
						crashesAhead++ // the output is ahead of the checkpoint: resume must cut it
					}
				}
			default:
				f.run(t, cpPath, out, 1234, shard, stop, mode == 1, 0, nil)
			}
			var st CheckpointFile
			data, err := os.ReadFile(cpPath)
			if err == nil {
				err = json.Unmarshal(data, &st)
			}
			if err != nil {
				t.Fatalf("trial %d: checkpoint: %v", trial, err)
			}
			if st.Complete {
				break
			}
		}
		checkExactlyOnce(t, hostIPs(t, out), want, "trial "+strconv.Itoa(trial))
	}
}

func TestCheckpointMismatch(t *testing.T) {
	f := newFixture(t, 0)
	dir := t.TempDir()
	cpPath, out := filepath.Join(dir, "cp.json"), filepath.Join(dir, "out.jsonl")
	f.run(t, cpPath, out, 5, scanner.Shard{}, 10, false, 0, nil)
	n := f.set.Len()
	for _, c := range []struct {
		hash  string
		seed  uint64
		shard scanner.Shard
		total uint64
		want  string
	}{
		{"sha256:other", 5, scanner.Shard{}, n, "configuration"},
		{ConfigHash(f.set, "profile=default"), 6, scanner.Shard{}, n, "-seed 5, this run has 6"},
		{ConfigHash(f.set, "profile=default"), 5, scanner.Shard{Index: 0, Count: 2}, (n + 1) / 2, "shard 0/1, this run has 0/2"},
	} {
		_, err := OpenCheckpoint(cpPath, c.hash, c.seed, c.shard, c.total)
		if !errors.Is(err, ErrCheckpointMismatch) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	// Seed 0 takes the checkpoint's.
	cp, err := OpenCheckpoint(cpPath, ConfigHash(f.set, "profile=default"), 0, scanner.Shard{}, n)
	if err != nil || cp.Seed() != 5 || !cp.Resumed() {
		t.Fatalf("seed 0: %v", err)
	}
	// An output shorter than recorded is not the scan's output.
	if err := os.WriteFile(out, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.PrepareOutput(out); err == nil {
		t.Error("a replaced output was accepted")
	}
	if _, err := cp.PrepareOutput(filepath.Join(dir, "other.jsonl")); !errors.Is(err, ErrCheckpointMismatch) {
		t.Errorf("an output the checkpoint does not know: %v", err)
	}
	if err := os.WriteFile(cpPath, []byte(`{"version":1,"bogus":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(cpPath, "x", 0, scanner.Shard{}, n); err == nil {
		t.Error("a checkpoint with unknown fields was accepted")
	}
}

// TestRecheckIOTimeouts: a host whose first connection is accepted and never answered
// (io-timeout) is probed once more after the pass and written once, with the second result;
// with NoRecheck the io-timeout is written.
func TestRecheckIOTimeouts(t *testing.T) {
	var mu sync.Mutex
	seen := map[netip.Addr]int{}
	srv := replay.New(replay.Options{Silent: func(local netip.AddrPort) bool {
		mu.Lock()
		defer mu.Unlock()
		seen[local.Addr()]++
		return seen[local.Addr()] == 1 && local.Addr().As4()[3]%4 == 0 // the first connection to every 4th address
	}})
	t.Cleanup(func() { srv.Close() })
	port, err := srv.ListenMany(netip.MustParseAddr("127.0.91.0"), 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := scanner.NewTargetBuilder(port)
	if err := b.Add("127.0.91.0/28"); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := probes.NewPipeline(configs.BuiltinProfiles()["default"].Stages,
		&probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for _, noRecheck := range []bool{false, true} {
		mu.Lock()
		clear(seen)
		mu.Unlock()
		out := filepath.Join(t.TempDir(), "out.jsonl")
		fh, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		w := output.NewWriter(output.NewJSONL(fh, out))
		_, err = Run(context.Background(), nil, Config{Targets: set, Pipeline: p, Writer: w, NoRecheck: noRecheck,
			Scanner: scanner.Config{Concurrency: 16, HostTimeout: 400 * time.Millisecond}})
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		statuses := map[string]int{}
		hosts := 0
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var rec struct{ Type, IP, Status string }
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Type == "host" {
				hosts++
				statuses[rec.Status]++
			}
		}
		want := map[string]int{"smb": 16}
		if noRecheck {
			want = map[string]int{"smb": 12, "io-timeout": 4}
		}
		if hosts != 16 || statuses["smb"] != want["smb"] || statuses["io-timeout"] != want["io-timeout"] {
			t.Errorf("NoRecheck=%v: %d records, statuses %v, want %v", noRecheck, hosts, statuses, want)
		}
	}
}

// TestAbortWritesInterrupted: hosts cut short by the abort (a second Ctrl-C, a daemon shutdown)
// of a scan without a checkpoint are written as "interrupted" and counted so in the summary,
// never as io-timeout or connection-reset: the hosts did nothing wrong.
func TestAbortWritesInterrupted(t *testing.T) {
	f := newFixture(t, 100*time.Millisecond)
	var buf bytes.Buffer
	w := output.NewWriter(output.NewJSONL(&buf, "buf"))
	abort, abortAll := context.WithCancel(context.Background())
	time.AfterFunc(250*time.Millisecond, abortAll)
	sum, err := Run(abort, abort, Config{Targets: f.set, Pipeline: f.pipeline, Writer: w,
		Scanner: scanner.Config{Concurrency: 16, HostTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	interrupted := 0
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var rec struct{ Type, IP, Status, Error string }
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.Type != "host":
		case rec.Status == string(probes.StatusInterrupted):
			interrupted++
		case rec.Status != string(probes.StatusSMB) && rec.Status != string(probes.StatusConnectionRefused):
			t.Errorf("%s: status %s (%s) after the abort", rec.IP, rec.Status, rec.Error)
		}
	}
	if interrupted == 0 || sum.Statuses[string(probes.StatusInterrupted)] != interrupted {
		t.Errorf("%d interrupted records, summary %v", interrupted, sum.Statuses)
	}
}
