package scanner

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler defaults.
const (
	DefaultConcurrency = 256
	DefaultHostTimeout = 10 * time.Second
)

// Config configures Run.
type Config struct {
	Concurrency int           // maximum targets probed at once (default 256)
	HostTimeout time.Duration // one deadline per target, covering its whole probe (default 10s)
	Seed        uint64        // permutation seed; shards of one scan must share it
	Shard       Shard         // zero value = everything
	Progress    *Progress     // updated as targets start and finish, when not nil
	// Tracker, when set, hands out the positions to dispatch (resuming an earlier run when it
	// was made from a checkpoint) and is told nothing by Run about completion: the caller marks
	// a position Done once its result is durable. Its Total must equal Shard.Len(set.Len()).
	Tracker *Tracker
	// ConnectAhead, with Dialer (or Dial), lets up to this many more targets wait for their
	// first TCP connection outside the Concurrency limit, in the connect-ahead stage: only a
	// target whose connection was established takes one of the Concurrency probe slots (with a
	// fresh HostTimeout), its probe receiving that connection from the first DialContext of a
	// Dialer for its address. A target that never answers (dropped SYNs) then costs no probe
	// slot. A target whose connect failed is probed at once on a few workers of its own (its
	// probe gets the same error from the Dialer, so it reports it as usual). Up to
	// Concurrency+ConnectAhead connections may be open.
	//
	// With Dialer, the stage makes the connections itself (on Linux, non-blocking sockets
	// watched by one goroutine, a few hundred bytes per pending connect; elsewhere a goroutine
	// per pending connect), with Dialer's connect timeout, rate limit and retry backoff, and
	// AheadAttempts attempts (0 = 1 + Dialer.Retries). Dial, when set, makes them instead, one
	// goroutine per pending connect, one attempt each. How many targets the stage admits is also
	// bounded by a congestion window over the live-looking work in flight (connected targets,
	// fresh connects, and aged ones in proportion to how many aged connects turn out to be
	// live), halved when overload signs (slow connects, hosts that connect and stop answering)
	// pass a tenth of the recent live-looking outcomes; see Congestion.
	ConnectAhead  int
	Dialer        *Dialer
	AheadAttempts int
	// Congestion, when set, is the window of the connect-ahead stage, carried from one run to
	// the next (a sweep's pass and its rechecks); nil = a new one per run.
	Congestion *Congestion
	Dial       func(ctx context.Context, t Target) (net.Conn, error)
	// Slots, when set, is a budget of hosts in flight that this run shares with others (the
	// daemon's jobs and API scans): a target takes a slot before its probe starts (so before its
	// host deadline begins) and gives it back when the probe ends. A target still waiting for a
	// slot when ctx or abort ends is not dispatched (RunStats.Interrupted; a Tracker keeps its
	// position open). With ConnectAhead, a connected target waits for its slot after the
	// handshake, and only abort ends that wait.
	Slots HostSlots
	// Attempting, when set, is called (from the connect-ahead stage's one goroutine; it must
	// not block) when a target's first TCP connection attempt starts, before its probe: work
	// the probe will want done in the background (the NBSTAT query on UDP) can start there,
	// while the connection is awaited.
	Attempting func(t Target)
}

// HostSlots is a budget of probes in flight shared by several runs. Acquire blocks until a slot
// is free and reports true, or reports false when ctx ends first; Release gives a slot back.
type HostSlots interface {
	Acquire(ctx context.Context) bool
	Release()
}

// RunStats summarises a Run.
type RunStats struct {
	Total       uint64 // targets in the shard
	Dispatched  uint64 // targets whose probe was started
	Completed   uint64 // results emitted (equals Dispatched when Run returns)
	Panics      uint64 // probes that panicked (their results came from onPanic)
	Interrupted bool   // ctx or abort ended before every target was dispatched
	PeakProbes  int    // most probes running at once in the probe slots
}

