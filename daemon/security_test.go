package daemon

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBrowserRequestsRefused: a web page cannot drive the API. A cross-site request carries a
// foreign Host (DNS rebinding), a foreign Origin, a non-JSON body (the only kinds a page can
// send without a CORS preflight) or Sec-Fetch-Site: cross-site; each is refused before any
// work, on every endpoint but the health checks, /probe and /-/reload included.
func TestBrowserRequestsRefused(t *testing.T) {
	td := newTestDaemon(t, "api:\n  hosts: [smbsweep.example.com, \"proxy.example.com:8443\"]\n", nil)
	u, _ := url.Parse(td.srv.URL)
	port := u.Port()
	body := `{"host":"127.0.0.1","port":1,"timeout":200}`
	for _, c := range []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		errPart                  string
	}{
		{"rebound name", "POST", "/api/smb/connect", body, []string{"Host", "attacker.example:" + port}, 403, `Host "attacker.example:` + port + `" does not name this server`},
		{"rebound name, no port", "POST", "/api/smb/connect", body, []string{"Host", "attacker.example"}, 403, "list the name under api.hosts"},
		{"other loopback address", "POST", "/api/smb/connect", body, []string{"Host", "127.0.0.2:" + port}, 403, "does not name this server"},
		{"wrong port", "POST", "/api/smb/connect", body, []string{"Host", "127.0.0.1:1"}, 403, "does not name this server"},
		{"listed name, wrong port", "POST", "/api/smb/connect", body, []string{"Host", "proxy.example.com:1"}, 403, "does not name this server"},
		{"reload from a rebound name", "POST", "/-/reload", "", []string{"Host", "attacker.example:" + port}, 403, "does not name this server"},
		{"probe from a rebound name", "GET", "/probe?target=127.0.0.1", "", []string{"Host", "attacker.example:" + port}, 403, "does not name this server"},
		{"metrics from a rebound name", "GET", "/metrics", "", []string{"Host", "attacker.example:" + port}, 403, "does not name this server"},
		{"foreign origin", "POST", "/api/smb/connect", body, []string{"Origin", "http://attacker.example"}, 403, `Origin "http://attacker.example" does not match Host`},
		{"foreign origin on reload", "POST", "/-/reload", "", []string{"Origin", "http://attacker.example"}, 403, "does not match Host"},
		{"null origin", "POST", "/api/smb/connect", body, []string{"Origin", "null"}, 403, "does not match Host"},
		{"same host, other port", "POST", "/api/smb/connect", body, []string{"Origin", "http://127.0.0.1:8080"}, 403, "does not match Host"},
		{"img tag on /probe", "GET", "/probe?target=127.0.0.1", "", []string{"Sec-Fetch-Site", "cross-site"}, 403, "Sec-Fetch-Site: cross-site"},
		{"same-site page", "GET", "/probe?target=127.0.0.1", "", []string{"Sec-Fetch-Site", "same-site"}, 403, "Sec-Fetch-Site: same-site"},
		{"text/plain body", "POST", "/api/smb/connect", body, []string{"Content-Type", "text/plain"}, 415, `Content-Type "text/plain": send the JSON body with Content-Type: application/json`},
		{"form body", "POST", "/api/v1/scans", `targets=127.0.0.1`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "Content-Type: application/json"},
		{"no content type", "POST", "/api/cifs/auth", body, []string{"Content-Type", ""}, 415, "no Content-Type: send the JSON body"},
		{"write without JSON", "POST", "/api/cifs/write", body, []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "Content-Type"},
	} {
		r := td.do(t, c.method, c.path, c.body, c.hdr...)
		if r.code != c.code || r.json == nil || r.json["success"] != false {
			t.Errorf("%s: HTTP %d, want %d: %s", c.name, r.code, c.code, r.body)
			continue
		}
		if msg, _ := r.json["error"].(string); !strings.Contains(msg, c.errPart) {
			t.Errorf("%s: error %q lacks %q", c.name, msg, c.errPart)
		}
	}
	if strings.Contains(td.log.String(), "configuration reloaded") {
		t.Error("a refused /-/reload reloaded the configuration")
	}
	// What a client of this server sends is served.
	for _, c := range []struct {
		name string
		hdr  []string
	}{
		{"the listen address", nil},
		{"localhost", []string{"Host", "localhost:" + port}},
		{"localhost, trailing dot", []string{"Host", "localhost.:" + port}},
		{"a listed name, any port", []string{"Host", "SMBsweep.example.com:8080"}},
		{"a listed name and port", []string{"Host", "proxy.example.com:8443"}},
		{"a listed name without port", []string{"Host", "smbsweep.example.com"}},
		{"its own origin", []string{"Origin", "http://127.0.0.1:" + port}},
		{"a page of its own", []string{"Origin", "http://127.0.0.1:" + port, "Sec-Fetch-Site", "same-origin"}},
		{"a proxy's origin", []string{"Host", "smbsweep.example.com", "Origin", "https://smbsweep.example.com"}},
		{"a proxy's origin with a port", []string{"Host", "proxy.example.com:8443", "Origin", "https://proxy.example.com:8443"}},
		{"JSON with a charset", []string{"Content-Type", "application/json; charset=utf-8"}},
	} {
		// A closed port: the request is served (502), not refused.
		if r := td.post(t, "/api/smb/connect", body, c.hdr...); r.code != http.StatusBadGateway {
			t.Errorf("%s: HTTP %d, want 502 (served): %s", c.name, r.code, r.body)
		}
	}
	if r := td.do(t, "GET", "/metrics", "", "Host", "localhost:"+port); r.code != 200 {
		t.Errorf("metrics on localhost: %d", r.code)
	}
	// Health checks answer whatever the Host (orchestrators use their own names).
	if r := td.do(t, "GET", "/-/healthy", "", "Host", "pod.cluster.internal:"+port); r.code != 200 {
		t.Errorf("healthy with another Host: %d %s", r.code, r.body)
	}
}

