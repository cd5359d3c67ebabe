package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.yaml.in/yaml/v3"
)

// exported maps each metric name a source exposes (histograms also as _bucket, _sum, _count)
// to the label names its series carry.
type exported map[string]map[string]bool

func familiesToExported(fams map[string]*dto.MetricFamily) exported {
	out := exported{}
	for name, f := range fams {
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		out[name] = labels
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			bucket := map[string]bool{"le": true}
			for l := range labels {
				bucket[l] = true
			}
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = bucket, labels, labels
		case dto.MetricType_SUMMARY:
			out[name+"_sum"], out[name+"_count"] = labels, labels
		}
	}
	return out
}

func parseExposition(t *testing.T, where string, r io.Reader, format expfmt.Format) exported {
	t.Helper()
	fams := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(r, format)
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: parse the metrics: %v", where, err)
		}
		fams[mf.GetName()] = &mf
	}
	if len(fams) == 0 {
		t.Fatalf("%s: no metrics", where)
	}
	return familiesToExported(fams)
}

// metricReference is one PromQL expression of the dashboard or the alert rules, with the
// labels it relies on.
type metricReference struct {
	where, expr string
	labels      []string // label names in matchers, by/without clauses and $labels.X annotations
}

var (
	refStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	refMatchers = regexp.MustCompile(`\{([^}]*)\}`)
	refRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	refGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	refMetric   = regexp.MustCompile(`\bsmbsweep_[a-z0-9_]+`)
	refMatcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	refTmplLbl  = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
)

// promLabels are set by Prometheus itself (the scrape target), not by smbsweep.
var promLabels = map[string]bool{"instance": true, "job": true, "le": false}

func newReference(where, expr string, extraLabels ...string) metricReference {
	ref := metricReference{where: where, expr: expr}
	e := refStrings.ReplaceAllString(expr, `""`)
	for _, m := range refMatchers.FindAllStringSubmatch(e, -1) {
		for _, lm := range refMatcher.FindAllStringSubmatch(m[1], -1) {
			ref.labels = append(ref.labels, lm[1])
		}
	}
	for _, g := range refGrouping.FindAllStringSubmatch(refRanges.ReplaceAllString(e, ""), -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				ref.labels = append(ref.labels, l)
			}
		}
	}
	ref.labels = append(ref.labels, extraLabels...)
	return ref
}

func (r metricReference) metrics() []string {
	return refMetric.FindAllString(refStrings.ReplaceAllString(r.expr, `""`), -1)
}

// dashboardAndAlertReferences reads every query of the Grafana dashboard (panels and template
// variables) and every expression of the alert rules.
func dashboardAndAlertReferences(t *testing.T) []metricReference {
	t.Helper()
	data, err := os.ReadFile("../../configs/grafana/smbsweep-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct {
				Name  string
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string                  `json:"title"`
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var refs []metricReference
	for _, v := range dash.Templating.List {
		q, ok := v.Query.(map[string]any)
		if !ok {
			continue
		}
		qs, _ := q["query"].(string)
		inner := strings.TrimSuffix(strings.TrimPrefix(qs, "label_values("), ")")
		metric, label, _ := strings.Cut(inner, ",")
		refs = append(refs, newReference("variable "+v.Name, strings.TrimSpace(metric), strings.TrimSpace(label)))
	}
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			if q.Expr != "" {
				refs = append(refs, newReference("panel "+p.Title, q.Expr))
			}
		}
	}
	data, err = os.ReadFile("../../configs/prometheus/smbsweep-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatalf("alert rules: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			var extra []string
			for _, a := range r.Annotations {
				for _, m := range refTmplLbl.FindAllStringSubmatch(a, -1) {
					extra = append(extra, m[1])
				}
			}
			refs = append(refs, newReference("alert "+r.Alert, r.Expr, extra...))
		}
	}
	if len(refs) < 20 {
		t.Fatalf("only %d queries found in the dashboard and the alert rules", len(refs))
	}
	return refs
}

// daemonOnly are the metrics of what only serve has: a configuration file that can be
// reloaded and an HTTP API. A scan has neither; the dashboard shows them in its daemon row and
// the alerts about them concern serve alone.
var daemonOnly = map[string]bool{
	"smbsweep_config_last_reload_successful": true,
	"smbsweep_api_requests_total":            true,
}

// checkReferences fails for every metric (and label of it) the dashboard or the alerts use
// that src does not export, and for the scan_job label missing from a per-job series.
func checkReferences(t *testing.T, src string, got exported, refs []metricReference, skip map[string]bool) {
	t.Helper()
	for _, p := range referenceProblems(src, got, refs, skip) {
		t.Error(p)
	}
}

