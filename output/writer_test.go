package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/probes"
)

// syncBuffer is an io.Writer the test can read while the writer goroutine writes to it. It
// checks that every Write call carries only whole lines.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	calls   int
	partial []string // Write calls that did not end with a newline
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if len(p) == 0 || p[len(p)-1] != '\n' {
		b.partial = append(b.partial, string(p))
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failingWriter accepts limit bytes worth of Write calls, then fails every call with err.
type failingWriter struct {
	syncBuffer
	limit int
	err   error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	over := f.buf.Len()+len(p) > f.limit
	f.mu.Unlock()
	if over {
		return 0, f.err
	}
	return f.syncBuffer.Write(p)
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestWriterConcurrentRecordsAndSummary(t *testing.T) {
	var out syncBuffer
	w := NewWriter(NewJSONL(&out, "out.jsonl"))
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				r := refusedRecord()
				if (i+j)%2 == 0 {
					r = sambaRecord()
				}
				r.IP = fmt.Sprintf("127.0.%d.%d", i, j)
				if err := w.Write(r); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	sum := &probes.Summary{Targets: workers * each, Started: testTime, Finished: testTime.Add(time.Second), DurationSeconds: 1}
	if err := w.Close(sum); err != nil {
		t.Fatal(err)
	}
	got := lines(out.String())
	if len(got) != workers*each+1 {
		t.Fatalf("%d lines, want %d", len(got), workers*each+1)
	}
	seen := map[string]bool{}
	for _, l := range got[:len(got)-1] {
		var r probes.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		if r.Type != "host" || seen[r.IP] {
			t.Fatalf("unexpected record type %q or duplicate ip %s", r.Type, r.IP)
		}
		seen[r.IP] = true
	}
	var s probes.Summary
	if err := json.Unmarshal([]byte(got[len(got)-1]), &s); err != nil {
		t.Fatal(err)
	}
	half := workers * each / 2
	if s.Schema != probes.SchemaVersion || s.Type != "summary" || s.Scanned != workers*each {
		t.Errorf("summary header: %+v", s)
	}
	if s.Statuses["smb"] != half || s.Statuses["connection-refused"] != half {
		t.Errorf("statuses %v, want %d smb and %d refused", s.Statuses, half, half)
	}
	for _, st := range probes.Statuses {
		if _, ok := s.Statuses[string(st)]; !ok {
			t.Errorf("summary lacks zero count for status %s", st)
		}
	}
	// sambaRecord has 5 true findings (smb1, signing, null, anon read, writable); guest is null
	// and smb3_unsupported false, so they stay at 0.
	want := map[string]int{
		probes.FindingSMB1Enabled: half, probes.FindingSigningNotRequired: half, probes.FindingNullSession: half,
		probes.FindingAnonymousShareReadable: half, probes.FindingShareWritable: half,
		probes.FindingGuestSession: 0, probes.FindingSMB3Unsupported: 0, probes.FindingEncryptionUnsupported: 0,
		probes.FindingSMBGhost: 0, probes.FindingMS17010: 0, probes.FindingDoublePulsar: 0, // every known id is listed, zeros included
		probes.FindingCoercibleInterface: 0, probes.FindingCoercibleCredentialed: 0, probes.FindingWebClientRunning: 0, probes.FindingSpoolerRunning: 0,
		probes.FindingAnonymousLSA: 0, probes.FindingAnonymousSIDTranslation: 0, probes.FindingAnonymousPasswordPolicy: 0,
	}
	if fmt.Sprint(s.Findings) != fmt.Sprint(want) {
		t.Errorf("findings %v, want %v", s.Findings, want)
	}
	if len(out.partial) != 0 {
		t.Errorf("Write calls with partial lines: %q", out.partial)
	}
}

func TestWriterCountsDuplicateFindingOnce(t *testing.T) {
	var out syncBuffer
	w := NewWriter(NewJSONL(&out, "x"))
	r := refusedRecord()
	r.Findings = []probes.Finding{
		{ID: probes.FindingNullSession, Value: probes.Bool(true)},
		{ID: probes.FindingNullSession, Value: probes.Bool(true)},
		{ID: "future_finding", Value: probes.Bool(true)},
	}
	_ = w.Write(r)
	s := &probes.Summary{}
	if err := w.Close(s); err != nil {
		t.Fatal(err)
	}
	if s.Findings[probes.FindingNullSession] != 1 || s.Findings["future_finding"] != 1 {
		t.Errorf("findings %v", s.Findings)
	}
}

// blockingSink blocks in WriteResult until release is closed.
type blockingSink struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	n       atomic.Int64
}

func (b *blockingSink) Name() string { return "blocking" }
func (b *blockingSink) WriteResult(*probes.Result) error {
	b.once.Do(func() { close(b.started) })
	<-b.release
	b.n.Add(1)
	return nil
}
func (b *blockingSink) WriteSummary(*probes.Summary) error { return nil }
func (b *blockingSink) Flush() error                       { return nil }

func TestWriterBackpressure(t *testing.T) {
	sink := &blockingSink{started: make(chan struct{}), release: make(chan struct{})}
	w := NewWriter(sink)
	const total = queueSize + 50
	var accepted atomic.Int64
	go func() {
		for i := 0; i < total; i++ {
			_ = w.Write(refusedRecord())
			accepted.Add(1)
		}
	}()
	<-sink.started
	// One record is in the sink's hands, queueSize wait in the queue; the next Write blocks.
	deadline := time.Now().Add(5 * time.Second)
	for accepted.Load() < queueSize+1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := accepted.Load(); got != queueSize+1 {
		t.Fatalf("%d Writes returned while the sink was stuck, want exactly %d (bounded queue)", got, queueSize+1)
	}
	close(sink.release)
	for accepted.Load() < total && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	if sink.n.Load() != total {
		t.Errorf("sink got %d records, want %d", sink.n.Load(), total)
	}
}

func TestWriterFlushesWithoutClose(t *testing.T) {
	var out syncBuffer
	w := NewWriter(NewJSONL(&out, "x"))
	defer w.Close(nil)
	_ = w.Write(sambaRecord())
	deadline := time.Now().Add(3 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(lines(out.String())); n != 1 {
		t.Fatalf("%d lines visible before Close, want 1 (periodic flush)", n)
	}
}

func TestWriterSinkErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"out.jsonl", syscall.ENOSPC, "write results to out.jsonl: no space left on device"},
		{"stdout", syscall.EPIPE, "write results to stdout: broken pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := &failingWriter{limit: 4000, err: tc.err}
			var good syncBuffer
			w := NewWriter(NewJSONL(bad, tc.name), NewCSV(&good, "good.csv"))
			const total = 200
			var firstErr error
			for i := 0; i < total; i++ {
				if err := w.Write(sambaRecord()); err != nil && firstErr == nil {
					firstErr = err
				}
			}
			// Err must become visible promptly, without Close.
			deadline := time.Now().Add(3 * time.Second)
			for w.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if w.Err() == nil || w.Err().Error() != tc.want {
				t.Fatalf("Err() = %v, want %q", w.Err(), tc.want)
			}
			err := w.Close(&probes.Summary{})
			if err == nil || err.Error() != tc.want || !errors.Is(err, tc.err) {
				t.Fatalf("Close = %v, want %q wrapping %v", err, tc.want, tc.err)
			}
			var se *SinkError
			if !errors.As(err, &se) || se.Sink != tc.name {
				t.Errorf("Close error %T does not name the sink", err)
			}
			if err2 := w.Close(nil); err2 != err {
				t.Errorf("second Close = %v, want %v", err2, err)
			}
			// What reached the failing file is whole lines only.
			for _, l := range lines(bad.String()) {
				if !json.Valid([]byte(l)) {
					t.Fatalf("partial line in failed output: %q", l)
				}
			}
			if len(bad.partial) != 0 {
				t.Errorf("partial writes: %q", bad.partial)
			}
			// The healthy sink still got every record (header + rows).
			if n := len(lines(good.String())); n != total+1 {
				t.Errorf("healthy sink has %d lines, want %d", n, total+1)
			}
		})
	}
}

