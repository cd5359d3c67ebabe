package scanner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chanSlots is a HostSlots of n slots.
type chanSlots chan struct{}

func (c chanSlots) Acquire(ctx context.Context) bool {
	select {
	case c <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c chanSlots) Release() { <-c }

func slotsSet(t *testing.T, spec string) *TargetSet {
	t.Helper()
	b := NewTargetBuilder(445)
	if err := b.Add(spec); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), &fakeResolver{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestSharedSlots: two runs of 8 probe slots each share a budget of 3: at most 3 probes run at
// once across both, every target is probed, and the host deadline starts only with the slot
// (the last hosts wait about 500 ms for theirs; each starts with its whole deadline left).
func TestSharedSlots(t *testing.T) {
	const hostTimeout = 10 * time.Second
	slots := make(chanSlots, 3)
	var now, peak atomic.Int64
	probe := func(ctx context.Context, _ Target) result {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		dl, _ := ctx.Deadline()
		if left := time.Until(dl); left < hostTimeout-300*time.Millisecond {
			return result{err: fmt.Errorf("started with %v of its deadline left: the wait for a slot counted", left)}
		}
		time.Sleep(50 * time.Millisecond)
		return result{}
	}
	var wg sync.WaitGroup
	var cols [2]collector
	for i := range cols {
		wg.Go(func() {
			st := Run(context.Background(), nil, Config{Concurrency: 8, HostTimeout: hostTimeout, Slots: slots},
				slotsSet(t, "10.0.0.0/28"), probe, onPanic, cols[i].emit)
			if st.Completed != 16 || st.Interrupted {
				t.Errorf("run %d: %+v", i, st)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Errorf("%d probes at once across both runs, want the 3 slots", p)
	}
	for i := range cols {
		for _, r := range cols[i].out {
			if r.err != nil {
				t.Errorf("run %d: %v: %v", i, r.t, r.err)
			}
		}
	}
	if len(slots) != 0 {
		t.Errorf("%d slots still held", len(slots))
	}
}

// TestSlotsWaitEndsWithTheRun: targets waiting for a slot when the run is cancelled are not
// dispatched, and the run returns at once.
func TestSlotsWaitEndsWithTheRun(t *testing.T) {
	slots := make(chanSlots, 1)
	slots <- struct{}{} // taken by someone else for good
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	var c collector
	start := time.Now()
	st := Run(ctx, nil, Config{Concurrency: 4, Slots: slots}, slotsSet(t, "10.0.0.0/30"),
		func(context.Context, Target) result { return result{} }, onPanic, c.emit)
	if st.Dispatched != 0 || !st.Interrupted || len(c.out) != 0 || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled while waiting: %+v, %d results, %v", st, len(c.out), time.Since(start))
	}
}
