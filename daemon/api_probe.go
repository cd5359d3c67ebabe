package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

// Limits of single-host API requests.
const (
	maxRequestTimeout = 5 * time.Minute
	maxShareLen       = 80
	maxPathLen        = 2048
)

// apiRequest is the request body of the seed endpoints. Every field is optional except host;
// which fields an endpoint uses is in docs/API.md. Password and content are never logged or
// echoed.
type apiRequest struct {
	Host     string  `json:"host"`
	Port     *int    `json:"port"`
	Timeout  *int64  `json:"timeout"` // milliseconds, the whole request's budget
	Share    *string `json:"share"`
	Path     *string `json:"path"`
	Username string  `json:"username"`
	Password string  `json:"password"`
	Domain   string  `json:"domain"`
	Content  *string `json:"content"`
	Base64   *string `json:"base64"`
	// SMB1 forces SMB1 (NT LM 0.12); without it SMB1 is used only when the server does not
	// speak SMB2 (it closes or resets the connection on the SMB2 NEGOTIATE).
	SMB1 *bool `json:"smb1"`
}

// String never shows the password or the content.
func (r *apiRequest) String() string {
	return fmt.Sprintf("request{host:%q user:%q domain:%q password:redacted}", r.Host, r.Username, r.Domain)
}

// GoString never shows the password or the content.
func (r *apiRequest) GoString() string { return r.String() }

// probeSpec is what one endpoint probes.
type probeSpec struct {
	stages         []probes.StageName // pipeline stages to run
	required       []probes.StageName // stages whose transport error means "could not reach" (502/504)
	defaultTimeout time.Duration
	defaultShare   string // "" = the endpoint takes no share
	shareRequired  bool   // the share has no default (the seed's file system endpoints)
	stat           bool   // stat the path on the share
	anonymousOnly  bool   // reject username/password
}

// probeRun is one executed single-host probe.
type probeRun struct {
	req      apiRequest
	host     string // as requested (trimmed)
	share    string
	path     string
	target   probes.Target
	res      *probes.Result
	expired  bool // the request's timeout budget ran out
	httpCode int
	// deadline is the end of the request's budget (the SMB1 path spends the rest of it).
	deadline time.Time
}

// runProbe decodes (unless decoded is given) and checks the request, resolves and allowlist-checks the host, and runs
// the endpoint's stages within the request's one timeout budget. On a refusal it has written
// the response and returns nil.
func (s *apiServer) runProbe(w http.ResponseWriter, r *http.Request, spec probeSpec, decoded *apiRequest) *probeRun {
	start := time.Now()
	pr := &probeRun{}
	if decoded != nil {
		pr.req = *decoded
	} else if e := decodeJSON(r, &pr.req); e != nil {
		e.write(w)
		return nil
	}
	if e := s.checkRequest(pr, spec); e != nil {
		e.write(w)
		return nil
	}
	timeout := spec.defaultTimeout
	if pr.req.Timeout != nil {
		timeout = time.Duration(*pr.req.Timeout) * time.Millisecond
	}
	// One budget for everything: resolution, connect, every round trip.
	pr.deadline = start.Add(timeout)
	ctx, cancel := context.WithDeadline(r.Context(), pr.deadline)
	defer cancel()
	stop := context.AfterFunc(s.d.shutdown, cancel)
	defer stop()
	port := 445
	if pr.req.Port != nil {
		port = *pr.req.Port
	}
	release, e := s.hostSlot(ctx)
	if e != nil {
		e.write(w)
		return nil
	}
	defer release()
	addr, e := s.resolveAllowed(ctx, pr.host)
	if e != nil {
		e.write(w)
		return nil
	}
	pr.target = probes.Target{Addr: addr, Port: uint16(port)}
	if _, err := netip.ParseAddr(pr.host); err != nil {
		pr.target.Host = pr.host
	}
	st := sweep.DefaultSettings()
	st.HostTimeout = timeout
	opts := st.ProbeOptions()
	if spec.defaultShare != "" {
		opts.Shares = []string{pr.share}
		if spec.stat {
			opts.StatShare, opts.StatPath = pr.share, pr.path
		}
	}
	stages := spec.stages
	if pr.req.SMB1 != nil && *pr.req.SMB1 {
		stages = []probes.StageName{probes.StageSMB1} // the record's SMB1 NEGOTIATE; the endpoint's answer comes from the SMB1 path
	}
	pr.res = stagesPipeline(opts, stages...).Run(ctx, pr.target)
	pr.expired = errors.Is(ctx.Err(), context.DeadlineExceeded)
	pr.httpCode = httpStatus(pr, spec)
	return pr
}

