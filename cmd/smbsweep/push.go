package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// pushTimeout bounds the push at the end of a run.
const pushTimeout = 15 * time.Second

// pushFlags configure pushing the scan's metrics to a Prometheus Pushgateway when the run ends:
// the way a batch job (a Kubernetes Indexed Job pod) that nobody scrapes reports its metrics.
type pushFlags struct {
	url string
	job string
}

func definePushFlags(g *groupedFlags, f *pushFlags) {
	g.StringVar(&f.url, "metrics-push", "", "when the scan ends, push its metrics to the Pushgateway at `URL` (e.g. http://pushgateway:9091), grouped by job and shard")
	g.StringVar(&f.job, "metrics-push-job", "smbsweep", "job `NAME` of the Pushgateway grouping key")
	g.add("metrics-push", "metrics-push-job")
}

func (f *pushFlags) validate() error {
	if f.url == "" {
		return nil
	}
	u, err := url.Parse(f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("-metrics-push %q: want an http(s) URL, e.g. http://pushgateway:9091", f.url)
	}
	if f.job == "" {
		return usagef("-metrics-push-job: must not be empty")
	}
	return nil
}

// pushMetrics pushes reg to the Pushgateway (replacing the group job/shard), when -metrics-push
// is set. A failure is reported on stderr and does not change the exit code: the results are
// what the run is for, and a retry of the whole scan would not be a sensible reaction.
func (f *scaleFlags) pushMetrics(reg *prometheus.Registry, silent bool, stderr io.Writer) {
	if f.push.url == "" {
		return
	}
	err := push.New(f.push.url, f.push.job).
		Gatherer(reg).
		Grouping("shard", strconv.Itoa(f.shardSet.Index)).
		Client(&http.Client{Timeout: pushTimeout}).
		Push()
	if err != nil && !silent {
		fmt.Fprintf(stderr, "warning: -metrics-push: %v\n", err)
	}
}
