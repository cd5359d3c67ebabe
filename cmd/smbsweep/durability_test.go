package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/output"
)

// buildSmbsweep builds the real binary into a temporary directory.
func buildSmbsweep(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smbsweep")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// durabilityTargets is a mix that keeps a scan busy for a few seconds: the Samba fleet (with
// its silent, HTTP and closed endpoints), tarpits and slow talkers that hold a worker for the
// whole host deadline, resets, well-behaved scripted servers, and 256 loopback addresses at a
// closed port that finish at once.
func durabilityTargets(t *testing.T) []string {
	t.Helper()
	targets := sambatest.Require(t).Targets()
	for _, name := range []string{"tarpit", "tarpit", "tarpit", "slowloris", "slowloris", "rst-tree-connect",
		"reset-on-accept", "http-banner", "clock-zero", "hostile-strings", "slow-logon", "ndr-huge-count"} {
		hc, _ := hostile.Lookup(name)
		targets = append(targets, hostile.StartT(t, hc.New()).Target())
	}
	return append(targets, fmt.Sprintf("127.0.95.0/24:%d", closedLoopbackPort(t)))
}

// exitOf returns the exit code of a finished command, or -1 and the signal if a signal killed it.
func exitOf(st *os.ProcessState) (int, syscall.Signal) {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal()
	}
	return st.ExitCode(), 0
}

// checkJSONL verifies that data holds only whole JSON lines, each a host record or (last) the
// summary; when the process ended on its own, the summary must be there and agree with the
// records. It returns the number of host records.
func checkJSONL(t *testing.T, data []byte, graceful bool) int {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("output ends inside a line: ...%q", data[max(0, len(data)-80):])
	}
	hosts, summaries := 0, 0
	var sum map[string]any
	for i, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			if len(data) > 0 {
				t.Errorf("line %d is empty", i+1)
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Errorf("line %d is not JSON (%v): %q", i+1, err, l[:min(len(l), 200)])
			continue
		}
		switch rec["type"] {
		case "host":
			if summaries > 0 {
				t.Errorf("host record after the summary at line %d", i+1)
			}
			hosts++
		case "summary":
			summaries++
			sum = rec
		default:
			t.Errorf("line %d has type %v", i+1, rec["type"])
		}
	}
	if graceful {
		if summaries != 1 {
			t.Errorf("%d summary lines after a graceful stop, want 1", summaries)
		} else if sum["scanned"] != float64(hosts) {
			t.Errorf("summary says %v scanned, the file holds %d host records", sum["scanned"], hosts)
		}
	}
	if summaries > 1 {
		t.Errorf("%d summary lines", summaries)
	}
	return hosts
}