// TestHostAllowed covers the Host rule on its own, IPv6 and wildcard listeners included.
func TestHostAllowed(t *testing.T) {
	names, err := parseHostNames([]string{"scanner.example.com", "[2001:db8::5]:9445"})
	if err != nil {
		t.Fatal(err)
	}
	v6 := netip.MustParseAddrPort("[::1]:9445")
	lan := netip.MustParseAddrPort("192.0.2.5:9445") // a wildcard listener reached on this address
	for _, c := range []struct {
		host  string
		local netip.AddrPort
		ok    bool
	}{
		{"[::1]:9445", v6, true},
		{"localhost:9445", v6, true},
		{"[::1]:9446", v6, false},
		{"[0:0::1]:9445", v6, true},
		{"192.0.2.5:9445", lan, true},
		{"localhost:9445", lan, false}, // not a loopback listener
		{"192.0.2.6:9445", lan, false},
		{"scanner.example.com:9445", lan, true},
		{"scanner.example.com.", lan, true},
		{"[2001:db8::5]:9445", lan, true},
		{"[2001:db8::5]:80", lan, false},
		{"", lan, false},
		{"0xc0.0.2.5:9445", lan, false},
	} {
		if got := hostAllowed(c.host, c.local, names); got != c.ok {
			t.Errorf("Host %q on %s: %v, want %v", c.host, c.local, got, c.ok)
		}
	}
}

// TestExposureWarnings: a daemon that can reach beyond loopback, or write, without a token says
// so at start, naming the risk and the fix; with a token it does not.
func TestExposureWarnings(t *testing.T) {
	td := newTestDaemon(t, "api:\n  allow_targets: [127.0.0.0/8, 10.0.0.0/8]\n  allow_write: true\n", nil)
	log := td.log.String()
	for _, want := range []string{
		`level=WARN msg="the API has no bearer token and may probe networks beyond loopback: any local user or process can scan them`,
		"allow_targets=10.0.0.0/8",
		`level=WARN msg="the API has no bearer token and allow_write is on`,
		"openssl rand -hex 32",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, log)
		}
	}
	td = newTestDaemon(t, "", func(o *Options) { o.Overrides.AllowWrite = true })
	if !strings.Contains(td.log.String(), "allow_write is on") {
		t.Errorf("-allow-write without token: no warning:\n%s", td.log.String())
	}
	td = newTestDaemon(t, tokensConfig("  allow_targets: [10.0.0.0/8]\n  allow_write: true\n"), nil)
	if strings.Contains(td.log.String(), "no bearer token") {
		t.Errorf("warning despite tokens:\n%s", td.log.String())
	}
	td = newTestDaemon(t, "", nil)
	if strings.Contains(td.log.String(), "no bearer token") {
		t.Errorf("warning for the loopback default:\n%s", td.log.String())
	}
}

