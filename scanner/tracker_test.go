package scanner

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestShardsUnionProperty: for every shard count 1..64, running every shard of one scan through
// Run probes each target exactly once (union = all, no overlap).
func TestShardsUnionProperty(t *testing.T) {
	set := build(t, []string{"10.0.0.0/25", "10.9.0.1-10.9.0.67:139", "192.0.2.7"}, []string{"10.0.0.64/28"}, nil)
	n := set.Len()
	for count := 1; count <= 64; count++ {
		seen := make([]int, n)
		idx := indexOf(set)
		for i := range count {
			var mu sync.Mutex
			Run(context.Background(), nil, Config{Concurrency: 3, Seed: 11, Shard: Shard{i, count}}, set,
				func(_ context.Context, tg Target) Target { return tg }, func(tg Target, _ any, _ []byte) Target { return tg },
				func(tg Target) { mu.Lock(); seen[idx[tg.String()]]++; mu.Unlock() })
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("%d shards: %s probed %d times", count, set.At(uint64(i)), c)
			}
		}
	}
}

func indexOf(set *TargetSet) map[string]int {
	m := make(map[string]int, set.Len())
	for i := range set.Len() {
		m[set.At(i).String()] = int(i)
	}
	return m
}

// TestTrackerResumeAtRandomPoints cancels scans at random points, takes the checkpoint the way
// the sweep does (a snapshot consistent with the results already "written"), resumes from it,
// possibly several times, and checks that the written results together are exactly the targets of
// the shard, each once.
func TestTrackerResumeAtRandomPoints(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.0/22", "10.7.0.0/26:139"}, nil, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		shard := Shard{}
		if trial%3 == 1 {
			shard = Shard{Index: trial % 5, Count: 5}
		}
		total := shard.Len(set.Len())
		state := TrackerState{Total: total}
		var written []Target // the "output file"
		for round := 0; ; round++ {
			if round > 20 {
				t.Fatalf("trial %d: not finished after %d resumes", trial, round)
			}
			tr, err := NewTracker(state)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			abort, abortAll := context.WithCancel(context.Background())
			var mu sync.Mutex // the writer: output and Done move together, as in a flush
			var snap TrackerState
			var snapLen int
			haveSnap := false
			stopAfter := rng.IntN(int(total)/2 + 1)
			crash := rng.IntN(2) == 0 // crash: results after the snapshot are lost
			var emitted int
			Run(ctx, abort, Config{Concurrency: 1 + rng.IntN(16), Seed: 42, Shard: shard, Tracker: tr}, set,
				func(hctx context.Context, tg Target) Target {
					if tg.Pos%7 == 0 { // some hosts are slower, so results complete out of order
						time.Sleep(time.Duration(tg.Pos%5) * 20 * time.Microsecond)
					}
					return tg
				}, func(tg Target, _ any, _ []byte) Target { return tg },
				func(tg Target) {
					mu.Lock()
					defer mu.Unlock()
					if haveSnap && crash {
						return // the process is "dead": nothing more reaches the output
					}
					written = append(written, tg)
					tr.Done(tg.Pos)
					emitted++
					if emitted == stopAfter {
						cancel()
						if crash {
							abortAll()
						}
						snap, snapLen, haveSnap = tr.State(), len(written), true
					}
				})
			cancel()
			abortAll()
			if crash && haveSnap {
				written = written[:snapLen]
				state = snap
			} else {
				state = tr.State()
			}
			if err := state.Validate(); err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			if state.Remaining() == 0 {
				break
			}
		}
		seen := map[string]int{}
		for _, tg := range written {
			seen[tg.String()]++
		}
		perm := NewPermutation(set.Len(), 42)
		for j := range total {
			s := set.At(perm.At(shard.Position(j))).String()
			if seen[s] != 1 {
				t.Fatalf("trial %d (shard %v): %s written %d times", trial, shard, s, seen[s])
			}
		}
		if uint64(len(written)) != total {
			t.Fatalf("trial %d: %d written, %d in the shard", trial, len(written), total)
		}
	}
	checkNoLeak(t, before)
}

