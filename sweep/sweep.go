// Package sweep runs one scan: every target of a set through a probe pipeline, on the scanner's
// worker pool, each result handed to the output writer as it completes, and the summary last.
// The CLI's scan command and the daemon's scheduled jobs both run scans through it.
package sweep

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// Config is one scan.
type Config struct {
	Targets  *scanner.TargetSet
	Pipeline *probes.Pipeline
	// Scanner sets concurrency, the host deadline, the permutation seed (0 = random), the shard
	// and an optional progress counter.
	Scanner scanner.Config
	// Writer receives every result and, from Run, the summary; Run closes it.
	Writer *output.Writer
	// Metrics, when set, counts hosts in flight (results reach it through Writer as a sink).
	Metrics *output.ScanMetrics
	// Checkpoint, when set, makes the scan resumable: Run takes the seed and the positions to
	// scan from it, saves it every interval, as soon as ctx is cancelled, and at the end. The
	// Writer's sinks must have been wrapped with Checkpoint.WrapSinks.
	Checkpoint *Checkpoint
	// BeforeSummary, when set, runs after the last result and before the summary is written
	// (the CLI stops its progress line there so the summary comes last).
	BeforeSummary func()
	// NoRecheck turns off the second look at hosts that ended in io-timeout (see Run).
	NoRecheck bool
	// Ports (scan -ports 445,139): a target on Ports[0] whose connection is refused or times
	// out is probed on Ports[1], then the next, as nmap does; the record's ports_tried lists
	// them. Empty or one port: no fallback.
	Ports []uint16
	// NBStatPort is the UDP port the nbstat stage queries (0: 137; tests use another).
	NBStatPort uint16
}

// RecheckConcurrency bounds the probe slots of the second look at hosts that timed out.
const RecheckConcurrency = 32

// MaxRecheckRounds bounds the looks after the pass: a round after the first is made only while
// the previous one looked like an overloaded server (see Run).
const MaxRecheckRounds = 4

// recheckBackoff is the pause before the second round of rechecks, doubled for each next one.
const recheckBackoff = time.Second

// item is a result with its target (whose Pos is its position in the run's order).
type item struct {
	r *probes.Result
	t scanner.Target
}

// Run probes every target. Cancelling ctx stops dispatch (hosts in flight finish within their
// deadline); cancelling abort stops those too.
//
// A host that accepted the connection but then did not answer within its deadline (io-timeout),
// or reset it (connection-reset), is, in a sweep, most often a live server that was overloaded at
// that moment (Samba forks a process per connection; its listen backlog is 50). Unless
// cfg.NoRecheck, its result is held back and, once every target was dispatched, the host is
// probed once more, at most RecheckConcurrency at a time, with a fresh deadline; the second
// result is the one written. With connect-ahead (Scanner.ConnectAhead), hosts whose connection
// attempts timed out are rechecked the same way (their connects wait outside the probe slots,
// so the cost is small, and a live server's full accept queue looks exactly like a filtered
// address), and the connect retries (-retries) are made in that recheck instead of right after
// the timed-out attempt. Further rounds follow while the rechecks look like an overloaded server
// (see recheckRounds). When the scan is interrupted before that, the held results are written as
// they were.
//
// A failing output also stops dispatch: results that cannot be written are not probed. Run closes cfg.Writer with the summary and returns the
// summary and the writer's error (joined with a checkpoint save error, if any).
func Run(ctx, abort context.Context, cfg Config) (*probes.Summary, error) {
	if abort == nil {
		abort = context.Background()
	}
	dispatch, stop := context.WithCancel(ctx)
	defer stop()
	s := &sweepRun{cfg: cfg, cp: cfg.Checkpoint, dispatch: dispatch, stop: stop}
	s.configure()
	defer s.openNBStat()()
	if m := s.cfg.Metrics; m != nil {
		m.SetTargets(s.cfg.Targets.Len())
		m.SetStartTime(time.Now())
	}
	finishSaving := s.startSaving(ctx)
	started := time.Now()
	stats := scanner.Run(dispatch, abort, s.sc, s.cfg.Targets, s.probe, s.onPanic, s.emit)
	held := s.recheckRounds(dispatch, abort)
	for _, it := range held {
		s.write(it)
	}
	summary := &probes.Summary{
		Schema: probes.SchemaVersion, Type: "summary", Started: started.UTC(), Finished: time.Now().UTC(),
		Targets: s.cfg.Targets.Len(), Scanned: stats.Completed,
		Interrupted: stats.Interrupted || ctx.Err() != nil,
		Pacing:      pacing(s.sc, s.ahead, stats),
	}
	summary.DurationSeconds = summary.Finished.Sub(summary.Started).Seconds()
	if s.cfg.BeforeSummary != nil {
		s.cfg.BeforeSummary()
	}
	werr := s.cfg.Writer.Close(summary)
	if serr := finishSaving(); serr != nil {
		return summary, errors.Join(werr, serr)
	}
	return summary, werr
}

