package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

// Defaults of API scans and /probe.
const (
	defaultScanHostTimeout = 10 * time.Second
	maxScanConcurrency     = 64
	// scanLookupConcurrency and scanResolveTimeout bound the name resolution of one scan
	// request: names looked up at once, and the time for all of them.
	scanLookupConcurrency = 8
	scanResolveTimeout    = 10 * time.Second
	// streamWriteStall is how long one write of a scan stream may block on a client that does
	// not read.
	streamWriteStall    = time.Minute
	defaultProbeTimeout = 10 * time.Second
	maxProbeTimeout     = 2 * time.Minute
)

// scanRequest is the body of POST /api/v1/scans.
type scanRequest struct {
	Targets  []string `json:"targets"`
	Excludes []string `json:"excludes"`
	Profile  string   `json:"profile"`
	Port     *int     `json:"port"`
	Timeout  *int64   `json:"timeout"` // milliseconds per host

	// EnumUsers and RIDRange are scan -enum-users and -rid-range (stage lsa, profiles full
	// and vuln): the account names go to the caller in the records' lsa[].users.names.
	EnumUsers bool   `json:"enum_users"`
	RIDRange  string `json:"rid_range"`
}

// streamSink writes each record as one JSON line through output's JSONL encoder (the one
// every JSON record of the program goes through: same bytes as a scan's -o file, C1 and bidi
// controls escaped) and sends it to the client at once.
type streamSink struct {
	*output.JSONL
	w *responseLines
}

func newStreamSink(w http.ResponseWriter) *streamSink {
	lines := &responseLines{w: w, rc: http.NewResponseController(w)}
	return &streamSink{JSONL: output.NewJSONL(lines, "response"), w: lines}
}

// WriteResult sends the host's record now.
func (s *streamSink) WriteResult(r *probes.Result) error {
	if err := s.JSONL.WriteResult(r); err != nil {
		return err
	}
	return s.JSONL.Flush()
}

// WriteSummary sends the summary line now.
func (s *streamSink) WriteSummary(sum *probes.Summary) error {
	if err := s.JSONL.WriteSummary(sum); err != nil {
		return err
	}
	return s.JSONL.Flush()
}

// extendDeadline gives the next write streamWriteStall: a stream may outlive the server's
// WriteTimeout, a client that stops reading may not.
func (s *streamSink) extendDeadline() { s.w.extendDeadline() }

// responseLines writes whole records to the response and flushes them to the client.
type responseLines struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (l *responseLines) extendDeadline() {
	_ = l.rc.SetWriteDeadline(time.Now().Add(streamWriteStall))
}

func (l *responseLines) Write(b []byte) (int, error) {
	l.extendDeadline()
	n, err := l.w.Write(b)
	if err != nil {
		return n, err
	}
	return n, l.rc.Flush()
}

// noResolver resolves nothing, at once: Build with it counts a name as one target.
type noResolver struct{}

func (noResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errNotResolved
}

var errNotResolved = errors.New("not resolved")

// checkedResolver resolves the names of a scan through lookupAllowed, the allowlist check of
// the single-host endpoints: every address of a name must be allowed. It remembers the first
// refusal; a failed lookup becomes the target's error in user terms.
type checkedResolver struct {
	s       *apiServer
	mu      sync.Mutex
	refused *apiError
}

func (c *checkedResolver) LookupNetIP(ctx context.Context, _, host string) ([]netip.Addr, error) {
	addrs, e := c.s.lookupAllowed(ctx, host)
	if e == nil {
		return addrs, nil
	}
	if e.code == http.StatusForbidden {
		c.mu.Lock()
		if c.refused == nil {
			e.field = "targets"
			c.refused = e
		}
		c.mu.Unlock()
	}
	return nil, errors.New(strings.TrimPrefix(e.msg, fmt.Sprintf("host %q could not be resolved: ", host)))
}