// countingResolver counts lookups and how many run at once; each blocks for delay (or until its
// context ends when block) and answers 127.0.0.1.
type countingResolver struct {
	calls, now, peak atomic.Int64
	delay            time.Duration
	block            bool
}

func (c *countingResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	c.calls.Add(1)
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	if c.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	time.Sleep(c.delay)
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// TestScanLimitsBeforeResolution: the target count (a name counts one) is refused before a single
// DNS query, and the resolution of an accepted request is bounded in concurrency and time.
func TestScanLimitsBeforeResolution(t *testing.T) {
	res := &countingResolver{}
	td := newTestDaemon(t, "api:\n  max_scan_targets: 100\n", func(o *Options) { o.Resolver = res })
	names := make([]string, 5000)
	for i := range names {
		names[i] = `"host` + strconv.Itoa(i) + `.example.com"`
	}
	r := td.post(t, "/api/v1/scans", `{"targets":[`+strings.Join(names, ",")+`]}`)
	if r.code != 400 || r.json["error"] != "5000 targets: at most 100 per request (api.max_scan_targets)" {
		t.Errorf("5000 names: %d %s", r.code, r.body)
	}
	r = td.post(t, "/api/v1/scans", `{"targets":["127.0.0.0/25","a.example.com"],"excludes":["127.0.0.0/26"]}`)
	if r.code != 200 {
		t.Errorf("64 addresses and a name (65 of 100): %d %s", r.code, r.body)
	}
	if n := res.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want 1 (the accepted request's name only)", n)
	}

	slow := &countingResolver{block: true}
	td = newTestDaemon(t, "", func(o *Options) { o.Resolver = slow })
	td.d.api.resolveTimeout = 300 * time.Millisecond
	r = td.post(t, "/api/v1/scans", `{"targets":[`+strings.Join(names[:40], ",")+`]}`)
	if r.code != http.StatusGatewayTimeout || !strings.Contains(r.json["error"].(string), "resolving the target names took longer than 300ms") {
		t.Errorf("names that never resolve: %d %s", r.code, r.body)
	}
	if r.took > 3*time.Second {
		t.Errorf("the resolution took %v, bounded at 300ms", r.took)
	}
	if p := slow.peak.Load(); p > scanLookupConcurrency {
		t.Errorf("%d lookups at once, want at most %d", p, scanLookupConcurrency)
	}
}

// dnsFailure answers every name with a resolver error carrying its internals.
type dnsFailure struct{}

func (dnsFailure) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == "gone.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "127.0.0.53:53", IsNotFound: true}
	}
	return nil, &net.DNSError{Err: "read udp 127.0.0.1:39718->127.0.0.53:53: i/o timeout", Name: host, Server: "127.0.0.53:53", IsTimeout: true}
}

