package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const healthSynopsis = `Usage: smbsweep health [-url URL] [-timeout DURATION]

Asks a running 'smbsweep serve' whether it is up: GET URL (its /-/healthy endpoint, which needs
no token). Exit 0 when it answers 200, 1 otherwise, with the reason on stderr. It is the
container image's HEALTHCHECK: the distroless image has no shell, curl or wget.

Examples:
  smbsweep health
  smbsweep health -url http://127.0.0.1:9445/-/healthy -timeout 2s
`

// defaultHealthURL is serve's default listen address (configs/smbsweep.yml) and the
// container's (Dockerfile).
const defaultHealthURL = "http://127.0.0.1:9445/-/healthy"

type healthFlags struct {
	url     string
	timeout time.Duration
}

func newHealthFlagSet(f *healthFlags) *groupedFlags {
	g := newGroupedFlags("smbsweep health")
	g.group("Health")
	g.StringVar(&f.url, "url", defaultHealthURL, "the daemon's health `URL` (its listen address, path /-/healthy)")
	g.DurationVar(&f.timeout, "timeout", 5*time.Second, "give up after this long")
	g.add("url", "timeout")
	return g
}

func runHealth(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var f healthFlags
	g := newHealthFlagSet(&f)
	if code, ok := parseFlagsOnly("health", g, args, stdout, stderr, "give the address with -url "+defaultHealthURL); !ok {
		return code
	}
	u, err := url.Parse(f.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "smbsweep health: -url %q: want an http(s) URL, e.g. %s\n", f.url, defaultHealthURL)
		return exitUsage
	}
	if f.timeout <= 0 {
		fmt.Fprintf(stderr, "smbsweep health: -timeout %s: must be positive (e.g. -timeout 5s)\n", f.timeout)
		return exitUsage
	}
	c := &http.Client{Timeout: f.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u.String())
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep health: %v (is smbsweep serve running and listening there?)\n", err)
		return exitFailure
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "smbsweep health: %s answered %s\n", u.Redacted(), resp.Status)
		return exitFailure
	}
	fmt.Fprintf(stdout, "healthy: %s\n", u.Redacted())
	return exitOK
}