// Run probes every target of set that belongs to cfg.Shard, in the order of
// NewPermutation(set.Len(), cfg.Seed), with at most cfg.Concurrency probes at once.
//
// Cancelling ctx stops the dispatch of new targets; probes already running keep their own
// deadline: their context is context.WithoutCancel(ctx) (so it carries ctx's values) plus
// cfg.HostTimeout, and it is cancelled early only when abort ends. abort may be nil (never).
//
// probe is called once per dispatched target, from one of a fixed set of worker goroutines. A
// panic inside probe is recovered and turned into the result onPanic(t, v, stack) (onPanic must
// not be nil). emit is called from the worker goroutines with every result, including those from
// onPanic; it must be safe for concurrent use (typically it hands the result to one writer
// goroutine). Run returns when every dispatched probe has finished and its result was emitted;
// it leaves no goroutine behind.
//
// With cfg.Tracker, the positions come from the tracker (an earlier run's unfinished ones
// first) and RunStats.Total counts only what was left to do.
//
// Run panics if cfg.Shard is invalid (check it with Shard.Validate when parsing flags), if
// cfg.Tracker does not match the shard's size, or if probe, onPanic or emit is nil.
func Run[R any](ctx, abort context.Context, cfg Config, set *TargetSet, probe func(context.Context, Target) R,
	onPanic func(Target, any, []byte) R, emit func(R)) RunStats {
	if err := cfg.Shard.Validate(); err != nil {
		panic("scanner.Run: " + err.Error())
	}
	n := set.Len()
	perm := NewPermutation(n, cfg.Seed)
	total := cfg.Shard.Len(n)
	var next atomic.Uint64 // next shard position to dispatch, without a tracker
	take := func() (uint64, bool) {
		j := next.Add(1) - 1
		return j, j < total
	}
	if tr := cfg.Tracker; tr != nil {
		if tr.total != total {
			panic(fmt.Sprintf("scanner.Run: tracker for %d positions, shard %v has %d", tr.total, cfg.Shard, total))
		}
		total = tr.Remaining()
		take = tr.take
	}
	if p := cfg.Progress; p != nil {
		if p.HostTimeout == 0 {
			p.HostTimeout = cfg.HostTimeout
			if p.HostTimeout <= 0 {
				p.HostTimeout = DefaultHostTimeout
			}
		}
		p.begin(total)
	}
	nextTarget := func() (Target, bool) {
		j, ok := take()
		if !ok {
			return Target{}, false
		}
		t := set.At(perm.At(cfg.Shard.Position(j)))
		t.Pos = j
		return t, true
	}
	return pool(ctx, abort, cfg, total, nextTarget, probe, onPanic, emit)
}

// RunTargets probes the given targets (their Pos as the caller set it) with Run's worker pool,
// deadlines, panic recovery and cancellation; cfg.Shard, cfg.Seed and cfg.Tracker are ignored
// and cfg.Progress is not reset (its InFlight and Done keep counting). It is for a second look
// at some targets of a run (see sweep's recheck of hosts that timed out).
func RunTargets[R any](ctx, abort context.Context, cfg Config, targets []Target, probe func(context.Context, Target) R,
	onPanic func(Target, any, []byte) R, emit func(R)) RunStats {
	var next atomic.Int64
	nextTarget := func() (Target, bool) {
		i := next.Add(1) - 1
		if i >= int64(len(targets)) {
			return Target{}, false
		}
		return targets[i], true
	}
	return pool(ctx, abort, cfg, uint64(len(targets)), nextTarget, probe, onPanic, emit)
}

