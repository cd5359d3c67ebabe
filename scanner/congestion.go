package scanner

import (
	"math"
	"net"
	"time"
)

// Congestion control of the connect-ahead stage.
//
// A sweep cannot tell an address that drops SYNs (filtered) from a live server whose accept
// queue is full: both leave a connect pending. It can tell afterwards, in aggregate: a connect
// that succeeds only after the kernel retransmitted its SYN (after about a second on Linux, whose
// initial SYN retransmission timeout is 1 s) was to a live server that dropped the first SYN, and
// a host that accepted the connection and then did not answer (io-timeout) or reset it was live
// and overloaded. The window below bounds the live-looking work in flight: connected hosts
// (waiting for a probe slot or being probed), connects younger than agedAfter, and connects older
// than that weighted by the share of such connects that turned out to reach a live server. It is
// halved when the share of overload signs among recent live-looking outcomes passes
// overloadShare, and, while it is what limits the admissions, grows by one per clean outcome (a
// connect that completed promptly, a host that answered). Refused connects and connects to filtered addresses are no sign either way: a
// sweep over mostly empty address space keeps its pace, and one overloaded server slows only the
// work that reaches it (and everything else by the same factor, which is the price of not knowing
// which addresses share a server).
const (
	// agedAfter is when a pending connect stops counting as fully live-looking (it then counts
	// with the estimated share of aged connects that reach a live server): a live server that is
	// not overloaded answers a SYN within a round trip. On a network where round trips are
	// longer, connects to live hosts age too and the estimate learns that they connect.
	agedAfter = 200 * time.Millisecond
	// slowConnect is the connect latency from which a successful connect counts as an overload
	// sign (its first SYN went unanswered).
	slowConnect = 900 * time.Millisecond
	// overloadShare is the share of overload signs among an epoch's live-looking outcomes above
	// which the window is halved.
	overloadShare = 0.10
	// epochEvents and epochMin close an epoch: at least epochEvents outcomes, or epochMax
	// elapsed with at least epochMinEvents.
	epochEvents    = 32
	epochMinEvents = 4
	epochMax       = time.Second
	// decreaseHold is the least time between two decreases: the effect of a smaller window shows
	// only once the connects made under the larger one have ended.
	decreaseHold = time.Second
	// limitedRecently is how long after the window last limited an admission a clean outcome
	// still grows it.
	limitedRecently = time.Second
	// agedAlpha is the weight of one outcome of an aged connect in the live estimate.
	agedAlpha = 1.0 / 16
)

// Congestion is the congestion window of the connect-ahead stage (see Config.Congestion). Its
// zero value is not usable; make one with NewCongestion. It is used by one Run at a time (the
// stage's loop owns it while it runs); times are passed in, so it is tested without sleeping.
type Congestion struct {
	w, min, max float64
	// agedLive estimates the share of aged connects that reach a live server (an exponentially
	// weighted average of their outcomes: 1 connected, 0 timed out).
	agedLive float64

	limitedAt  time.Time // when the window last stood in the way of an admission
	good, bad  int       // outcomes in the current epoch
	epochStart time.Time // zero until the first outcome
	holdUntil  time.Time // no decrease before
	decreases  uint64    // halvings so far
	signs      uint64    // overload signs so far
	outcomes   uint64    // live-looking outcomes so far
}

// NewCongestion returns a congestion window for a sweep: give it to the Run of the pass and to
// the RunTargets of its rechecks, so that they start from what the pass learned. Its size is set
// by the first run that uses it.
func NewCongestion() *Congestion {
	return &Congestion{agedLive: 1} // until connects age out, assume they reach a live server
}

// init sizes a window that no run has used yet: initial, kept within [lo, hi].
func (c *Congestion) init(initial, lo, hi int) {
	if c.max > 0 {
		return
	}
	lo = max(lo, 1)
	hi = max(hi, lo)
	c.w, c.min, c.max = float64(min(max(initial, lo), hi)), float64(lo), float64(hi)
}

// window returns the current window.
func (c *Congestion) window() int { return int(c.w) }

// CongestionStats is what a congestion window saw.
type CongestionStats struct {
	Window    int     // the window now
	Outcomes  uint64  // live-looking outcomes
	Signs     uint64  // of which overload signs
	Decreases uint64  // halvings of the window
	AgedLive  float64 // estimated share of aged connects that reach a live server
}

// Stats returns what the window saw so far.
func (c *Congestion) Stats() CongestionStats {
	return CongestionStats{Window: c.window(), Outcomes: c.outcomes, Signs: c.signs, Decreases: c.decreases, AgedLive: c.agedLive}
}

// load returns the live-looking work in flight: connected hosts, fresh connects, and aged ones
// weighted by the estimate that they reach a live server (rounded up, so that one aged connect to
// a server known to be overloaded counts).
func (c *Congestion) load(connected, fresh, aged int) int {
	return connected + fresh + int(math.Ceil(c.agedLive*float64(aged)))
}

// agedOutcome records how a connect that had aged ended: connected (late) or not.
func (c *Congestion) agedOutcome(connected bool) {
	x := 0.0
	if connected {
		x = 1
	}
	c.agedLive += agedAlpha * (x - c.agedLive)
}

// limited records that the window is what keeps the stage from admitting more targets. The
// window grows only while it limits: a sweep held back by its probe slots or its connected
// queue (a healthy network, where every connect completes at once) keeps the window where it
// is, instead of growing it to a size that would let thousands of connects go out at once.
func (c *Congestion) limited(now time.Time) { c.limitedAt = now }

// outcome records one live-looking outcome: an overload sign (a slow connect, a host that
// stopped answering or reset the connection, a probe's own connect that timed out) or a clean
// one.
func (c *Congestion) outcome(now time.Time, overload bool) {
	c.outcomes++
	if overload {
		c.bad++
		c.signs++
	} else {
		c.good++
		if !c.limitedAt.IsZero() && now.Sub(c.limitedAt) < limitedRecently {
			c.w = min(c.max, c.w+1)
		}
	}
	if c.epochStart.IsZero() {
		c.epochStart = now
	}
	n := c.good + c.bad
	if n < epochEvents && (now.Sub(c.epochStart) < epochMax || n < epochMinEvents) {
		return
	}
	if float64(c.bad) > overloadShare*float64(n) && !now.Before(c.holdUntil) {
		c.w = max(c.min, c.w/2)
		c.holdUntil = now.Add(decreaseHold)
		c.decreases++
	}
	c.good, c.bad, c.epochStart = 0, 0, now
}

// slowConnectSign reports whether a connect that took latency to succeed is an overload sign:
// it took about a second or more and, where the kernel says (TCP_INFO on Linux), its SYN was
// retransmitted; a connect that only looks slow because the scanner was slow to notice it (a
// busy machine) is not.
func slowConnectSign(c net.Conn, latency time.Duration) bool {
	if latency < slowConnect {
		return false
	}
	retrans, known := synRetransmitted(c)
	return retrans || !known
}
