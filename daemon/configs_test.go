package daemon

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/smbsweep/smbsweep/probes"
)

// registryMetrics returns every metric name the daemon's registry exposes once a job has run
// and the API has answered, with the label names of each.
func registryMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	m := newDaemonMetrics("test")
	scan := m.addJob("lan", time.Hour)
	start := time.Now()
	m.runStarted("lan", start)
	scan.SetTargets(1)
	scan.HostStarted()
	scan.Observe(&probes.Result{Status: probes.StatusSMB, Stages: map[probes.StageName]*probes.StageResult{"negotiate": {Status: probes.StageOK, DurationSeconds: 0.01}}})
	scan.HostDone()
	m.targetsDone.WithLabelValues("lan").Inc()
	m.nextRun.WithLabelValues("lan").Set(1)
	m.runFinished("lan", runSuccess, start, time.Second, &probes.Summary{Findings: map[string]int{}, Statuses: map[string]int{}})
	m.reloaded(true, start)
	m.observeRequest("/api/smb/negotiate", 200, time.Millisecond)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, f := range fams {
		labels := map[string]bool{}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		names := []string{f.GetName()}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names = append(names, f.GetName()+"_bucket", f.GetName()+"_sum", f.GetName()+"_count")
		case dto.MetricType_SUMMARY:
			names = append(names, f.GetName()+"_sum", f.GetName()+"_count")
		}
		for _, n := range names {
			out[n] = labels
		}
	}
	return out
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlOffset   = regexp.MustCompile(`\boffset\s+-?[0-9a-z]+`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlWords    = map[string]bool{
		"sum": true, "min": true, "max": true, "avg": true, "count": true, "rate": true, "irate": true, "increase": true,
		"delta": true, "histogram_quantile": true, "time": true, "min_over_time": true, "max_over_time": true,
		"avg_over_time": true, "and": true, "or": true, "unless": true, "offset": true, "bool": true, "by": true,
		"without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "abs": true, "absent": true,
	}
)

// exprMetrics lists the metric names a PromQL expression refers to.
func exprMetrics(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, "")
	e = promqlRanges.ReplaceAllString(e, "")
	e = promqlOffset.ReplaceAllString(e, "")
	e = promqlGrouping.ReplaceAllString(e, "")
	var out []string
	for _, id := range promqlIdent.FindAllString(e, -1) {
		if !promqlWords[id] {
			out = append(out, id)
		}
	}
	return out
}

