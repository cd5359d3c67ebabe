// Package output writes scan results: one writer goroutine fans the finished probes.Result records
// out to sinks (JSONL, CSV, a terminal view, Prometheus metrics) and closes the run with a
// probes.Summary. It knows nothing of sockets or SMB bytes; the record schema is docs/schema.md.
package output

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbsweep/smbsweep/probes"
)

// Sink receives records from the Writer's goroutine, one call at a time (a sink needs no locking
// of its own). WriteResult and WriteSummary may buffer; Flush pushes buffered whole records to the
// underlying io.Writer. Errors are returned unwrapped: the Writer adds the sink's Name.
type Sink interface {
	// Name identifies the sink in errors, e.g. the output file name or "stdout".
	Name() string
	WriteResult(*probes.Result) error
	WriteSummary(*probes.Summary) error
	Flush() error
}

// Writer tuning. The queue bounds memory: a slow sink makes Write block (backpressure on the scan
// workers) instead of letting records pile up.
const (
	queueSize     = 256                    // records in flight between workers and the writer goroutine
	flushRecords  = 64                     // flush sinks at least every this many records
	flushInterval = 100 * time.Millisecond // and at least this often while records arrive
)

// FindingIDs lists every finding id of probes in a fixed order: the summary and the metrics report
// a count for each, zeros included. A new finding id in probes is a one-line addition here.
var FindingIDs = []string{
	probes.FindingSMB1Enabled,
	probes.FindingSigningNotRequired,
	probes.FindingNullSession,
	probes.FindingGuestSession,
	probes.FindingAnonymousShareReadable,
	probes.FindingShareWritable,
	probes.FindingSMB3Unsupported,
	probes.FindingEncryptionUnsupported,
	probes.FindingSMBGhost,
	probes.FindingMS17010,
	probes.FindingDoublePulsar,
	probes.FindingCoercibleInterface,
	probes.FindingCoercibleCredentialed,
	probes.FindingWebClientRunning,
	probes.FindingSpoolerRunning,
	probes.FindingAnonymousLSA,
	probes.FindingAnonymousSIDTranslation,
	probes.FindingAnonymousPasswordPolicy,
}

// Writer serializes records from concurrent scan workers to its sinks on one goroutine.
//
// A sink that fails (disk full, EPIPE on a closed stdout) is disabled; the first such error is
// kept, reported by Err at once and returned by Close, wrapped with the sink's name
// ("write results to out.jsonl: no space left on device"). Other sinks keep receiving records, so
// that a failing terminal does not also lose the result file; callers should nevertheless stop the
// scan when Err returns non-nil.
type Writer struct {
	sinks []Sink
	ch    chan *probes.Result
	done  chan struct{}

	mu     sync.RWMutex // guards closed against a concurrent Write/Close
	closed bool

	err       atomic.Pointer[error]
	closeOnce sync.Once
	closeErr  error

	// Owned by the writer goroutine until done is closed.
	failed     []bool
	scanned    uint64
	statuses   map[string]int
	findings   map[string]int
	verdicts   map[string]map[string]int
	incomplete int
}

// NewWriter starts the writer goroutine for sinks. Call Close exactly once when the scan ends.
func NewWriter(sinks ...Sink) *Writer {
	w := &Writer{
		sinks:    sinks,
		ch:       make(chan *probes.Result, queueSize),
		done:     make(chan struct{}),
		failed:   make([]bool, len(sinks)),
		statuses: make(map[string]int, len(probes.Statuses)),
		findings: make(map[string]int, len(FindingIDs)),
	}
	for _, s := range probes.Statuses {
		w.statuses[string(s)] = 0
	}
	for _, id := range FindingIDs {
		w.findings[id] = 0
	}
	w.verdicts = zeroVerdicts()
	go w.run()
	return w
}

// Write hands r to the writer goroutine, blocking while the queue is full. It is safe for
// concurrent use. The Writer takes ownership of r: the caller must not modify it afterwards (times
// are normalized to UTC in place). Write returns the first sink error so far, if any, so that a
// worker can stop the scan; records written after Close are dropped.
func (w *Writer) Write(r *probes.Result) error {
	if r == nil {
		return w.Err()
	}
	w.mu.RLock()
	if !w.closed {
		w.ch <- r
	}
	w.mu.RUnlock()
	return w.Err()
}

// Err returns the first sink error, or nil. It is safe for concurrent use and cheap enough to poll.
func (w *Writer) Err() error {
	if p := w.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Close drains the queue, fills s.Statuses (every status of probes.Statuses, zeros included) and
// s.Findings (hosts whose finding value is true, every known finding id included), sets Schema,
// Type and Scanned when the caller left them empty, writes s to every healthy sink, flushes them
// and returns the first error. s may be nil: then no summary is written. Close does not close the
// underlying files; their owner does. Calling Close again returns the same error.
func (w *Writer) Close(s *probes.Summary) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.ch)
		w.mu.Unlock()
		<-w.done

		if s != nil {
			w.fillSummary(s)
			for i, sink := range w.sinks {
				if !w.failed[i] {
					w.call(i, guard(func() error { return sink.WriteSummary(s) }))
				}
			}
		}
		w.flushAll()
		w.closeErr = w.Err()
	})
	return w.closeErr
}