// TestErrorBodiesInUserTerms: no resolver internals (its sockets) and no Go type names in error
// bodies or streamed records; the field at fault is named as the client sent it.
func TestErrorBodiesInUserTerms(t *testing.T) {
	td := newTestDaemon(t, "", func(o *Options) { o.Resolver = dnsFailure{} })
	leaks := []string{"127.0.0.53", "read udp", "apiRequest", "cifsRequest", "daemon.", "Go struct", "Go value"}
	check := func(name string, r apiResult, code int, field, msg string) {
		t.Helper()
		if r.code != code || (field != "" && r.json["field"] != field) || !strings.Contains(r.body, msg) {
			t.Errorf("%s: %d %s, want %d field %q and %q", name, r.code, r.body, code, field, msg)
		}
		for _, l := range leaks {
			if strings.Contains(r.body, l) {
				t.Errorf("%s: body carries %q: %s", name, l, r.body)
			}
		}
	}
	check("resolver timeout", td.post(t, "/api/smb/negotiate", `{"host":"slow.test"}`), 502, "host", `host \"slow.test\" could not be resolved: the DNS server did not answer in time`)
	check("no such host", td.post(t, "/api/smb/negotiate", `{"host":"gone.test"}`), 502, "host", "could not be resolved: no such host")
	check("scan of a name that fails", td.post(t, "/api/v1/scans", `{"targets":["slow.test"]}`), 200, "", `"error":"resolve \"slow.test\": the DNS server did not answer in time"`)
	check("password of the wrong type", td.post(t, "/api/cifs/auth", `{"host":"127.0.0.1","username":"u","password":5}`), 400, "password", "password: want a JSON string, got number")
	check("port of the wrong type", td.post(t, "/api/cifs/ls", `{"host":"127.0.0.1","username":"u","share":"s","port":"445"}`), 400, "port", "port: want a JSON number (an integer), got string")
	check("an array", td.post(t, "/api/smb/connect", `[1]`), 400, "", "the body must be a JSON object ({...}), got array")
	check("a cut body", td.post(t, "/api/smb/connect", `{"host":"127.0.0.1"`), 400, "", "the body ends inside the JSON object")
}

// TestShareAndPathChecks: share refuses "..", "." and control characters (NUL included), like
// path, which also refuses ".." elements, on the anonymous and the credentialed endpoints.
func TestShareAndPathChecks(t *testing.T) {
	td := newTestDaemon(t, "", nil)
	for _, c := range []struct{ path, body, field, msg string }{
		{"/api/smb/tree", `{"host":"127.0.0.1","share":".."}`, "share", `share "..": not a share name`},
		{"/api/smb/tree", `{"host":"127.0.0.1","share":"."}`, "share", `share ".": not a share name`},
		{"/api/smb/tree", `{"host":"127.0.0.1","share":"pub\u0000lic"}`, "share", "control characters (NUL included)"},
		{"/api/smb/stat", `{"host":"127.0.0.1","share":"public","path":"docs/../../etc"}`, "path", `".." elements are not allowed`},
		{"/api/smb/stat", `{"host":"127.0.0.1","share":"public","path":"a\u0000b"}`, "path", "no NUL or other control characters"},
		{"/api/cifs/ls", `{"host":"127.0.0.1","username":"u","share":".."}`, "share", `share "..": not a share name`},
		{"/api/cifs/ls", `{"host":"127.0.0.1","username":"u","share":"a\u0001"}`, "share", "control characters"},
		{"/api/cifs/read", `{"host":"127.0.0.1","username":"u","share":"public","path":"..\\secret"}`, "path", `".." elements`},
		{"/api/cifs/stat", `{"host":"127.0.0.1","share":"public","path":"x/.."}`, "path", `".." elements`},
		{"/api/cifs/auth", `{"host":"127.0.0.1","username":"u","path":"x"}`, "path", "/api/cifs/auth does not use a path"},
	} {
		r := td.post(t, c.path, c.body)
		if r.code != 400 || r.json["field"] != c.field || !strings.Contains(r.json["error"].(string), c.msg) {
			t.Errorf("%s %s: %d %s", c.path, c.body, r.code, r.body)
		}
	}
	// A ".." inside a name is a name.
	if r := td.post(t, "/api/smb/stat", `{"host":"127.0.0.1","port":1,"share":"public","path":"a..b/c"}`); r.code != 502 {
		t.Errorf("a..b: %d %s", r.code, r.body)
	}
}

// TestNonCanonicalIPv4Refused: 0x7f.0.0.1, 127.1, 0177.0.0.1 are refused as the CLI refuses
// them, without a DNS query.
func TestNonCanonicalIPv4Refused(t *testing.T) {
	res := &countingResolver{}
	td := newTestDaemon(t, "", func(o *Options) { o.Resolver = res })
	for _, h := range []string{"0x7f.0.0.1", "127.1", "0177.0.0.1", "2130706433", "127.0.0.01"} {
		r := td.post(t, "/api/smb/negotiate", `{"host":"`+h+`"}`)
		if r.code != 400 || r.json["field"] != "host" || !strings.Contains(r.json["error"].(string), "not an IP address or a DNS name") {
			t.Errorf("host %s: %d %s", h, r.code, r.body)
		}
		if r := td.do(t, "GET", "/probe?target="+h+":445", ""); r.code != 400 {
			t.Errorf("probe %s: %d %s", h, r.code, r.body)
		}
		if r := td.post(t, "/api/v1/scans", `{"targets":["`+h+`"]}`); r.code != 400 {
			t.Errorf("scan %s: %d %s", h, r.code, r.body)
		}
	}
	if n := res.calls.Load(); n != 0 {
		t.Errorf("%d DNS lookups for numeric forms", n)
	}
}

