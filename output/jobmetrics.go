package output

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smbsweep/smbsweep/probes"
)

// JobLabel names the label that carries a job's name on every per-job series, in the daemon
// and in `scan -job`. It is not "job": Prometheus attaches its own "job" label to every scraped
// series (and the Pushgateway's grouping key uses it).
const JobLabel = "scan_job"

// Run results: label values of smbsweep_job_runs_total.
const (
	RunSuccess     = "success"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// RunResults is the closed set of run results.
var RunResults = []string{RunSuccess, RunFailed, RunInterrupted}

// JobRunMetrics are the per-job run series of one scan run (`smbsweep scan -job NAME`): the same
// names, labels and meanings as the daemon's per-job series (daemon/metrics.go), so that the
// Grafana dashboard and the alert rules (configs/grafana, configs/prometheus) work for a scan
// started by a systemd timer (-metrics-file) or a Kubernetes CronJob (-metrics-push) as they do
// for `serve`. It is a Sink: it counts the records written (smbsweep_targets_done).
type JobRunMetrics struct {
	job string

	lastRunHosts       *prometheus.GaugeVec
	lastRunStatusHosts *prometheus.GaugeVec
	lastRunStart       prometheus.Gauge
	lastSuccess        prometheus.Gauge
	lastDuration       prometheus.Gauge
	lastRunSuccess     prometheus.Gauge
	runs               *prometheus.CounterVec
	skipped            prometheus.Counter
	running            prometheus.Gauge
	interval           prometheus.Gauge
	targetsDone        prometheus.Gauge
	finished           bool
}

// NewJobRunMetrics registers the run series of job on reg (with scan_job=job), the scan
// metrics of NewScanMetrics under the same label, and smbsweep_build_info for version. interval
// is the schedule period the run belongs to (the systemd timer's, the CronJob's); 0 leaves
// smbsweep_job_interval_seconds out, so that the "no recent success" alert, which compares
// against it, stays silent rather than guessing.
func NewJobRunMetrics(reg prometheus.Registerer, job, version string, interval time.Duration) (*JobRunMetrics, *ScanMetrics) {
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{JobLabel: job}, reg)
	d := JobRunDefs
	m := &JobRunMetrics{
		job:                job,
		lastRunHosts:       d.LastRunHosts.GaugeVec(),
		lastRunStatusHosts: d.LastRunStatusHosts.GaugeVec(),
		lastRunStart:       d.LastRunStart.Gauge(),
		lastSuccess:        d.LastSuccess.Gauge(),
		lastDuration:       d.LastDuration.Gauge(),
		lastRunSuccess:     d.LastRunSuccess.Gauge(),
		runs:               d.Runs.CounterVec(),
		skipped:            d.Skipped.Counter(),
		running:            d.Running.Gauge(),
		interval:           d.Interval.Gauge(),
		targetsDone:        d.TargetsDone.Gauge(),
	}
	for _, r := range RunResults {
		m.runs.WithLabelValues(r)
	}
	cs := []prometheus.Collector{m.lastRunHosts, m.lastRunStatusHosts, m.lastRunStart, m.lastDuration,
		m.lastRunSuccess, m.runs, m.skipped, m.running, m.targetsDone}
	if interval > 0 {
		m.interval.Set(interval.Seconds())
		cs = append(cs, m.interval)
	}
	wrapped.MustRegister(cs...)
	// The last success exists only once a run succeeded: registered by Finish then, so that a
	// failed first run does not claim a success at the epoch.
	reg.MustRegister(BuildInfo(version))
	return m, NewScanMetrics(wrapped)
}

// BuildInfo is smbsweep_build_info: always 1, labelled with the version and the Go version.
func BuildInfo(version string) prometheus.Collector {
	build := buildInfoDef.GaugeVec()
	build.WithLabelValues(version, runtime.Version()).Set(1)
	return build
}

// Start marks the run in progress.
func (m *JobRunMetrics) Start(at time.Time) {
	m.running.Set(1)
	m.lastRunStart.Set(float64(at.UnixNano()) / 1e9)
}

// Finish records the run's outcome (RunSuccess, RunFailed or RunInterrupted). As in the
// daemon, the per-finding and per-status gauges are set only for a successful run: an
// interrupted one would under-count. reg is where the last-success timestamp is registered.
func (m *JobRunMetrics) Finish(reg prometheus.Registerer, result string, s *probes.Summary, dur time.Duration) {
	if m.finished {
		return
	}
	m.finished = true
	m.running.Set(0)
	m.lastDuration.Set(dur.Seconds())
	m.runs.WithLabelValues(result).Inc()
	if result != RunSuccess {
		m.lastRunSuccess.Set(0)
		return
	}
	m.lastRunSuccess.Set(1)
	end := time.Now()
	if s != nil && !s.Finished.IsZero() {
		end = s.Finished
	}
	m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	prometheus.WrapRegistererWith(prometheus.Labels{JobLabel: m.job}, reg).MustRegister(m.lastSuccess)
	for _, id := range FindingIDs {
		n := 0
		if s != nil {
			n = s.Findings[id]
		}
		m.lastRunHosts.WithLabelValues(id).Set(float64(n))
	}
	for _, st := range probes.Statuses {
		n := 0
		if s != nil {
			n = s.Statuses[string(st)]
		}
		m.lastRunStatusHosts.WithLabelValues(string(st)).Set(float64(n))
	}
}

// Name implements Sink.
func (m *JobRunMetrics) Name() string { return "job metrics" }

// WriteResult implements Sink: one more target done.
func (m *JobRunMetrics) WriteResult(*probes.Result) error {
	m.targetsDone.Inc()
	return nil
}

// WriteSummary implements Sink.
func (m *JobRunMetrics) WriteSummary(*probes.Summary) error { return nil }

// Flush implements Sink.
func (m *JobRunMetrics) Flush() error { return nil }