// sweepRun is one Run: its configuration as adjusted for the run, and the results held for
// the recheck.
type sweepRun struct {
	cfg             Config
	sc              scanner.Config
	cp              *Checkpoint
	ahead           bool // connect-ahead is on
	recheckAttempts int  // connect attempts of a recheck
	dispatch        context.Context
	stop            context.CancelFunc

	hmu  sync.Mutex
	held []item // results waiting for the recheck
}

// configure derives the pool's configuration: the seed (the checkpoint's, or random), no
// connect-ahead with port fallback, connect-ahead's dialer and congestion window, and where
// connect retries are made.
func (s *sweepRun) configure() {
	s.sc = s.cfg.Scanner
	if s.cp != nil {
		s.sc.Seed, s.sc.Tracker = s.cp.seed, s.cp.tracker
	}
	if s.sc.Seed == 0 {
		s.sc.Seed = uint64(time.Now().UnixNano())
	}
	if len(s.cfg.Ports) > 1 {
		// Port fallback probes a host again on the next port when its connect was refused or
		// timed out; behind connect-ahead those hosts go to the few result workers (their
		// probes would "only report the connect error"), so every fallback probe would queue
		// there, outside the -c slots. The fixed pool of -c workers probes each host, fallback
		// included, in its own slot.
		s.sc.ConnectAhead = 0
	}
	ahead := s.sc.ConnectAhead > 0
	if d, ok := s.cfg.Pipeline.Opts.Dialer.(*scanner.Dialer); ok && ahead && s.sc.Dial == nil && s.sc.Dialer == nil {
		// The connect-ahead stage dials the first connection with the pipeline's own dialer's
		// settings and hands it to the first stage that dials the same address.
		s.sc.Dialer = d
	}
	s.ahead = ahead && (s.sc.Dial != nil || s.sc.Dialer != nil)
	if s.ahead && s.sc.Congestion == nil {
		s.sc.Congestion = scanner.NewCongestion()
	}
	// With connect-ahead and the recheck, a target's connect retries are made in the recheck,
	// not right after the timed-out attempt: an overloaded server has had time to catch up by
	// then, and a filtered address costs one connect timeout in the pass instead of two.
	s.recheckAttempts = 1
	if s.ahead && !s.cfg.NoRecheck && s.sc.AheadAttempts == 0 {
		if s.sc.Dialer != nil {
			s.recheckAttempts = max(1, s.sc.Dialer.Retries)
		}
		s.sc.AheadAttempts = 1
	}
}

