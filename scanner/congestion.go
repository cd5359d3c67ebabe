package scanner

import (
	"math"
	"net"
	"time"
)

// Congestion control of the connect-ahead stage.
//
// A sweep cannot tell an address that drops SYNs (filtered) from a live server whose accept
// queue is full: both leave a connect pending. It can tell afterwards, in aggregate, from the
// live hosts it reaches:
//
//   - a connect that succeeded only after the kernel retransmitted its SYN (after a second on
//     Linux) reached a server whose accept queue was full: the server is saturated, working as
//     fast as it can, and more work at once would only queue (a saturation sign);
//   - a host that accepted the connection and then did not answer within its deadline
//     (io-timeout) or reset it, or whose later connection timed out, was given more than it
//     could do: the work it did for that host was wasted and the host must be probed again (an
//     overload sign).
//
// A host that answered is a clean outcome, and how long its probe took is measured: when the
// hosts of an epoch took, on average, more than twice as long as in the fastest epoch so far and
// more than an eighth of the host deadline, probes are queueing (for the scanner's CPU or the
// server's) and the window stops growing (a saturation sign: more at once would only make every
// host wait longer, for no more hosts per second); past a quarter of the host deadline the
// window is halved as on overload signs, before hosts start missing their deadline.
// A host that answered is a clean outcome. Connects that completed at once (the kernel completes
// them whether or not the server keeps up), refused connects and connects that never complete are
// no outcome, so a sweep of mostly empty space is not slowed by them.
//
// The window W bounds the probes running at once (a connected host waits for a probe slot while
// W hosts are being probed) and, with half of it, the connects that may soon reach a live server
// (connected hosts waiting for a probe slot, and fresh connects: younger than a few connect round
// trips, see agedAfter). Older connects are bounded apart, by a cap that grows by one for each
// aged connect that times out and shrinks by two for each that connects after all: against
// filtered addresses thousands wait side by side, against a server whose accept queue is full
// few do. While W is what limits the stage and the last epoch showed no saturation, each clean
// outcome adds one to W until the first decrease (slow start) and one per window after it; W is
// halved when overload signs pass overloadShare of an epoch's outcomes, at most once per
// decreaseHold. A saturated server is kept saturated (that is its best throughput: Samba, for
// one, completes more hosts per second with more sessions at once, until they start to time
// out), and only a server that wastes work is given less. One overloaded server among many
// healthy ones slows the whole sweep by the same factor: the price of not knowing which addresses
// share a server.
const (
	// initialWindow is where a window starts (slow start: each clean outcome adds one while the
	// window limits, so a healthy network reaches the probe slots after a few round trips).
	initialWindow = 16
	// slowConnect is the connect latency from which a successful connect may be an overload sign
	// (Linux retransmits an unanswered SYN after 1 s; see slowConnectSign).
	slowConnect = 900 * time.Millisecond
	// overloadShare is the share of overload signs among an epoch's outcomes above which the
	// window is halved, and saturationShare the share of saturation signs from which it stops
	// growing.
	overloadShare   = 0.10
	saturationShare = 0.10
	// An epoch closes after epochEvents outcomes, or after epochMax with epochMinEvents.
	epochEvents    = 32
	epochMinEvents = 4
	epochMax       = time.Second
	// decreaseHold is the least time between two decreases: the effect of a smaller window shows
	// only once the work started under the larger one has ended.
	decreaseHold = time.Second
	// limitedRecently is how long after the window last limited the stage a clean outcome still
	// grows it.
	limitedRecently = time.Second
	// An aged connect that times out lets agedGrow more connects age; one that connects after
	// all (its server's accept queue was full) lets agedShrink fewer.
	agedGrow   = 2
	agedShrink = 4
	// A connect ages after agedRTTs times the smoothed latency of clean connects, within
	// [agedMin, agedMax]; agedInitial until a connect completed.
	agedRTTs    = 4
	agedMin     = 10 * time.Millisecond
	agedMax     = time.Second
	agedInitial = 200 * time.Millisecond
	// queueFactor: an epoch whose probes took queueFactor times the fastest epoch's are queueing;
	// queueSaturated and queueOverload are the shares of the host deadline from which that
	// queueing stops growth and halves the window.
	queueFactor    = 2
	queueSaturated = 8
	queueOverload  = 4
)

