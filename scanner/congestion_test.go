package scanner

import (
	"net"
	"testing"
	"time"
)

// TestCongestionWindow drives the window with outcomes at chosen times: it grows only while it
// limits and the last epoch was not saturated (one per clean outcome in slow start, about one per
// window after the first decrease), halves when more than a tenth of an epoch's outcomes are
// overload signs, at most once per second, and never leaves [2, probe slots].
func TestCongestionWindow(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	c := NewCongestion()
	c.bound(64)
	if w := c.window(); w != initialWindow {
		t.Fatalf("initial window %d, want %d", w, initialWindow)
	}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	// A later run with fewer probe slots (a recheck) keeps the first run's bound.
	c.bound(8)
	if c.max != 64 {
		t.Fatalf("bound %v after a second run, want the first run's 64", c.max)
	}
	// Not limited: clean outcomes leave the window alone.
	for i := range 10 {
		c.outcome(at(i), outcomeClean)
	}
	if w := c.window(); w != initialWindow {
		t.Fatalf("window %d after clean outcomes while not limiting, want %d", w, initialWindow)
	}
	// Limited: slow start, one per clean outcome, up to the bound.
	c.limited(at(10))
	for i := range 20 {
		c.outcome(at(11+i), outcomeClean)
	}
	if w := c.window(); w != initialWindow+20 {
		t.Fatalf("window %d after 20 clean outcomes in slow start, want %d", w, initialWindow+20)
	}
	for i := range 100 {
		c.limited(at(40 + i))
		c.outcome(at(40+i), outcomeClean)
	}
	if w := c.window(); w != 64 {
		t.Fatalf("window %d, want the bound 64", w)
	}

	// An epoch of 32 outcomes with 3 signs (under a tenth) keeps it; with 4 it halves.
	epoch := func(start int, signs int) {
		for i := range epochEvents {
			kind := outcomeClean
			if i < signs {
				kind = outcomeOverload
			}
			c.outcome(at(start+i), kind)
		}
	}
	c = NewCongestion()
	c.bound(256)
	c.w = 100
	epoch(0, 3)
	if w := c.window(); w != 100 {
		t.Fatalf("window %d after an epoch with 3/32 signs, want 100", w)
	}
	epoch(100, 4)
	if w := c.window(); w != 50 {
		t.Fatalf("window %d after an epoch with 4/32 signs, want 50", w)
	}
	// A second bad epoch within decreaseHold does not halve again; one after it does.
	epoch(200, 32)
	if w := c.window(); w != 50 {
		t.Fatalf("window %d after a second bad epoch within %v, want 50", w, decreaseHold)
	}
	epoch(1200, 32)
	if w := c.window(); w != 25 {
		t.Fatalf("window %d after a bad epoch %v later, want 25", w, decreaseHold)
	}
	if st := c.Stats(); st.Decreases != 2 || st.Signs != 3+4+32+32 || st.Outcomes != 4*epochEvents {
		t.Fatalf("stats %+v", st)
	}
	// No growth in the epoch after one with overload signs; after a decrease, growth is about
	// one per window of clean outcomes.
	c.limited(at(1300))
	epoch(1300, 0)
	if w := c.window(); w != 25 {
		t.Fatalf("window %d after a clean epoch following a bad one, want 25", w)
	}
	for i := range 25 {
		c.limited(at(1400 + i))
		c.outcome(at(1400+i), outcomeClean)
	}
	if w := c.window(); w != 25 && w != 26 {
		t.Fatalf("window %d after 25 clean outcomes past a decrease, want 25 or 26", w)
	}
	// Saturation signs (over a tenth of an epoch) stop growth but do not shrink the window.
	c = NewCongestion()
	c.bound(256)
	c.w = 100
	for i := range epochEvents {
		kind := outcomeClean
		if i < 8 {
			kind = outcomeSaturated
		}
		c.limited(at(2000 + i))
		c.outcome(at(2000+i), kind)
	}
	if w := c.window(); w != 100 {
		t.Fatalf("window %d after an epoch beginning with saturation signs, want 100 (no growth, no decrease)", w)
	}
	for i := range 10 {
		c.limited(at(2100 + i))
		c.outcome(at(2100+i), outcomeClean)
	}
	if w := c.window(); w != 100 {
		t.Fatalf("window %d in the epoch after a saturated one, want 100", w)
	}
	if st := c.Stats(); st.Saturation != 8 || st.Signs != 0 || st.Decreases != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A slow epoch (fewer than epochEvents outcomes) closes after epochMax.
	c = NewCongestion()
	c.bound(256)
	c.w = 40
	for i := range epochMinEvents {
		c.outcome(at(5000+i*400), outcomeOverload)
	}
	if w := c.window(); w != 20 {
		t.Fatalf("window %d after %d signs over %v, want 20", w, epochMinEvents, epochMax)
	}
	// The floor.
	for i := range 20 {
		epoch(10000+i*1500, 32)
	}
	if w := c.window(); w != 2 {
		t.Fatalf("window %d after many bad epochs, want the floor 2", w)
	}
}

