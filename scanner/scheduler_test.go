package scanner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type result struct {
	t        Target
	err      error
	panicked any
	stack    []byte
}

// collector gathers emitted results.
type collector struct {
	mu  sync.Mutex
	out []result
}

func (c *collector) emit(r result) {
	c.mu.Lock()
	c.out = append(c.out, r)
	c.mu.Unlock()
}

func onPanic(t Target, v any, stack []byte) result { return result{t: t, panicked: v, stack: stack} }

// checkNoLeak fails if goroutines started during the test are still running shortly after.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
}

// waitFor waits until cond holds, failing the test after a generous deadline instead of hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunProbesEachOnceWithinLimit(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.0/23", "10.1.0.0/26:139", "192.0.2.1-9"}, nil, nil)
	const limit = 7
	var inFlight, maxInFlight atomic.Int64
	counts := make([]atomic.Int32, set.Len())
	index := map[string]uint64{}
	for i := range set.Len() {
		index[set.At(i).String()] = i
	}
	// The first `limit` probes wait until all of them run at once, which shows the pool
	// really uses its full width; later probes run freely.
	var gate sync.WaitGroup
	gate.Add(limit)
	var started atomic.Int64
	probe := func(ctx context.Context, tg Target) result {
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		if started.Add(1) <= limit {
			gate.Done()
			gate.Wait()
		}
		counts[index[tg.String()]].Add(1)
		inFlight.Add(-1)
		return result{t: tg, err: ctx.Err()}
	}
	var c collector
	p := &Progress{}
	st := Run(context.Background(), context.Background(), Config{Concurrency: limit, Seed: 3, Progress: p}, set, probe, onPanic, c.emit)

	if maxInFlight.Load() != limit {
		t.Errorf("max in flight %d, limit %d", maxInFlight.Load(), limit)
	}
	if st.PeakProbes != limit {
		t.Errorf("RunStats.PeakProbes %d, want %d (the probe saw %d at once)", st.PeakProbes, limit, maxInFlight.Load())
	}
	for i := range counts {
		if n := counts[i].Load(); n != 1 {
			t.Errorf("target %s probed %d times", set.At(uint64(i)), n)
		}
	}
	if uint64(len(c.out)) != set.Len() {
		t.Errorf("%d results for %d targets", len(c.out), set.Len())
	}
	for _, r := range c.out {
		if r.err != nil {
			t.Errorf("%s: probe context already done: %v", r.t, r.err)
		}
	}
	want := RunStats{Total: set.Len(), Dispatched: set.Len(), Completed: set.Len(), PeakProbes: limit}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if p.Total.Load() != set.Len() || p.Done.Load() != set.Len() || p.InFlight.Load() != 0 || p.Start().IsZero() {
		t.Errorf("progress: total %d done %d in flight %d start %v", p.Total.Load(), p.Done.Load(), p.InFlight.Load(), p.Start())
	}
	checkNoLeak(t, before)
}

func TestRunOrderAndShards(t *testing.T) {
	set := build(t, []string{"10.0.0.0/24", "10.0.1.0/30:139"}, nil, nil)
	// With one worker the probe order is exactly the permuted order.
	var order []string
	Run(context.Background(), nil, Config{Concurrency: 1, Seed: 99}, set,
		func(_ context.Context, tg Target) result { order = append(order, tg.String()); return result{} },
		onPanic, func(result) {})
	perm := NewPermutation(set.Len(), 99)
	for i, s := range order {
		if want := set.At(perm.At(uint64(i))).String(); s != want {
			t.Fatalf("position %d: %s, want %s", i, s, want)
		}
	}
	if uint64(len(order)) != set.Len() {
		t.Fatalf("%d probed of %d", len(order), set.Len())
	}

	// Shards together probe every target exactly once.
	seen := map[string]int{}
	var mu sync.Mutex
	const shards = 3
	var total uint64
	for i := range shards {
		st := Run(context.Background(), nil, Config{Concurrency: 4, Seed: 5, Shard: Shard{i, shards}}, set,
			func(_ context.Context, tg Target) result {
				mu.Lock()
				seen[tg.String()]++
				mu.Unlock()
				return result{}
			}, onPanic, func(result) {})
		total += st.Completed
	}
	if total != set.Len() || uint64(len(seen)) != set.Len() {
		t.Fatalf("shards probed %d (%d distinct) of %d", total, len(seen), set.Len())
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("%s probed %d times", s, n)
		}
	}
}