func referenceProblems(src string, got exported, refs []metricReference, skip map[string]bool) []string {
	missing := map[string]bool{}
	for _, ref := range refs {
		names := ref.metrics()
		if len(names) == 0 && ref.expr != "" && !strings.Contains(ref.expr, "smbsweep_") {
			continue // e.g. up{...}: Prometheus's own series
		}
		carried := map[string]bool{}
		for _, n := range names {
			if skip[n] {
				continue
			}
			labels, ok := got[n]
			if !ok {
				missing[fmt.Sprintf("%s does not export %s (used by %s)", src, n, ref.where)] = true
				continue
			}
			for l := range labels {
				carried[l] = true
			}
		}
		if len(carried) == 0 {
			continue
		}
		for _, l := range ref.labels {
			if !carried[l] && !promLabels[l] && l != "__name__" {
				missing[fmt.Sprintf("%s: %s: no series of %v carries the label %q", src, ref.where, names, l)] = true
			}
		}
	}
	keys := make([]string, 0, len(missing))
	for k := range missing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestDashboardMetricsExported checks that everything the Grafana dashboard and the alert
// rules query is exported, with its labels, by the three ways smbsweep reports: scan
// -metrics-file (the systemd timer and node_exporter), scan -metrics-push (the Kubernetes
// CronJob, to a Pushgateway stub on loopback) and serve's /metrics.
func TestDashboardMetricsExported(t *testing.T) {
	refs := dashboardAndAlertReferences(t)
	target := "127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t))
	dir := t.TempDir()

	t.Run("scan -metrics-file", func(t *testing.T) {
		prom := filepath.Join(dir, "smbsweep.prom")
		code, _, stderr := runCLI(t, "", "scan", "-jsonl", "-job", "nightly", "-job-interval", "6h", "-metrics-file", prom, "-timeout", "3s", target)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		fh, err := os.Open(prom)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		got := parseExposition(t, prom, fh, expfmt.NewFormat(expfmt.TypeTextPlain))
		checkReferences(t, "scan -metrics-file", got, refs, daemonOnly)
		data, _ := os.ReadFile(prom)
		for _, want := range []string{`smbsweep_job_last_run_success{scan_job="nightly"} 1`, `smbsweep_job_interval_seconds{scan_job="nightly"} 21600`,
			`smbsweep_targets_done{scan_job="nightly"} 1`, `smbsweep_job_runs_total{result="success",scan_job="nightly"} 1`,
			`smbsweep_hosts_scanned_total{scan_job="nightly",status="connection-refused"} 1`} {
			if !strings.Contains(string(data), want) {
				t.Errorf("metrics file lacks %s", want)
			}
		}
	})

	t.Run("scan -metrics-push", func(t *testing.T) {
		var mu sync.Mutex
		var pushed exported
		var path string
		gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPut && r.Method != http.MethodPost {
				http.Error(w, "want PUT", http.StatusMethodNotAllowed)
				return
			}
			got := parseExposition(t, "push body", r.Body, expfmt.ResponseFormat(r.Header))
			mu.Lock()
			pushed, path = got, r.URL.Path
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
		}))
		defer gw.Close()
		code, _, stderr := runCLI(t, "", "scan", "-jsonl", "-metrics-push", gw.URL, "-job-interval", "24h", "-timeout", "3s", target)
		if code != exitOK || strings.Contains(stderr, "warning") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		mu.Lock()
		defer mu.Unlock()
		if pushed == nil {
			t.Fatal("nothing pushed")
		}
		if path != "/metrics/job/smbsweep/shard/0" {
			t.Errorf("pushed to %s", path)
		}
		checkReferences(t, "scan -metrics-push", pushed, refs, daemonOnly)
		if !pushed["smbsweep_job_last_run_success"]["scan_job"] {
			t.Error("pushed series lack scan_job (default -job)")
		}
	})

	t.Run("serve", func(t *testing.T) {
		cfg := filepath.Join(dir, "smbsweep.yml")
		os.WriteFile(cfg, []byte(serveConfig(dir, []string{target}, "lan")), 0o600)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout, stderr lockedBuffer
		done := make(chan int, 1)
		go func() { done <- serve(ctx, []string{"-config", cfg}, &stdout, &stderr, make(chan os.Signal)) }()
		defer func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop")
			}
		}()
		var addr string
		waitFor(t, "the listen line", 5*time.Second, func() bool {
			m := listenRE.FindStringSubmatch(stderr.String())
			if m != nil {
				addr = m[1]
			}
			return m != nil
		})
		waitFor(t, "a run of job lan", 15*time.Second, func() bool { return strings.Contains(stderr.String(), `msg="run finished" job=lan`) })
		// An API request (so that the request counter has a series), made by the container
		// image's HEALTHCHECK command.
		if code, out, errOut := runCLI(t, "", "health", "-url", "http://"+addr+"/-/healthy"); code != exitOK {
			t.Errorf("smbsweep health against serve: exit %d %q %q", code, out, errOut)
		}
		checkReferences(t, "serve", parseExposition(t, "serve /metrics", strings.NewReader(metricsText(t, addr)), expfmt.NewFormat(expfmt.TypeTextPlain)), refs, nil)
	})
}

// TestCheckReferencesCatchesGaps makes sure the check above reports a missing metric, a
// missing label (in a matcher, a grouping and an annotation), and skips what it is told to.
func TestCheckReferencesCatchesGaps(t *testing.T) {
	refs := []metricReference{
		newReference("panel x", `sum by (finding) (smbsweep_a{scan_job=~"$job"})`),
		newReference("panel y", `smbsweep_b > 0`),
		newReference("alert z", `smbsweep_a > 0`, "instance", "status"),
		newReference("panel d", `smbsweep_daemon`),
	}
	got := exported{"smbsweep_a": {"scan_job": true}}
	p := referenceProblems("src", got, refs, map[string]bool{"smbsweep_daemon": true})
	want := []string{
		`src does not export smbsweep_b (used by panel y)`,
		`src: alert z: no series of [smbsweep_a] carries the label "status"`,
		`src: panel x: no series of [smbsweep_a] carries the label "finding"`,
	}
	if strings.Join(p, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(p, "\n"), strings.Join(want, "\n"))
	}
}
