package daemon

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/diff"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

// DefaultSessionTimeout is the session stage's own deadline in jobs and API probes without a
// tighter budget (servers delay failed logons by seconds).
const DefaultSessionTimeout = 5 * time.Second

// RunReport is what one job run did.
type RunReport struct {
	Job      string
	ID       string // run id, e.g. 20261121T065300Z
	Start    time.Time
	Duration time.Duration
	Result   string // success, failed, interrupted
	File     string // the committed JSONL file ("" when none was written)
	CSV      string
	DiffFile string
	Changes  int
	Summary  *probes.Summary
	Err      error
}

// progressSink counts written results into the targets-done gauge.
type progressSink struct{ g prometheus.Gauge }

func (p progressSink) Name() string                       { return "progress" }
func (p progressSink) WriteResult(*probes.Result) error   { p.g.Inc(); return nil }
func (p progressSink) WriteSummary(*probes.Summary) error { return nil }
func (p progressSink) Flush() error                       { return nil }

// runJob runs j once: every target through the job's pipeline, the files written whole
// (temp + fsync + rename), the diff against the previous complete run, old runs pruned.
// Cancelling ctx stops dispatch (hosts in flight finish); cancelling abort stops those too.
func (d *Daemon) runJob(ctx, abort context.Context, j *Job, scanMetrics *output.ScanMetrics) (rep RunReport) {
	start := d.now().UTC()
	rep = RunReport{Job: j.Name, Start: start, ID: runID(start)}
	log := d.log.With("job", j.Name, "run", rep.ID)
	d.metrics.runStarted(j.Name, start)
	defer func() {
		rep.Duration = d.now().Sub(start)
		d.metrics.runFinished(j.Name, rep.Result, start, rep.Duration, rep.Summary)
		attrs := []any{"result", rep.Result, "duration", rep.Duration.Round(time.Millisecond)}
		if rep.Summary != nil {
			attrs = append(attrs, "targets", rep.Summary.Targets, "scanned", rep.Summary.Scanned)
		}
		if rep.DiffFile != "" {
			attrs = append(attrs, "changes", rep.Changes)
		}
		if rep.Err != nil {
			log.Error("run failed", append(attrs, "err", rep.Err)...)
			return
		}
		log.Info("run finished", attrs...)
	}()
	fail := func(err error) RunReport {
		rep.Result, rep.Err = runFailed, err
		return rep
	}

	dir := filepath.Join(j.OutputDir, j.Name)
	if err := output.MkdirAll(dir, true); err != nil {
		return fail(fmt.Errorf("output directory: %w", err))
	}
	removeStaleTemps(dir)
	ids, err := listRuns(dir)
	if err != nil {
		return fail(fmt.Errorf("output directory: %w", err))
	}
	for slices.Contains(ids, rep.ID) { // two runs in one second: keep both
		rep.ID += "_"
	}
	b, err := j.targets()
	if err != nil {
		return fail(err)
	}
	set, err := b.Build(ctx, d.resolver)
	if err != nil {
		return fail(fmt.Errorf("targets: %w", err))
	}
	log.Info("run started", "targets", set.Len())

	jsonlFile, err := createAtomic(filepath.Join(dir, rep.ID+extJSONL))
	if err != nil {
		return fail(err)
	}
	defer jsonlFile.Abort()
	sinks := []output.Sink{output.NewJSONL(jsonlFile, jsonlFile.final)}
	var csvFile *atomicFile
	if j.CSV {
		if csvFile, err = createAtomic(filepath.Join(dir, rep.ID+extCSV)); err != nil {
			return fail(err)
		}
		defer csvFile.Abort()
		sinks = append(sinks, output.NewCSV(csvFile, csvFile.final))
	}
	sinks = append(sinks, scanMetrics, progressSink{d.metrics.targetsDone.WithLabelValues(j.Name)})

	dialer := &scanner.Dialer{ConnectTimeout: j.ConnectTimeout.D(), Retries: 1}
	if j.Rate > 0 {
		dialer.Limiter = rate.NewLimiter(rate.Limit(j.Rate), max(1, int(j.Rate/10)))
	}
	opts := &probes.Options{Dialer: dialer, Shares: j.Shares, SessionTimeout: min(DefaultSessionTimeout, j.Timeout.D())}
	if j.EnumUsers {
		opts.EnumUsers = true
		if j.RIDRange != "" {
			opts.RIDFirst, opts.RIDLast, _ = probes.ParseRIDRange(j.RIDRange) // checked by the config
		}
	}
	if cr := j.Cred(); cr != nil {
		opts.Credentials = &client.Credentials{User: cr.Username, Domain: cr.Domain, Password: cr.Secret()}
	}
	summary, werr := sweep.Run(ctx, abort, sweep.Config{
		Targets:  set,
		Pipeline: pipelineFor(j.Profile, opts),
		Scanner: scanner.Config{Concurrency: j.Concurrency, HostTimeout: j.Timeout.D(), ConnectAhead: j.Ahead(),
			Slots: d.budget.slots(sourceJobs)},
		Writer:  output.NewWriter(sinks...),
		Metrics: scanMetrics,
	})
	rep.Summary = summary
	if werr != nil {
		return fail(werr)
	}
	if err := jsonlFile.Commit(); err != nil {
		return fail(fmt.Errorf("commit %s: %w", jsonlFile.final, err))
	}
	rep.File = jsonlFile.final
	if csvFile != nil {
		if err := csvFile.Commit(); err != nil {
			return fail(fmt.Errorf("commit %s: %w", csvFile.final, err))
		}
		rep.CSV = csvFile.final
	}
	rep.Result = runSuccess
	if summary.Interrupted {
		rep.Result = runInterrupted
	} else if err := d.writeDiff(dir, ids, &rep); err != nil {
		log.Warn("diff not written", "err", err)
	}
	if pruned, err := pruneRuns(dir, j.KeepRuns); err != nil {
		log.Warn("pruning old runs", "err", err)
	} else if len(pruned) > 0 {
		log.Debug("pruned old runs", "runs", pruned)
	}
	return rep
}

