package daemon

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// route is one HTTP endpoint.
type route struct {
	endpoint string // metric label (the path)
	method   string // the one method allowed (GET also allows HEAD)
	auth     bool   // bearer token required when tokens are configured; false: also no Host check
	limited  bool   // counts against the global and per-client concurrency limits
	json     bool   // the body must be Content-Type: application/json
	handler  http.HandlerFunc
}

// apiServer is the daemon's HTTP handler: the Host/Origin checks, authentication, routing,
// 404/405, the Content-Type check, the global and per-client concurrency limits, panic recovery
// and the request metrics around every endpoint.
type apiServer struct {
	d       *Daemon
	routes  map[string]*route
	clients clientLimiter
	global  globalLimiter
	metrics http.Handler
	// resolveTimeout bounds the name resolution of one POST /api/v1/scans.
	resolveTimeout time.Duration
}

func newAPIServer(d *Daemon) *apiServer {
	s := &apiServer{d: d, routes: make(map[string]*route), clients: clientLimiter{n: make(map[string]int)},
		resolveTimeout: scanResolveTimeout}
	s.metrics = promhttp.HandlerFor(d.metrics.Registry, promhttp.HandlerOpts{})
	post := func(path string, h http.HandlerFunc) {
		s.routes[path] = &route{endpoint: path, method: http.MethodPost, auth: true, limited: true, json: true, handler: h}
	}
	post("/api/smb/connect", s.smbConnect)
	post("/api/smb/negotiate", s.smbNegotiate)
	post("/api/smb/session", s.smbSession)
	post("/api/smb/tree", s.smbTree)
	post("/api/smb/stat", s.smbStat)
	post("/api/cifs/negotiate", s.cifsNegotiate)
	post("/api/cifs/connect", s.cifsNegotiate)
	post("/api/cifs/auth", s.cifsAuth)
	post("/api/cifs/ls", s.cifsLs)
	post("/api/cifs/read", s.cifsRead)
	post("/api/cifs/stat", s.cifsStat)
	post("/api/cifs/write", s.cifsWrite)
	post("/api/v1/scans", s.scans)
	s.routes["/probe"] = &route{endpoint: "/probe", method: http.MethodGet, auth: true, limited: true, handler: s.probe}
	s.routes["/metrics"] = &route{endpoint: "/metrics", method: http.MethodGet, auth: true, handler: s.metrics.ServeHTTP}
	s.routes["/-/reload"] = &route{endpoint: "/-/reload", method: http.MethodPost, auth: true, handler: s.reload}
	s.routes["/-/healthy"] = &route{endpoint: "/-/healthy", method: http.MethodGet, handler: s.healthy}
	s.routes["/-/ready"] = &route{endpoint: "/-/ready", method: http.MethodGet, handler: s.readyz}
	return s
}

// statusRecorder remembers the status code for the metrics and the log.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := s.routes[r.URL.Path]
	endpoint := "other"
	if rt != nil {
		endpoint = rt.endpoint
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.d.metrics.apiInFlight.Inc()
	defer s.finishRequest(rec, r, endpoint, start)
	w = rec
	cfg := s.d.cfg.Load()
	if !s.admit(w, r, rt, endpoint, cfg) {
		return
	}
	if rt.limited {
		release, ok := s.takeSlots(w, r, cfg)
		if !ok {
			return
		}
		defer release()
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, cfg.API.MaxBodyBytes)
	}
	rt.handler(w, r)
}

// finishRequest recovers a handler's panic (answering 500 when nothing was written yet),
// then counts and logs the request.
func (s *apiServer) finishRequest(rec *statusRecorder, r *http.Request, endpoint string, start time.Time) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.d.log.Error("panic serving request", "endpoint", endpoint, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if rec.code == 0 {
			writeError(rec, http.StatusInternalServerError, "", "internal error")
		}
	}
	s.d.metrics.apiInFlight.Dec()
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	s.d.metrics.observeRequest(endpoint, code, time.Since(start))
	s.d.log.Debug("request", "method", r.Method, "endpoint", endpoint, "code", code,
		"remote", clientIP(r), "duration", time.Since(start).Round(time.Millisecond))
}