// checkCSV verifies that data is a valid CSV table: the documented header and whole rows.
func checkCSV(t *testing.T, data []byte) int {
	t.Helper()
	if len(data) == 0 {
		return 0 // killed before the first flush: an empty file, not a broken one
	}
	if data[len(data)-1] != '\n' {
		t.Errorf("CSV ends inside a row: ...%q", data[max(0, len(data)-80):])
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(output.CSVColumns)
	rows, err := r.ReadAll()
	if err != nil {
		t.Errorf("CSV does not parse: %v", err)
		return 0
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(output.CSVColumns, ",") {
		t.Errorf("CSV header %v", rows[:min(len(rows), 1)])
		return 0
	}
	return len(rows) - 1
}

// TestInterruptLeavesWholeRecords starts real scan processes and stops them at random moments
// with SIGINT, SIGTERM, two SIGINTs or SIGKILL, writing JSONL or CSV to a file or JSONL to a
// pipe: the output is always whole lines (a valid CSV), a graceful stop ends with the summary and
// exit code 130, and a stop takes no longer than the host deadline.
func TestInterruptLeavesWholeRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts scan processes")
	}
	bin := buildSmbsweep(t)
	targets := durabilityTargets(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 42))
	t.Logf("kill points from seed %d", seed)
	const hostTimeout = 2 * time.Second

	type run struct {
		signals []syscall.Signal
		after   time.Duration
		format  string // "jsonl", "csv" or "pipe" (JSONL on stdout)
	}
	var runs []run
	kinds := [][]syscall.Signal{{syscall.SIGINT}, {syscall.SIGTERM}, {syscall.SIGINT, syscall.SIGINT}, {syscall.SIGKILL}}
	formats := []string{"jsonl", "csv", "pipe"}
	for i := range 12 {
		runs = append(runs, run{signals: kinds[i%len(kinds)], format: formats[i%len(formats)],
			after: time.Duration(rng.Int64N(int64(2500 * time.Millisecond)))})
	}
	runs = append(runs, run{signals: []syscall.Signal{syscall.SIGINT}, format: "jsonl", after: 0})

	for i, r := range runs {
		t.Run(fmt.Sprintf("%d-%v-%s-after-%s", i, r.signals, r.format, r.after.Round(time.Millisecond)), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out."+r.format)
			args := []string{"scan", "-c", "16", "-timeout", hostTimeout.String(), "-session-timeout", "1s", "-seed", strconv.Itoa(i + 1)}
			switch r.format {
			case "jsonl":
				args = append(args, "-jsonl", "-o", out)
			case "csv":
				args = append(args, "-csv", "-o", out)
			case "pipe":
				args = append(args, "-jsonl")
			}
			cmd := exec.Command(bin, append(args, targets...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			time.Sleep(r.after)
			var lastSignal time.Time
			for k, sig := range r.signals {
				if k > 0 {
					time.Sleep(100 * time.Millisecond)
				}
				_ = cmd.Process.Signal(sig)
				lastSignal = time.Now()
			}
			limit := hostTimeout + 3*time.Second
			if len(r.signals) > 1 || r.signals[0] == syscall.SIGKILL {
				limit = 2 * time.Second // a second signal aborts the hosts in flight
			}
			select {
			case <-done:
			case <-time.After(limit):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running %s after %v; stderr: %s", limit, r.signals, stderr.String())
			}
			stopped := time.Since(lastSignal)
			code, sig := exitOf(cmd.ProcessState)
			graceful := sig == 0
			switch {
			case sig == syscall.SIGKILL || sig == r.signals[0] && r.after < 500*time.Millisecond:
				// SIGKILL, or a signal before the handlers were installed (process start-up on a
				// loaded machine can take a while): no summary promised, whole lines still are.
			case sig != 0:
				t.Errorf("killed by %v: the scan must handle %v", sig, r.signals)
			case code != exitInterrupted && code != exitOK:
				t.Errorf("exit %d, want %d (or 0 if it finished first); stderr: %s", code, exitInterrupted, stderr.String())
			}
			var data []byte
			if r.format == "pipe" {
				data = stdout.Bytes()
			} else {
				var err error
				if data, err = os.ReadFile(out); err != nil && !(errors.Is(err, os.ErrNotExist) && !graceful) {
					t.Fatal(err)
				}
			}
			var n int
			if r.format == "csv" {
				n = checkCSV(t, data)
			} else {
				n = checkJSONL(t, data, graceful)
			}
			t.Logf("exit %d signal %v after %s: %d records, stopped %s after the last signal", code, sig, r.after, n, stopped.Round(time.Millisecond))
		})
	}
}

