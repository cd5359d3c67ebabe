package scanner

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// The connect-ahead stage.
//
// Targets wait for their first TCP connection here, outside the probe slots. One goroutine (the
// stage's loop, running in Run's goroutine) admits targets, starts their connects, keeps their
// timers (connect deadline, aging, retry backoff) and hands connected targets to the probe
// workers and failed ones to a few result workers. On Linux a connect in progress is a
// non-blocking socket registered with an epoll instance that one more goroutine waits on
// (connector_linux.go), so a pending connect costs a socket and about two hundred bytes, not a
// goroutine and its stack; elsewhere, and with Config.Dial, each pending connect is a goroutine
// (connector.go). How many targets are admitted is bounded three ways: at most ConnectAhead held
// by the stage (sockets), at most kwait connected targets waiting for a probe slot, and the
// congestion window (congestion.go) over the live-looking work in flight.

// pendState is where a target held by the stage is.
type pendState uint8

const (
	pendConnecting pendState = iota // an attempt in progress
	pendBackoff                     // waiting to retry after a timed-out attempt
	pendConnected                   // connected, waiting for a probe slot
	pendFailed                      // failed, waiting for a result worker
)

// pending is a target held by the connect-ahead stage.
type pending struct {
	t        Target
	fc       *firstConn
	state    pendState
	aged     bool
	attempt  int       // attempts started, counting the current one
	admitted time.Time // the first attempt's start: the stage's host deadline counts from here
	started  time.Time // the current attempt's start
	lastErr  error     // the previous attempt's timeout, while in backoff

	// The connector's handle of the current attempt: slot in the stage's table and its
	// generation (a completion or timer for an older generation is stale).
	slot int32
	gen  uint32
	fd   int                // Linux connector: the socket
	stop context.CancelFunc // goroutine connector: cancels the dial
}

// completion is a connector's report that an attempt ended (goroutine connector: with its
// result) or that its socket became ready (epoll connector: the loop then asks the connector).
type completion struct {
	slot   int32
	gen    uint32
	events uint32
	conn   net.Conn
	err    error
}

// connector makes the connections of the stage. Every method is called from the stage's loop.
type connector interface {
	// start begins an attempt for p (p.slot and p.gen are set). It returns ended=true when the
	// attempt ended at once, with its connection or error.
	start(p *pending, deadline time.Time) (ended bool, conn net.Conn, err error)
	// finish turns the completion c of p's current attempt into its connection or error;
	// again=true means the socket was not ready after all and the attempt goes on.
	finish(p *pending, c completion) (conn net.Conn, err error, again bool)
	// cancel abandons p's current attempt (a later completion for it is stale).
	cancel(p *pending)
	// completions delivers completions; it is closed by close.
	completions() <-chan []completion
	// close releases the connector; attempts in progress must have been cancelled.
	close()
}

// handed is a target handed from the stage to a worker.
type handed struct {
	t  Target
	fc *firstConn
}

// timer kinds of the stage.
const (
	timerAge = iota
	timerDeadline
	timerRetry
)

type stageTimer struct {
	at   time.Time
	slot int32
	gen  uint32
	kind uint8
}

type timerHeap []stageTimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(stageTimer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// queue is a FIFO of pending targets.
type queue struct {
	items []*pending
	head  int
}

func (q *queue) len() int { return len(q.items) - q.head }
func (q *queue) push(p *pending) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, p)
}
func (q *queue) peek() *pending { return q.items[q.head] }
func (q *queue) pop() *pending {
	p := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	return p
}

// stage is the connect-ahead stage of one pool run.
type stage struct {
	ahead       int // most targets held
	kwait       int // most connected targets waiting for a probe slot, and most connects that may reach a live server
	attempts    int // connect attempts per target
	connTimeout time.Duration
	hostTimeout time.Duration
	backoff     time.Duration
	limiter     *rate.Limiter
	attempting  func(Target) // Config.Attempting
	conn        connector
	ctl         *Congestion

	slots []*pending // by slot; nil = free
	free  []int32
	gens  []uint32
	tm    timerHeap

	fresh, aged, backoffN int // attempts in progress by age, and targets in backoff
	connected, failed     queue
	probing               int
	workers, maxWorkers   int    // probe workers started so far, and at most
	spawn                 func() // starts one more probe worker
	held                  int    // every target held: connecting, backoff, connected or failed
	peeked                *Target
	exhausted             bool
	admitting             bool
	aborted               bool
	nextToken             time.Time // the limiter's next token, when waiting for one
	maxPending            int       // most attempts in progress at once (tests)
	maxProbing            int       // most probes at once (tests)
}