// hostSlot takes a slot of the process-wide hosts-in-flight budget for a single-host request,
// waiting at most until ctx ends (then 503).
func (s *apiServer) hostSlot(ctx context.Context) (release func(), e *apiError) {
	v := s.d.budget.slots(sourceAPI)
	if !v.Acquire(ctx) {
		return nil, &apiError{code: http.StatusServiceUnavailable, msg: fmt.Sprintf(
			"the daemon is probing its limit of %d hosts at once (max_hosts_in_flight) and none finished within the request's timeout: retry later",
			s.d.budget.pool.limitNow())}
	}
	var once sync.Once
	return func() { once.Do(v.Release) }, nil
}

// checkRequest validates the fields every probe endpoint shares.
func (s *apiServer) checkRequest(pr *probeRun, spec probeSpec) *apiError {
	q := &pr.req
	pr.host = strings.TrimSpace(q.Host)
	if e := checkHost(pr.host); e != nil {
		return e
	}
	if q.Port != nil && (*q.Port < 1 || *q.Port > 65535) {
		return badRequest("port", "port %d: must be 1-65535 (default 445)", *q.Port)
	}
	if q.Timeout != nil && (*q.Timeout < 1 || time.Duration(*q.Timeout)*time.Millisecond > maxRequestTimeout) {
		return badRequest("timeout", "timeout %d: must be 1-%d milliseconds (the budget of the whole request)", *q.Timeout, maxRequestTimeout.Milliseconds())
	}
	if spec.anonymousOnly && (q.Username != "" || q.Password != "" || q.Domain != "") {
		f := "username"
		if q.Username == "" {
			f = "password"
			if q.Password == "" {
				f = "domain"
			}
		}
		return badRequest(f, "%s: the /api/smb endpoints probe anonymously and take no credentials (credentialed access is /api/cifs/*)", f)
	}
	if spec.defaultShare == "" {
		if q.Share != nil {
			return badRequest("share", "share: this endpoint does not use a share")
		}
		if q.Path != nil {
			return badRequest("path", "path: this endpoint does not use a path")
		}
	} else {
		pr.share = spec.defaultShare
		if q.Share == nil && spec.shareRequired {
			return badRequest("share", "share is required: the share name, e.g. public")
		}
		if q.Share != nil {
			pr.share = strings.TrimSpace(*q.Share)
		}
		if e := checkShare("share", pr.share); e != nil {
			return e
		}
		if q.Path != nil {
			if !spec.stat {
				return badRequest("path", "path: this endpoint does not use a path")
			}
			pr.path = *q.Path
			if e := checkPath(pr.path); e != nil {
				return e
			}
		}
	}
	if q.Content != nil || q.Base64 != nil {
		f := "content"
		if q.Content == nil {
			f = "base64"
		}
		return badRequest(f, "%s: only /api/cifs/write takes content", f)
	}
	return nil
}

// checkHost accepts an IP address (IPv6 with or without brackets, no zone) or a DNS name.
func checkHost(h string) *apiError {
	if h == "" {
		return badRequest("host", `host is required: an IP address or a DNS name, e.g. {"host":"127.0.0.1"}`)
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() {
			return badRequest("host", "host %q: brackets hold an IPv6 address, e.g. [::1]", h)
		}
		h = h[1 : len(h)-1]
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return badRequest("host", "host %q: IPv6 zones are not accepted", h)
		}
		return nil
	}
	if strings.Contains(h, ":") {
		return badRequest("host", "host %q: give the port in the port field, not in host (IPv6 addresses are accepted as 2001:db8::1 or [2001:db8::1])", h)
	}
	if reason := scanner.CheckHostname(h); reason != "" {
		return badRequest("host", "host %q: not an IP address or a DNS name: %s", h, reason)
	}
	return nil
}

// checkShare refuses what no share name can be: empty, a path or UNC form, "." or "..", NUL or
// other control characters, or longer than maxShareLen. field names the request field.
func checkShare(field, share string) *apiError {
	switch {
	case share == "":
		return badRequest(field, "share: must not be empty (e.g. IPC$ or public)")
	case strings.ContainsAny(share, `\/:*?"<>|`) || len(share) > maxShareLen:
		return badRequest(field, "share %q: give the share name only (e.g. public), not a UNC path", share)
	case share == "." || share == "..":
		return badRequest(field, "share %q: not a share name (e.g. public)", share)
	case strings.IndexFunc(share, isControl) >= 0:
		return badRequest(field, "share %q: control characters (NUL included) are not allowed in a share name", share)
	}
	return nil
}