func TestRunRecoversPanics(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.1-20"}, nil, nil)
	var c collector
	st := Run(context.Background(), nil, Config{Concurrency: 3}, set, func(_ context.Context, tg Target) result {
		if tg.Addr.As4()[3]%5 == 0 {
			panic(fmt.Sprintf("boom %s", tg.Addr))
		}
		return result{t: tg}
	}, onPanic, c.emit)
	if st.Panics != 4 || st.Completed != 20 || st.Interrupted {
		t.Fatalf("stats %+v", st)
	}
	panics := 0
	for _, r := range c.out {
		if r.panicked == nil {
			continue
		}
		panics++
		if r.panicked != "boom "+r.t.Addr.String() {
			t.Errorf("panic value %v for %s", r.panicked, r.t)
		}
		if !strings.Contains(string(r.stack), "TestRunRecoversPanics") {
			t.Errorf("stack does not show the panicking probe:\n%s", r.stack)
		}
	}
	if panics != 4 || len(c.out) != 20 {
		t.Fatalf("%d panic results, %d results", panics, len(c.out))
	}
	checkNoLeak(t, before)
}

// TestRunCancelStopsDispatch cancels ctx while probes run: no new target starts, the running ones
// finish with their own (uncancelled) context, and Run reports the interruption.
func TestRunCancelStopsDispatch(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.0/24"}, nil, nil)
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	release := make(chan struct{})
	var started atomic.Int64
	var c collector
	done := make(chan RunStats)
	go func() {
		done <- Run(ctx, context.Background(), Config{Concurrency: 4, HostTimeout: time.Hour}, set,
			func(hctx context.Context, tg Target) result {
				started.Add(1)
				<-release
				r := result{t: tg, err: hctx.Err()}
				if hctx.Value(key{}) != "v" {
					r.err = errors.New("probe context lost the run context's values")
				}
				if dl, ok := hctx.Deadline(); !ok || time.Until(dl) < 30*time.Minute {
					r.err = fmt.Errorf("probe deadline %v, %v", dl, ok)
				}
				return r
			}, onPanic, c.emit)
	}()
	waitFor(t, "4 probes to start", func() bool { return started.Load() == 4 })
	cancel()
	close(release)
	st := <-done
	if st.Dispatched != 4 || st.Completed != 4 || !st.Interrupted || st.Total != 256 {
		t.Fatalf("stats %+v", st)
	}
	for _, r := range c.out {
		if r.err != nil {
			t.Errorf("%s: %v", r.t, r.err)
		}
	}
	if len(c.out) != 4 {
		t.Fatalf("%d results", len(c.out))
	}
	checkNoLeak(t, before)
}

// TestRunAbortCancelsProbes shows that abort ends the running probes' contexts.
func TestRunAbortCancelsProbes(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.0/24"}, nil, nil)
	abort, abortNow := context.WithCancel(context.Background())
	ctx, stop := context.WithCancel(abort)
	defer stop()
	var started atomic.Int64
	var c collector
	done := make(chan RunStats)
	go func() {
		done <- Run(ctx, abort, Config{Concurrency: 5, HostTimeout: time.Hour}, set,
			func(hctx context.Context, tg Target) result {
				started.Add(1)
				<-hctx.Done()
				return result{t: tg, err: hctx.Err()}
			}, onPanic, c.emit)
	}()
	waitFor(t, "5 probes to start", func() bool { return started.Load() == 5 })
	abortNow()
	st := <-done
	if st.Dispatched != 5 || st.Completed != 5 || !st.Interrupted {
		t.Fatalf("stats %+v", st)
	}
	for _, r := range c.out {
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("%s: probe context error %v, want Canceled", r.t, r.err)
		}
	}
	checkNoLeak(t, before)
}