// stageDone, when set (tests), is called with the stage when its run ends.
var stageDone func(*stage)

// hostDone is a probe worker's report that a connected target's probe finished.
type hostDone struct {
	overload, slow bool
	took           time.Duration // from handoff to the end of the probe
}

// newStage sets the stage up for one pool run.
func newStage(base context.Context, cfg Config, conc int, hostTimeout time.Duration) *stage {
	s := &stage{
		ahead:       cfg.ConnectAhead,
		kwait:       max(16, min(cfg.ConnectAhead, max(64, conc/4))),
		attempts:    1,
		connTimeout: DefaultConnectTimeout,
		hostTimeout: hostTimeout,
		backoff:     DefaultRetryBackoff,
		admitting:   true,
		attempting:  cfg.Attempting,
	}
	d := cfg.Dialer
	if d != nil {
		if d.ConnectTimeout > 0 {
			s.connTimeout = d.ConnectTimeout
		}
		if d.RetryBackoff > 0 {
			s.backoff = d.RetryBackoff
		}
		s.limiter = d.Limiter
		s.attempts = 1 + max(0, d.Retries)
	}
	if cfg.AheadAttempts > 0 {
		s.attempts = cfg.AheadAttempts
	}
	switch {
	case cfg.Dial != nil:
		s.conn = newGoConnector(base, cfg.Dial)
	case d != nil && d.dial != nil:
		s.conn = newGoConnector(base, func(ctx context.Context, t Target) (net.Conn, error) {
			return d.dial(ctx, "tcp", t.AddrPort().String())
		})
	default:
		s.conn = newConnector(base)
	}
	s.ctl = cfg.Congestion
	if s.ctl == nil {
		s.ctl = NewCongestion()
	}
	s.ctl.bound(conc)
	s.ctl.setDeadline(hostTimeout)
	// Aged connects start bounded by an eighth of ConnectAhead (at least four times kwait): a
	// sweep of filtered space soon earns the rest, an overloaded server is not sent thousands of
	// SYNs before the first of them tell.
	s.ctl.boundAged(max(4*s.kwait, cfg.ConnectAhead/8), s.kwait, cfg.ConnectAhead)
	return s
}