// openNBStat gives the sweep one UDP socket for every NBSTAT query, paced at -rl's rate (a
// limiter of its own: the queries take no TCP connection's token); it returns what closes it.
func (s *sweepRun) openNBStat() func() {
	nbcfg := probes.NBStatConfig{Port: s.cfg.NBStatPort}
	if d, ok := s.cfg.Pipeline.Opts.Dialer.(*scanner.Dialer); ok && d.Limiter != nil {
		nbcfg.Limiter = rate.NewLimiter(d.Limiter.Limit(), d.Limiter.Burst())
	}
	if s.cfg.Metrics != nil {
		nbcfg.Observer = s.cfg.Metrics
	}
	cfg0 := s.cfg.Pipeline
	pipeline, closeNBStat, nberr := s.cfg.Pipeline.WithNBStatSocket(nbcfg)
	_ = nberr // without the sweep's socket each host opens its own, and its record says why that failed
	s.cfg.Pipeline = pipeline
	if sock := pipeline.Opts.NBStat; sock != nil && nberr == nil && s.ahead && pipeline != cfg0 {
		// The NBSTAT query leaves when the host's connection is first attempted, not when its
		// probe starts: a host whose SYN is dropped waits for it outside the probe slots. Not
		// in the rechecks (recheckRounds), which keep the first look's nbstat.
		s.sc.Attempting = func(t scanner.Target) { sock.Prequery(t.Addr) }
	}
	return func() { _ = closeNBStat() }
}

// startSaving saves the checkpoint every interval while the sweep runs; the function it
// returns stops that, saves once more and returns the first save error.
func (s *sweepRun) startSaving(ctx context.Context) func() error {
	if s.cp == nil {
		return func() error { return nil }
	}
	var saveErr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { saveErr = saveLoop(ctx, s.cp, stop) })
	return func() error {
		close(stop)
		wg.Wait()
		if err := s.cp.Save(); err != nil && saveErr == nil {
			saveErr = err
		}
		return saveErr
	}
}

// probe is the pass's probe of one target (on the next -ports port when the first refused).
func (s *sweepRun) probe(hctx context.Context, t scanner.Target) item {
	if m := s.cfg.Metrics; m != nil {
		m.HostStarted()
		defer m.HostDone()
	}
	pt := ProbeTarget(t)
	if t.Err != nil {
		return item{probes.TargetErrorResult(pt, t.Err), t}
	}
	r := withPortFallback(hctx, s.cfg.Ports, pt, s.cfg.Pipeline.Run)
	if r.Status == probes.StatusIOTimeout || r.Status == probes.StatusConnectionReset {
		scanner.ReportOverload(hctx) // it connected, then stopped answering: a server falling behind
	}
	return item{r, t}
}

// again is the recheck's probe: the stages the first look missed, or the whole pipeline.
func (s *sweepRun) again(hctx context.Context, t scanner.Target, prev *probes.Result) item {
	if m := s.cfg.Metrics; m != nil {
		m.HostStarted()
		defer m.HostDone()
	}
	r := withPortFallback(hctx, s.cfg.Ports, ProbeTarget(t), func(ctx context.Context, pt probes.Target) *probes.Result {
		if prev != nil && pt.Port != prev.Port {
			return s.cfg.Pipeline.Run(ctx, pt) // the fallback port: nothing to recheck there
		}
		return s.cfg.Pipeline.Recheck(ctx, pt, prev)
	})
	if r.Status == probes.StatusInterrupted && prev != nil {
		return item{prev, t} // the first look's answer stands
	}
	if r.Status == probes.StatusIOTimeout || r.Status == probes.StatusConnectionReset {
		scanner.ReportOverload(hctx)
	}
	return item{r, t}
}

func (s *sweepRun) onPanic(t scanner.Target, v any, stack []byte) item {
	return item{probes.PanicResult(ProbeTarget(t), v, stack), t}
}

// write hands a result to the writer (and the checkpoint); a failing output stops dispatch.
func (s *sweepRun) write(it item) {
	if s.cp != nil {
		if it.r.Status == probes.StatusInterrupted {
			return // not done: the resumed scan probes it again (its record would be a second one)
		}
		s.cp.bind(it.r, it.t.Pos)
	}
	if err := s.cfg.Writer.Write(it.r); err != nil {
		s.stop()
	}
}