func TestRunHostTimeout(t *testing.T) {
	set := build(t, []string{"10.0.0.1-4"}, nil, nil)
	var c collector
	st := Run(context.Background(), nil, Config{Concurrency: 2, HostTimeout: 5 * time.Millisecond}, set,
		func(hctx context.Context, tg Target) result {
			<-hctx.Done() // a probe that would hang forever
			return result{t: tg, err: hctx.Err()}
		}, onPanic, c.emit)
	if st.Completed != 4 {
		t.Fatalf("stats %+v", st)
	}
	for _, r := range c.out {
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want DeadlineExceeded", r.t, r.err)
		}
	}
}

func TestRunEdges(t *testing.T) {
	before := runtime.NumGoroutine()
	probe := func(context.Context, Target) result { t.Error("probe called"); return result{} }
	// An empty set and a nil set probe nothing.
	empty := build(t, nil, nil, nil)
	if st := Run(context.Background(), nil, Config{}, empty, probe, onPanic, func(result) {}); st != (RunStats{}) {
		t.Errorf("empty set: %+v", st)
	}
	if st := Run(context.Background(), nil, Config{}, nil, probe, onPanic, func(result) {}); st != (RunStats{}) {
		t.Errorf("nil set: %+v", st)
	}
	// An already cancelled ctx dispatches nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	set := build(t, []string{"10.0.0.0/24"}, nil, nil)
	if st := Run(ctx, nil, Config{}, set, probe, onPanic, func(result) {}); st.Dispatched != 0 || !st.Interrupted || st.Total != 256 {
		t.Errorf("cancelled: %+v", st)
	}
	// A shard with fewer positions than workers.
	var n atomic.Int64
	st := Run(context.Background(), nil, Config{Shard: Shard{Index: 2, Count: 200}}, build(t, []string{"10.0.0.0/24"}, nil, nil),
		func(context.Context, Target) result { n.Add(1); return result{} }, onPanic, func(result) {})
	if st.Completed != 2 || n.Load() != 2 {
		t.Errorf("shard 2/200 of 256: %+v", st)
	}
	for _, bad := range []func(){
		func() {
			Run(context.Background(), nil, Config{Shard: Shard{3, 3}}, set, probe, onPanic, func(result) {})
		},
		func() { Run(context.Background(), nil, Config{}, set, probe, nil, func(result) {}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Run accepted an invalid call")
				}
			}()
			bad()
		}()
	}
	if got := (RunStats{Total: 10, Completed: 4, Panics: 1, Interrupted: true}).String(); got != "4/10 targets probed, 1 probe panics, interrupted" {
		t.Errorf("String = %q", got)
	}
	checkNoLeak(t, before)
}

// BenchmarkRun measures the pool's own cost per target (context, deadline, dispatch).
func BenchmarkRun(b *testing.B) {
	bl := NewTargetBuilder(445)
	last := u128ToAddr(u128{0, uint64(min(b.N, 1<<32) - 1)}, false)
	if err := bl.Add("0.0.0.0-" + last.String()); err != nil {
		b.Fatal(err)
	}
	set, err := bl.Build(context.Background(), &fakeResolver{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	st := Run(context.Background(), nil, Config{Concurrency: 8}, set,
		func(context.Context, Target) int { return 1 }, func(Target, any, []byte) int { return 0 }, func(int) {})
	if st.Completed != set.Len() {
		b.Fatalf("stats %+v", st)
	}
}
