package output

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smbsweep/smbsweep/probes"
)

// StageNames is the closed set of pipeline stage names allowed as the "stage" label value (the
// stage registry's, in pipeline order); any other name is counted as "other".
var StageNames = probes.StageNames()

// StageStatuses is the closed set of stage outcomes allowed as a label value.
var StageStatuses = []probes.StageStatus{probes.StageOK, probes.StageFailed, probes.StageErrored, probes.StageSkipped}

// NBStatAttempts and NBStatAnswered are the closed sets of the nbstat metrics' "attempt" and
// "answered" labels; their "outcome" label takes probes.NBStatOutcomes.
var (
	NBStatAttempts = []string{"first", "retry"}
	NBStatAnswered = []string{"true", "false", "unknown"}
)

// otherLabel replaces any label value outside its closed set, so that no server- or
// target-controlled string (an IP, host or share name) can ever become a series.
const otherLabel = "other"

// stageBuckets suit network probes: 1 ms (loopback, LAN) to 30 s (a host deadline).
var stageBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// ScanMetrics are the scan's Prometheus metrics, fed from finished Result records (never from
// inside the protocol code). It is also a Sink (Name "metrics"), so the Writer can feed it from the
// same stream as the files. Its methods are safe for concurrent use.
type ScanMetrics struct {
	hostsScanned  *prometheus.CounterVec
	incomplete    prometheus.Counter
	stageDuration *prometheus.HistogramVec
	findings      *prometheus.CounterVec
	verdicts      *prometheus.CounterVec
	inFlight      prometheus.Gauge
	targets       prometheus.Gauge
	startTime     prometheus.Gauge
	nbstatQueries *prometheus.CounterVec
	nbstatGrams   *prometheus.CounterVec
	nbstatHosts   *prometheus.CounterVec

	statuses map[string]bool
	stages   map[string]bool
	stageSts map[string]bool
	ids      map[string]bool
}

// NewScanMetrics creates the metrics and registers them with reg (when reg is non-nil; it panics
// if they are already registered there). Every status and finding series starts at zero.
func NewScanMetrics(reg prometheus.Registerer) *ScanMetrics {
	d := scanDefs
	m := &ScanMetrics{
		hostsScanned:  d.HostsScanned.CounterVec(),
		incomplete:    d.Incomplete.Counter(),
		stageDuration: d.StageDuration.HistogramVec(),
		findings:      d.Findings.CounterVec(),
		verdicts:      d.Verdicts.CounterVec(),
		inFlight:      d.InFlight.Gauge(),
		targets:       d.Targets.Gauge(),
		startTime:     d.StartTime.Gauge(),
		nbstatQueries: d.NBStatQueries.CounterVec(),
		nbstatGrams:   d.NBStatDatagrams.CounterVec(),
		nbstatHosts:   d.NBStatHosts.CounterVec(),
		statuses:      labelSet(probes.Statuses),
		stages:        labelSet(StageNames),
		stageSts:      labelSet(StageStatuses),
		ids:           labelSet(FindingIDs),
	}
	m.zeroSeries()
	if reg != nil {
		reg.MustRegister(m.hostsScanned, m.incomplete, m.stageDuration, m.findings, m.verdicts, m.inFlight, m.targets, m.startTime)
		reg.MustRegister(m.nbstatQueries, m.nbstatGrams, m.nbstatHosts)
	}
	return m
}

// labelSet is a closed set of label values, for closed.
func labelSet[S ~string](values []S) map[string]bool {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[string(v)] = true
	}
	return set
}

// zeroSeries creates the series of every value of the closed sets that counters are labelled
// by, so that they read 0 before the first host rather than not exist.
func (m *ScanMetrics) zeroSeries() {
	for _, s := range probes.Statuses {
		m.hostsScanned.WithLabelValues(string(s))
	}
	for _, id := range FindingIDs {
		m.findings.WithLabelValues(id)
	}
	for _, id := range probes.VerdictIDs {
		for _, st := range probes.VerdictStates {
			m.verdicts.WithLabelValues(id, st)
		}
	}
	for _, a := range NBStatAttempts {
		m.nbstatQueries.WithLabelValues(a)
	}
	for _, o := range probes.NBStatOutcomes {
		m.nbstatGrams.WithLabelValues(string(o))
	}
	for _, a := range NBStatAnswered {
		m.nbstatHosts.WithLabelValues(a)
	}
}

// closed returns v when set holds it, else "other".
func closed(set map[string]bool, v string) string {
	if set[v] {
		return v
	}
	return otherLabel
}

// Observe counts one finished record: its status, each stage's duration, and each finding that is
// true (once per host).
func (m *ScanMetrics) Observe(r *probes.Result) {
	m.hostsScanned.WithLabelValues(closed(m.statuses, string(r.Status))).Inc()
	if len(r.Incomplete) > 0 {
		m.incomplete.Inc()
	}
	for name, st := range r.Stages {
		if st == nil || st.Status == probes.StageSkipped {
			continue // a skipped stage did not run: its zero duration would skew the histogram
		}
		m.stageDuration.WithLabelValues(closed(m.stages, string(name)), closed(m.stageSts, string(st.Status))).
			Observe(st.DurationSeconds)
	}
	for _, id := range trueFindings(r) {
		m.findings.WithLabelValues(closed(m.ids, id)).Inc()
	}
	verdictStates(r, func(id, state string) { m.verdicts.WithLabelValues(id, state).Inc() })
	if nb := r.NBStat; nb != nil {
		m.nbstatHosts.WithLabelValues(yesNoUnknown(nb.Answered)).Inc()
	}
}

// yesNoUnknown is a tri-state as a label value: true, false or unknown.
func yesNoUnknown(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}

// NBStatQuery implements probes.NBStatObserver: one NBSTAT query sent.
func (m *ScanMetrics) NBStatQuery(retry bool) {
	a := "first"
	if retry {
		a = "retry"
	}
	m.nbstatQueries.WithLabelValues(a).Inc()
}

// NBStatDatagram implements probes.NBStatObserver: one datagram or ICMP error received.
func (m *ScanMetrics) NBStatDatagram(o probes.NBStatOutcome) {
	m.nbstatGrams.WithLabelValues(string(o)).Inc()
}

// HostStarted marks one more target in flight.
func (m *ScanMetrics) HostStarted() { m.inFlight.Inc() }

// HostDone marks one target no longer in flight.
func (m *ScanMetrics) HostDone() { m.inFlight.Dec() }

// SetTargets records the number of targets in the scan.
func (m *ScanMetrics) SetTargets(n uint64) { m.targets.Set(float64(n)) }

// SetStartTime records when the scan started.
func (m *ScanMetrics) SetStartTime(t time.Time) {
	m.startTime.Set(float64(t.UnixNano()) / 1e9)
}

// Name implements Sink.
func (m *ScanMetrics) Name() string { return "metrics" }

// WriteResult implements Sink by calling Observe.
func (m *ScanMetrics) WriteResult(r *probes.Result) error {
	m.Observe(r)
	return nil
}

// WriteSummary implements Sink; the counters already hold everything the summary says.
func (m *ScanMetrics) WriteSummary(*probes.Summary) error { return nil }

// Flush implements Sink.
func (m *ScanMetrics) Flush() error { return nil }

// Handler serves reg's metrics in the Prometheus exposition format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
