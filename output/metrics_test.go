package output

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smbsweep/smbsweep/probes"
)

func TestMetricsPreCreatedSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewScanMetrics(reg)
	if n := testutil.CollectAndCount(m.hostsScanned); n != len(probes.Statuses) {
		t.Errorf("%d status series, want %d", n, len(probes.Statuses))
	}
	if n := testutil.CollectAndCount(m.findings); n != len(FindingIDs) {
		t.Errorf("%d finding series, want %d", n, len(FindingIDs))
	}
	if n := testutil.CollectAndCount(m.stageDuration); n != 0 {
		t.Errorf("%d stage series before any observation", n)
	}
	problems, err := testutil.CollectAndLint(m.hostsScanned)
	if err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestMetricsObserve(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewScanMetrics(reg)
	m.SetTargets(3)
	m.SetStartTime(time.Unix(1700000000, 500000000))
	m.HostStarted()
	m.HostStarted()
	m.HostDone()

	samba := sambaRecord()
	samba.Stages["frobnicate"] = &probes.StageResult{Status: "weird", DurationSeconds: 0.5} // unknown name and status
	samba.Findings = append(samba.Findings,
		probes.Finding{ID: probes.FindingSMB1Enabled, Value: probes.Bool(true)}, // duplicate: counted once
		probes.Finding{ID: "not_a_known_id", Value: probes.Bool(true)})
	odd := refusedRecord()
	odd.Status = "127.0.0.9" // a status outside the vocabulary must not become a label value
	for _, r := range []*probes.Result{samba, refusedRecord(), odd} {
		if err := m.WriteResult(r); err != nil { // the Sink path calls Observe
			t.Fatal(err)
		}
	}

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"hosts smb", testutil.ToFloat64(m.hostsScanned.WithLabelValues("smb")), 1},
		{"hosts refused", testutil.ToFloat64(m.hostsScanned.WithLabelValues("connection-refused")), 1},
		{"hosts other", testutil.ToFloat64(m.hostsScanned.WithLabelValues("other")), 1},
		{"hosts not-smb", testutil.ToFloat64(m.hostsScanned.WithLabelValues("not-smb")), 0},
		{"finding smb1", testutil.ToFloat64(m.findings.WithLabelValues(probes.FindingSMB1Enabled)), 1},
		{"finding share_writable", testutil.ToFloat64(m.findings.WithLabelValues(probes.FindingShareWritable)), 1},
		{"finding guest (null)", testutil.ToFloat64(m.findings.WithLabelValues(probes.FindingGuestSession)), 0},
		{"finding smb3 (false)", testutil.ToFloat64(m.findings.WithLabelValues(probes.FindingSMB3Unsupported)), 0},
		{"finding other", testutil.ToFloat64(m.findings.WithLabelValues("other")), 1},
		{"in flight", testutil.ToFloat64(m.inFlight), 1},
		{"targets", testutil.ToFloat64(m.targets), 3},
		{"start time", testutil.ToFloat64(m.startTime), 1700000000.5},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Stage series: samba's smb1/negotiate/session ok, tree failed, stat skipped (not observed),
	// frobnicate -> other/other (5); refused and odd share smb1/error (1).
	if n := testutil.CollectAndCount(m.stageDuration); n != 6 {
		t.Errorf("%d stage series, want 6", n)
	}

	// Every label value comes from a closed set: no IP, host or share name leaks into a series.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{otherLabel: true}
	for _, s := range probes.Statuses {
		allowed[string(s)] = true
	}
	for _, s := range StageNames {
		allowed[s] = true
	}
	for _, s := range StageStatuses {
		allowed[string(s)] = true
	}
	for _, id := range FindingIDs {
		allowed[id] = true
	}
	for _, v := range append(slices.Clone(NBStatAttempts), NBStatAnswered...) {
		allowed[v] = true
	}
	for _, o := range probes.NBStatOutcomes {
		allowed[string(o)] = true
	}
	for _, st := range probes.VerdictStates {
		allowed[st] = true
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if !allowed[lp.GetValue()] {
					t.Errorf("%s has label %s=%q outside the closed sets", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) != 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	for _, c := range []prometheus.Collector{m.hostsScanned, m.stageDuration, m.findings, m.inFlight, m.targets, m.startTime} {
		if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
			t.Errorf("CollectAndLint: %v %v", problems, err)
		}
	}
}

func TestMetricsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewScanMetrics(reg)
	w := NewWriter(m)
	_ = w.Write(sambaRecord())
	if err := w.Close(&probes.Summary{}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	Handler(reg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`smbsweep_hosts_scanned_total{status="smb"} 1`,
		`smbsweep_hosts_scanned_total{status="io-timeout"} 0`,
		`smbsweep_findings_total{finding="null_session"} 1`,
		`smbsweep_stage_duration_seconds_bucket{stage="negotiate",status="ok",le="0.005"} 1`,
		`smbsweep_hosts_in_flight 0`,
		`smbsweep_targets 0`,
		`smbsweep_scan_start_time_seconds 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}

// TestMetricsNBStat: the NBSTAT socket's queries and datagrams (through probes.NBStatObserver)
// and the hosts' answers (from the records) are counted, every series starting at zero.
func TestMetricsNBStat(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewScanMetrics(reg)
	var _ probes.NBStatObserver = m
	if n := testutil.CollectAndCount(m.nbstatGrams); n != len(probes.NBStatOutcomes) {
		t.Errorf("%d datagram series, want %d", n, len(probes.NBStatOutcomes))
	}
	m.NBStatQuery(false)
	m.NBStatQuery(false)
	m.NBStatQuery(true)
	m.NBStatDatagram(probes.NBStatAnswer)
	m.NBStatDatagram(probes.NBStatWrongSource)
	m.NBStatDatagram(probes.NBStatWrongSource)
	m.NBStatDatagram(probes.NBStatUnmatched)
	m.Observe(&probes.Result{Status: probes.StatusSMB, NBStat: &probes.NBStatInfo{Answered: probes.Bool(true)}})
	m.Observe(&probes.Result{Status: probes.StatusConnectionRefused, NBStat: &probes.NBStatInfo{Answered: probes.Bool(true)}})
	m.Observe(&probes.Result{Status: probes.StatusSMB, NBStat: &probes.NBStatInfo{Answered: probes.Bool(false)}})
	m.Observe(&probes.Result{Status: probes.StatusSMB, NBStat: &probes.NBStatInfo{}})
	m.Observe(&probes.Result{Status: probes.StatusSMB}) // no nbstat stage: not counted
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"queries first", testutil.ToFloat64(m.nbstatQueries.WithLabelValues("first")), 2},
		{"queries retry", testutil.ToFloat64(m.nbstatQueries.WithLabelValues("retry")), 1},
		{"answers", testutil.ToFloat64(m.nbstatGrams.WithLabelValues("answer")), 1},
		{"wrong source", testutil.ToFloat64(m.nbstatGrams.WithLabelValues("wrong_source")), 2},
		{"unmatched", testutil.ToFloat64(m.nbstatGrams.WithLabelValues("unmatched")), 1},
		{"unreachable", testutil.ToFloat64(m.nbstatGrams.WithLabelValues("unreachable")), 0},
		{"hosts answered", testutil.ToFloat64(m.nbstatHosts.WithLabelValues("true")), 2},
		{"hosts unreachable", testutil.ToFloat64(m.nbstatHosts.WithLabelValues("false")), 1},
		{"hosts silent", testutil.ToFloat64(m.nbstatHosts.WithLabelValues("unknown")), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, c := range []prometheus.Collector{m.nbstatQueries, m.nbstatGrams, m.nbstatHosts} {
		if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
			t.Errorf("CollectAndLint: %v %v", problems, err)
		}
	}
}