func TestTrackerStateValidate(t *testing.T) {
	for _, st := range []TrackerState{
		{Total: 5, Next: 6},
		{Total: 5, Next: 3, Open: []uint64{3}},
		{Total: 5, Next: 3, Open: []uint64{2, 1}},
		{Total: 5, Next: 3, Open: []uint64{1, 1}},
	} {
		if st.Validate() == nil {
			t.Errorf("%+v: valid", st)
		}
		if _, err := NewTracker(st); err == nil {
			t.Errorf("%+v: NewTracker accepted it", st)
		}
	}
	st := TrackerState{Total: 10, Next: 6, Open: []uint64{2, 5}}
	if st.Validate() != nil || st.Remaining() != 6 || st.Watermark() != 2 {
		t.Errorf("%+v: remaining %d watermark %d", st, st.Remaining(), st.Watermark())
	}
	tr, _ := NewTracker(st)
	var got []uint64
	for {
		j, ok := tr.take()
		if !ok {
			break
		}
		got = append(got, j)
	}
	want := []uint64{2, 5, 6, 7, 8, 9}
	if len(got) != len(want) {
		t.Fatalf("dispatch order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dispatch order %v, want %v", got, want)
		}
	}
	tr.Done(7)
	if s := tr.State(); s.Next != 10 || len(s.Open) != 5 || s.Remaining() != 5 {
		t.Errorf("state after dispatch %+v", s)
	}
}

func TestRunTrackerMismatchPanics(t *testing.T) {
	set := build(t, []string{"10.0.0.0/30"}, nil, nil)
	tr, _ := NewTracker(TrackerState{Total: 3})
	defer func() {
		if recover() == nil {
			t.Error("no panic for a tracker of the wrong size")
		}
	}()
	Run(context.Background(), nil, Config{Tracker: tr}, set, func(context.Context, Target) int { return 0 },
		func(Target, any, []byte) int { return 0 }, func(int) {})
}

func TestFingerprint(t *testing.T) {
	a := build(t, []string{"10.0.0.0/24", "10.0.1.0/24"}, []string{"10.0.0.5"}, nil)
	b := build(t, []string{"10.0.1.0/24", "10.0.0.0-10.0.0.4", "10.0.0.6-10.0.0.255"}, nil, nil)
	c := build(t, []string{"10.0.0.0/24", "10.0.1.0/24"}, nil, nil)
	d := build(t, []string{"10.0.0.0/24:139", "10.0.1.0/24:139"}, []string{"10.0.0.5"}, nil)
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("equal sets written differently have different fingerprints")
	}
	if a.Fingerprint() == c.Fingerprint() || a.Fingerprint() == d.Fingerprint() {
		t.Error("different sets share a fingerprint")
	}
}