// writeDiff compares the new run with the newest earlier complete run (among ids) and writes
// <run>.diff.jsonl. Without an earlier complete run there is nothing to compare.
func (d *Daemon) writeDiff(dir string, ids []string, rep *RunReport) error {
	var prev *diff.Run
	for i := len(ids) - 1; i >= 0 && prev == nil; i-- {
		r, err := diff.ReadFile(filepath.Join(dir, ids[i]+extJSONL))
		if err != nil || r.Interrupted() {
			continue
		}
		prev = r
	}
	if prev == nil {
		return nil
	}
	cur, err := diff.ReadFile(rep.File)
	if err != nil {
		return err
	}
	changes := diff.Compare(prev, cur)
	path := filepath.Join(dir, rep.ID+extDiff)
	if err := writeFileAtomic(path, func(w io.Writer) error { return diff.WriteJSONL(w, changes) }); err != nil {
		return err
	}
	rep.DiffFile, rep.Changes = path, len(changes)
	return nil
}

// restoreJob reads the newest run of a job at start-up into the last-run gauges.
func (d *Daemon) restoreJob(j *Job) {
	dir := filepath.Join(j.OutputDir, j.Name)
	ids, err := listRuns(dir)
	if err != nil || len(ids) == 0 {
		return
	}
	newest := true
	for i := len(ids) - 1; i >= 0; i-- {
		s, err := readSummary(filepath.Join(dir, ids[i]+extJSONL))
		if err != nil {
			continue
		}
		if newest {
			d.metrics.restoreLastRun(j.Name, s)
			newest = false
		}
		if !s.Interrupted {
			d.metrics.restoreLastSuccess(j.Name, s)
			return
		}
	}
}
