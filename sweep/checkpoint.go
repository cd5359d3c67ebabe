package sweep

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// CheckpointVersion is the version of the checkpoint file format.
const CheckpointVersion = 1

// DefaultCheckpointInterval is how often Run saves a checkpoint while the scan runs.
const DefaultCheckpointInterval = 2 * time.Second

// CheckpointFile is the JSON checkpoint a resumable scan writes (atomically: a temporary file
// in the same directory, synced, then renamed over the old one).
//
// Positions index the shard's permuted order. Every position below Next that is not in Open
// has its result in the output files, whose sizes at that moment are Files: resuming truncates
// each file to its recorded size (dropping results written after the checkpoint, which will be
// probed again) and appends, so that the outputs of all runs together hold every target exactly
// once.
type CheckpointFile struct {
	Version    int    `json:"version"`
	ConfigHash string `json:"config_hash"` // ConfigHash of targets, exclusions and probe settings
	Seed       uint64 `json:"seed"`
	Shard      string `json:"shard"` // "index/count"
	Total      uint64 `json:"total"` // targets in the shard
	Next       uint64 `json:"next"`
	// Open lists positions below Next whose results are not yet written (in flight, or queued
	// for the output, when the checkpoint was taken), ascending.
	Open      []uint64         `json:"open"`
	Watermark uint64           `json:"watermark"` // every position below it is written
	Done      uint64           `json:"done"`      // positions written
	Complete  bool             `json:"complete"`  // every position is written
	Files     map[string]int64 `json:"files,omitempty"`
	Updated   time.Time        `json:"updated"`
}

// ErrCheckpointMismatch reports a checkpoint of a different scan.
var ErrCheckpointMismatch = errors.New("checkpoint belongs to a different scan")

// ConfigHash digests what decides which targets a scan visits and what it writes for them: the
// target set (targets minus exclusions, ports included) and parts (the probe and output
// settings, as the caller spells them). Concurrency, rates and timeouts may change between runs
// and do not belong in parts.
func ConfigHash(set *scanner.TargetSet, parts ...string) string {
	h := sha256.New()
	fp := set.Fingerprint()
	h.Write(fp[:])
	for _, p := range parts {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Checkpoint makes a scan resumable: give it to Run in Config.Checkpoint and wrap the output
// writer's sinks with WrapSinks. A result counts as done only once every sink has flushed it.
type Checkpoint struct {
	path     string
	interval time.Duration
	hash     string
	seed     uint64
	shard    scanner.Shard
	tracker  *scanner.Tracker
	resumed  bool
	prior    CheckpointFile // what was loaded, when resumed

	files []string // output files whose sizes are recorded

	pmu sync.Mutex
	pos map[*probes.Result]uint64 // results handed to the writer, by identity

	mu      sync.Mutex // Done marking and sizes (writer goroutine) against snapshots (Save)
	sizes   map[string]int64
	written []uint64 // positions of results written to the sinks since the last flush

	failed atomic.Bool // some sink failed: the checkpoint stays at the last good flush

	saveMu sync.Mutex
}

// OpenCheckpoint loads the checkpoint at path, or prepares a new one when there is none. hash is
// ConfigHash of this scan; seed is the requested permutation seed (0 = take the checkpoint's, or
// a random one for a new scan); total is the number of targets of shard. A checkpoint with
// another hash, seed, shard or size fails with ErrCheckpointMismatch and a message saying which.
func OpenCheckpoint(path, hash string, seed uint64, shard scanner.Shard, total uint64) (*Checkpoint, error) {
	cp := &Checkpoint{path: path, interval: DefaultCheckpointInterval, hash: hash, shard: shard,
		pos: make(map[*probes.Result]uint64), sizes: make(map[string]int64)}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cp.seed = seed
		for cp.seed == 0 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			cp.seed = binary.LittleEndian.Uint64(b[:])
		}
		cp.tracker, err = scanner.NewTracker(scanner.TrackerState{Total: total})
		return cp, err
	case err != nil:
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var f CheckpointFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("checkpoint %s: not a smbsweep checkpoint: %w", path, err)
	}
	if f.Version != CheckpointVersion {
		return nil, fmt.Errorf("checkpoint %s: version %d, this smbsweep reads version %d", path, f.Version, CheckpointVersion)
	}
	mismatch := func(what string, was, now any) error {
		return fmt.Errorf("%w: checkpoint %s was written with %s %v, this run has %v (use the same targets, exclusions, probe and output flags, or another -resume file)",
			ErrCheckpointMismatch, path, what, was, now)
	}
	switch {
	case f.ConfigHash != hash:
		return nil, mismatch("configuration", f.ConfigHash, hash)
	case seed != 0 && f.Seed != seed:
		return nil, mismatch("-seed", f.Seed, seed)
	case f.Shard != shard.String():
		return nil, mismatch("shard", f.Shard, shard.String())
	case f.Total != total:
		return nil, mismatch("target count", f.Total, total)
	}
	cp.tracker, err = scanner.NewTracker(scanner.TrackerState{Total: f.Total, Next: f.Next, Open: f.Open})
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	cp.seed, cp.resumed, cp.prior = f.Seed, true, f
	return cp, nil
}

// Seed returns the permutation seed of the scan (the checkpoint's when resuming).
func (c *Checkpoint) Seed() uint64 { return c.seed }

// Resumed reports whether an existing checkpoint was loaded.
func (c *Checkpoint) Resumed() bool { return c.resumed }

