package scanner

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// epoch anchors Progress start times so they can be stored atomically as an offset while keeping
// the monotonic clock reading.
var epoch = time.Now()

// Progress counts a run's targets. All fields are safe for concurrent use; Run sets Total and the
// start time and keeps Done and InFlight current.
type Progress struct {
	Total    atomic.Uint64 // targets in the run
	Done     atomic.Uint64 // targets whose result was emitted
	InFlight atomic.Int64  // targets being probed now

	// HostTimeout is each host's deadline (Run sets it from Config.HostTimeout unless set): it
	// bounds the ETA when every remaining target is in flight.
	HostTimeout time.Duration

	start     atomic.Int64 // nanoseconds since epoch, +1 (0 = not started)
	lastStart atomic.Int64 // when the latest in-flight host started, same encoding

	now func() time.Time // the clock; time.Now when nil (tests replace it)
}

// begin records the run's size and, unless set already, its start time.
func (p *Progress) begin(total uint64) {
	p.Total.Store(total)
	p.start.CompareAndSwap(0, int64(p.clock().Sub(epoch))+1)
}

// hostStarted records one more host in flight, started now.
func (p *Progress) hostStarted() {
	p.lastStart.Store(int64(p.clock().Sub(epoch)) + 1)
	p.InFlight.Add(1)
}

// inFlightBound returns how long the hosts in flight can take at most (the latest one's
// deadline), and whether that bounds the rest of the run: every remaining target is in flight.
func (p *Progress) inFlightBound(now time.Time) (time.Duration, bool) {
	done, total, inFlight := p.Done.Load(), p.Total.Load(), p.InFlight.Load()
	last := p.lastStart.Load()
	if p.HostTimeout <= 0 || inFlight <= 0 || last == 0 || done >= total || total-done > uint64(inFlight) {
		return 0, false
	}
	left := epoch.Add(time.Duration(last - 1)).Add(p.HostTimeout).Sub(now)
	return max(left, 0), true
}

// SetStart sets the start time from which Elapsed, Rate and ETA are measured.
func (p *Progress) SetStart(t time.Time) { p.start.Store(int64(t.Sub(epoch)) + 1) }

// Start returns the start time, or the zero Time before the run began.
func (p *Progress) Start() time.Time {
	v := p.start.Load()
	if v == 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(v - 1))
}

func (p *Progress) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// Elapsed returns the time since the start (0 before it).
func (p *Progress) Elapsed(now time.Time) time.Duration {
	s := p.Start()
	if s.IsZero() || now.Before(s) {
		return 0
	}
	return now.Sub(s)
}

// Rate returns the average number of targets finished per second since the start.
func (p *Progress) Rate(now time.Time) float64 {
	el := p.Elapsed(now)
	if el <= 0 {
		return 0
	}
	return float64(p.Done.Load()) / el.Seconds()
}

// ETA estimates the time left at the average rate so far; ok is false while no target has
// finished yet. (Line says "at most" the in-flight hosts' deadline instead once only hosts in
// flight remain: the average rate of fast hosts says nothing about a silent one.)
func (p *Progress) ETA(now time.Time) (eta time.Duration, ok bool) {
	done, total := p.Done.Load(), p.Total.Load()
	if done >= total {
		return 0, true
	}
	r := p.Rate(now)
	if r <= 0 {
		return 0, false
	}
	secs := float64(total-done) / r
	if secs > float64(1<<62)/1e9 { // beyond what a Duration holds
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// Line formats the progress at now, e.g.
//
//	[0:00:12] 1532/65536 hosts (2.3%) | 127.6 hosts/s | in flight 256 | ETA 8m21s
func (p *Progress) Line(now time.Time) string {
	done, total := p.Done.Load(), p.Total.Load()
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	el := p.Elapsed(now) / time.Second
	eta := "ETA -"
	if b, ok := p.inFlightBound(now); ok {
		eta = "ETA at most " + b.Round(time.Second).String()
	} else if d, ok := p.ETA(now); ok {
		eta = "ETA " + d.Round(time.Second).String()
	}
	return fmt.Sprintf("[%d:%02d:%02d] %d/%d hosts (%.1f%%) | %.1f hosts/s | in flight %d | %s",
		el/3600, el/60%60, el%60, done, total, pct, p.Rate(now), p.InFlight.Load(), eta)
}

// Print writes progress to w every interval until stop is closed, then writes a final line and
// returns; run it in its own goroutine and wait for it to return before exiting. On a terminal
// (tty) it keeps rewriting one line ("\r", text, clear to end of line) and ends it with a newline;
// otherwise it writes one plain line per interval. Write errors are ignored: progress output is
// best effort.
func (p *Progress) Print(w io.Writer, tty bool, interval time.Duration, stop <-chan struct{}) {
	if interval <= 0 {
		interval = time.Second
	}
	write := func(final bool) {
		line := p.Line(p.clock())
		switch {
		case tty && final:
			fmt.Fprintf(w, "\r%s\x1b[K\n", line)
		case tty:
			fmt.Fprintf(w, "\r%s\x1b[K", line)
		default:
			fmt.Fprintln(w, line)
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			write(true)
			return
		case <-tick.C:
			write(false)
		}
	}
}