// run runs the stage until every target it admitted was handed on and every connected target's
// probe finished. nextTarget, started and running are the pool's; handoff goes to the probe
// workers, fail to the result workers, done comes back from the probe workers. Probe workers
// are started by spawn as they are needed, up to maxWorkers: a worker is started when a connected
// target may be probed and every worker started so far is busy, so the goroutines (and their
// stacks) follow the probes the congestion window lets run at once, not the probe slots.
func (s *stage) run(ctx, hostParent context.Context, nextTarget func() (Target, bool), started func(),
	handoff, fail chan<- handed, done <-chan hostDone, spawn func(), maxWorkers int) {
	s.spawn, s.maxWorkers = spawn, maxWorkers
	defer s.conn.close()
	if stageDone != nil {
		defer stageDone(s)
	}
	ctxDone, abortDone := ctx.Done(), hostParent.Done()
	events := s.conn.completions()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		s.drain(now, events)
		s.expire(now)
		s.admit(now, nextTarget, started)
		if (s.exhausted || !s.admitting) && s.held == 0 && s.probing == 0 {
			return
		}
		hc, hv, fcn, fv := s.offers(now, handoff, fail)
		var wait <-chan time.Time
		if at, ok := s.nextWake(); ok {
			timer.Reset(max(0, at.Sub(now)))
			wait = timer.C
		}
		select {
		case hc <- hv:
			s.connected.pop()
			s.held--
			s.probing++
			s.maxProbing = max(s.maxProbing, s.probing)
		case fcn <- fv:
			s.failed.pop()
			s.held--
		case cs := <-events:
			now := time.Now()
			for _, c := range cs {
				s.completed(now, c)
			}
		case d := <-done:
			s.probeDone(d)
		case <-wait:
		case <-ctxDone:
			ctxDone = nil
			s.admitting = false
		case <-abortDone:
			abortDone, ctxDone = nil, nil
			s.admitting = false
			s.abort()
		}
		if wait != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// offers returns what the loop can hand on now: the next connected target to a probe worker
// when the congestion window lets it run (starting a worker if all are busy), the next failed
// target to the result workers. A nil channel offers nothing.
func (s *stage) offers(now time.Time, handoff, fail chan<- handed) (hc chan<- handed, hv handed, fcn chan<- handed, fv handed) {
	if s.connected.len() > 0 && (s.aborted || s.canProbe(now)) {
		if s.workers <= s.probing && s.workers < s.maxWorkers {
			s.workers++
			s.spawn()
		}
		p := s.connected.peek()
		hc, hv = handoff, handed{p.t, p.fc}
	}
	if s.failed.len() > 0 {
		p := s.failed.peek()
		fcn, fv = fail, handed{p.t, p.fc}
	}
	return hc, hv, fcn, fv
}

// drain takes the completions that already arrived before the timers run: when the loop runs
// late (a busy machine), a connect that completed in time must not be aged or timed out.
func (s *stage) drain(now time.Time, events <-chan []completion) {
	for {
		select {
		case cs := <-events:
			for _, c := range cs {
				s.completed(now, c)
			}
		default:
			return
		}
	}
}

// probeDone counts a finished probe and tells the congestion control how it went.
func (s *stage) probeDone(d hostDone) {
	s.probing--
	kind := outcomeClean
	switch {
	case d.overload:
		kind = outcomeOverload
	case d.slow:
		kind = outcomeSaturated
	}
	s.ctl.probed(time.Now(), kind, d.took)
}

// nextWake returns when the loop must wake without an event: the earliest timer, or the
// limiter's next token while a target waits for it.
func (s *stage) nextWake() (time.Time, bool) {
	var at time.Time
	ok := false
	if len(s.tm) > 0 {
		at, ok = s.tm[0].at, true
	}
	if !s.nextToken.IsZero() && (!ok || s.nextToken.Before(at)) {
		at, ok = s.nextToken, true
	}
	return at, ok
}

// canAdmit reports whether one more target may be admitted: the stage holds fewer than
// ConnectAhead targets with a socket (and fewer than ConnectAhead failed ones waiting for a
// result worker), fewer aged connects (and connects waiting to retry) than the congestion
// control allows, and the connects that may soon reach a live server (connected targets waiting
// for a probe slot, and fresh connects) are fewer than kwait and half the congestion window (a
// server keeps up with the window's probes, and its accept queue need not hold many connections
// beyond them). When the window is what stands in the way, it is told so (Congestion.limited).
func (s *stage) canAdmit(now time.Time) bool {
	if !s.admitting || s.exhausted || s.held-s.failed.len() >= s.ahead || s.failed.len() >= s.ahead ||
		s.aged+s.backoffN >= s.ctl.agedLimit() {
		return false
	}
	half := max(2, s.ctl.window()/2)
	if s.connected.len()+s.fresh < min(s.kwait, half) {
		return true
	}
	if half < s.kwait {
		s.ctl.limited(now)
	}
	return false
}

// canProbe reports whether a connected target may take a probe slot: fewer probes than the
// congestion window run (the probe slots themselves are the workers).
func (s *stage) canProbe(now time.Time) bool {
	if s.probing < s.ctl.window() {
		return true
	}
	s.ctl.limited(now)
	return false
}

// admit takes targets and starts their first attempt while the limits allow.
func (s *stage) admit(now time.Time, nextTarget func() (Target, bool), started func()) {
	for s.canAdmit(now) {
		var t Target
		if s.peeked != nil {
			t = *s.peeked
		} else {
			var ok bool
			if t, ok = nextTarget(); !ok {
				s.exhausted = true
				return
			}
			started()
		}
		p := &pending{t: t, fc: &firstConn{addr: t.AddrPort().String()}, admitted: now, slot: -1}
		if t.Err != nil { // an unresolved name: no connection to make
			s.peeked = nil
			p.fc.err = t.Err
			s.held++
			s.fail(p)
			continue
		}
		if !s.takeToken(now) {
			s.peeked = &t
			return
		}
		s.peeked = nil
		s.held++
		s.startAttempt(now, p)
		if s.attempting != nil {
			s.attempting(t)
		}
	}
}

// takeToken takes a token from the limiter, or records when the next one comes.
func (s *stage) takeToken(now time.Time) bool {
	s.nextToken = time.Time{}
	if s.limiter == nil || s.limiter.AllowN(now, 1) {
		return true
	}
	lim := float64(s.limiter.Limit())
	if lim <= 0 {
		s.nextToken = now.Add(time.Second)
		return false
	}
	need := 1 - s.limiter.TokensAt(now)
	s.nextToken = now.Add(max(time.Millisecond, time.Duration(need/lim*float64(time.Second))))
	return false
}

// hostDeadline is when the stage gives up on p.
func (s *stage) hostDeadline(p *pending) time.Time { return p.admitted.Add(s.hostTimeout) }

// startAttempt starts p's next attempt.
func (s *stage) startAttempt(now time.Time, p *pending) {
	p.attempt++
	p.state = pendConnecting
	p.aged = false
	p.started = now
	s.track(p)
	deadline := now.Add(s.connTimeout)
	if hd := s.hostDeadline(p); hd.Before(deadline) {
		deadline = hd
	}
	ended, conn, err := s.conn.start(p, deadline)
	if ended {
		s.ended(now, p, conn, err)
		return
	}
	s.fresh++
	s.maxPending = max(s.maxPending, s.fresh+s.aged)
	heap.Push(&s.tm, stageTimer{at: deadline, slot: p.slot, gen: p.gen, kind: timerDeadline})
	if age := now.Add(s.ctl.agedAfter()); age.Before(deadline) {
		heap.Push(&s.tm, stageTimer{at: age, slot: p.slot, gen: p.gen, kind: timerAge})
	}
}

// track gives p a slot for its current attempt.
func (s *stage) track(p *pending) {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = int32(len(s.slots))
		s.slots = append(s.slots, nil)
		s.gens = append(s.gens, 0)
	}
	s.gens[i]++
	s.slots[i], p.slot, p.gen = p, i, s.gens[i]
}