// Prior returns the loaded checkpoint (zero when not resumed).
func (c *Checkpoint) Prior() CheckpointFile { return c.prior }

// Remaining returns how many targets are still to do.
func (c *Checkpoint) Remaining() uint64 { return c.tracker.Remaining() }

// SetInterval sets how often Run saves the checkpoint (default DefaultCheckpointInterval).
func (c *Checkpoint) SetInterval(d time.Duration) {
	if d > 0 {
		c.interval = d
	}
}

// PrepareOutput registers an output file whose size the checkpoint records and, when resuming,
// truncates it to the size recorded: the results after that point belong to targets that are
// still open and will be written again. It returns whether the caller should append to the file
// (resuming) rather than truncate it. A file shorter than recorded is an error: it is not the
// output the checkpoint describes.
func (c *Checkpoint) PrepareOutput(path string) (appendTo bool, err error) {
	c.files = append(c.files, path)
	if !c.resumed {
		c.mu.Lock()
		c.sizes[path] = 0 // the caller truncates it
		c.mu.Unlock()
		return false, nil
	}
	want, ok := c.prior.Files[path]
	if !ok {
		return false, fmt.Errorf("%w: checkpoint %s records no output %s (resume with the same output files)", ErrCheckpointMismatch, c.path, path)
	}
	var size int64
	switch st, err := os.Stat(path); {
	case err == nil:
		size = st.Size()
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("resume output %s: %w", path, err)
	}
	if size < want {
		return false, fmt.Errorf("resume output %s: %d bytes, the checkpoint recorded %d: not the file that scan wrote", path, size, want)
	}
	if size > want {
		if err := os.Truncate(path, want); err != nil {
			return false, fmt.Errorf("resume output %s: %w", path, err)
		}
	}
	c.mu.Lock()
	c.sizes[path] = want
	c.mu.Unlock()
	return true, nil
}

// bind remembers the position of a result about to be handed to the writer.
func (c *Checkpoint) bind(r *probes.Result, pos uint64) {
	c.pmu.Lock()
	c.pos[r] = pos
	c.pmu.Unlock()
}

// WrapSinks returns sinks wrapped so that a failure of any of them freezes the checkpoint,
// followed by the checkpoint's own sink, which must come last: the Writer flushes sinks in
// order, so when the checkpoint's Flush runs every other sink has flushed.
func (c *Checkpoint) WrapSinks(sinks []output.Sink) []output.Sink {
	out := make([]output.Sink, 0, len(sinks)+1)
	for _, s := range sinks {
		out = append(out, &watchedSink{Sink: s, failed: &c.failed})
	}
	return append(out, (*checkpointSink)(c))
}

// watchedSink reports a failure of the sink it wraps.
type watchedSink struct {
	output.Sink
	failed *atomic.Bool
}

func (w *watchedSink) watch(err *error) {
	if v := recover(); v != nil {
		w.failed.Store(true)
		panic(v)
	}
	if *err != nil {
		w.failed.Store(true)
	}
}

func (w *watchedSink) WriteResult(r *probes.Result) (err error) {
	defer w.watch(&err)
	return w.Sink.WriteResult(r)
}

func (w *watchedSink) WriteSummary(s *probes.Summary) (err error) {
	defer w.watch(&err)
	return w.Sink.WriteSummary(s)
}

func (w *watchedSink) Flush() (err error) {
	defer w.watch(&err)
	return w.Sink.Flush()
}

// checkpointSink marks results done when the sinks before it have flushed them.
type checkpointSink Checkpoint

func (s *checkpointSink) Name() string { return "checkpoint" }

func (s *checkpointSink) WriteResult(r *probes.Result) error {
	c := (*Checkpoint)(s)
	c.pmu.Lock()
	pos, ok := c.pos[r]
	delete(c.pos, r)
	c.pmu.Unlock()
	if ok {
		c.written = append(c.written, pos)
	}
	return nil
}

func (s *checkpointSink) WriteSummary(*probes.Summary) error { return nil }

func (s *checkpointSink) Flush() error {
	c := (*Checkpoint)(s)
	if c.failed.Load() {
		return nil // an output failed: what it flushed is unknown, keep the last good state
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, j := range c.written {
		c.tracker.Done(j)
	}
	c.written = c.written[:0]
	for _, p := range c.files {
		if st, err := os.Stat(p); err == nil {
			c.sizes[p] = st.Size()
		}
	}
	return nil
}

// State returns the checkpoint as it would be saved now.
func (c *Checkpoint) State() CheckpointFile {
	c.mu.Lock()
	st := c.tracker.State()
	files := make(map[string]int64, len(c.sizes))
	for k, v := range c.sizes {
		files[k] = v
	}
	c.mu.Unlock()
	return CheckpointFile{
		Version: CheckpointVersion, ConfigHash: c.hash, Seed: c.seed, Shard: c.shard.String(),
		Total: st.Total, Next: st.Next, Open: st.Open, Watermark: st.Watermark(),
		Done: st.Total - st.Remaining(), Complete: st.Remaining() == 0, Files: files,
		Updated: time.Now().UTC().Truncate(time.Millisecond),
	}
}

// Save writes the checkpoint atomically: a temporary file next to it, synced, renamed over it.
// It is safe for concurrent use.
func (c *Checkpoint) Save() error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	data, err := json.Marshal(c.State())
	if err != nil {
		return err
	}
	data = append(data, '\n')
	return writeFileAtomic(c.path, data)
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