// pool runs total targets from nextTarget on min(concurrency, total) workers: behind the
// connect-ahead stage when cfg asks for it and has a dialer, else as a fixed pool.
func pool[R any](ctx, abort context.Context, cfg Config, total uint64, nextTarget func() (Target, bool),
	probe func(context.Context, Target) R, onPanic func(Target, any, []byte) R, emit func(R)) RunStats {
	if probe == nil || onPanic == nil || emit == nil {
		panic("scanner.Run: probe, onPanic and emit must not be nil")
	}
	if abort == nil {
		abort = context.Background()
	}
	p := &hostPool[R]{cfg: cfg, ctx: ctx, abort: abort, total: total, next: nextTarget,
		probe: probe, onPanic: onPanic, emit: emit,
		conc: cmp.Or(max(cfg.Concurrency, 0), DefaultConcurrency), timeout: cmp.Or(max(cfg.HostTimeout, 0), DefaultHostTimeout)}
	// Host contexts carry ctx's values but not its cancellation (dispatch may stop while hosts
	// finish); abort cancels them all through one shared parent.
	var cancelHosts context.CancelFunc
	p.hostParent, cancelHosts = context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHosts()
	defer context.AfterFunc(abort, cancelHosts)()
	if cfg.ConnectAhead > 0 && (cfg.Dial != nil || cfg.Dialer != nil) {
		p.connectAhead()
	} else {
		p.fixed()
	}
	return p.stats()
}

// hostPool is one run of pool: its configuration, callbacks and counters.
type hostPool[R any] struct {
	cfg                 Config
	ctx, abort          context.Context
	hostParent          context.Context // parent of every host's context (see pool)
	total               uint64
	next                func() (Target, bool)
	probe               func(context.Context, Target) R
	onPanic             func(Target, any, []byte) R
	emit                func(R)
	conc                int
	timeout             time.Duration
	dispatched          atomic.Uint64
	completed, panics   atomic.Uint64
	probing, peakProbes atomic.Int64 // probes running now, and the most at once
}

// call runs probe with panic recovery.
func (p *hostPool[R]) call(hctx context.Context, t Target) (r R) {
	defer func() {
		if v := recover(); v != nil {
			p.panics.Add(1)
			r = p.onPanic(t, v, debug.Stack())
		}
	}()
	return p.probe(hctx, t)
}

// one probes t within its host deadline (with its connect-ahead connection, if any) and
// emits the result.
func (p *hostPool[R]) one(t Target, fc *firstConn) {
	r := func() R {
		hctx, cancel := context.WithTimeout(p.hostParent, p.timeout)
		defer cancel()
		if fc != nil {
			hctx = context.WithValue(hctx, firstConnKey{}, fc)
			defer fc.closeUnused()
		}
		return p.call(hctx, t)
	}()
	p.emit(r)
}

// slot counts a probe taking one of the probe slots (not the result workers' connect errors).
func (p *hostPool[R]) slot() {
	n := p.probing.Add(1)
	for peak := p.peakProbes.Load(); n > peak && !p.peakProbes.CompareAndSwap(peak, n); peak = p.peakProbes.Load() {
	}
}

func (p *hostPool[R]) started() {
	p.dispatched.Add(1)
	if pr := p.cfg.Progress; pr != nil {
		pr.hostStarted()
	}
}

func (p *hostPool[R]) finished() {
	p.completed.Add(1)
	if pr := p.cfg.Progress; pr != nil {
		pr.InFlight.Add(-1)
		pr.Done.Add(1)
	}
}

// connectAhead runs the connect-ahead stage: it dials ahead and hands each connected target
// to a probe worker; targets whose connect failed (refused, timed out, unreachable) are
// probed on a few workers of their own, since their probes only report the connect error.
func (p *hostPool[R]) connectAhead() {
	var wg sync.WaitGroup
	st := newStage(p.hostParent, p.cfg, p.conc, p.timeout)
	handoff := make(chan handed)
	fail := make(chan handed)
	done := make(chan hostDone, p.conc)
	for range min(uint64(resultWorkers), p.total) {
		wg.Go(func() {
			for h := range fail {
				p.one(h.t, h.fc)
				p.finished()
			}
		})
	}
	worker := func() { p.handoffWorker(handoff, done) }
	st.run(p.ctx, p.hostParent, p.next, p.started, handoff, fail, done, func() { wg.Go(worker) }, int(min(uint64(p.conc), p.total)))
	close(handoff)
	close(fail)
	wg.Wait()
}