func (c *checkedResolver) refusal() *apiError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// scans is POST /api/v1/scans: the targets counted (nothing resolved yet), the names resolved
// and every target checked against the allowlist, then the results streamed as JSONL
// (application/x-ndjson) as each host completes, the summary last. Hosts take their slots from
// the daemon's hosts budget.
func (s *apiServer) scans(w http.ResponseWriter, r *http.Request) {
	var req scanRequest
	if e := decodeJSON(r, &req); e != nil {
		e.write(w)
		return
	}
	p, e := req.check()
	if e != nil {
		e.write(w)
		return
	}
	set, e := s.scanTargets(r.Context(), &req, p.port)
	if e != nil {
		e.write(w)
		return
	}
	s.streamScan(w, r, set, &req, p)
}

// check validates the request and fills in the defaults: the profile, the port, the host
// deadline and the RID range of -enum-users.
func (req *scanRequest) check() (scanParams, *apiError) {
	if len(req.Targets) == 0 {
		return scanParams{}, badRequest("targets", `targets is required: a list such as ["127.0.0.1", "127.0.0.0/30"]`)
	}
	if req.Profile == "" {
		req.Profile = defaultProfile
	}
	if err := checkProfile(req.Profile); err != nil {
		return scanParams{}, badRequest("profile", "%v", err)
	}
	port := scanner.DefaultPort
	if req.Port != nil {
		if *req.Port < 1 || *req.Port > 65535 {
			return scanParams{}, badRequest("port", "port %d: must be 1-65535 (default 445)", *req.Port)
		}
		port = *req.Port
	}
	hostTimeout := defaultScanHostTimeout
	if req.Timeout != nil {
		if *req.Timeout < 1 || time.Duration(*req.Timeout)*time.Millisecond > maxRequestTimeout {
			return scanParams{}, badRequest("timeout", "timeout %d: must be 1-%d milliseconds per host", *req.Timeout, maxRequestTimeout.Milliseconds())
		}
		hostTimeout = time.Duration(*req.Timeout) * time.Millisecond
	}
	var ridFirst, ridLast uint32
	if req.RIDRange != "" {
		var err error
		if ridFirst, ridLast, err = probes.ParseRIDRange(req.RIDRange); err != nil {
			return scanParams{}, badRequest("rid_range", "%s", strings.ReplaceAll(err.Error(), "-rid-range ", "rid_range "))
		}
		if !req.EnumUsers {
			return scanParams{}, badRequest("rid_range", "rid_range %q does nothing without enum_users: set enum_users true, or drop rid_range", req.RIDRange)
		}
	}
	return scanParams{port: port, hostTimeout: hostTimeout, ridFirst: ridFirst, ridLast: ridLast}, nil
}

// scanParams are a scan request's checked values with their defaults.
type scanParams struct {
	port              int
	hostTimeout       time.Duration
	ridFirst, ridLast uint32
}

// scanTargets builds the request's target set: counted first, resolving nothing (a name
// counts as one target), against api.max_scan_targets; then the names resolved,
// scanLookupConcurrency at a time within resolveTimeout in all, and every address of every
// target through the allowlist check of the single-host endpoints.
func (s *apiServer) scanTargets(ctx context.Context, req *scanRequest, port int) (*scanner.TargetSet, *apiError) {
	cfg := s.d.cfg.Load()
	b := scanner.NewTargetBuilder(uint16(port))
	b.LookupConcurrency, b.LookupTimeout = scanLookupConcurrency, s.resolveTimeout
	for i, t := range req.Targets {
		if err := b.Add(t); err != nil {
			return nil, badRequest("targets", "targets[%d]: %v", i, err)
		}
	}
	for i, e := range req.Excludes {
		if err := b.Exclude(e); err != nil {
			return nil, badRequest("excludes", "excludes[%d]: %v", i, err)
		}
	}
	counted, err := b.Build(ctx, noResolver{})
	if err != nil {
		return nil, badRequest("targets", "%v", err)
	}
	if counted.Len() > uint64(cfg.API.MaxScanTargets) {
		return nil, badRequest("targets", "%d targets: at most %d per request (api.max_scan_targets)", counted.Len(), cfg.API.MaxScanTargets)
	}
	rctx, cancel := context.WithTimeout(ctx, s.resolveTimeout)
	cr := &checkedResolver{s: s}
	set, err := b.Build(rctx, cr)
	cancel()
	if e := cr.refusal(); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, &apiError{code: http.StatusGatewayTimeout, field: "targets",
			msg: fmt.Sprintf("resolving the target names took longer than %s: give fewer names, or addresses", s.resolveTimeout)}
	}
	for i := range set.Len() {
		t := set.At(i)
		if t.Err != nil {
			continue
		}
		if e := checkAllowed(cfg.API.allow, t.Addr.Unmap(), "targets"); e != nil {
			e.msg = strings.Replace(e.msg, "target "+t.Addr.Unmap().String(), "target "+t.String(), 1)
			return nil, e
		}
	}
	return set, nil
}

