package output

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricDefWrongKindPanics: building a row as another kind than its own, or a labelled row
// as a single series, is a mistake in the code that panics naming the metric.
func TestMetricDefWrongKindPanics(t *testing.T) {
	cases := []struct {
		name  string
		build func()
		want  string
	}{
		{"gauge as counter", func() { JobRunDefs.Running.Counter() }, "smbsweep_job_running is a gauge, not a counter"},
		{"counter as gauge vec", func() { JobRunDefs.Runs.GaugeVec() }, "smbsweep_job_runs_total is a counter, not a gauge"},
		{"histogram as counter vec", func() { scanDefs.StageDuration.CounterVec() }, "is a histogram, not a counter"},
		{"labelled as single", func() { scanDefs.HostsScanned.Counter() }, "has labels [status]: build it as a vector"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want it to contain %q", msg, c.want)
				}
			}()
			c.build()
		})
	}
}

// TestMetricDefLabelsFirst: the labels given to a vector constructor come before the row's own,
// and building does not write into the row's label slice.
func TestMetricDefLabelsFirst(t *testing.T) {
	d := JobRunDefs.LastRunHosts
	before := slices.Clone(d.Labels)
	v := d.GaugeVec(JobLabel)
	d.GaugeVec("other") // a second build must not see the first's labels
	v.WithLabelValues("j", "smb1_enabled").Set(2)
	want := "\n# HELP smbsweep_job_last_run_hosts " + d.Help + "\n# TYPE smbsweep_job_last_run_hosts gauge\n" +
		`smbsweep_job_last_run_hosts{finding="smb1_enabled",scan_job="j"} 2` + "\n"
	if err := testutil.CollectAndCompare(v, strings.NewReader(want[1:])); err != nil {
		t.Error(err)
	}
	if !reflect.DeepEqual(d.Labels, before) {
		t.Errorf("row labels changed to %v", d.Labels)
	}
}

// TestMetricDefTables: every row of the output tables builds and lints clean (counters end in
// _total, base units), and no name is defined twice.
func TestMetricDefTables(t *testing.T) {
	seen := map[string]bool{}
	for _, table := range []any{scanDefs, JobRunDefs, struct{ B MetricDef }{buildInfoDef}} {
		rv := reflect.ValueOf(table)
		for i := range rv.NumField() {
			d := rv.Field(i).Interface().(MetricDef)
			if seen[d.Name] {
				t.Errorf("%s defined twice", d.Name)
			}
			seen[d.Name] = true
			c := buildAny(d)
			problems, err := testutil.CollectAndLint(c)
			if err != nil || len(problems) != 0 {
				t.Errorf("%s: lint %v %v", d.Name, problems, err)
			}
		}
	}
}

// buildAny builds a row with a series present, so that lint sees it.
func buildAny(d MetricDef) prometheus.Collector {
	vals := make([]string, len(d.Labels))
	for i := range vals {
		vals[i] = "x"
	}
	switch d.Kind {
	case KindCounter:
		v := d.CounterVec()
		v.WithLabelValues(vals...)
		return v
	case KindGauge:
		v := d.GaugeVec()
		v.WithLabelValues(vals...)
		return v
	}
	v := d.HistogramVec()
	v.WithLabelValues(vals...).Observe(1)
	return v
}
