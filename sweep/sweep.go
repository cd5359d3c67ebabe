// Package sweep runs one scan: every target of a set through a probe pipeline, on the scanner's
// worker pool, each result handed to the output writer as it completes, and the summary last.
// The CLI's scan command and the daemon's scheduled jobs both run scans through it.
package sweep

import (
	"context"
	"time"

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
}

// Run probes every target. Cancelling ctx stops dispatch (hosts in flight finish within their
// deadline); cancelling abort stops those too. A failing output also stops dispatch: results
// that cannot be written are not probed. Run closes cfg.Writer with the summary and returns the
// summary and the writer's error.
func Run(ctx, abort context.Context, cfg Config) (*probes.Summary, error) {
	dispatch, stop := context.WithCancel(ctx)
	defer stop()
	sc := cfg.Scanner
	if sc.Seed == 0 {
		sc.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.Metrics != nil {
		cfg.Metrics.SetTargets(cfg.Targets.Len())
		cfg.Metrics.SetStartTime(time.Now())
	}
	probe := func(hctx context.Context, t scanner.Target) *probes.Result {
		if cfg.Metrics != nil {
			cfg.Metrics.HostStarted()
			defer cfg.Metrics.HostDone()
		}
		pt := ProbeTarget(t)
		if t.Err != nil {
			return probes.TargetErrorResult(pt, t.Err)
		}
		return cfg.Pipeline.Run(hctx, pt)
	}
	onPanic := func(t scanner.Target, v any, stack []byte) *probes.Result {
		return probes.PanicResult(ProbeTarget(t), v, stack)
	}
	emit := func(r *probes.Result) {
		if err := cfg.Writer.Write(r); err != nil {
			stop()
		}
	}
	started := time.Now()
	stats := scanner.Run(dispatch, abort, sc, cfg.Targets, probe, onPanic, emit)
	summary := &probes.Summary{
		Schema: probes.SchemaVersion, Type: "summary", Started: started.UTC(), Finished: time.Now().UTC(),
		Targets: cfg.Targets.Len(), Scanned: stats.Completed,
		Interrupted: stats.Interrupted || ctx.Err() != nil,
	}
	summary.DurationSeconds = summary.Finished.Sub(summary.Started).Seconds()
	return summary, cfg.Writer.Close(summary)
}

// ProbeTarget converts a scanner target to the probes' form.
func ProbeTarget(t scanner.Target) probes.Target {
	return probes.Target{Addr: t.Addr, Port: t.Port, Host: t.Host}
}