// TestScanNamesUseTheSharedAllowlistCheck: a scan refuses a name with any address outside the
// allowlist, as the single-host endpoints do.
func TestScanNamesUseTheSharedAllowlistCheck(t *testing.T) {
	td := newTestDaemon(t, "", func(o *Options) {
		o.Resolver = fakeResolver{"mixed.test": {netip.MustParseAddr("127.0.0.7"), netip.MustParseAddr("192.0.2.11")}}
	})
	for _, path := range []string{"/api/v1/scans", "/api/smb/negotiate"} {
		body := `{"targets":["127.0.0.1","mixed.test"]}`
		field := "targets"
		if path != "/api/v1/scans" {
			body, field = `{"host":"mixed.test"}`, "host"
		}
		r := td.post(t, path, body)
		if r.code != 403 || r.json["field"] != field ||
			r.json["error"] != "target 192.0.2.11 is outside the allowed networks (api.allow_targets or -allow-targets; default loopback only): mixed.test resolves to it" {
			t.Errorf("%s: %d %s", path, r.code, r.body)
		}
	}
}

// TestAuthBeforeRouting: with tokens, an unauthenticated client learns nothing of the routes:
// unknown paths and wrong methods answer 401 like the real endpoints.
func TestAuthBeforeRouting(t *testing.T) {
	td := newTestDaemon(t, tokensConfig(""), nil)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/smb/connect"}, {"DELETE", "/probe"}, {"GET", "/nope"}, {"POST", "/api/smb/nope"}, {"GET", "/-/reload"}, {"OPTIONS", "/api/v1/scans"},
	} {
		if r := td.do(t, c.method, c.path, ""); r.code != 401 || r.header.Get("Allow") != "" {
			t.Errorf("%s %s without a token: %d (Allow %q), want 401", c.method, c.path, r.code, r.header.Get("Allow"))
		}
	}
	auth := []string{"Authorization", "Bearer " + testToken}
	if r := td.do(t, "GET", "/nope", "", auth...); r.code != 404 {
		t.Errorf("unknown path with a token: %d", r.code)
	}
	if r := td.do(t, "GET", "/api/smb/connect", "", auth...); r.code != 405 {
		t.Errorf("wrong method with a token: %d", r.code)
	}
	if r := td.do(t, "GET", "/-/healthy", ""); r.code != 200 {
		t.Errorf("healthy: %d", r.code)
	}
	// Without tokens, routing answers as before.
	open := newTestDaemon(t, "", nil)
	if r := open.do(t, "GET", "/nope", ""); r.code != 404 {
		t.Errorf("unknown path, no tokens: %d", r.code)
	}
}

// TestFailedTokenLoggedAtWarn: a wrong bearer token is a warning (a missing one is info), and
// neither line holds the token sent.
func TestFailedTokenLoggedAtWarn(t *testing.T) {
	td := newTestDaemon(t, tokensConfig(""), nil)
	const wrong = "guessed-token-0123456789-abcdefXYZ"
	td.post(t, "/api/smb/connect", `{"host":"127.0.0.1"}`, "Authorization", "Bearer "+wrong)
	td.do(t, "GET", "/metrics", "")
	log := td.log.String()
	if !strings.Contains(log, `level=WARN msg="refused a request with an invalid bearer token" endpoint=/api/smb/connect remote=127.0.0.1`) {
		t.Errorf("no warning for a wrong token:\n%s", log)
	}
	if !strings.Contains(log, `level=INFO msg="refused a request without a bearer token" endpoint=/metrics`) {
		t.Errorf("no line for a missing token:\n%s", log)
	}
	if strings.Contains(log, wrong) || strings.Contains(log, testToken) {
		t.Error("the log holds a token")
	}
}