// untrack frees p's slot; later completions and timers of the attempt are stale.
func (s *stage) untrack(p *pending) {
	if p.slot < 0 {
		return
	}
	s.slots[p.slot] = nil
	s.gens[p.slot]++
	s.free = append(s.free, p.slot)
	p.slot = -1
}

// lookup returns the target whose current attempt or backoff has slot i and generation gen.
func (s *stage) lookup(i int32, gen uint32) *pending {
	if i < 0 || int(i) >= len(s.slots) || s.gens[i] != gen {
		return nil
	}
	return s.slots[i]
}

// completed handles a connector's completion.
func (s *stage) completed(now time.Time, c completion) {
	p := s.lookup(c.slot, c.gen)
	if p == nil || p.state != pendConnecting {
		if c.conn != nil { // a goroutine dial that connected after it was abandoned
			c.conn.Close()
		}
		return
	}
	conn, err, again := s.conn.finish(p, c)
	if again {
		return
	}
	s.attemptOver(p)
	s.ended(now, p, conn, err)
}

// attemptOver takes p's attempt out of the in-progress counts.
func (s *stage) attemptOver(p *pending) {
	if p.aged {
		s.aged--
	} else {
		s.fresh--
	}
}

// ended handles the end of p's current attempt (already out of the in-progress counts).
func (s *stage) ended(now time.Time, p *pending, conn net.Conn, err error) {
	s.untrack(p)
	if err == nil {
		latency := now.Sub(p.started)
		if p.aged {
			s.ctl.agedOutcome(true)
		}
		s.ctl.connected(now, latency, slowConnectSign(conn, latency))
		p.fc.conn = conn
		p.state = pendConnected
		s.connected.push(p)
		return
	}
	if isTimeout(err) {
		if p.aged {
			s.ctl.agedOutcome(false)
		}
		if p.attempt < s.attempts && !s.aborted {
			wait := s.backoff << min(p.attempt-1, 10)
			if at := now.Add(wait); at.Before(s.hostDeadline(p)) {
				p.lastErr = err
				p.state = pendBackoff
				s.backoffN++
				s.track(p)
				heap.Push(&s.tm, stageTimer{at: at, slot: p.slot, gen: p.gen, kind: timerRetry})
				return
			}
		}
	}
	if p.attempt > 1 {
		err = fmt.Errorf("%w (after %d attempts)", err, p.attempt)
	}
	p.fc.err = err
	s.fail(p)
}

// fail queues p for a result worker.
func (s *stage) fail(p *pending) {
	p.state = pendFailed
	s.failed.push(p)
}