// streamScan runs the scan and streams its records. The client going away aborts
// everything; the daemon's shutdown stops dispatch.
func (s *apiServer) streamScan(w http.ResponseWriter, r *http.Request, set *scanner.TargetSet, req *scanRequest, p scanParams) {
	dispatch, stop := context.WithCancel(r.Context())
	defer stop()
	defer context.AfterFunc(s.d.shutdown, stop)()
	sink := newStreamSink(w)
	sink.extendDeadline()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	st := sweep.DefaultSettings()
	st.Concurrency, st.HostTimeout = int(min(set.Len(), maxScanConcurrency)), p.hostTimeout
	scfg := st.Scanner()
	scfg.Slots = s.d.budget.slots(sourceAPI)
	opts := st.ProbeOptions()
	opts.EnumUsers, opts.RIDFirst, opts.RIDLast = req.EnumUsers, p.ridFirst, p.ridLast
	_, werr := sweep.Run(dispatch, r.Context(), sweep.Config{
		Targets:  set,
		Pipeline: pipelineFor(req.Profile, opts),
		Scanner:  scfg,
		Writer:   output.NewWriter(sink),
	})
	if werr != nil {
		s.d.log.Debug("scan stream ended early", "err", werr)
	}
}

// probe is GET /probe?target=HOST[:PORT]&module=PROFILE in the style of blackbox_exporter:
// one probe, its metrics in a registry of its own. probe_success is 1 when the host spoke
// SMB; a finding the probe could not decide leaves its metric out rather than reporting 0.
func (s *apiServer) probe(w http.ResponseWriter, r *http.Request) {
	req, e := parseProbeRequest(r)
	if e != nil {
		e.write(w)
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), req.timeout)
	defer cancel()
	defer context.AfterFunc(s.d.shutdown, cancel)()
	release, e := s.hostSlot(ctx)
	if e != nil {
		e.write(w)
		return
	}
	defer release()
	addr, e := s.resolveAllowed(ctx, req.host)
	if e != nil {
		if e.code != http.StatusForbidden {
			// Resolution failed: the probe ran and failed (blackbox reports probe_success 0).
			s.writeProbeMetrics(w, r, nil, time.Since(start))
			return
		}
		e.field = "target"
		e.write(w)
		return
	}
	t := probes.Target{Addr: addr, Port: uint16(req.port)}
	if _, err := netip.ParseAddr(strings.Trim(req.host, "[]")); err != nil {
		t.Host = req.host
	}
	st := sweep.DefaultSettings()
	st.HostTimeout = req.timeout
	res := pipelineFor(req.module, st.ProbeOptions()).Run(ctx, t)
	s.writeProbeMetrics(w, r, res, time.Since(start))
}

// probeRequest is what GET /probe asks for.
type probeRequest struct {
	host    string // as given: an address or a name
	port    int
	module  string // the profile
	timeout time.Duration
}