// TestWriterInterruptedLeavesWholeLines closes the writer while workers are still writing, with
// records of very different sizes (some larger than the record buffer), and checks that every
// Write call on the file carried whole lines, so an interruption at any point leaves only
// complete records.
func TestWriterInterruptedLeavesWholeLines(t *testing.T) {
	var out syncBuffer
	w := NewWriter(NewJSONL(&out, "out.jsonl"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 400; j++ {
				select {
				case <-stop:
					return
				default:
				}
				r := sambaRecord()
				size := (i*7919 + j*104729) % 3000
				if j%25 == 0 {
					size += recordBufferSize // larger than the whole record buffer
				}
				r.Error = strings.Repeat("x", size)
				_ = w.Write(r) // after Close, records are dropped
			}
		}(i)
	}
	time.Sleep(50 * time.Millisecond)
	if err := w.Close(&probes.Summary{Interrupted: true}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if len(out.partial) != 0 {
		t.Fatalf("%d Write calls ended mid-line", len(out.partial))
	}
	got := lines(out.String())
	if len(got) < 2 {
		t.Fatalf("only %d lines written", len(got))
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("line %d is not whole JSON", n)
		}
		n++
	}
	if !strings.Contains(got[len(got)-1], `"type":"summary"`) || !strings.Contains(got[len(got)-1], `"interrupted":true`) {
		t.Errorf("last line is not the summary: %.100s", got[len(got)-1])
	}
}

func TestWriterNormalizesTimesToUTC(t *testing.T) {
	var out syncBuffer
	w := NewWriter(NewJSONL(&out, "x"))
	zone := time.FixedZone("CEST", 2*3600)
	r := sambaRecord()
	r.Timestamp = testTime.In(zone)
	r.Negotiate.SystemTime = tptr(testTime.In(zone))
	_ = w.Write(r)
	if err := w.Close(&probes.Summary{Started: testTime.In(zone)}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, "+02:00") || !strings.Contains(s, `"timestamp":"2024-05-06T07:08:09.123456Z"`) ||
		!strings.Contains(s, `"started":"2024-05-06T07:08:09.123456Z"`) {
		t.Errorf("times not in UTC:\n%s", s)
	}
}

func TestWriterWriteAfterCloseIsDropped(t *testing.T) {
	var out syncBuffer
	w := NewWriter(NewJSONL(&out, "x"))
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sambaRecord()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Errorf("record written after Close: %q", out.String())
	}
}

type panickySink struct{ blockingSink }

func (p *panickySink) Name() string                     { return "panicky" }
func (p *panickySink) WriteResult(*probes.Result) error { panic("boom") }

func TestWriterSurvivesPanickingSink(t *testing.T) {
	var out syncBuffer
	w := NewWriter(&panickySink{}, NewJSONL(&out, "x"))
	for i := 0; i < queueSize*2; i++ { // more than the queue holds: the goroutine must keep draining
		_ = w.Write(refusedRecord())
	}
	err := w.Close(&probes.Summary{})
	if err == nil || err.Error() != "write results to panicky: panic: boom" {
		t.Fatalf("Close = %v", err)
	}
	if n := len(lines(out.String())); n != queueSize*2+1 {
		t.Errorf("healthy sink has %d lines, want %d", n, queueSize*2+1)
	}
}