// Congestion is the congestion window of the connect-ahead stage (see Config.Congestion). Its
// zero value is not usable; make one with NewCongestion. It is used by one Run at a time (the
// stage's loop owns it while it runs); times are passed in, so it is tested without sleeping.
type Congestion struct {
	w, min, max float64
	bounded     bool    // max was set by a run
	ssthresh    float64 // slow start (one more per clean outcome) below, one more per window above
	// agedCap bounds the aged connects, within [agedLo, agedHi]; 0 until a run sets it.
	agedCap, agedLo, agedHi float64
	// srtt is the smoothed latency of clean connects (0 until the first).
	srtt time.Duration
	// deadline is the host deadline (0: unknown, no queueing signal); psum and pn are the probe
	// times of the current epoch's clean outcomes, pbase the lowest epoch average so far.
	deadline    time.Duration
	psum, pbase time.Duration
	pn          int
	queued      uint64 // epochs that showed queueing

	limitedAt       time.Time // when the window last limited the stage
	good, slow, bad int       // outcomes in the current epoch: clean, saturation and overload signs
	saturated       bool      // the last epoch showed saturation: no growth
	epochStart      time.Time // zero until the first outcome
	holdUntil       time.Time // no decrease before
	decreases       uint64    // halvings so far
	signs           uint64    // overload signs so far
	slowSigns       uint64    // saturation signs so far
	outcomes        uint64    // outcomes so far
}

// NewCongestion returns a congestion window for a sweep: give it to the Run of the pass and to
// the RunTargets of its rechecks, so that they start from what the pass learned.
func NewCongestion() *Congestion {
	return &Congestion{w: initialWindow, min: 2, max: DefaultConcurrency, ssthresh: math.Inf(1)}
}

// bound keeps the window within [2, hi], hi being the probe slots of the first run that uses
// it (a recheck with fewer probe slots keeps the pass's bound: its probe slots limit it anyway,
// and the window also sizes how many connects it makes at once).
func (c *Congestion) bound(hi int) {
	if !c.bounded {
		c.max, c.bounded = float64(max(hi, 2)), true
	}
	c.w = min(max(c.w, c.min), c.max)
}

// window returns the current window.
func (c *Congestion) window() int { return int(c.w) }

// agedAfter returns how long a connect counts as fresh.
func (c *Congestion) agedAfter() time.Duration {
	if c.srtt == 0 {
		return agedInitial
	}
	return min(max(agedRTTs*c.srtt, agedMin), agedMax)
}

// boundAged keeps the aged connects' cap within [lo, hi], starting at initial when no run has
// set it yet.
func (c *Congestion) boundAged(initial, lo, hi int) {
	c.agedLo, c.agedHi = float64(lo), float64(max(hi, lo))
	if c.agedCap == 0 {
		c.agedCap = float64(initial)
	}
	c.agedCap = min(max(c.agedCap, c.agedLo), c.agedHi)
}

// agedLimit returns how many connects may be aged at once.
func (c *Congestion) agedLimit() int { return int(c.agedCap) }

// CongestionStats is what a congestion window saw.
type CongestionStats struct {
	Window     int    // the window now
	Outcomes   uint64 // live-looking outcomes
	Signs      uint64 // of which overload signs (io-timeouts, resets, connects of live hosts that timed out)
	Saturation uint64 // and saturation signs (connects whose SYN was retransmitted)
	Decreases  uint64 // halvings of the window
	Queued     uint64 // epochs whose probes queued (see Congestion)
	AgedCap    int    // how many connects may be aged at once
}

// Stats returns what the window saw so far.
func (c *Congestion) Stats() CongestionStats {
	return CongestionStats{Window: c.window(), Outcomes: c.outcomes, Signs: c.signs, Saturation: c.slowSigns,
		Decreases: c.decreases, Queued: c.queued, AgedCap: c.agedLimit()}
}

