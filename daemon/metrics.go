package daemon

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

// jobLabel is the label that carries a job's name on every per-job series. It is not "job":
// Prometheus attaches its own "job" label to every scraped series and would rename ours to
// "exported_job". `scan -job` uses the same label (output.JobRunMetrics).
const jobLabel = output.JobLabel

// Run results (label values of smbsweep_job_runs_total), the same as `scan -job`'s.
const (
	runSuccess     = output.RunSuccess
	runFailed      = output.RunFailed
	runInterrupted = output.RunInterrupted
)

var runResults = output.RunResults

// Reasons a request was refused for a concurrency limit (label values of
// smbsweep_api_requests_rejected_total).
const (
	rejectServerBusy = "server_busy"
	rejectClientBusy = "client_busy"
)

var rejectReasons = []string{rejectServerBusy, rejectClientBusy}

// daemonMetrics is the daemon's one registry and everything on it. Per-job series carry the
// scan_job label (config-defined names); every other label comes from a closed set. Nothing
// derived from a target, a host, a share or a request body becomes a label.
type daemonMetrics struct {
	Registry *prometheus.Registry

	lastRunHosts       *prometheus.GaugeVec
	lastRunStatusHosts *prometheus.GaugeVec
	lastRunStart       *prometheus.GaugeVec
	lastSuccess        *prometheus.GaugeVec
	lastDuration       *prometheus.GaugeVec
	lastRunSuccess     *prometheus.GaugeVec
	runs               *prometheus.CounterVec
	skipped            *prometheus.CounterVec
	running            *prometheus.GaugeVec
	interval           *prometheus.GaugeVec
	nextRun            *prometheus.GaugeVec
	targetsDone        *prometheus.GaugeVec
	reloadOK           prometheus.Gauge
	reloadTime         prometheus.Gauge
	apiRequests        *prometheus.CounterVec
	apiDuration        *prometheus.HistogramVec
	apiInFlight        prometheus.Gauge
	apiLimit           prometheus.Gauge
	apiRejected        *prometheus.CounterVec
	hostsLimit         prometheus.Gauge
	hostsInFlight      *prometheus.GaugeVec
	hostsWaiting       *prometheus.GaugeVec

	mu   sync.Mutex
	scan map[string]*jobScanMetrics // per job, registered with the scan_job label
}

// jobScanMetrics is output.ScanMetrics for one job plus the collectors it registered, so that
// a job removed by a reload can take its series away.
type jobScanMetrics struct {
	m          *output.ScanMetrics
	collectors []prometheus.Collector
}

// recorder registers with reg and remembers what it registered.
type recorder struct {
	reg  prometheus.Registerer
	regd []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	r.regd = append(r.regd, c)
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// daemonDefs are the daemon's own metrics; its per-job run series are output.JobRunDefs.
var daemonDefs = struct {
	NextRun, ReloadOK, ReloadTime, APIRequests, APIDuration, APIInFlight, APILimit, APIRejected,
	HostsLimit, HostsInFlight, HostsWaiting output.MetricDef
}{
	NextRun: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_job_next_run_timestamp_seconds",
		Help: "When the job runs next (jitter included), seconds since the Unix epoch."},
	ReloadOK: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_config_last_reload_successful",
		Help: "1 when the last configuration (re)load succeeded, 0 when it was rejected."},
	ReloadTime: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration was last loaded successfully, seconds since the Unix epoch."},
	APIRequests: output.MetricDef{Kind: output.KindCounter, Name: "smbsweep_api_requests_total",
		Help: "HTTP requests by endpoint (a route's path, or other) and status code.", Labels: []string{"endpoint", "code"}},
	APIDuration: output.MetricDef{Kind: output.KindHistogram, Name: "smbsweep_api_request_duration_seconds",
		Help: "Duration of HTTP requests by endpoint.", Labels: []string{"endpoint"},
		Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}},
	APIInFlight: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_api_requests_in_flight",
		Help: "HTTP requests being served."},
	APILimit: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_api_requests_limit",
		Help: "Most probe and scan requests served at once, from all clients together (api.max_concurrent_requests)."},
	APIRejected: output.MetricDef{Kind: output.KindCounter, Name: "smbsweep_api_requests_rejected_total",
		Help:   "Probe and scan requests refused for a concurrency limit: server_busy (api.max_concurrent_requests, 503), client_busy (api.max_concurrent_per_client, 429).",
		Labels: []string{"reason"}},
	HostsLimit: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_host_slots",
		Help: "The budget of hosts probed at once by API requests and jobs together (max_hosts_in_flight, or sized from the open-file limit)."},
	HostsInFlight: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_host_slots_used",
		Help:   "Slots of the hosts budget in use (a host being probed), by source (api, jobs); their sum stays within smbsweep_host_slots.",
		Labels: []string{"source"}},
	HostsWaiting: output.MetricDef{Kind: output.KindGauge, Name: "smbsweep_host_slots_waiting",
		Help: "Hosts waiting for a slot of the hosts budget, by source (api, jobs).", Labels: []string{"source"}},
}

