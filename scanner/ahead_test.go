package scanner

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// fleet is a set of loopback addresses at one port: some with a listener that accepts and holds
// every connection until the client closes it (live), some with nothing (the kernel refuses), and
// some with a listener whose accept queue is full and never drained (the kernel drops their SYNs,
// as a filtering firewall or an overloaded server would).
type fleet struct {
	port     uint16
	accepted atomic.Int64
	mu       sync.Mutex
	closers  []func()
}

func (f *fleet) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.closers {
		c()
	}
	f.closers = nil
}

// newFleet binds live and dropped addresses (by last octet, under base) at one free port.
func newFleet(t *testing.T, base [3]byte, live, dropped []byte) *fleet {
	t.Helper()
	addr := func(b byte) netip.Addr { return netip.AddrFrom4([4]byte{base[0], base[1], base[2], b}) }
	for try := 0; try < 20; try++ {
		f := &fleet{}
		if ok := f.bind(t, addr, live, dropped); ok {
			t.Cleanup(f.close)
			return f
		}
		f.close()
	}
	t.Fatal("no port free on every fleet address")
	return nil
}

func (f *fleet) bind(t *testing.T, addr func(byte) netip.Addr, live, dropped []byte) bool {
	for i, b := range live {
		ap := netip.AddrPortFrom(addr(b), f.port)
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
		if err != nil {
			if i == 0 {
				t.Fatalf("listen %s: %v", ap, err)
			}
			return false
		}
		if i == 0 {
			f.port = uint16(ln.Addr().(*net.TCPAddr).Port)
		}
		var wg sync.WaitGroup
		var conns sync.Map
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				f.accepted.Add(1)
				conns.Store(c, nil)
				wg.Go(func() { _, _ = io.Copy(io.Discard, c); c.Close(); conns.Delete(c) })
			}
		})
		f.closers = append(f.closers, func() {
			ln.Close()
			conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
			wg.Wait()
		})
	}
	for _, b := range dropped {
		a := addr(b).As4()
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.closers = append(f.closers, func() { syscall.Close(fd) })
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(f.port), Addr: a}); err != nil {
			return false
		}
		if err := syscall.Listen(fd, 0); err != nil {
			t.Fatal(err)
		}
		// Fill the accept queue (one connection with a backlog of 0); later SYNs are dropped.
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr(b), f.port).String(), 5*time.Second)
		if err != nil {
			t.Fatalf("filling the accept queue of %s: %v", addr(b), err)
		}
		f.closers = append(f.closers, func() { c.Close() })
	}
	return true
}