// TestWeakTokensRefused: tokens of little variety are refused at load, wherever they come from.
func TestWeakTokensRefused(t *testing.T) {
	for _, tok := range []string{"aaaaaaaaaaaaaaaa", "abababababababababababab", "1231231231231231"} {
		_, err := parseConfig([]byte("api:\n  token_env: TOK\n"), "", testEnv(map[string]string{"TOK": tok}))
		if err == nil || !strings.Contains(err.Error(), "api.token_env: the token in TOK has only") || !strings.Contains(err.Error(), "openssl rand -hex 32") ||
			strings.Contains(err.Error(), tok) {
			t.Errorf("token %s: %v", tok, err)
		}
	}
	if _, err := parseConfig([]byte("api:\n  token_env: TOK\n"), "", testEnv(map[string]string{"TOK": "0f3a9c27b18e4d56"})); err != nil {
		t.Errorf("a random hex token: %v", err)
	}
	if _, err := New(Options{Overrides: Overrides{TokenFile: filepath.Join(testdataDir, "weak-token.txt")}, Env: testEnv(nil)}); err == nil ||
		!strings.Contains(err.Error(), "-token-file: ../configs/testdata/weak-token.txt:2: the token has only 1 different character") {
		t.Errorf("-token-file with a weak token: %v", err)
	}
}

// TestListenNetwork: an IPv4 literal binds IPv4 only (0.0.0.0 no longer takes IPv6 as well),
// an IPv6 literal IPv6 only.
func TestListenNetwork(t *testing.T) {
	for _, c := range []struct{ listen, network string }{
		{"0.0.0.0:0", "tcp4"}, {"127.0.0.1:0", "tcp4"}, {"[::]:0", "tcp6"}, {"[::1]:0", "tcp6"}, {"localhost:0", "tcp"}, {":0", "tcp"},
	} {
		td := newTestDaemon(t, tokensConfig(""), func(o *Options) { o.Overrides.Listen = c.listen })
		var mu sync.Mutex
		var got string
		td.d.listenFn = func(network, addr string) (net.Listener, error) {
			mu.Lock()
			got = network
			mu.Unlock()
			return net.Listen("tcp4", "127.0.0.1:0") // never bind a wildcard in a test
		}
		if _, err := td.d.Listen(); err != nil {
			t.Fatal(err)
		}
		td.d.ln.Close()
		if got != c.network {
			t.Errorf("listen %s: network %q, want %q", c.listen, got, c.network)
		}
	}
}

// TestMetricsOfTheLimits: the limits are on /metrics from the start, every label value present.
func TestMetricsOfTheLimits(t *testing.T) {
	td := newTestDaemon(t, "max_hosts_in_flight: 7\napi:\n  max_concurrent_requests: 9\n", nil)
	s := parseMetrics(t, td.do(t, "GET", "/metrics", "").body)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"smbsweep_host_slots", nil, 7},
		{"smbsweep_api_requests_limit", nil, 9},
		{"smbsweep_host_slots_used", []string{"source", "api"}, 0},
		{"smbsweep_host_slots_used", []string{"source", "jobs"}, 0},
		{"smbsweep_host_slots_waiting", []string{"source", "api"}, 0},
		{"smbsweep_api_requests_rejected_total", []string{"reason", "server_busy"}, 0},
		{"smbsweep_api_requests_rejected_total", []string{"reason", "client_busy"}, 0},
	} {
		if v, ok := find(s, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if problems, err := testutil.GatherAndLint(td.d.metrics.Registry, "smbsweep_host_slots_used", "smbsweep_host_slots",
		"smbsweep_host_slots_waiting", "smbsweep_api_requests_limit", "smbsweep_api_requests_rejected_total"); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", err, problems)
	}
	// The default budget comes from the open-file limit.
	def := newTestDaemon(t, "", nil)
	if n := testutil.ToFloat64(def.d.metrics.hostsLimit); n < minAutoHostBudget {
		t.Errorf("default hosts budget %v", n)
	}
}