func (w *Writer) fillSummary(s *probes.Summary) {
	if s.Schema == "" {
		s.Schema = probes.SchemaVersion
	}
	if s.Type == "" {
		s.Type = "summary"
	}
	if s.Scanned == 0 {
		s.Scanned = w.scanned
	}
	s.Started = s.Started.UTC()
	s.Finished = s.Finished.UTC()
	s.Incomplete = w.incomplete
	s.Statuses = make(map[string]int, len(w.statuses))
	for k, v := range w.statuses {
		s.Statuses[k] = v
	}
	s.Findings = make(map[string]int, len(w.findings))
	for k, v := range w.findings {
		s.Findings[k] = v
	}
	s.Verdicts = zeroVerdicts()
	for id, states := range w.verdicts {
		for st, n := range states {
			s.Verdicts[id][st] = n
		}
	}
}

// zeroVerdicts is a verdict count of every verdict id and state, all zero.
func zeroVerdicts() map[string]map[string]int {
	m := make(map[string]map[string]int, len(probes.VerdictIDs))
	for _, id := range probes.VerdictIDs {
		m[id] = make(map[string]int, len(probes.VerdictStates))
		for _, st := range probes.VerdictStates {
			m[id][st] = 0
		}
	}
	return m
}

// verdictStates calls fn with the state of each verdict of r (the first finding of each
// verdict id) when r answered SMB; other hosts have none to count: their status says why
// nothing was decided. Ids and states come only from the closed sets probes.VerdictIDs and
// probes.VerdictStates, so callers may use them as map keys and label values as they are.
func verdictStates(r *probes.Result, fn func(id, state string)) {
	if r.Status != probes.StatusSMB {
		return
	}
	for _, id := range probes.VerdictIDs {
		for _, f := range r.Findings {
			if f.ID == id && f.State != "" {
				if slices.Contains(probes.VerdictStates, f.State) {
					fn(id, f.State)
				}
				break
			}
		}
	}
}

func (w *Writer) run() {
	defer close(w.done)
	ticker := time.NewTicker(flushInterval)
	defer ticker.Stop()
	pending := 0
	for {
		select {
		case r, ok := <-w.ch:
			if !ok {
				return // Close flushes after writing the summary
			}
			w.handle(r)
			pending++
			if pending >= flushRecords {
				w.flushAll()
				pending = 0
			}
		case <-ticker.C:
			if pending > 0 {
				w.flushAll()
				pending = 0
			}
		}
	}
}

func (w *Writer) handle(r *probes.Result) {
	if r.Schema == "" {
		r.Schema = probes.SchemaVersion
	}
	if r.Type == "" {
		r.Type = "host"
	}
	normalizeUTC(r)
	w.scanned++
	w.statuses[string(r.Status)]++
	if len(r.Incomplete) > 0 {
		w.incomplete++
	}
	for _, id := range trueFindings(r) {
		w.findings[id]++
	}
	verdictStates(r, func(id, state string) { w.verdicts[id][state]++ })
	for i, sink := range w.sinks {
		if !w.failed[i] {
			w.call(i, guard(func() error { return sink.WriteResult(r) }))
		}
	}
}

func (w *Writer) flushAll() {
	for i, sink := range w.sinks {
		if !w.failed[i] {
			w.call(i, guard(sink.Flush))
		}
	}
}

// guard runs a sink method, turning a panic into that sink's error: a sink that panics must not
// kill the writer goroutine, or every scan worker would block in Write forever.
func guard(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return f()
}

// call records err from sink i: the sink is disabled and the first error is kept.
func (w *Writer) call(i int, err error) {
	if err == nil {
		return
	}
	w.failed[i] = true
	werr := &SinkError{Sink: w.sinks[i].Name(), Err: err}
	var e error = werr
	w.err.CompareAndSwap(nil, &e)
}

// SinkError is a write failure of one sink.
type SinkError struct {
	Sink string // the sink's Name
	Err  error
}

func (e *SinkError) Error() string { return fmt.Sprintf("write results to %s: %v", e.Sink, e.Err) }

// Unwrap returns the underlying error (e.g. syscall.ENOSPC), for errors.Is.
func (e *SinkError) Unwrap() error { return e.Err }

// trueFindings returns the distinct finding ids of r whose value is true, in record order.
func trueFindings(r *probes.Result) []string {
	var ids []string
	for _, f := range r.Findings {
		if f.Value == nil || !*f.Value {
			continue
		}
		dup := false
		for _, id := range ids {
			if id == f.ID {
				dup = true
				break
			}
		}
		if !dup {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// normalizeUTC converts every time in r to UTC, so every sink prints RFC 3339 UTC.
func normalizeUTC(r *probes.Result) {
	r.Timestamp = r.Timestamp.UTC()
	utc := func(t *time.Time) {
		if t != nil {
			*t = t.UTC()
		}
	}
	if r.SMB1 != nil {
		utc(r.SMB1.SystemTime)
	}
	if r.Negotiate != nil {
		utc(r.Negotiate.SystemTime)
		utc(r.Negotiate.BootTime)
	}
	if r.NTLM != nil {
		utc(r.NTLM.ServerTime)
	}
	for i := range r.Shares {
		for j := range r.Shares[i].Access {
			if st := r.Shares[i].Access[j].Stat; st != nil {
				utc(st.CreationTime)
				utc(st.LastAccessTime)
				utc(st.LastWriteTime)
				utc(st.ChangeTime)
			}
		}
	}
}