// TestCongestionAgedCap: the cap on aged connects starts where the first run puts it, grows by
// two per aged connect that times out and shrinks by four per aged connect that connects after
// all, within its bounds; a later run (a recheck) keeps what the first learned.
func TestCongestionAgedCap(t *testing.T) {
	c := NewCongestion()
	c.boundAged(1024, 64, 8192)
	if got := c.agedLimit(); got != 1024 {
		t.Fatalf("initial aged cap %d, want 1024", got)
	}
	for range 500 {
		c.agedOutcome(false)
	}
	if got := c.agedLimit(); got != 2024 {
		t.Fatalf("aged cap %d after 500 timeouts, want 2024", got)
	}
	for range 10 {
		c.agedOutcome(true)
	}
	if got := c.agedLimit(); got != 1984 {
		t.Fatalf("aged cap %d after 10 late connects, want 1984", got)
	}
	for range 5000 {
		c.agedOutcome(true)
	}
	if got := c.agedLimit(); got != 64 {
		t.Fatalf("aged cap %d after many late connects, want the floor 64", got)
	}
	for range 20000 {
		c.agedOutcome(false)
	}
	if got := c.agedLimit(); got != 8192 {
		t.Fatalf("aged cap %d after many timeouts, want the ceiling 8192", got)
	}
	c.boundAged(1024, 16, 4096) // a recheck: keeps what was learned, within its own bounds
	if got := c.agedLimit(); got != 4096 {
		t.Fatalf("aged cap %d in a later run, want 4096", got)
	}
}

// TestCongestionAgedAfter: connects age after a few smoothed connect latencies, within bounds.
func TestCongestionAgedAfter(t *testing.T) {
	c := NewCongestion()
	if d := c.agedAfter(); d != agedInitial {
		t.Fatalf("agedAfter %v before any connect, want %v", d, agedInitial)
	}
	now := time.Unix(1_000_000, 0)
	c.connected(now, 100*time.Microsecond, false)
	if d := c.agedAfter(); d != agedMin {
		t.Fatalf("agedAfter %v after a 100µs connect, want the floor %v", d, agedMin)
	}
	for range 100 {
		c.connected(now, 50*time.Millisecond, false)
	}
	if d := c.agedAfter(); d < 190*time.Millisecond || d > 200*time.Millisecond {
		t.Fatalf("agedAfter %v after 50ms connects, want about 200ms", d)
	}
	c.connected(now, 5*time.Second, true) // a slow connect is a sign, not a latency sample
	if d := c.agedAfter(); d > 200*time.Millisecond {
		t.Fatalf("agedAfter %v: a slow connect changed the latency estimate", d)
	}
	for range 100 {
		c.connected(now, 800*time.Millisecond, false)
	}
	if d := c.agedAfter(); d != agedMax {
		t.Fatalf("agedAfter %v after 800ms connects, want the ceiling %v", d, agedMax)
	}
}