// checkExpr fails when expr names a metric the registry does not have, or a label matcher
// uses a label the metric does not carry.
func checkExpr(t *testing.T, where, expr string, known map[string]map[string]bool) {
	t.Helper()
	names := exprMetrics(expr)
	if len(names) == 0 {
		t.Errorf("%s: %q refers to no metric", where, expr)
	}
	for _, n := range names {
		labels, ok := known[n]
		if !ok {
			t.Errorf("%s: %q uses %s, which the daemon does not export", where, expr, n)
			continue
		}
		re := regexp.MustCompile(regexp.QuoteMeta(n) + `\{([^}]*)\}`)
		for _, m := range re.FindAllStringSubmatch(expr, -1) {
			for _, lm := range regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`).FindAllStringSubmatch(m[1], -1) {
				if !labels[lm[1]] {
					t.Errorf("%s: %s has no label %q (has %v)", where, n, lm[1], labels)
				}
			}
		}
	}
}

func TestExprMetrics(t *testing.T) {
	got := exprMetrics(`histogram_quantile(0.95, sum by (le, stage) (rate(smbsweep_stage_duration_seconds_bucket{scan_job=~"$job"}[$__rate_interval]))) > on(instance) group_left smbsweep_x offset 1d`)
	if strings.Join(got, ",") != "smbsweep_stage_duration_seconds_bucket,smbsweep_x" {
		t.Errorf("%v", got)
	}
}

// TestGrafanaDashboard validates configs/grafana/smbsweep-dashboard.json: it parses, its uid
// is fixed, it has the datasource and job variables, and every panel query uses only metrics
// and labels the daemon exports, filtered by the job variable where the metric is per job.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../configs/grafana/smbsweep-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name, Type string
				Query      any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Title      string `json:"title"`
			Type       string `json:"type"`
			Datasource any    `json:"datasource"`
			GridPos    *struct{ X, Y, W, H int }
			Targets    []struct{ Expr, RefID string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID != "smbsweep-overview" || dash.Title == "" {
		t.Errorf("uid %q title %q", dash.UID, dash.Title)
	}
	known := registryMetrics(t)
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type
		if q, ok := v.Query.(map[string]any); ok {
			qs := q["query"].(string)
			inner := strings.TrimSuffix(strings.TrimPrefix(qs, "label_values("), ")")
			metric, label, _ := strings.Cut(inner, ",")
			if labels, ok := known[strings.TrimSpace(metric)]; !ok || !labels[strings.TrimSpace(label)] {
				t.Errorf("variable %s: %q uses an unknown metric or label", v.Name, qs)
			}
		}
	}
	if vars["datasource"] != "datasource" || vars["job"] != "query" {
		t.Errorf("template variables %v: want datasource (datasource) and job (query)", vars)
	}
	ids := map[int]bool{}
	queries := 0
	titles := strings.Builder{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d repeated", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil {
			t.Errorf("panel %q has no gridPos", p.Title)
		}
		titles.WriteString(strings.ToLower(p.Title) + "|")
		if p.Type == "row" {
			continue
		}
		if ds, _ := p.Datasource.(map[string]any); ds == nil || ds["uid"] != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			checkExpr(t, "panel "+p.Title, q.Expr, known)
			for _, n := range exprMetrics(q.Expr) {
				if known[n][jobLabel] && !strings.Contains(q.Expr, jobLabel+`=~"$job"`) {
					t.Errorf("panel %q: %s is per job but the query ignores $job: %s", p.Title, n, q.Expr)
				}
			}
		}
	}
	for _, want := range []string{"exposure over time per finding", "scan progress", "scan rate", "stage latency", "status"} {
		if !strings.Contains(titles.String(), want) {
			t.Errorf("no panel about %q", want)
		}
	}
	if queries < 10 {
		t.Errorf("only %d queries", queries)
	}
	prov, err := os.ReadFile("../configs/grafana/provisioning/dashboards.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type string
			Options    struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(prov, &p); err != nil || p.APIVersion != 1 || len(p.Providers) != 1 || p.Providers[0].Type != "file" || p.Providers[0].Options.Path == "" {
		t.Errorf("provisioning: %v %+v", err, p)
	}
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// TestAlertRules validates configs/prometheus/smbsweep-alerts.yml: promtool check rules (and
// the rule unit tests) when promtool is installed, and always a structural check of every rule
// and the metrics its expression uses.
func TestAlertRules(t *testing.T) {
	const path = "../configs/prometheus/smbsweep-alerts.yml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("rules YAML: %v", err)
	}
	known := registryMetrics(t)
	promDuration := regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	byName := map[string]alertRule{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q is empty or unnamed", g.Name)
		}
		for _, r := range g.Rules {
			byName[r.Alert] = r
			if !regexp.MustCompile(`^Smbsweep[A-Za-z0-9]+$`).MatchString(r.Alert) {
				t.Errorf("alert name %q", r.Alert)
			}
			if r.For == "" {
				t.Errorf("%s has no for: (one odd evaluation would fire it)", r.Alert)
			} else if !promDuration.MatchString(r.For) {
				t.Errorf("%s: for %q", r.Alert, r.For)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" && s != "info" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: summary and description are required", r.Alert)
			}
			checkExpr(t, r.Alert, r.Expr, known)
		}
	}
	for name, part := range map[string]string{
		"SmbsweepJobNoRecentSuccess":          "2 * smbsweep_job_interval_seconds",
		"SmbsweepSMB1Enabled":                 `finding="smb1_enabled"`,
		"SmbsweepSigningNotRequiredIncreased": `finding="signing_not_required"`,
		"SmbsweepDown":                        "unless smbsweep_build_info",
		"SmbsweepMetricsAbsent":               "absent(",
	} {
		if r, ok := byName[name]; !ok || !strings.Contains(r.Expr, part) {
			t.Errorf("alert %s missing or its expression lacks %q", name, part)
		}
	}

	promtool := os.Getenv("SMBSWEEP_PROMTOOL")
	if promtool == "" {
		promtool, _ = exec.LookPath("promtool")
	}
	if promtool == "" {
		t.Log("promtool not installed (Debian package prometheus): structural checks only")
		return
	}
	for _, args := range [][]string{{"check", "rules", path}, {"test", "rules", "../configs/prometheus/smbsweep-alerts_test.yml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