// admit decides whether the request reaches its route, and answers it when not. Only the
// health endpoints skip the checks: everything else, unknown paths included, is first checked
// for a browser's cross-site request, then (with tokens) authenticated, so that nothing, not
// even which routes exist, answers an unauthenticated client. Then: 404, 405, and a JSON body
// where the route takes one.
func (s *apiServer) admit(w http.ResponseWriter, r *http.Request, rt *route, endpoint string, cfg *Config) bool {
	public := rt != nil && !rt.auth
	if !public {
		if e := browserGuard(r, cfg); e != nil {
			s.d.log.Warn("refused a request not addressed to this server (cross-site or DNS rebinding?)",
				"endpoint", endpoint, "remote", clientIP(r), "err", e.msg)
			e.write(w)
			return false
		}
		if cfg.API.hasTokens() && !checkBearer(r, &cfg.API) {
			if r.Header.Get("Authorization") != "" {
				s.d.log.Warn("refused a request with an invalid bearer token", "endpoint", endpoint, "remote", clientIP(r))
			} else {
				s.d.log.Info("refused a request without a bearer token", "endpoint", endpoint, "remote", clientIP(r))
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="smbsweep"`)
			writeError(w, http.StatusUnauthorized, "", "missing or invalid bearer token: send Authorization: Bearer <token>")
			return false
		}
	}
	if rt == nil {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("no endpoint %s (see docs/API.md)", strings.ToValidUTF8(r.URL.Path, "?")))
		return false
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		allow := rt.method
		if rt.method == http.MethodGet {
			allow = "GET, HEAD"
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("method %s not allowed on %s: use %s", r.Method, rt.endpoint, rt.method))
		return false
	}
	if rt.json {
		if e := checkJSONBody(r); e != nil {
			e.write(w)
			return false
		}
	}
	return true
}

// takeSlots takes one of the daemon's request slots and one of the client's, or answers 503
// or 429 with Retry-After.
func (s *apiServer) takeSlots(w http.ResponseWriter, r *http.Request, cfg *Config) (release func(), ok bool) {
	if !s.global.acquire(cfg.API.MaxConcurrentRequests) {
		s.d.metrics.apiRejected.WithLabelValues(rejectServerBusy).Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("the daemon is serving its limit of %d probe and scan requests (api.max_concurrent_requests): retry when one finishes", cfg.API.MaxConcurrentRequests))
		return nil, false
	}
	ip := clientIP(r)
	key := clientKey(ip)
	if !s.clients.acquire(key, cfg.API.MaxConcurrentPerClient) {
		s.global.release()
		s.d.metrics.apiRejected.WithLabelValues(rejectClientBusy).Inc()
		who := ip
		if key != ip {
			who = key
		}
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "", fmt.Sprintf("too many concurrent requests from %s (api.max_concurrent_per_client is %d): retry when one finishes", who, cfg.API.MaxConcurrentPerClient))
		return nil, false
	}
	return func() {
		s.clients.release(key)
		s.global.release()
	}, true
}

// checkBearer compares the request's bearer token with every configured token in constant
// time (the SHA-256 of each, so that length does not leak either).
func checkBearer(r *http.Request, api *apiConfig) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	match := 0
	for i := range api.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], api.tokens[i][:])
	}
	return match == 1
}

// clientIP is the remote address without the port. Proxies are not trusted: X-Forwarded-For
// is ignored.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// globalLimiter bounds the concurrent probe and scan requests of all clients together.
type globalLimiter struct {
	mu sync.Mutex
	n  int
}

func (l *globalLimiter) acquire(limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= limit {
		return false
	}
	l.n++
	return true
}

func (l *globalLimiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
}

// clientLimiter bounds concurrent requests per client (clientKey: the address, or its /64).
type clientLimiter struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *clientLimiter) acquire(ip string, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip] >= limit {
		return false
	}
	l.n[ip]++
	return true
}

func (l *clientLimiter) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
}

// errorBody is the JSON of every refusal: success false, the error, and for a bad request the
// field at fault.
type errorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, code int, field, msg string) {
	writeJSON(w, code, errorBody{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// apiError is a refusal decided before any probe: its HTTP code, the field at fault, the text.
type apiError struct {
	code  int
	field string
	msg   string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(field, format string, a ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, a...)}
}

func (e *apiError) write(w http.ResponseWriter) { writeError(w, e.code, e.field, e.msg) }

// decodeJSON reads the request body into v: one JSON object, no unknown fields, within the
// body limit.
func decodeJSON(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return badRequest("", "the body must hold exactly one JSON object")
		}
		return nil
	}
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &apiError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body over %d bytes (api.max_body_bytes)", mbe.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("", `empty body: send a JSON object, e.g. {"host":"127.0.0.1"}`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the body ends inside the JSON object: send one complete JSON object")
	case errors.As(err, &te) && te.Field == "":
		return badRequest("", "the body must be a JSON object ({...}), got %s", te.Value)
	case errors.As(err, &te):
		// te.Field is the Go path (apiRequest.password for an embedded struct): the JSON name
		// is its last element.
		f := te.Field[strings.LastIndexByte(te.Field, '.')+1:]
		return badRequest(f, "%s: want a JSON %s, got %s", f, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return badRequest("", "malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(f, "unknown field %q (see docs/API.md for the request fields)", f)
	}
	return badRequest("", "the body is not a JSON object this endpoint accepts (see docs/API.md for the request fields)")
}

// jsonKind names a Go kind in JSON's terms.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "number (an integer)"
	case strings.HasPrefix(k, "float"):
		return "number"
	case k == "string":
		return "string"
	case k == "bool":
		return "boolean"
	case k == "slice", k == "array":
		return "array"
	case k == "struct", k == "map":
		return "object"
	}
	return "value of another type"
}

func (s *apiServer) healthy(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "status": "healthy"})
}

func (s *apiServer) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.d.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "status": "not ready (starting or shutting down)"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "status": "ready"})
}

// reload is POST /-/reload: the response says whether the new configuration was taken.
func (s *apiServer) reload(w http.ResponseWriter, _ *http.Request) {
	if err := s.d.Reload(); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"success": false, "error": "reload rejected, the running configuration stays: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "jobs": len(s.d.cfg.Load().Jobs)})
}
