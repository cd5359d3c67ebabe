package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeResolver answers from a map; other names do not resolve.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &netErr{host}
}

type netErr struct{ host string }

func (e *netErr) Error() string { return "lookup " + e.host + ": no such host" }

type testDaemon struct {
	d   *Daemon
	srv *httptest.Server
	log *syncBuffer
	cfg string // config file path
}

// newTestDaemon builds a daemon from YAML (written to a temp file) and serves its API handler
// on an httptest server (no jobs run: Run is not called).
func newTestDaemon(t *testing.T, yaml string, mod func(*Options)) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "smbsweep.yml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	opts := Options{ConfigFile: path, Version: "test", Log: slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Env: testEnv(nil)}
	if yaml == "" {
		opts.ConfigFile = "" // API only, defaults
	}
	if mod != nil {
		mod(&opts)
	}
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.api)
	t.Cleanup(srv.Close)
	t.Cleanup(d.cancelShutdown)
	d.ready.Store(true)
	return &testDaemon{d: d, srv: srv, log: logBuf, cfg: path}
}

type apiResult struct {
	code   int
	header http.Header
	body   string
	json   map[string]any
	took   time.Duration
}

func (td *testDaemon) do(t *testing.T, method, path, body string, hdr ...string) apiResult {
	t.Helper()
	req, err := http.NewRequest(method, td.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // as an API client sends it; hdr may override
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1] // the client sends req.Host, not a Host header field
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := apiResult{code: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.json); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, path, b, err)
		}
	}
	return r
}

func (td *testDaemon) post(t *testing.T, path, body string, hdr ...string) apiResult {
	t.Helper()
	return td.do(t, http.MethodPost, path, body, hdr...)
}

// metricLine matches one sample of the text exposition format.
var metricLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func parseMetrics(t *testing.T, text string) []sample {
	t.Helper()
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := metricLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unparsable metric line %q", line)
		}
		s := sample{name: m[1], labels: map[string]string{}}
		for _, lp := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[lp[1]] = lp[2]
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("metric value in %q: %v", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// find returns the value of the sample with name and (at least) labels, and whether it exists.
func find(samples []sample, name string, labels ...string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func jsonNum(t *testing.T, r apiResult, key string) float64 {
	t.Helper()
	v, ok := r.json[key].(float64)
	if !ok {
		t.Fatalf("%s: not a number in %s", key, r.body)
	}
	return v
}
