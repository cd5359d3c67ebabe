package scanner

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// TrackerState is what a checkpoint stores about a run's progress through its shard: positions
// (indexes into the shard's permuted order, see Shard.Position) below Next that are not in Open
// are finished; Open positions and every position from Next on are still to do. Open holds at
// most a few times the concurrency (hosts in flight plus results not yet flushed), so the state
// stays small however large the scan is.
type TrackerState struct {
	Total uint64   // positions in the shard
	Next  uint64   // first position never dispatched
	Open  []uint64 // positions below Next not finished, ascending
}

// Remaining returns how many positions are still to do.
func (s TrackerState) Remaining() uint64 { return uint64(len(s.Open)) + s.Total - s.Next }

// Watermark returns the completed low-watermark: every position below it is finished.
func (s TrackerState) Watermark() uint64 {
	if len(s.Open) > 0 {
		return s.Open[0]
	}
	return s.Next
}

// Validate checks that the state is self-consistent (Open ascending, distinct, below Next, Next
// at most Total).
func (s TrackerState) Validate() error {
	if s.Next > s.Total {
		return fmt.Errorf("next position %d beyond the %d targets of the shard", s.Next, s.Total)
	}
	for i, p := range s.Open {
		if p >= s.Next {
			return fmt.Errorf("open position %d not below next position %d", p, s.Next)
		}
		if i > 0 && p <= s.Open[i-1] {
			return fmt.Errorf("open positions not strictly ascending at %d", p)
		}
	}
	return nil
}

// Tracker hands out a run's positions in dispatch order and records which are finished, for
// checkpoints and resume. Give it to Run in Config.Tracker; Run takes positions from it and
// passes each one to the probe as Target.Pos. Finished is decided by the caller, who calls Done
// once the target's result is durably written (not merely probed), so that a checkpoint never
// claims a result that a crash could still lose.
//
// A Tracker made from the state of an earlier run (NewTracker) dispatches that run's open
// positions first, then continues from its Next. It is safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	total uint64
	redo  []uint64            // open positions of an earlier run not yet dispatched, ascending
	next  uint64              // next fresh position
	open  map[uint64]struct{} // dispatched, not yet Done
}

// NewTracker returns a tracker resuming from st; the zero TrackerState{Total: n} starts afresh.
// It fails if st is inconsistent.
func NewTracker(st TrackerState) (*Tracker, error) {
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{
		total: st.Total,
		redo:  slices.Clone(st.Open),
		next:  st.Next,
		open:  make(map[uint64]struct{}),
	}, nil
}

// take returns the next position to dispatch and marks it open.
func (t *Tracker) take() (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var j uint64
	switch {
	case len(t.redo) > 0:
		j = t.redo[0]
		t.redo = t.redo[1:]
	case t.next < t.total:
		j = t.next
		t.next++
	default:
		return 0, false
	}
	t.open[j] = struct{}{}
	return j, true
}

// Done marks position j finished. Done of a position that is not open is a no-op.
func (t *Tracker) Done(j uint64) {
	t.mu.Lock()
	delete(t.open, j)
	t.mu.Unlock()
}

// Remaining returns how many positions are not finished (open, or never dispatched).
func (t *Tracker) Remaining() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return uint64(len(t.redo)+len(t.open)) + t.total - t.next
}

// State returns a consistent snapshot.
func (t *Tracker) State() TrackerState {
	t.mu.Lock()
	open := make([]uint64, 0, len(t.redo)+len(t.open))
	open = append(open, t.redo...)
	for j := range t.open {
		open = append(open, j)
	}
	st := TrackerState{Total: t.total, Next: t.next}
	t.mu.Unlock()
	slices.Sort(open)
	st.Open = open
	return st
}

// Fingerprint returns a SHA-256 digest of the set's contents (every range, port and name, in
// index order): two sets with the same fingerprint map every index to the same target, which is
// what a resumed scan needs. Names are fingerprinted as given, not as resolved (names are
// ordered after every address range, so a name's resolution cannot shift any index).
func (s *TargetSet) Fingerprint() [32]byte {
	h := sha256.New()
	var b [64]byte
	for i := range s.segs {
		g := &s.segs[i]
		e := binary.LittleEndian.AppendUint64(b[:0], g.off)
		e = binary.LittleEndian.AppendUint64(e, g.size)
		e = binary.LittleEndian.AppendUint16(e, g.port)
		if g.host == "" { // a name counts as given: its address may change between runs
			e = binary.LittleEndian.AppendUint64(e, g.first.hi)
			e = binary.LittleEndian.AppendUint64(e, g.first.lo)
			if g.v6 {
				e = append(e, 6)
			} else {
				e = append(e, 4)
			}
		}
		e = binary.LittleEndian.AppendUint32(e, uint32(len(g.host)))
		h.Write(e)
		h.Write([]byte(g.host))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
