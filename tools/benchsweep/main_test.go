package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeJSONL writes lines to a file under t.TempDir and returns its path.
func writeJSONL(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	recComplete   = `{"type":"host","ip":"127.77.0.1","status":"smb","negotiate":{"dialect":"3.1.1"},"smb1":{"enabled":false},"stages":{"negotiate":{"status":"ok"}}}`
	recIncomplete = `{"type":"host","ip":"127.77.0.2","status":"smb","negotiate":{"dialect":"3.1.1"},"smb1":null,"incomplete":["smb1"],"stages":{"smb1":{"status":"error"}}}`
	recSkipped    = `{"type":"host","ip":"127.77.0.3","status":"smb","negotiate":{},"smb1":{},"stages":{"tree":{"status":"skipped","reason":"session ended in error"}}}`
	recRefused    = `{"type":"host","ip":"127.77.0.4","status":"connection-refused"}`
	recSummary    = `{"type":"summary","incomplete":1,"statuses":{"smb":3}}`
)

func TestReadOutputCounts(t *testing.T) {
	p := writeJSONL(t, recComplete, recIncomplete, recSkipped, recRefused, recSummary)
	var r Result
	if err := readOutput(p, "replay", &r); err != nil {
		t.Fatal(err)
	}
	want := Result{Statuses: map[string]int{"smb": 3, "connection-refused": 1}, LiveFound: 3, Complete: 1, Incomplete: 1}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("readOutput = %+v, want %+v", r, want)
	}
}

func TestReadOutputMixedMisclassified(t *testing.T) {
	p := writeJSONL(t,
		`{"type":"host","ip":"127.77.0.1","status":"smb","negotiate":{},"smb1":{}}`,                       // live, right
		`{"type":"host","ip":"127.77.4.255","status":"connection-timeout"}`,                               // live, wrong
		`{"type":"host","ip":"127.77.5.0","status":"connection-timeout"}`,                                 // dropped, right
		`{"type":"host","ip":"127.77.25.255","status":"connection-refused"}`,                              // dropped, wrong
		`{"type":"host","ip":"127.77.26.0","status":"connection-refused"}`,                                // refusing, right
		`{"type":"host","ip":"127.77.255.255","status":"smb","negotiate":{},"smb1":{},"incomplete":null}`, // refusing, wrong
		recSummary)
	var r Result
	if err := readOutput(p, "mixed", &r); err != nil {
		t.Fatal(err)
	}
	if r.Misclassified != 3 || r.LiveFound != 2 || r.Complete != 2 || r.Incomplete != 0 {
		t.Errorf("mixed: misclassified %d live %d complete %d incomplete %d, want 3 2 2 0",
			r.Misclassified, r.LiveFound, r.Complete, r.Incomplete)
	}
	// The same records outside the mixed target are not checked against blocks.
	r = Result{}
	if err := readOutput(p, "replay", &r); err != nil {
		t.Fatal(err)
	}
	if r.Misclassified != 0 {
		t.Errorf("replay: misclassified %d, want 0", r.Misclassified)
	}
}

func TestReadOutputErrors(t *testing.T) {
	var r Result
	if err := readOutput(writeJSONL(t, recComplete), "replay", &r); err == nil || !strings.Contains(err.Error(), "no summary line") {
		t.Errorf("without summary: err = %v, want no summary line", err)
	}
	if err := readOutput(writeJSONL(t, `{"type":`), "replay", &r); err == nil || !strings.Contains(err.Error(), "out.jsonl") {
		t.Errorf("bad JSON: err = %v, want one naming the file", err)
	}
	if err := readOutput(writeJSONL(t, `{"type":"host","ip":"nope","status":"smb"}`, recSummary), "mixed", &r); err == nil {
		t.Error("mixed with a bad ip: no error")
	}
	if err := readOutput(filepath.Join(t.TempDir(), "missing.jsonl"), "replay", &r); err == nil {
		t.Error("missing file: no error")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, `"0": want positive integers separated by commas`},
		{[]string{"-c", "4,x"}, `"4,x": want positive integers separated by commas`},
		{[]string{"-target", "replay,nfs"}, `-target "nfs": want smbd, replay or mixed`},
		{[]string{"-mixed-server", "nfs"}, `-mixed-server "nfs": want smbd or replay`},
		{[]string{"-replace", "x"}, `want PATH=FILE`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2", tc.args, code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run(%q) stderr = %q, want it to contain %q", tc.args, stderr.String(), tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("run(%q) wrote to stdout: %q", tc.args, stdout.String())
		}
	}
}

func TestPrintTable(t *testing.T) {
	rs := []Result{
		{Target: "replay", Hosts: 16, Concurrency: 8, WallSeconds: 0.5, HostsPerSec: 32, LiveExpected: 16, LiveFound: 16,
			Complete: 15, LivePerSec: 32, UserSeconds: 0.25, SysSeconds: 0.125, CPUPer1000: 23.4375, CPUmsPerLive: 23.4375,
			MaxRSSMiB: 15.25, MallocsPer: 630, AllocBytesPer: 2048, LoadAvg: [2]string{"1.00", "2.00"}},
		{Target: "mixed", Hosts: 65536, Concurrency: 256, LiveExpected: 1280, LiveFound: 1280, Bound: 210,
			Statuses: map[string]int{"smb": 1280}, Misclassified: 2, LoadAvg: [2]string{"3.00", "4.00"}},
	}
	var b bytes.Buffer
	printTable(&b, rs)
	want := `  target  hosts   -c  wall s  hosts/s  live found  complete  live/s  CPU s  CPU s/1000 hosts  CPU ms/live host  peak RSS MiB  allocs/host  KiB/host  bound s
  replay     16    8     0.5       32       16/16     15/16      32   0.38            23.438            23.438          15.2          630       2.0        -
   mixed  65536  256     0.0        0   1280/1280    0/1280       0   0.00             0.000             0.000           0.0            0       0.0      210
replay 16 -c 8: load average 1.00 before, 2.00 after
mixed 65536 -c 256: load average 3.00 before, 4.00 after
mixed: statuses map[smb:1280], 2 hosts with a status that does not match their block
`
	if b.String() != want {
		t.Errorf("printTable:\n%s\nwant:\n%s", b.String(), want)
	}
}
func TestScanTimeout(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want float64
	}{
		{nil, 10},
		{[]string{"scan", "-c", "8"}, 10},
		{[]string{"scan", "-timeout", "2s", "x"}, 2},
		{[]string{"scan", "-timeout", "bad"}, 10},
		{[]string{"scan", "-timeout"}, 10},
		{[]string{"-timeout", "1s", "-timeout", "3s"}, 3},
	} {
		if got := scanTimeout(tc.args); got != tc.want {
			t.Errorf("scanTimeout(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