// newDaemonMetrics builds the registry: process and Go collectors, build info, and the daemon's own
// metrics.
func newDaemonMetrics(version string) *daemonMetrics {
	job, d := output.JobRunDefs, daemonDefs
	m := &daemonMetrics{
		Registry:           prometheus.NewRegistry(),
		lastRunHosts:       job.LastRunHosts.GaugeVec(jobLabel),
		lastRunStatusHosts: job.LastRunStatusHosts.GaugeVec(jobLabel),
		lastRunStart:       job.LastRunStart.GaugeVec(jobLabel),
		lastSuccess:        job.LastSuccess.GaugeVec(jobLabel),
		lastDuration:       job.LastDuration.GaugeVec(jobLabel),
		lastRunSuccess:     job.LastRunSuccess.GaugeVec(jobLabel),
		runs:               job.Runs.CounterVec(jobLabel),
		skipped:            job.Skipped.CounterVec(jobLabel),
		running:            job.Running.GaugeVec(jobLabel),
		interval:           job.Interval.GaugeVec(jobLabel),
		nextRun:            d.NextRun.GaugeVec(jobLabel),
		targetsDone:        job.TargetsDone.GaugeVec(jobLabel),
		reloadOK:           d.ReloadOK.Gauge(),
		reloadTime:         d.ReloadTime.Gauge(),
		apiRequests:        d.APIRequests.CounterVec(),
		apiDuration:        d.APIDuration.HistogramVec(),
		apiInFlight:        d.APIInFlight.Gauge(),
		apiLimit:           d.APILimit.Gauge(),
		apiRejected:        d.APIRejected.CounterVec(),
		hostsLimit:         d.HostsLimit.Gauge(),
		hostsInFlight:      d.HostsInFlight.GaugeVec(),
		hostsWaiting:       d.HostsWaiting.GaugeVec(),
		scan:               make(map[string]*jobScanMetrics),
	}
	m.zeroSeries()
	m.Registry.MustRegister(m.lastRunHosts, m.lastRunStatusHosts, m.lastRunStart, m.lastSuccess, m.lastDuration,
		m.lastRunSuccess, m.runs, m.skipped, m.running, m.interval, m.nextRun, m.targetsDone,
		m.reloadOK, m.reloadTime, m.apiRequests, m.apiDuration, m.apiInFlight, m.apiLimit, m.apiRejected,
		m.hostsLimit, m.hostsInFlight, m.hostsWaiting, output.BuildInfo(version),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// zeroSeries creates the series of the closed sets that the daemon-wide metrics are labelled
// by, so that they read 0 before the first event.
func (m *daemonMetrics) zeroSeries() {
	for _, r := range rejectReasons {
		m.apiRejected.WithLabelValues(r)
	}
	for _, src := range hostSources {
		m.hostsInFlight.WithLabelValues(src)
		m.hostsWaiting.WithLabelValues(src)
	}
}

// addJob creates a job's series: its scan metrics, zeroed counters and its schedule period.
func (m *daemonMetrics) addJob(name string, interval time.Duration) *output.ScanMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.interval.WithLabelValues(name).Set(interval.Seconds())
	if js, ok := m.scan[name]; ok {
		return js.m
	}
	for _, r := range runResults {
		m.runs.WithLabelValues(name, r)
	}
	m.skipped.WithLabelValues(name)
	m.running.WithLabelValues(name).Set(0)
	// The recorder sits below the label wrapper, so it keeps the wrapped collectors: those are
	// what the registry holds and what Unregister needs.
	rec := &recorder{reg: m.Registry}
	js := &jobScanMetrics{m: output.NewScanMetrics(prometheus.WrapRegistererWith(prometheus.Labels{jobLabel: name}, rec))}
	js.collectors = rec.regd
	m.scan[name] = js
	return js.m
}

// removeJob deletes every series of a job that a reload removed.
func (m *daemonMetrics) removeJob(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if js, ok := m.scan[name]; ok {
		for _, c := range js.collectors {
			m.Registry.Unregister(c)
		}
		delete(m.scan, name)
	}
	l := prometheus.Labels{jobLabel: name}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.lastRunHosts, m.lastRunStatusHosts, m.lastRunStart, m.lastSuccess, m.lastDuration, m.lastRunSuccess,
		m.runs, m.skipped, m.running, m.interval, m.nextRun, m.targetsDone,
	} {
		v.DeletePartialMatch(l)
	}
}