// expire handles the timers that are due.
func (s *stage) expire(now time.Time) {
	for len(s.tm) > 0 && !s.tm[0].at.After(now) {
		e := heap.Pop(&s.tm).(stageTimer)
		p := s.lookup(e.slot, e.gen)
		if p == nil {
			continue
		}
		switch {
		case e.kind == timerAge && p.state == pendConnecting && !p.aged:
			p.aged = true
			s.fresh--
			s.aged++
		case e.kind == timerDeadline && p.state == pendConnecting:
			s.conn.cancel(p)
			s.attemptOver(p)
			s.ended(now, p, nil, timeoutError(p.t))
		case e.kind == timerRetry && p.state == pendBackoff:
			if !s.takeToken(now) {
				if s.nextToken.Before(s.hostDeadline(p)) {
					heap.Push(&s.tm, stageTimer{at: s.nextToken, slot: p.slot, gen: p.gen, kind: timerRetry})
					continue
				}
				s.nextToken = time.Time{}
				s.untrack(p)
				s.backoffN--
				p.fc.err = fmt.Errorf("%w (after %d attempts)", p.lastErr, p.attempt)
				s.fail(p)
				continue
			}
			s.untrack(p)
			s.backoffN--
			s.startAttempt(now, p)
		}
	}
}

// abort ends every attempt and backoff with the cancellation and sends the connected targets to
// the result workers (their probes see the cancelled host context).
func (s *stage) abort() {
	s.aborted = true
	for _, p := range s.slots {
		if p == nil {
			continue
		}
		switch p.state {
		case pendConnecting:
			s.conn.cancel(p)
			s.attemptOver(p)
		case pendBackoff:
			s.backoffN--
		default:
			continue
		}
		s.untrack(p)
		p.fc.err = &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(p.t.AddrPort()), Err: context.Canceled}
		s.fail(p)
	}
	for s.connected.len() > 0 {
		s.fail(s.connected.pop())
	}
	s.tm = s.tm[:0]
}

// timeoutError is the error of an attempt that reached its deadline, as the net package words
// it ("dial tcp 10.0.0.1:445: i/o timeout").
func timeoutError(t Target) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(t.AddrPort()), Err: os.ErrDeadlineExceeded}
}

// connectError is the error of an attempt the connect system call failed.
func connectError(t Target, call string, errno error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(t.AddrPort()), Err: os.NewSyscallError(call, errno)}
}

// goConnector makes each connection with dial on a goroutine of its own: the portable connector,
// and the one used with Config.Dial.
type goConnector struct {
	base context.Context
	dial func(ctx context.Context, t Target) (net.Conn, error)
	ch   chan []completion
	n    atomic.Int64 // dials in progress
	quit chan struct{}
}

func newGoConnector(base context.Context, dial func(ctx context.Context, t Target) (net.Conn, error)) *goConnector {
	return &goConnector{base: base, dial: dial, ch: make(chan []completion, 64), quit: make(chan struct{})}
}

func (g *goConnector) start(p *pending, deadline time.Time) (bool, net.Conn, error) {
	ctx, cancel := context.WithDeadline(g.base, deadline)
	p.stop = cancel
	slot, gen, t := p.slot, p.gen, p.t
	g.n.Add(1)
	go func() {
		defer g.n.Add(-1)
		conn, err := func() (conn net.Conn, err error) {
			defer func() {
				if v := recover(); v != nil {
					conn, err = nil, fmt.Errorf("dial %s: panic: %v", t.AddrPort(), v)
				}
			}()
			return g.dial(ctx, t)
		}()
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			err = timeoutError(t)
		}
		select {
		case g.ch <- []completion{{slot: slot, gen: gen, conn: conn, err: err}}:
		case <-g.quit:
			if conn != nil {
				conn.Close()
			}
		}
	}()
	return false, nil, nil
}

func (g *goConnector) finish(p *pending, c completion) (net.Conn, error, bool) {
	p.stop()
	return c.conn, c.err, false
}

func (g *goConnector) cancel(p *pending) { p.stop() }

func (g *goConnector) completions() <-chan []completion { return g.ch }

// close waits for the abandoned dials, closing what they still connect.
func (g *goConnector) close() {
	close(g.quit)
	for g.n.Load() > 0 {
		select {
		case cs := <-g.ch:
			for _, c := range cs {
				if c.conn != nil {
					c.conn.Close()
				}
			}
		case <-time.After(time.Millisecond):
		}
	}
}
