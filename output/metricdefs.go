package output

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricKind is what a metric is: a counter, a gauge or a histogram.
type MetricKind string

// The metric kinds of a MetricDef.
const (
	KindCounter   MetricKind = "counter"
	KindGauge     MetricKind = "gauge"
	KindHistogram MetricKind = "histogram"
)

// MetricDef is one row of a metric table: the series' name, help text, variable labels (in
// order) and kind. Every smbsweep metric is built from a row of a table — the scan's
// (scanDefs), the job runs' shared by `scan -job` and `serve` (JobRunDefs), the daemon's own
// (daemon/metrics.go) and /probe's (daemon/api_scan.go) — so that a name, help text or label
// list is written once.
type MetricDef struct {
	Name    string
	Help    string
	Labels  []string
	Kind    MetricKind
	Buckets []float64 // a histogram's upper bounds
}

// Counter builds the counter of a row without labels.
func (d MetricDef) Counter() prometheus.Counter {
	d.mustBe(KindCounter, false)
	return prometheus.NewCounter(prometheus.CounterOpts{Name: d.Name, Help: d.Help})
}

// Gauge builds the gauge of a row without labels.
func (d MetricDef) Gauge() prometheus.Gauge {
	d.mustBe(KindGauge, false)
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: d.Name, Help: d.Help})
}

// CounterVec builds the counter vector of a row; first are variable labels put before the row's
// own (the daemon's scan_job).
func (d MetricDef) CounterVec(first ...string) *prometheus.CounterVec {
	d.mustBe(KindCounter, true)
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.Name, Help: d.Help}, d.labels(first))
}

// GaugeVec builds the gauge vector of a row; first are variable labels put before the row's own.
func (d MetricDef) GaugeVec(first ...string) *prometheus.GaugeVec {
	d.mustBe(KindGauge, true)
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: d.Name, Help: d.Help}, d.labels(first))
}

// HistogramVec builds the histogram vector of a row; first are variable labels put before the
// row's own.
func (d MetricDef) HistogramVec(first ...string) *prometheus.HistogramVec {
	d.mustBe(KindHistogram, true)
	opts := prometheus.HistogramOpts{Name: d.Name, Help: d.Help, Buckets: d.Buckets}
	return prometheus.NewHistogramVec(opts, d.labels(first))
}

// labels is first followed by the row's labels, in a slice of its own.
func (d MetricDef) labels(first []string) []string {
	return append(append([]string(nil), first...), d.Labels...)
}

// mustBe panics when the row is not of kind k, or when a single series is asked of a row that
// has labels: both are mistakes in the code that builds a table's metrics.
func (d MetricDef) mustBe(k MetricKind, vec bool) {
	if d.Kind != k {
		panic(fmt.Sprintf("output: metric %s is a %s, not a %s: build it with its kind's method", d.Name, d.Kind, k))
	}
	if !vec && len(d.Labels) > 0 {
		panic(fmt.Sprintf("output: metric %s has labels %v: build it as a vector", d.Name, d.Labels))
	}
}