// recheck says whether a result gets a second look. With connect-ahead a connect timeout costs
// no probe slot, so hosts that timed out while connecting get it too (a live server whose
// accept queue was full). A host that answered SMB on one connection but got no answer on
// another (an incomplete record) is rechecked for the stages it misses.
func (s *sweepRun) recheck(r *probes.Result) bool {
	st := r.Status
	return st == probes.StatusIOTimeout || st == probes.StatusConnectionReset ||
		(s.ahead && st == probes.StatusConnectionTimeout) || len(r.Incomplete) > 0
}

// emit holds a result for the recheck, or writes it.
func (s *sweepRun) emit(it item) {
	if !s.cfg.NoRecheck && s.recheck(it.r) && s.dispatch.Err() == nil {
		s.hmu.Lock()
		s.held = append(s.held, it)
		s.hmu.Unlock()
		return
	}
	s.write(it)
}

// pacing reports how the pass paced its probes (the congestion window as the rechecks left it).
func pacing(sc scanner.Config, ahead bool, st scanner.RunStats) *probes.Pacing {
	p := &probes.Pacing{Slots: sc.Concurrency, PeakProbes: st.PeakProbes}
	if p.Slots <= 0 {
		p.Slots = scanner.DefaultConcurrency
	}
	if ahead && sc.Congestion != nil {
		cs := sc.Congestion.Stats()
		p.ConnectAhead, p.Window, p.Decreases, p.QueueingEpochs, p.OverloadSigns = sc.ConnectAhead, cs.Window, cs.Decreases, cs.Queued, cs.Signs
	}
	return p
}

// recheckRounds probes the held targets again after the pass and writes their new results;
// it returns the targets it left without a new result (after an interrupt, or still failing
// after the last round), whose held results are to be written.
//
// The first round probes every held target once more (with connect-ahead, making the connect
// attempts the pass deferred). Another round, after a pause that doubles each time, is made for
// the targets still failing only while the previous round looked like an overloaded server: some
// targets that had failed answered this time, and the round itself saw signs of overload or
// saturation (connects whose SYN was retransmitted, hosts that stopped answering; without
// connect-ahead, any answer counts). Addresses
// that drop SYNs therefore cost one round; a server that keeps falling behind is given up to
// MaxRecheckRounds.
func (s *sweepRun) recheckRounds(dispatch, abort context.Context) []item {
	rr := &recheckRun{s: s, dispatch: dispatch, abort: abort, rc: recheckConfig(s.sc, s.recheckAttempts)}
	held := s.held
	for round := 1; len(held) > 0 && round <= MaxRecheckRounds; round++ {
		if rr.stopped() || (round > 1 && !rr.pause(round)) {
			break
		}
		if round > 1 {
			rr.rc.AheadAttempts = 1
		}
		var more bool
		if held, more = rr.round(held, round == MaxRecheckRounds); !more {
			break
		}
	}
	return held
}

// recheckConfig is the pool's configuration for the rechecks: at most RecheckConcurrency
// hosts at once, no progress, no connect-time nbstat (the rechecks keep the first look's, or
// query at probe start), attempts connect attempts in the first round.
func recheckConfig(sc scanner.Config, attempts int) scanner.Config {
	rc := sc
	rc.Concurrency = RecheckConcurrency
	if sc.Concurrency > 0 {
		rc.Concurrency = min(sc.Concurrency, RecheckConcurrency)
	}
	rc.Progress = nil
	rc.Attempting = nil
	rc.AheadAttempts = attempts
	return rc
}

// recheckRun is the recheck of one sweep: its pool configuration and its end conditions.
type recheckRun struct {
	s               *sweepRun
	dispatch, abort context.Context
	rc              scanner.Config
}

// stopped reports whether an interrupt ended the rechecks.
func (rr *recheckRun) stopped() bool { return rr.dispatch.Err() != nil || rr.abort.Err() != nil }