// checkPath refuses a path that is too long, holds NUL or other control characters, or has a
// ".." element (a path stays inside its share).
func checkPath(path string) *apiError {
	if len(path) > maxPathLen || strings.IndexFunc(path, isControl) >= 0 {
		return badRequest("path", "path: at most %d characters, no NUL or other control characters", maxPathLen)
	}
	for _, e := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if e == ".." {
			return badRequest("path", `path %q: ".." elements are not allowed: give the path from the share root`, path)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// resolveAllowed resolves host within ctx and checks every address against the allowlist: a
// name that resolves to any address outside it is refused, so DNS cannot steer a probe out.
func (s *apiServer) resolveAllowed(ctx context.Context, host string) (netip.Addr, *apiError) {
	addrs, e := s.lookupAllowed(ctx, host)
	if e != nil {
		return netip.Addr{}, e
	}
	return addrs[0], nil
}

// lookupAllowed is the one allowlist check of every API request (single-host endpoints, /probe
// and the names of /api/v1/scans): host is resolved (an address stands for itself) and every
// address must be inside api.allow_targets. The error says what went wrong in the user's terms,
// never with the resolver's internals.
func (s *apiServer) lookupAllowed(ctx context.Context, host string) ([]netip.Addr, *apiError) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(h); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		res, err := s.d.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(res) == 0 {
			code := http.StatusBadGateway
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				code = http.StatusGatewayTimeout
			}
			return nil, &apiError{code: code, field: "host", msg: fmt.Sprintf("host %q could not be resolved: %s", host, resolveProblem(ctx, err))}
		}
		for _, a := range res {
			addrs = append(addrs, a.Unmap().WithZone(""))
		}
	}
	allow := s.d.cfg.Load().API.allow
	for _, a := range addrs {
		if e := checkAllowed(allow, a, "host"); e != nil {
			if a.String() != h {
				e.msg += fmt.Sprintf(": %s resolves to it", host)
			}
			return nil, e
		}
	}
	return addrs, nil
}

// resolveProblem says why a lookup failed without the resolver's internals (its addresses,
// sockets and Go error chain).
func resolveProblem(ctx context.Context, err error) string {
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return "the name has no addresses"
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "resolution took longer than the request's timeout"
	case errors.Is(err, context.Canceled):
		return "resolution was cancelled"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host"
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return "the DNS server did not answer in time"
	case errors.As(err, &dnsErr) && dnsErr.IsTemporary:
		return "temporary DNS failure; try again"
	case strings.HasSuffix(err.Error(), "no such host"):
		return "no such host"
	}
	return "DNS lookup failed"
}

// checkAllowed refuses (403) an address outside the allowlist.
func checkAllowed(allow []netip.Prefix, a netip.Addr, field string) *apiError {
	if allowed(allow, a) {
		return nil
	}
	return &apiError{code: http.StatusForbidden, field: field,
		msg: fmt.Sprintf("target %s is outside the allowed networks (api.allow_targets or -allow-targets; default loopback only)", a)}
}

func allowed(allow []netip.Prefix, a netip.Addr) bool {
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// httpStatus maps a probe onto the HTTP status scheme of docs/API.md: 200 when the target
// answered in SMB (success says whether the answer was positive); 504 when the request's
// timeout ran out before it did; 502 when it could not be reached or did not speak SMB.
func httpStatus(pr *probeRun, spec probeSpec) int {
	failed := string(pr.res.Status) != string(probes.StatusSMB)
	for _, name := range spec.required {
		if st, ok := pr.res.Stages[name]; ok && st.Status == probes.StageErrored {
			failed = true
		}
	}
	switch {
	case !failed:
		return http.StatusOK
	case pr.expired || pr.res.Status == probes.StatusConnectionTimeout || pr.res.Status == probes.StatusIOTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// firstError returns the first stage error of the named stages, or the host's error.
func firstError(res *probes.Result, stages []probes.StageName) string {
	for _, name := range stages {
		if st, ok := res.Stages[name]; ok && st.Error != "" && st.Status == probes.StageErrored {
			return st.Error
		}
	}
	return res.Error
}