// agedOutcome records how a connect that had aged ended: connected after all (its server's
// accept queue was full: aged connects may be reaching live servers, fewer may wait) or timed out
// (nothing answers there: more may wait).
func (c *Congestion) agedOutcome(connected bool) {
	if connected {
		c.agedCap = max(c.agedLo, c.agedCap-agedShrink)
	} else {
		c.agedCap = min(c.agedHi, c.agedCap+agedGrow)
	}
}

// connected records a successful connect that took latency, slow when its SYN was
// retransmitted (a saturation sign). A prompt connect is no outcome: the kernel completes it
// whether or not the server keeps up (it only feeds the latency estimate).
func (c *Congestion) connected(now time.Time, latency time.Duration, slow bool) {
	if slow {
		c.outcome(now, outcomeSaturated)
		return
	}
	if c.srtt == 0 {
		c.srtt = latency
	} else {
		c.srtt += (latency - c.srtt) / 8
	}
}

// limited records that the window is what keeps the stage from starting a probe or admitting a
// target. The window grows only while it limits: a sweep held back by its probe slots (a healthy
// network) keeps its window where it is.
func (c *Congestion) limited(now time.Time) { c.limitedAt = now }

// Outcome kinds.
const (
	outcomeClean     = iota // a connect that completed at once, a host that answered
	outcomeSaturated        // a connect whose SYN was retransmitted
	outcomeOverload         // a host that stopped answering or reset, a later connect that timed out
)

// setDeadline tells the window the host deadline, which scales the queueing signal.
func (c *Congestion) setDeadline(d time.Duration) { c.deadline = d }

// probed records a host whose probe ended after took: kind as for outcome; a clean outcome's
// probe time feeds the queueing signal.
func (c *Congestion) probed(now time.Time, kind int, took time.Duration) {
	if kind == outcomeClean && took > 0 {
		c.psum += took
		c.pn++
	}
	c.outcome(now, kind)
}

// queueing returns what the probe times of the epoch now closing say: saturated (probes queue,
// do not grow) and overloaded (they queue near the host deadline, decrease).
func (c *Congestion) queueing() (saturated, overloaded bool) {
	if c.pn == 0 || c.deadline <= 0 {
		return false, false
	}
	avg := c.psum / time.Duration(c.pn)
	if c.pbase == 0 || avg < c.pbase {
		c.pbase = avg
	}
	if avg <= queueFactor*c.pbase {
		return false, false
	}
	return avg > c.deadline/queueSaturated, avg > c.deadline/queueOverload
}

// outcome records one live-looking outcome.
func (c *Congestion) outcome(now time.Time, kind int) {
	c.outcomes++
	switch kind {
	case outcomeOverload:
		c.bad++
		c.signs++
	case outcomeSaturated:
		c.slow++
		c.slowSigns++
	default:
		c.good++
		if !c.saturated && c.slow == 0 && c.bad == 0 && !c.limitedAt.IsZero() && now.Sub(c.limitedAt) < limitedRecently {
			if c.w < c.ssthresh {
				c.w = min(c.max, c.w+1)
			} else {
				c.w = min(c.max, c.w+1/c.w)
			}
		}
	}
	if c.epochStart.IsZero() {
		c.epochStart = now
	}
	n := c.good + c.slow + c.bad
	if n < epochEvents && (now.Sub(c.epochStart) < epochMax || n < epochMinEvents) {
		return
	}
	queued, late := c.queueing()
	if queued {
		c.queued++
	}
	if (late || float64(c.bad) > overloadShare*float64(n)) && !now.Before(c.holdUntil) {
		c.w = max(c.min, c.w/2)
		c.ssthresh = c.w
		c.holdUntil = now.Add(decreaseHold)
		c.decreases++
	}
	c.saturated = c.bad > 0 || queued || float64(c.slow) > saturationShare*float64(n)
	c.good, c.slow, c.bad, c.epochStart = 0, 0, 0, now
	c.psum, c.pn = 0, 0
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
