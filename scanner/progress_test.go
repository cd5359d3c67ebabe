package scanner

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProgress returns a Progress whose clock reads start+elapsed.
func fakeProgress(elapsed time.Duration, total, done uint64, inFlight int64) *Progress {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Progress{now: func() time.Time { return start.Add(elapsed) }}
	p.SetStart(start)
	p.Total.Store(total)
	p.Done.Store(done)
	p.InFlight.Store(inFlight)
	return p
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		elapsed     time.Duration
		total, done uint64
		inFlight    int64
		want        string
	}{
		{12 * time.Second, 65536, 1532, 256, "[0:00:12] 1532/65536 hosts (2.3%) | 127.7 hosts/s | in flight 256 | ETA 8m21s"},
		{0, 100, 0, 0, "[0:00:00] 0/100 hosts (0.0%) | 0.0 hosts/s | in flight 0 | ETA -"},
		{5 * time.Second, 100, 0, 100, "[0:00:05] 0/100 hosts (0.0%) | 0.0 hosts/s | in flight 100 | ETA -"},
		{3*time.Hour + 2*time.Minute + 5*time.Second, 1 << 24, 1 << 23, 256, "[3:02:05] 8388608/16777216 hosts (50.0%) | 767.8 hosts/s | in flight 256 | ETA 3h2m5s"},
		{time.Minute, 10, 10, 0, "[0:01:00] 10/10 hosts (100.0%) | 0.2 hosts/s | in flight 0 | ETA 0s"},
		{time.Second, 0, 0, 0, "[0:00:01] 0/0 hosts (0.0%) | 0.0 hosts/s | in flight 0 | ETA 0s"},
	}
	for _, tc := range tests {
		p := fakeProgress(tc.elapsed, tc.total, tc.done, tc.inFlight)
		if got := p.Line(p.clock()); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	// Before the start, nothing has elapsed.
	var p Progress
	if !p.Start().IsZero() || p.Elapsed(time.Now()) != 0 || p.Rate(time.Now()) != 0 {
		t.Error("unstarted progress reports time")
	}
	// begin keeps an earlier start.
	q := fakeProgress(time.Minute, 0, 0, 0)
	s := q.Start()
	q.begin(5)
	if !q.Start().Equal(s) || q.Total.Load() != 5 {
		t.Errorf("begin changed the start or missed the total")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressPrint(t *testing.T) {
	const line = "[0:00:12] 1532/65536 hosts (2.3%) | 127.7 hosts/s | in flight 256 | ETA 8m21s"
	for _, tty := range []bool{false, true} {
		p := fakeProgress(12*time.Second, 65536, 1532, 256)
		var out syncBuffer
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			p.Print(&out, tty, time.Millisecond, stop)
			close(done)
		}()
		// Wait for at least two periodic updates, then stop.
		waitFor(t, "periodic progress", func() bool { return strings.Count(out.String(), line) >= 2 })
		close(stop)
		<-done
		got := out.String()
		if tty {
			// Every update rewrites the line in place; only the final one ends it.
			if !strings.HasPrefix(got, "\r"+line+"\x1b[K") || !strings.HasSuffix(got, "\r"+line+"\x1b[K\n") || strings.Count(got, "\n") != 1 {
				t.Errorf("tty output %q", got)
			}
			if strings.ReplaceAll(got, "\r"+line+"\x1b[K", "") != "\n" {
				t.Errorf("tty output has other text: %q", got)
			}
		} else {
			if strings.ReplaceAll(got, line+"\n", "") != "" || strings.Contains(got, "\r") || strings.Contains(got, "\x1b") {
				t.Errorf("plain output %q", got)
			}
		}
	}

	// Stopping at once still writes the final line.
	p := fakeProgress(time.Second, 1, 1, 0)
	var out bytes.Buffer
	stop := make(chan struct{})
	close(stop)
	p.Print(&out, false, time.Hour, stop)
	if want := "[0:00:01] 1/1 hosts (100.0%) | 1.0 hosts/s | in flight 0 | ETA 0s\n"; out.String() != want {
		t.Errorf("final line %q, want %q", out.String(), want)
	}
}

// TestProgressETAWhileHostsInFlight: when only hosts in flight remain, the line gives the
// latest one's deadline as an upper bound instead of the average rate's "1s".
func TestProgressETAWhileHostsInFlight(t *testing.T) {
	// 9 of 10 done in 1s, one started 2s ago with a 30s deadline, now 3s in.
	p := fakeProgress(3*time.Second, 10, 9, 0)
	p.HostTimeout = 30 * time.Second
	now := p.clock()
	p.now = func() time.Time { return now.Add(-2 * time.Second) }
	p.hostStarted()
	p.now = func() time.Time { return now }
	if got, want := p.Line(now), "[0:00:03] 9/10 hosts (90.0%) | 3.0 hosts/s | in flight 1 | ETA at most 28s"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// More targets left than in flight: the rate's estimate.
	p.Total.Store(100)
	if got := p.Line(now); !strings.HasSuffix(got, "| ETA 30s") {
		t.Errorf("got %s", got)
	}
	// Without a known deadline, as before.
	p.Total.Store(10)
	p.HostTimeout = 0
	if got := p.Line(now); !strings.HasSuffix(got, "| ETA 0s") {
		t.Errorf("got %s", got)
	}
}