// handoffWorker probes the connected targets the connect-ahead stage hands over.
func (p *hostPool[R]) handoffWorker(handoff <-chan handed, done chan<- hostDone) {
	slots := p.cfg.Slots
	for h := range handoff {
		// Only abort ends the wait: the target was dispatched and must have its result. The
		// probe's time starts with its slot: waiting for the shared budget is not the host
		// queueing (see Congestion).
		held := slots != nil && slots.Acquire(p.hostParent)
		start := time.Now()
		p.slot()
		p.one(h.t, h.fc)
		p.probing.Add(-1)
		if held {
			slots.Release()
		}
		p.finished()
		done <- hostDone{overload: h.fc.overload.Load(), slow: h.fc.slow.Load(), took: time.Since(start)}
	}
}

// fixed runs min(concurrency, total) workers that each take a target, probe it, and repeat.
// A worker waiting for a shared slot stops waiting when ctx or abort ends.
func (p *hostPool[R]) fixed() {
	gate, closeGate := context.WithCancel(p.ctx)
	defer closeGate()
	defer context.AfterFunc(p.abort, closeGate)()
	var wg sync.WaitGroup
	for range min(uint64(p.conc), p.total) {
		wg.Go(func() { p.fixedWorker(gate) })
	}
	wg.Wait()
}

func (p *hostPool[R]) fixedWorker(gate context.Context) {
	slots := p.cfg.Slots
	for p.ctx.Err() == nil && p.abort.Err() == nil {
		t, ok := p.next()
		if !ok {
			return
		}
		if slots != nil && !slots.Acquire(gate) {
			return // taken, not dispatched: the run is interrupted (a Tracker keeps it open)
		}
		p.started()
		p.slot()
		p.one(t, nil)
		p.probing.Add(-1)
		if slots != nil {
			slots.Release()
		}
		p.finished()
	}
}

func (p *hostPool[R]) stats() RunStats {
	st := RunStats{
		Total:      p.total,
		Dispatched: p.dispatched.Load(),
		Completed:  p.completed.Load(),
		Panics:     p.panics.Load(),
		PeakProbes: int(p.peakProbes.Load()),
	}
	st.Interrupted = st.Dispatched < p.total
	return st
}

// resultWorkers is how many workers probe the targets whose connect-ahead connect failed.
const resultWorkers = 4

// firstConn is a target's first connection (or the error of the attempt), made by the
// connect-ahead stage and handed to the probe through its context. overload is set during the
// probe when the host showed overload (ReportOverload, or a later connect of the probe that
// timed out), slow when a later connect had its SYN retransmitted.
type firstConn struct {
	addr     string
	conn     net.Conn
	err      error
	taken    bool
	overload atomic.Bool
	slow     atomic.Bool
}

type firstConnKey struct{}

// takeFirstConn returns the connection (or error) made ahead for addr, once; nil when there
// is none (another address, already taken, or no connect-ahead).
func takeFirstConn(ctx context.Context, addr string) *firstConn {
	fc, _ := ctx.Value(firstConnKey{}).(*firstConn)
	if fc == nil || fc.taken || fc.addr != addr {
		return nil
	}
	fc.taken = true
	return fc
}

// hostFirstConn returns the connect-ahead record of the host probed with ctx, or nil.
func hostFirstConn(ctx context.Context) *firstConn {
	fc, _ := ctx.Value(firstConnKey{}).(*firstConn)
	return fc
}

// ReportOverload tells the connect-ahead stage that the host probed with ctx showed overload:
// it accepted the connection and then stopped answering (io-timeout) or reset it. The stage's
// congestion window counts it (see Config.ConnectAhead). Without connect-ahead it does nothing.
func ReportOverload(ctx context.Context) {
	if fc := hostFirstConn(ctx); fc != nil && fc.conn != nil {
		fc.overload.Store(true)
	}
}

// closeUnused closes a connection the probe never took.
func (fc *firstConn) closeUnused() {
	if !fc.taken && fc.conn != nil {
		fc.conn.Close()
	}
}

// String formats the statistics for logs.
func (s RunStats) String() string {
	str := fmt.Sprintf("%d/%d targets probed", s.Completed, s.Total)
	if s.Panics > 0 {
		str += fmt.Sprintf(", %d probe panics", s.Panics)
	}
	if s.Interrupted {
		str += ", interrupted"
	}
	return str
}