// runStarted marks a run in progress.
func (m *daemonMetrics) runStarted(job string, start time.Time) {
	m.running.WithLabelValues(job).Set(1)
	m.lastRunStart.WithLabelValues(job).Set(unixSeconds(start))
	m.targetsDone.WithLabelValues(job).Set(0)
}

// runFinished records a run's outcome. The per-finding and per-status gauges change only for
// a run that scanned every target: an interrupted run would under-count.
func (m *daemonMetrics) runFinished(job, result string, start time.Time, dur time.Duration, s *probes.Summary) {
	m.running.WithLabelValues(job).Set(0)
	m.lastDuration.WithLabelValues(job).Set(dur.Seconds())
	m.runs.WithLabelValues(job, result).Inc()
	ok := 0.0
	if result == runSuccess {
		ok = 1
		m.lastSuccess.WithLabelValues(job).Set(unixSeconds(start.Add(dur)))
		m.setLastRunCounts(job, s)
	}
	m.lastRunSuccess.WithLabelValues(job).Set(ok)
}

// setLastRunCounts copies a complete run's summary into the last-run gauges.
func (m *daemonMetrics) setLastRunCounts(job string, s *probes.Summary) {
	if s == nil {
		return
	}
	for _, id := range output.FindingIDs {
		m.lastRunHosts.WithLabelValues(job, id).Set(float64(s.Findings[id]))
	}
	for _, st := range probes.Statuses {
		m.lastRunStatusHosts.WithLabelValues(job, string(st)).Set(float64(s.Statuses[string(st)]))
	}
}

// restoreLastRun and restoreLastSuccess set the last-run gauges from run files found on disk
// at start-up (the newest run, and the newest complete one), so that a restart does not blank
// the dashboards or fire "no successful run" alerts.
func (m *daemonMetrics) restoreLastRun(job string, s *probes.Summary) {
	m.lastRunStart.WithLabelValues(job).Set(unixSeconds(s.Started))
	m.lastDuration.WithLabelValues(job).Set(s.DurationSeconds)
	ok := 1.0
	if s.Interrupted {
		ok = 0
	}
	m.lastRunSuccess.WithLabelValues(job).Set(ok)
}

func (m *daemonMetrics) restoreLastSuccess(job string, s *probes.Summary) {
	m.lastSuccess.WithLabelValues(job).Set(unixSeconds(s.Finished))
	m.setLastRunCounts(job, s)
}

func (m *daemonMetrics) reloaded(ok bool, at time.Time) {
	if ok {
		m.reloadOK.Set(1)
		m.reloadTime.Set(unixSeconds(at))
		return
	}
	m.reloadOK.Set(0)
}

func (m *daemonMetrics) observeRequest(endpoint string, code int, d time.Duration) {
	m.apiRequests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.apiDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