// parseProbeRequest reads target, module and Prometheus' scrape timeout from r.
func parseProbeRequest(r *http.Request) (probeRequest, *apiError) {
	q := r.URL.Query()
	target := q.Get("target")
	if target == "" {
		return probeRequest{}, badRequest("target", "target parameter is missing: /probe?target=HOST[:PORT]&module=default")
	}
	req := probeRequest{host: target, port: 445, module: q.Get("module"), timeout: probeTimeout(r.Header)}
	if h, p, err := net.SplitHostPort(target); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > 65535 {
			return probeRequest{}, badRequest("target", "target %q: port must be 1-65535", target)
		}
		req.host, req.port = h, n
	}
	if e := checkHost(req.host); e != nil {
		e.field = "target"
		return probeRequest{}, e
	}
	if req.module == "" {
		req.module = defaultProfile
	}
	if err := checkProfile(req.module); err != nil {
		return probeRequest{}, badRequest("module", "module: %v", err)
	}
	return req, nil
}

// probeTimeout is the probe's deadline: half a second inside the scrape timeout Prometheus
// sends, at least 500 ms, at most maxProbeTimeout; defaultProbeTimeout without one.
func probeTimeout(h http.Header) time.Duration {
	timeout := defaultProbeTimeout
	if v := h.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
			timeout = max(time.Duration((secs-0.5)*float64(time.Second)), 500*time.Millisecond)
		}
	}
	return min(timeout, maxProbeTimeout)
}

// probeDefs are the metrics of one /probe answer, in a registry of their own.
var probeDefs = struct {
	Success, Duration, SMB1Enabled, SigningRequired, NullSession output.MetricDef
}{
	Success: output.MetricDef{Kind: output.KindGauge, Name: "probe_success",
		Help: "1 when the target answered in SMB, else 0."},
	Duration: output.MetricDef{Kind: output.KindGauge, Name: "probe_duration_seconds",
		Help: "How long the probe took."},
	SMB1Enabled: output.MetricDef{Kind: output.KindGauge, Name: "probe_smb1_enabled",
		Help: "1 when the server accepted SMB1 (NT LM 0.12) on a dedicated SMB1 NEGOTIATE; absent when unknown."},
	SigningRequired: output.MetricDef{Kind: output.KindGauge, Name: "probe_smb_signing_required",
		Help: "1 when the server requires message signing; absent when unknown."},
	NullSession: output.MetricDef{Kind: output.KindGauge, Name: "probe_smb_null_session",
		Help: "1 when an anonymous (null) session could use IPC$; absent when unknown."},
}

func (s *apiServer) writeProbeMetrics(w http.ResponseWriter, r *http.Request, res *probes.Result, took time.Duration) {
	reg := prometheus.NewRegistry()
	gauge := func(d output.MetricDef, v float64) {
		g := d.Gauge()
		g.Set(v)
		reg.MustRegister(g)
	}
	tri := func(d output.MetricDef, b *bool) {
		if b == nil {
			return
		}
		v := 0.0
		if *b {
			v = 1
		}
		gauge(d, v)
	}
	success := 0.0
	if res != nil && res.Status == probes.StatusSMB {
		success = 1
	}
	gauge(probeDefs.Success, success)
	gauge(probeDefs.Duration, took.Seconds())
	if res != nil {
		tri(probeDefs.SMB1Enabled, findingValue(res, probes.FindingSMB1Enabled, false))
		tri(probeDefs.SigningRequired, findingValue(res, probes.FindingSigningNotRequired, true))
		tri(probeDefs.NullSession, findingValue(res, probes.FindingNullSession, false))
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// findingValue returns a finding's tri-state value (negated when invert), nil when unknown
// or absent.
func findingValue(res *probes.Result, id string, invert bool) *bool {
	for _, f := range res.Findings {
		if f.ID == id && f.Value != nil {
			v := *f.Value != invert
			return &v
		}
	}
	return nil
}