// scanDefs are the scan's metrics (ScanMetrics).
var scanDefs = struct {
	HostsScanned, Incomplete, StageDuration, Findings, Verdicts, InFlight, Targets, StartTime,
	NBStatQueries, NBStatDatagrams, NBStatHosts MetricDef
}{
	HostsScanned: MetricDef{Kind: KindCounter, Name: "smbsweep_hosts_scanned_total",
		Help: "Targets whose scan finished, by host status.", Labels: []string{"status"}},
	Incomplete: MetricDef{Kind: KindCounter, Name: "smbsweep_hosts_incomplete_total",
		Help: "Hosts that answered SMB whose record still misses stages of the profile after the recheck."},
	StageDuration: MetricDef{Kind: KindHistogram, Name: "smbsweep_stage_duration_seconds",
		Help: "Duration of pipeline stages, by stage and stage status.", Labels: []string{"stage", "status"},
		Buckets: stageBuckets},
	Findings: MetricDef{Kind: KindCounter, Name: "smbsweep_findings_total",
		Help: "Hosts on which a finding was true, by finding id.", Labels: []string{"finding"}},
	Verdicts: MetricDef{Kind: KindCounter, Name: "smbsweep_verdicts_total",
		Help:   "Hosts that answered SMB, by verdict finding id and state (vulnerable, likely, not_vulnerable, unknown).",
		Labels: []string{"finding", "state"}},
	InFlight: MetricDef{Kind: KindGauge, Name: "smbsweep_hosts_in_flight",
		Help: "Targets being scanned right now."},
	Targets: MetricDef{Kind: KindGauge, Name: "smbsweep_targets",
		Help: "Targets in this scan."},
	StartTime: MetricDef{Kind: KindGauge, Name: "smbsweep_scan_start_time_seconds",
		Help: "Start time of the scan, seconds since the Unix epoch."},
	NBStatQueries: MetricDef{Kind: KindCounter, Name: "smbsweep_nbstat_queries_total",
		Help: "NetBIOS NODE STATUS queries sent on UDP 137, by attempt (first, retry).", Labels: []string{"attempt"}},
	NBStatDatagrams: MetricDef{Kind: KindCounter, Name: "smbsweep_nbstat_datagrams_total",
		Help:   "Datagrams and ICMP errors the NBSTAT socket received, by outcome: answer, duplicate, unreachable (ICMP), wrong_source and unmatched (dropped).",
		Labels: []string{"outcome"}},
	NBStatHosts: MetricDef{Kind: KindCounter, Name: "smbsweep_nbstat_hosts_total",
		Help:   "Hosts whose nbstat stage finished, by answered: true (names received), false (port unreachable), unknown (silence).",
		Labels: []string{"answered"}},
}

// JobRunDefs are the per-job run series, the same for `scan -job` (JobRunMetrics, where
// scan_job is a constant label) and `serve` (daemon/metrics.go, where scan_job is the first
// variable label), so that the Grafana dashboard and the alert rules work for both. Labels here
// leave scan_job out.
var JobRunDefs = struct {
	LastRunHosts, LastRunStatusHosts, LastRunStart, LastSuccess, LastDuration, LastRunSuccess,
	Runs, Skipped, Running, Interval, TargetsDone MetricDef
}{
	LastRunHosts: MetricDef{Kind: KindGauge, Name: "smbsweep_job_last_run_hosts",
		Help: "Hosts on which a finding was true in the job's last completed run, by finding id.", Labels: []string{"finding"}},
	LastRunStatusHosts: MetricDef{Kind: KindGauge, Name: "smbsweep_job_last_run_status_hosts",
		Help: "Hosts per host status in the job's last completed run.", Labels: []string{"status"}},
	LastRunStart: MetricDef{Kind: KindGauge, Name: "smbsweep_job_last_run_start_timestamp_seconds",
		Help: "When the job's last run started, seconds since the Unix epoch."},
	LastSuccess: MetricDef{Kind: KindGauge, Name: "smbsweep_job_last_success_timestamp_seconds",
		Help: "When the job's last successful run finished, seconds since the Unix epoch."},
	LastDuration: MetricDef{Kind: KindGauge, Name: "smbsweep_job_last_run_duration_seconds",
		Help: "How long the job's last run took."},
	LastRunSuccess: MetricDef{Kind: KindGauge, Name: "smbsweep_job_last_run_success",
		Help: "1 when the job's last run scanned every target and wrote its files, else 0."},
	Runs: MetricDef{Kind: KindCounter, Name: "smbsweep_job_runs_total",
		Help: "Runs of the job by result (success, failed, interrupted).", Labels: []string{"result"}},
	Skipped: MetricDef{Kind: KindCounter, Name: "smbsweep_job_runs_skipped_total",
		Help: "Scheduled runs not started because the job's previous run was still going."},
	Running: MetricDef{Kind: KindGauge, Name: "smbsweep_job_running",
		Help: "1 while a run of the job is in progress."},
	Interval: MetricDef{Kind: KindGauge, Name: "smbsweep_job_interval_seconds",
		Help: "The period of the job's schedule (the gap between its next two runs)."},
	TargetsDone: MetricDef{Kind: KindGauge, Name: "smbsweep_targets_done",
		Help: "Targets of the current (or last) run whose result was written."},
}

// buildInfoDef is smbsweep_build_info (BuildInfo).
var buildInfoDef = MetricDef{Kind: KindGauge, Name: "smbsweep_build_info",
	Help: "Always 1; the labels say which smbsweep is running.", Labels: []string{"version", "goversion"}}
