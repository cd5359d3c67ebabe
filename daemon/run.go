package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/diff"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

// runReport is what one job run did.
type runReport struct {
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
func (d *Daemon) runJob(ctx, abort context.Context, j *Job, scanMetrics *output.ScanMetrics) (rep runReport) {
	start := d.now().UTC()
	rep = runReport{Job: j.Name, Start: start, ID: runID(start)}
	log := d.log.With("job", j.Name, "run", rep.ID)
	d.metrics.runStarted(j.Name, start)
	defer d.reportRun(log, &rep, start)
	fail := func(err error) runReport {
		rep.Result, rep.Err = runFailed, err
		return rep
	}

	dir := filepath.Join(j.OutputDir, j.Name)
	ids, err := prepareRunDir(dir, &rep)
	if err != nil {
		return fail(err)
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

	files, err := createRunFiles(dir, rep.ID, j.CSV)
	defer files.abort()
	if err != nil {
		return fail(err)
	}
	sinks := append(files.sinks(), scanMetrics, progressSink{d.metrics.targetsDone.WithLabelValues(j.Name)})
	summary, werr := sweep.Run(ctx, abort, d.jobSweep(j, set, output.NewWriter(sinks...), scanMetrics))
	rep.Summary = summary
	if werr != nil {
		return fail(werr)
	}
	if err := files.commit(&rep); err != nil {
		return fail(err)
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

// reportRun ends a run in the metrics and the log.
func (d *Daemon) reportRun(log *slog.Logger, rep *runReport, start time.Time) {
	rep.Duration = d.now().Sub(start)
	d.metrics.runFinished(rep.Job, rep.Result, start, rep.Duration, rep.Summary)
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
}

// prepareRunDir creates the job's output directory, removes temporary files a crash left, and
// returns the ids of the runs on disk; rep.ID is made unique among them.
func prepareRunDir(dir string, rep *runReport) ([]string, error) {
	if err := output.MkdirAll(dir, true); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	removeStaleTemps(dir)
	ids, err := listRuns(dir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	for slices.Contains(ids, rep.ID) { // two runs in one second: keep both
		rep.ID += "_"
	}
	return ids, nil
}

// runFiles are a run's result files, written to temporary names and renamed when complete.
type runFiles struct {
	jsonl, csv *atomicFile
}

// createRunFiles creates the run's JSONL file and, when asked, its CSV file.
func createRunFiles(dir, id string, withCSV bool) (*runFiles, error) {
	f := &runFiles{}
	var err error
	if f.jsonl, err = createAtomic(filepath.Join(dir, id+extJSONL)); err != nil {
		return f, err
	}
	if withCSV {
		if f.csv, err = createAtomic(filepath.Join(dir, id+extCSV)); err != nil {
			return f, err
		}
	}
	return f, nil
}

// sinks are the output sinks writing the files.
func (f *runFiles) sinks() []output.Sink {
	s := []output.Sink{output.NewJSONL(f.jsonl, f.jsonl.final)}
	if f.csv != nil {
		s = append(s, output.NewCSV(f.csv, f.csv.final))
	}
	return s
}

// commit renames the complete files to their final names and records them in rep.
func (f *runFiles) commit(rep *runReport) error {
	if err := f.jsonl.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", f.jsonl.final, err)
	}
	rep.File = f.jsonl.final
	if f.csv != nil {
		if err := f.csv.Commit(); err != nil {
			return fmt.Errorf("commit %s: %w", f.csv.final, err)
		}
		rep.CSV = f.csv.final
	}
	return nil
}

// abort removes whatever was not committed.
func (f *runFiles) abort() {
	if f.jsonl != nil {
		f.jsonl.Abort()
	}
	if f.csv != nil {
		f.csv.Abort()
	}
}

// jobSweep is the scan of one run of j: the job's settings over the shared defaults, its
// pipeline, and the probe slots jobs share.
func (d *Daemon) jobSweep(j *Job, set *scanner.TargetSet, w *output.Writer, m *output.ScanMetrics) sweep.Config {
	st := sweep.DefaultSettings()
	st.Concurrency, st.HostTimeout, st.ConnectTimeout, st.Rate = j.Concurrency, j.Timeout.d(), j.ConnectTimeout.d(), j.Rate
	opts := st.ProbeOptions()
	opts.Shares = j.Shares
	if j.EnumUsers {
		opts.EnumUsers = true
		if j.RIDRange != "" {
			opts.RIDFirst, opts.RIDLast, _ = probes.ParseRIDRange(j.RIDRange) // checked by the config
		}
	}
	if cr := j.credential(); cr != nil {
		opts.Credentials = &client.Credentials{User: cr.Username, Domain: cr.Domain, Password: cr.secret()}
	}
	scfg := st.Scanner()
	scfg.ConnectAhead, scfg.Slots = j.ahead(), d.budget.slots(sourceJobs)
	return sweep.Config{Targets: set, Pipeline: pipelineFor(j.Profile, opts), Scanner: scfg, Writer: w, Metrics: m}
}

// writeDiff compares the new run with the newest earlier complete run (among ids) and writes
// <run>.diff.jsonl. Without an earlier complete run there is nothing to compare.
func (d *Daemon) writeDiff(dir string, ids []string, rep *runReport) error {
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