// targets builds the target set of spec at the fleet's port.
func (f *fleet) targets(t *testing.T, spec string) *TargetSet {
	t.Helper()
	b := NewTargetBuilder(f.port)
	if err := b.Add(spec); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func span(from, to byte) []byte {
	var out []byte
	for b := from; ; b++ {
		out = append(out, b)
		if b == to {
			return out
		}
	}
}

// openFDs counts this process's open file descriptors (Linux), or -1.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func checkNoFDLeak(t *testing.T, before int) {
	t.Helper()
	if before < 0 {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for openFDs() > before {
		if time.Now().After(deadline) {
			t.Fatalf("open files: %d before, %d after", before, openFDs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type aheadResult struct {
	t     Target
	class string // "" connected, else ClassifyDialError
	err   error
}

// TestConnectAheadSockets: with a Dialer, the connect-ahead stage connects itself (on Linux with
// non-blocking sockets on one loop): live addresses are probed with their connection, at most
// Concurrency at once and each with exactly one connection; refused ones get the refusal and
// dropped ones a connect timeout, both on the result workers, the dropped ones waiting side by
// side outside the probe slots; nothing is left open or running.
func TestConnectAheadSockets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("dropped SYNs are emulated with a full accept queue, which drops SYNs on Linux")
	}
	f := newFleet(t, [3]byte{127, 3, 5}, span(1, 12), span(29, 48))
	before, fds := runtime.NumGoroutine(), openFDs()
	set := f.targets(t, "127.3.5.1-127.3.5.48")
	var (
		mu                sync.Mutex
		got               = map[netip.Addr]aheadResult{}
		inProbe, maxProbe atomic.Int64
	)
	var maxPending int
	stageDone = func(s *stage) { maxPending = s.maxPending }
	defer func() { stageDone = nil }()
	probe := func(hctx context.Context, tg Target) aheadResult {
		fc := takeFirstConn(hctx, tg.AddrPort().String())
		if fc == nil {
			return aheadResult{t: tg, class: "no first connection"}
		}
		if fc.err != nil {
			return aheadResult{t: tg, class: ClassifyDialError(fc.err), err: fc.err}
		}
		n := inProbe.Add(1)
		for m := maxProbe.Load(); n > m && !maxProbe.CompareAndSwap(m, n); m = maxProbe.Load() {
		}
		time.Sleep(time.Millisecond)
		inProbe.Add(-1)
		fc.conn.Close()
		return aheadResult{t: tg}
	}
	st := Run(context.Background(), nil, Config{Concurrency: 4, ConnectAhead: 64, HostTimeout: 10 * time.Second,
		Dialer: &Dialer{ConnectTimeout: 400 * time.Millisecond}}, set, probe,
		func(tg Target, v any, _ []byte) aheadResult { return aheadResult{t: tg, class: "panic"} },
		func(r aheadResult) {
			mu.Lock()
			defer mu.Unlock()
			if _, dup := got[r.t.Addr]; dup {
				t.Errorf("%s emitted twice", r.t)
			}
			got[r.t.Addr] = r
		})
	if st.Completed != 48 || st.Dispatched != 48 || st.Interrupted {
		t.Fatalf("stats %+v", st)
	}
	for a, r := range got {
		last := a.As4()[3]
		want := DialRefused
		switch {
		case last <= 12:
			want = ""
		case last >= 29:
			want = DialTimeout
		}
		if r.class != want {
			t.Errorf("%s: %q (%v), want %q", a, r.class, r.err, want)
		}
		if want == DialTimeout && (r.err == nil || !strings.Contains(r.err.Error(), "i/o timeout") || strings.Contains(r.err.Error(), "attempts")) {
			t.Errorf("%s: error %v, want one timed-out attempt worded like the net package's", a, r.err)
		}
		if want == DialRefused && !errors.Is(r.err, syscall.ECONNREFUSED) {
			t.Errorf("%s: error %v, want ECONNREFUSED", a, r.err)
		}
	}
	if m := maxProbe.Load(); m > 4 {
		t.Errorf("%d probes at once, limit 4", m)
	}
	if st.PeakProbes < 1 || st.PeakProbes > 4 {
		t.Errorf("RunStats.PeakProbes %d, want 1..4 (the probe slots; failed connects are not counted)", st.PeakProbes)
	}
	if n := f.accepted.Load(); n != 12 {
		t.Errorf("the live addresses accepted %d connections, want 12 (one per target)", n)
	}
	// The 20 dropped addresses waited together, more of them at once than there are probe
	// slots, once the first ones had timed out (from then on the stage knows that connects that
	// do not complete at once are unlikely to reach a live host).
	if maxPending <= 4 {
		t.Errorf("at most %d connects were pending at once", maxPending)
	}
	checkNoLeak(t, before)
	checkNoFDLeak(t, fds)
}

// TestConnectAheadRetries: the stage retries a timed-out connect Dialer.Retries times after a
// backoff (AheadAttempts overrides that), through the Dialer's rate limiter, and says how many
// attempts it made; live targets still get one connection each.
func TestConnectAheadRetries(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("dropped SYNs are emulated with a full accept queue, which drops SYNs on Linux")
	}
	f := newFleet(t, [3]byte{127, 3, 6}, span(5, 8), span(1, 4))
	set := f.targets(t, "127.3.6.1-127.3.6.8")
	for _, tc := range []struct {
		attempts int
		want     string
	}{{0, "(after 2 attempts)"}, {1, ""}, {3, "(after 3 attempts)"}} {
		f.accepted.Store(0)
		var mu sync.Mutex
		errs := map[netip.Addr]error{}
		probe := func(hctx context.Context, tg Target) error {
			fc := takeFirstConn(hctx, tg.AddrPort().String())
			if fc.conn != nil {
				fc.conn.Close()
			}
			return fc.err
		}
		d := &Dialer{ConnectTimeout: 150 * time.Millisecond, Retries: 1, RetryBackoff: 20 * time.Millisecond,
			Limiter: rate.NewLimiter(200, 1)}
		st := Run(context.Background(), nil, Config{Concurrency: 2, ConnectAhead: 16, HostTimeout: 10 * time.Second,
			Dialer: d, AheadAttempts: tc.attempts}, set, probe,
			func(Target, any, []byte) error { return errors.New("panic") },
			func(err error) {
				if err == nil {
					return
				}
				var op *net.OpError
				mu.Lock()
				defer mu.Unlock()
				if errors.As(err, &op) {
					errs[op.Addr.(*net.TCPAddr).AddrPort().Addr()] = err
				} else {
					errs[netip.Addr{}] = err
				}
			})
		if st.Completed != 8 {
			t.Fatalf("attempts %d: stats %+v", tc.attempts, st)
		}
		if len(errs) != 4 {
			t.Fatalf("attempts %d: %d errors, want 4 (the dropped addresses): %v", tc.attempts, len(errs), errs)
		}
		for a, err := range errs {
			if a.As4()[3] > 4 || ClassifyDialError(err) != DialTimeout {
				t.Errorf("attempts %d: %s: %v", tc.attempts, a, err)
			}
			if msg := err.Error(); (tc.want == "" && strings.Contains(msg, "attempts")) || !strings.Contains(msg, tc.want) {
				t.Errorf("attempts %d: %s: %q, want %q", tc.attempts, a, msg, tc.want)
			}
		}
		if n := f.accepted.Load(); n != 4 {
			t.Errorf("attempts %d: %d connections to the 4 live addresses", tc.attempts, n)
		}
	}
}

// TestConnectAheadSocketsAbort: aborting while connects are pending ends the run promptly;
// every dispatched target is emitted once and every socket is closed.
func TestConnectAheadSocketsAbort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("dropped SYNs are emulated with a full accept queue, which drops SYNs on Linux")
	}
	f := newFleet(t, [3]byte{127, 3, 7}, span(1, 8), span(9, 40))
	before, fds := runtime.NumGoroutine(), openFDs()
	set := f.targets(t, "127.3.7.1-127.3.7.40")
	ctx, cancel := context.WithCancel(context.Background())
	abort, abortAll := context.WithCancel(context.Background())
	defer cancel()
	defer abortAll()
	var emitted atomic.Int64
	var once sync.Once
	probe := func(hctx context.Context, tg Target) Target {
		fc := takeFirstConn(hctx, tg.AddrPort().String())
		if fc.conn != nil {
			fc.conn.Close()
		}
		if emitted.Load() >= 4 {
			once.Do(func() { cancel(); abortAll() })
		}
		return tg
	}
	done := make(chan RunStats, 1)
	go func() {
		done <- Run(ctx, abort, Config{Concurrency: 2, ConnectAhead: 64, HostTimeout: time.Minute,
			Dialer: &Dialer{ConnectTimeout: time.Minute}}, set, probe,
			func(tg Target, _ any, _ []byte) Target { return tg }, func(Target) { emitted.Add(1) })
	}()
	select {
	case st := <-done:
		if st.Completed != st.Dispatched || uint64(emitted.Load()) != st.Completed {
			t.Errorf("stats %+v, %d emitted", st, emitted.Load())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after abort (connects pending for a minute)")
	}
	checkNoLeak(t, before)
	checkNoFDLeak(t, fds)
}

// TestConnectAheadBacksOff: hosts that stop answering (ReportOverload) halve the congestion
// window, and from then on fewer probes run at once than the probe slots allow; refused and
// dropped addresses do not touch the window.
func TestConnectAheadBacksOff(t *testing.T) {
	set := build(t, []string{"10.0.0.0/24"}, nil, nil)
	dial := func(ctx context.Context, tg Target) (net.Conn, error) {
		a, b := net.Pipe()
		b.Close()
		return a, nil
	}
	var (
		seq, inProbe, maxLate atomic.Int64
	)
	probe := func(hctx context.Context, tg Target) Target {
		fc := takeFirstConn(hctx, tg.AddrPort().String())
		fc.conn.Close()
		n := inProbe.Add(1)
		defer inProbe.Add(-1)
		i := seq.Add(1)
		if i <= 96 {
			// The first hosts connect and then stop answering: a server falling behind.
			time.Sleep(2 * time.Millisecond)
			ReportOverload(hctx)
			return tg
		}
		if i <= 128 {
			for m := maxLate.Load(); n > m && !maxLate.CompareAndSwap(m, n); m = maxLate.Load() {
			}
		}
		time.Sleep(2 * time.Millisecond)
		return tg
	}
	cg := NewCongestion()
	st := Run(context.Background(), nil, Config{Concurrency: 32, ConnectAhead: 64, HostTimeout: 10 * time.Second, Dial: dial,
		Congestion: cg}, set, probe, func(tg Target, _ any, _ []byte) Target { return tg }, func(Target) {})
	if st.Completed != 256 {
		t.Fatalf("stats %+v", st)
	}
	cs := cg.Stats()
	if cs.Decreases == 0 || cs.Signs < 96 {
		t.Fatalf("congestion %+v: the window did not back off", cs)
	}
	// After the halving (from at most 32 to at most 16), the window grows by about one per
	// window of clean outcomes: the hosts right after never had all 32 probe slots.
	if m := maxLate.Load(); m > 24 {
		t.Errorf("%d probes at once right after the server fell behind (32 slots)", m)
	}

	// Refused and dropped addresses are no sign either way.
	cg = NewCongestion()
	refuse := func(ctx context.Context, tg Target) (net.Conn, error) {
		if tg.Addr.As4()[3]%2 == 0 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	Run(context.Background(), nil, Config{Concurrency: 32, ConnectAhead: 256, HostTimeout: 50 * time.Millisecond, Dial: refuse,
		Congestion: cg}, set, func(_ context.Context, tg Target) Target { return tg },
		func(tg Target, _ any, _ []byte) Target { return tg }, func(Target) {})
	if cs := cg.Stats(); cs.Outcomes != 0 || cs.Window != initialWindow {
		t.Errorf("congestion %+v after refused and dropped addresses only", cs)
	}
}

// TestConnectAheadWorkersFollowProbes: with connect-ahead, probe workers are started as probes
// need them, not one per probe slot: a run with 1 000 probe slots over 200 live targets whose
// window never needs more than a few dozen probes at once starts no more workers than the most
// probes it ran at once, and its goroutines return to the baseline.
func TestConnectAheadWorkersFollowProbes(t *testing.T) {
	f := newFleet(t, [3]byte{127, 3, 9}, span(1, 200), nil)
	before := runtime.NumGoroutine()
	set := f.targets(t, "127.3.9.1-127.3.9.200")
	var workers, maxProbing int
	stageDone = func(s *stage) { workers, maxProbing = s.workers, s.maxProbing }
	defer func() { stageDone = nil }()
	var ok atomic.Int64
	probe := func(hctx context.Context, tg Target) aheadResult {
		fc := takeFirstConn(hctx, tg.AddrPort().String())
		if fc == nil || fc.err != nil {
			return aheadResult{t: tg, class: "no connection"}
		}
		time.Sleep(2 * time.Millisecond)
		fc.conn.Close()
		ok.Add(1)
		return aheadResult{t: tg}
	}
	st := Run(context.Background(), nil, Config{Concurrency: 1000, ConnectAhead: 64, HostTimeout: 10 * time.Second,
		Dialer: &Dialer{ConnectTimeout: 2 * time.Second}}, set, probe,
		func(tg Target, v any, _ []byte) aheadResult { return aheadResult{t: tg, class: "panic"} },
		func(aheadResult) {})
	if st.Completed != 200 || ok.Load() != 200 {
		t.Fatalf("stats %+v, %d probed with their connection; want all 200", st, ok.Load())
	}
	if workers == 0 || workers > maxProbing+1 {
		t.Errorf("%d probe workers started for at most %d probes at once", workers, maxProbing)
	}
	if workers >= 200 {
		t.Errorf("%d probe workers for 200 targets: one per target, not per probe at once", workers)
	}
	checkNoLeak(t, before)
}

// TestConnectAheadAttempting: Config.Attempting hears of each target once, when its first
// connection attempt starts, before its probe: a target whose SYN is dropped is heard of a
// connect timeout before its probe starts (the NBSTAT query's window runs meanwhile).
func TestConnectAheadAttempting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("dropped SYNs are emulated with a full accept queue, which drops SYNs on Linux")
	}
	f := newFleet(t, [3]byte{127, 3, 6}, span(1, 4), span(9, 12))
	set := f.targets(t, "127.3.6.1-127.3.6.12")
	var mu sync.Mutex
	heard := map[netip.Addr][]time.Time{}
	probed := map[netip.Addr]time.Time{}
	probe := func(hctx context.Context, tg Target) aheadResult {
		mu.Lock()
		probed[tg.Addr] = time.Now()
		mu.Unlock()
		if fc := takeFirstConn(hctx, tg.AddrPort().String()); fc != nil && fc.conn != nil {
			fc.conn.Close()
		}
		return aheadResult{t: tg}
	}
	const connTimeout = 300 * time.Millisecond
	st := Run(context.Background(), nil, Config{Concurrency: 2, ConnectAhead: 32, HostTimeout: 10 * time.Second,
		Dialer: &Dialer{ConnectTimeout: connTimeout},
		Attempting: func(tg Target) {
			mu.Lock()
			defer mu.Unlock()
			heard[tg.Addr] = append(heard[tg.Addr], time.Now())
		}}, set, probe,
		func(tg Target, v any, _ []byte) aheadResult { return aheadResult{t: tg, class: "panic"} },
		func(aheadResult) {})
	if st.Completed != 12 {
		t.Fatalf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for a, at := range probed {
		h := heard[a]
		if len(h) != 1 || h[0].After(at) {
			t.Errorf("%s: heard of at %v, probed at %v", a, h, at)
			continue
		}
		if last := a.As4()[3]; last >= 9 && at.Sub(h[0]) < connTimeout*8/10 {
			t.Errorf("%s (SYN dropped): heard of only %s before its probe, want about the connect timeout %s", a, at.Sub(h[0]), connTimeout)
		}
	}
}