// TestConnectAhead: targets that never connect wait in the connect-ahead stage, not in the
// probe slots; connected targets are probed with their connection, at most Concurrency at
// once; every target is probed once and nothing is left running.
func TestConnectAhead(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.0/25"}, nil, nil) // .0-.99 connect, .100-.127 never answer
	filtered := func(tg Target) bool { return tg.Addr.As4()[3] >= 100 }
	var inProbe, maxInProbe, probedWithConn, probedWithErr, silentDialing, maxSilentDialing atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	dial := func(ctx context.Context, tg Target) (net.Conn, error) {
		if filtered(tg) {
			n := silentDialing.Add(1)
			for m := maxSilentDialing.Load(); n > m && !maxSilentDialing.CompareAndSwap(m, n); m = maxSilentDialing.Load() {
			}
			<-ctx.Done()
			silentDialing.Add(-1)
			return nil, ctx.Err()
		}
		a, b := net.Pipe()
		b.Close()
		return a, nil
	}
	probe := func(hctx context.Context, tg Target) Target {
		mu.Lock()
		seen[tg.String()]++
		mu.Unlock()
		fc := takeFirstConn(hctx, tg.AddrPort().String())
		if fc == nil {
			t.Errorf("%s: probe got no first connection", tg)
			return tg
		}
		if fc.err != nil {
			probedWithErr.Add(1)
			return tg
		}
		n := inProbe.Add(1)
		for m := maxInProbe.Load(); n > m && !maxInProbe.CompareAndSwap(m, n); m = maxInProbe.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		inProbe.Add(-1)
		probedWithConn.Add(1)
		fc.conn.Close()
		return tg
	}
	st := Run(context.Background(), nil, Config{Concurrency: 4, ConnectAhead: 64, HostTimeout: 200 * time.Millisecond, Dial: dial}, set,
		probe, func(tg Target, _ any, _ []byte) Target { return tg }, func(Target) {})
	if st.Completed != set.Len() || probedWithConn.Load() != 100 || probedWithErr.Load() != 28 {
		t.Fatalf("stats %+v, %d probed with a connection, %d with the connect error", st, probedWithConn.Load(), probedWithErr.Load())
	}
	if m := maxInProbe.Load(); m > 4 {
		t.Errorf("%d probes at once, limit 4", m)
	}
	for s, n := range seen {
		if n != 1 {
			t.Errorf("%s probed %d times", s, n)
		}
	}
	// Silent targets wait in the connect-ahead stage, more of them at once than there are probe
	// slots once the first ones have timed out (the stage then knows that connects that do not
	// complete at once are unlikely to reach a live host).
	if m := maxSilentDialing.Load(); m <= 4 {
		t.Errorf("at most %d silent targets waited at once: no more than the probe slots", m)
	}
	// A target dialed ahead but never asked for by its probe has its connection closed.
	fc := &firstConn{addr: "x"}
	a, b := net.Pipe()
	fc.conn = a
	fc.closeUnused()
	if _, err := b.Write([]byte{1}); err == nil {
		t.Error("unused first connection left open")
	}
	checkNoLeak(t, before)
}

// TestConnectAheadAbort: cancelling dispatch and then aborting while connected targets wait for
// a probe slot ends the run promptly; every dispatched target is emitted once and every
// connection made ahead is closed.
func TestConnectAheadAbort(t *testing.T) {
	before := runtime.NumGoroutine()
	set := build(t, []string{"10.0.0.0/24"}, nil, nil)
	var open atomic.Int64
	dial := func(ctx context.Context, tg Target) (net.Conn, error) {
		a, b := net.Pipe()
		open.Add(1)
		go func() { _, _ = io.Copy(io.Discard, b); b.Close(); open.Add(-1) }()
		return a, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	abort, abortAll := context.WithCancel(context.Background())
	var emitted atomic.Int64
	var once sync.Once
	probe := func(hctx context.Context, tg Target) Target {
		if fc := takeFirstConn(hctx, tg.AddrPort().String()); fc != nil && fc.conn != nil {
			defer fc.conn.Close()
		}
		if emitted.Load() >= 5 {
			once.Do(func() { cancel(); abortAll() })
		}
		<-hctx.Done() // a host that never answers: its deadline or the abort ends it
		return tg
	}
	done := make(chan RunStats)
	go func() {
		done <- Run(ctx, abort, Config{Concurrency: 2, ConnectAhead: 16, HostTimeout: 20 * time.Millisecond, Dial: dial}, set,
			probe, func(tg Target, _ any, _ []byte) Target { return tg }, func(Target) { emitted.Add(1) })
	}()
	select {
	case st := <-done:
		if st.Completed != st.Dispatched || uint64(emitted.Load()) != st.Completed || st.Dispatched == set.Len() {
			t.Errorf("stats %+v, %d emitted", st, emitted.Load())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after abort")
	}
	waitFor(t, "connections closed", func() bool { return open.Load() == 0 })
	checkNoLeak(t, before)
}