// TestSlowConnectSign: a connect under slowConnect is never a sign; a slower one is, unless the
// kernel says its SYN was not retransmitted (the scanner was merely slow to notice it).
func TestSlowConnectSign(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if slowConnectSign(a, slowConnect-time.Millisecond) {
		t.Error("a connect under slowConnect counted as a sign")
	}
	if !slowConnectSign(a, 2*time.Second) { // a pipe: the kernel cannot say
		t.Error("a 2s connect on a connection without TCP_INFO is not a sign")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	retrans, known := synRetransmitted(c)
	if retrans {
		t.Fatal("a loopback connect to a listening socket had its SYN retransmitted")
	}
	if known && slowConnectSign(c, 2*time.Second) {
		t.Error("a connect the kernel says was not retransmitted counted as a sign because the scanner noticed it late")
	}
}

// TestCongestionQueueing: probe times feed the window. While the hosts of an epoch take about as
// long as in the fastest epoch, a limited window grows; once they take more than twice as long and
// more than an eighth of the host deadline it stops growing (Queued counts the epoch), and past a
// quarter of the deadline it is halved. High probe times that are not queueing (the fastest epoch
// was as slow: a distant network) do not stop growth.
func TestCongestionQueueing(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	epoch := func(c *Congestion, from int, took time.Duration) int {
		for i := range epochEvents {
			c.limited(ms(from + i))
			c.probed(ms(from+i), outcomeClean, took)
		}
		return from + epochEvents
	}
	c := NewCongestion()
	c.bound(10000)
	c.setDeadline(10 * time.Second)
	at := epoch(c, 0, 10*time.Millisecond) // the fastest epoch: 10 ms
	w0 := c.window()
	at = epoch(c, at, 15*time.Millisecond) // slower, but not twice: grows
	if c.window() <= w0 || c.Stats().Queued != 0 {
		t.Fatalf("window %d (was %d), %d queued epochs: want growth, none queued", c.window(), w0, c.Stats().Queued)
	}
	// Twice as slow but far from the deadline: still grows.
	w1 := c.window()
	at = epoch(c, at, 500*time.Millisecond)
	if c.window() <= w1 || c.Stats().Queued != 0 {
		t.Fatalf("window %d (was %d) after 500 ms probes: want growth", c.window(), w1)
	}
	// 2 s (over 1.25 s, an eighth of 10 s): the epoch queued; the next epoch does not grow.
	at = epoch(c, at, 2*time.Second)
	if c.Stats().Queued != 1 {
		t.Fatalf("%d queued epochs after 2 s probes, want 1", c.Stats().Queued)
	}
	w2 := c.window()
	at = epoch(c, at, 2*time.Second)
	if c.window() != w2 || c.Stats().Decreases != 0 {
		t.Fatalf("window %d (was %d), %d decreases while queueing: want it held", c.window(), w2, c.Stats().Decreases)
	}
	// 3 s (over a quarter of the deadline): halved.
	epoch(c, at, 3*time.Second)
	if c.Stats().Decreases != 1 || c.window() != w2/2 {
		t.Fatalf("window %d, %d decreases after 3 s probes: want %d, 1", c.window(), c.Stats().Decreases, w2/2)
	}

	// A distant network: every epoch takes 3 s from the start; nothing is queueing.
	d := NewCongestion()
	d.bound(10000)
	d.setDeadline(10 * time.Second)
	at = 0
	for range 4 {
		at = epoch(d, at, 3*time.Second)
	}
	if d.Stats().Queued != 0 || d.Stats().Decreases != 0 || d.window() <= initialWindow {
		t.Fatalf("distant network: window %d, %d queued, %d decreases: want growth only", d.window(), d.Stats().Queued, d.Stats().Decreases)
	}
	// No deadline known: no queueing signal.
	e := NewCongestion()
	e.bound(10000)
	epoch(e, 0, time.Millisecond)
	epoch(e, epochEvents, time.Hour)
	if e.Stats().Queued != 0 {
		t.Fatal("queueing signalled without a host deadline")
	}
}