// TestOutputFailuresAreReported: a full disk (/dev/full) for -o, for stdout and for -relay-list,
// and a stdout pipe whose reader is gone (closed before the start, or after the first line) each
// fail the run with exit code 1 and an error naming the output — never a silent success.
func TestOutputFailuresAreReported(t *testing.T) {
	if testing.Short() {
		t.Skip("starts scan processes")
	}
	bin := buildSmbsweep(t)
	fleet := sambatest.Require(t)
	targets := []string{fleet.Server("default").Target(), fmt.Sprintf("127.0.95.0/25:%d", closedLoopbackPort(t))}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full: %v", err)
	}

	cases := []struct {
		name   string
		args   []string
		stdout func(t *testing.T) (*os.File, func())
		want   []string
	}{
		{name: "o-dev-full-jsonl", args: []string{"-jsonl", "-o", "/dev/full"}, want: []string{"/dev/full", "no space left on device"}},
		{name: "o-dev-full-csv", args: []string{"-csv", "-o", "/dev/full"}, want: []string{"/dev/full", "no space left on device"}},
		{name: "relay-list-dev-full", args: []string{"-jsonl", "-o", os.DevNull, "-relay-list", "/dev/full"}, want: []string{"/dev/full", "no space left on device"}},
		{name: "stdout-dev-full", args: []string{"-jsonl"}, want: []string{"stdout", "no space left on device"},
			stdout: func(t *testing.T) (*os.File, func()) {
				// Opened here: the subtests run after the parent returns, and a child started
				// with a closed stdout gets /dev/null from the Go runtime instead.
				f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				return f, func() { f.Close() }
			}},
		{name: "stdout-closed-pipe", args: []string{"-jsonl"}, want: []string{"stdout", "broken pipe"},
			stdout: func(t *testing.T) (*os.File, func()) {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				r.Close()
				return w, func() { w.Close() }
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, append(append([]string{"scan", "-timeout", "3s"}, c.args...), targets...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if c.stdout != nil {
				f, cleanup := c.stdout(t)
				defer cleanup()
				cmd.Stdout = f
			}
			_ = cmd.Run()
			code, sig := exitOf(cmd.ProcessState)
			if sig != 0 || code != exitFailure {
				t.Errorf("exit %d (signal %v), want %d; stderr: %s", code, sig, exitFailure, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, stderr.String())
				}
			}
		})
	}

	// A reader that goes away mid-scan: read the first record, then close the pipe.
	t.Run("stdout-reader-leaves", func(t *testing.T) {
		t.Parallel()
		hc, _ := hostile.Lookup("tarpit")
		tarpit := hostile.StartT(t, hc.New()).Target() // keeps the scan alive after the reader left
		cmd := exec.Command(bin, append([]string{"scan", "-jsonl", "-timeout", "3s", "-c", "4", tarpit}, targets...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		first, err := bufio.NewReader(pipe).ReadString('\n')
		if err != nil || !json.Valid([]byte(first)) {
			t.Fatalf("first line %q: %v", first, err)
		}
		pipe.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("scan kept running with nobody reading its output")
		}
		code, sig := exitOf(cmd.ProcessState)
		if sig != 0 || code != exitFailure || !strings.Contains(stderr.String(), "broken pipe") {
			t.Errorf("exit %d (signal %v), stderr %q", code, sig, stderr.String())
		}
	})
}

// TestClosedStdoutFails starts the real binary from a shell with stdout closed (>&-), where the Go
// runtime substitutes /dev/null and the results would vanish: the run is refused before any scan
// with exit code 1 and a message saying what to do. Discarding stdout on purpose (>/dev/null) still
// works, and so does a closed stdout when the results go to -o FILE.
func TestClosedStdoutFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts scan processes")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no shell: %v", err)
	}
	bin := buildSmbsweep(t)
	target := fmt.Sprintf("127.0.93.0/30:%d", closedLoopbackPort(t))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cases := []struct {
		name     string
		redirect string
		args     []string
		code     int
		records  int // host records in out, when -o out is given
	}{
		{"closed", ">&-", []string{"-jsonl"}, exitFailure, 0},
		{"closed-text", ">&-", nil, exitFailure, 0},
		{"closed-o-dash", ">&-", []string{"-o", "-"}, exitFailure, 0},
		{"dev-null", ">/dev/null", []string{"-jsonl"}, exitOK, 0},
		{"closed-o-file", ">&-", []string{"-jsonl", "-o", out}, exitOK, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_ = os.Remove(out)
			// sh runs: exec BIN scan ARGS... TARGET >&- (the redirect applies to the exec'd binary).
			script := `exec "$@" ` + c.redirect
			args := append(append([]string{"-c", script, "sh", bin, "scan", "-timeout", "5s"}, c.args...), target)
			cmd := exec.Command(sh, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			_ = cmd.Run()
			code, sig := exitOf(cmd.ProcessState)
			if sig != 0 || code != c.code {
				t.Fatalf("exit %d (signal %v), want %d; stderr: %s", code, sig, c.code, stderr.String())
			}
			msg := "smbsweep scan: standard output is closed"
			if c.code == exitFailure {
				if !strings.Contains(stderr.String(), msg) || !strings.Contains(stderr.String(), "-o FILE") {
					t.Errorf("stderr %q lacks %q and the fix", stderr.String(), msg)
				}
			} else if strings.Contains(stderr.String(), msg) {
				t.Errorf("refused: %s", stderr.String())
			}
			if c.records > 0 {
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if n := checkJSONL(t, data, true); n != c.records {
					t.Errorf("%d host records in %s, want %d", n, out, c.records)
				}
			}
		})
	}
}