// pause waits before round (recheckBackoff, doubled for each round after the second) and
// reports whether to make it: false after an interrupt.
func (rr *recheckRun) pause(round int) bool {
	t := time.NewTimer(recheckBackoff << (round - 2))
	select {
	case <-t.C:
	case <-rr.dispatch.Done():
	case <-rr.abort.Done():
	}
	t.Stop()
	return !rr.stopped()
}

// round probes held once more, writing the results that are final (every one in the last
// round), and returns the targets that still fail, followed by those an interrupt left
// undone. more says whether another round is due: nothing was left undone, some targets
// recovered and the round saw signs of overload.
func (rr *recheckRun) round(held []item, last bool) (still []item, more bool) {
	before := rr.congestion()
	var (
		mu   sync.Mutex
		next []item
	)
	emit := func(it item) {
		if !last && rr.s.recheck(it.r) && rr.dispatch.Err() == nil {
			mu.Lock()
			next = append(next, it)
			mu.Unlock()
			return
		}
		rr.s.write(it)
	}
	targets := make([]scanner.Target, len(held))
	prev := make(map[uint64]*probes.Result, len(held))
	for i, it := range held {
		targets[i] = it.t
		prev[it.t.Pos] = it.r
	}
	probe := func(hctx context.Context, t scanner.Target) item { return rr.s.again(hctx, t, prev[t.Pos]) }
	st := scanner.RunTargets(rr.dispatch, rr.abort, rr.rc, targets, probe, rr.s.onPanic, emit)
	// Targets an interrupt left without a second look keep their held result.
	undone := held[st.Dispatched:]
	recovered := int(st.Dispatched) - len(next)
	still = append(next, undone...)
	if len(undone) > 0 {
		return still, false
	}
	return still, recovered != 0 && rr.overloaded(before)
}

// congestion is the congestion window's counters (zero without connect-ahead).
func (rr *recheckRun) congestion() scanner.CongestionStats {
	if rr.rc.Congestion == nil {
		return scanner.CongestionStats{}
	}
	return rr.rc.Congestion.Stats()
}

// overloaded reports whether the round since before saw signs of overload or saturation; any
// round does without connect-ahead, which has no window to count them.
func (rr *recheckRun) overloaded(before scanner.CongestionStats) bool {
	if rr.rc.Congestion == nil {
		return true
	}
	after := rr.rc.Congestion.Stats()
	return after.Signs > before.Signs || after.Saturation > before.Saturation
}

// saveLoop saves cp every interval, and once more as soon as ctx is cancelled (the first
// interrupt), until stop is closed. It returns the first save error.
func saveLoop(ctx context.Context, cp *Checkpoint, stop <-chan struct{}) error {
	var first error
	save := func() {
		if err := cp.Save(); err != nil && first == nil {
			first = err
		}
	}
	tick := time.NewTicker(cp.interval)
	defer tick.Stop()
	done := ctx.Done()
	for {
		select {
		case <-stop:
			return first
		case <-done:
			done = nil
			save()
		case <-tick.C:
			save()
		}
	}
}

// withPortFallback runs probe on pt and, when pt is on ports[0] and the connection was
// refused or timed out at connect, on each next port of ports in turn until one connects. The
// record of the last port tried is returned, with PortsTried set when more than one was.
func withPortFallback(ctx context.Context, ports []uint16, pt probes.Target, probe func(context.Context, probes.Target) *probes.Result) *probes.Result {
	r := probe(ctx, pt)
	if len(ports) < 2 || pt.Port != ports[0] {
		return r
	}
	tried := []uint16{pt.Port}
	for _, p := range ports[1:] {
		if r.Status != probes.StatusConnectionRefused && r.Status != probes.StatusConnectionTimeout || ctx.Err() != nil {
			break
		}
		pt.Port = p
		tried = append(tried, p)
		r = probe(ctx, pt)
	}
	if len(tried) > 1 {
		r.PortsTried = tried
	}
	return r
}

// ProbeTarget converts a scanner target to the probes' form.
func ProbeTarget(t scanner.Target) probes.Target {
	return probes.Target{Addr: t.Addr, Port: t.Port, Host: t.Host}
}
