package daemon

import (
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

const testToken = "0123456789abcdef0123456789abcdef" // configs/testdata/tokens.txt

func tokensConfig(extra string) string {
	abs, _ := filepath.Abs(filepath.Join(testdataDir, "tokens.txt"))
	return "api:\n  token_file: " + abs + "\n" + extra
}

// TestAPIRefusals covers every refusal that needs no SMB server: each answers JSON with
// success false and the documented status code.
func TestAPIRefusals(t *testing.T) {
	td := newTestDaemon(t, tokensConfig("  max_body_bytes: 512\n  allow_targets: [127.0.0.0/8]\n"), func(o *Options) {
		o.Resolver = fakeResolver{
			"inside.test":  {netip.MustParseAddr("127.0.0.7")},
			"outside.test": {netip.MustParseAddr("192.0.2.10")},
			"mixed.test":   {netip.MustParseAddr("127.0.0.7"), netip.MustParseAddr("192.0.2.11")},
		}
	})
	auth := []string{"Authorization", "Bearer " + testToken}
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		field, errPart           string
	}{
		{"no token", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1"}`, nil, 401, "", "missing or invalid bearer token"},
		{"wrong token", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1"}`, []string{"Authorization", "Bearer 0123456789abcdef0123456789abcdeX"}, 401, "", "missing or invalid bearer token"},
		{"basic auth", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1"}`, []string{"Authorization", "Basic " + testToken}, 401, "", "bearer token"},
		{"metrics need the token", "GET", "/metrics", "", nil, 401, "", "bearer token"},
		{"probe needs the token", "GET", "/probe?target=127.0.0.1", "", nil, 401, "", "bearer token"},
		{"reload needs the token", "POST", "/-/reload", "", nil, 401, "", "bearer token"},
		{"GET on a POST endpoint", "GET", "/api/smb/connect", "", auth, 405, "", "method GET not allowed on /api/smb/connect: use POST"},
		{"PUT on a POST endpoint", "PUT", "/api/cifs/write", "{}", auth, 405, "", "use POST"},
		{"POST on /probe", "POST", "/probe?target=127.0.0.1", "", auth, 405, "", "use GET"},
		{"unknown path", "POST", "/api/smb/nope", "{}", auth, 404, "", "no endpoint /api/smb/nope"},
		{"body too large", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1","share":"` + strings.Repeat("x", 600) + `"}`, auth, 413, "", "request body over 512 bytes"},
		{"empty body", "POST", "/api/smb/negotiate", ``, auth, 400, "", "empty body"},
		{"not JSON", "POST", "/api/smb/negotiate", `host=127.0.0.1`, auth, 400, "", "malformed JSON"},
		{"two objects", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1"}{}`, auth, 400, "", "exactly one JSON object"},
		{"unknown field", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1","prot":445}`, auth, 400, "prot", `unknown field "prot"`},
		{"missing host", "POST", "/api/smb/negotiate", `{"port":445}`, auth, 400, "host", "host is required"},
		{"host with port", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1:445"}`, auth, 400, "host", "give the port in the port field"},
		{"bad host", "POST", "/api/smb/negotiate", `{"host":"bad host!"}`, auth, 400, "host", "not an IP address or a DNS name"},
		{"ipv6 zone", "POST", "/api/smb/negotiate", `{"host":"fe80::1%eth0"}`, auth, 400, "host", "zones are not accepted"},
		{"bracketed v4", "POST", "/api/smb/negotiate", `{"host":"[127.0.0.1]"}`, auth, 400, "host", "brackets hold an IPv6 address"},
		{"port 0", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1","port":0}`, auth, 400, "port", "port 0: must be 1-65535"},
		{"port 65536", "POST", "/api/smb/connect", `{"host":"127.0.0.1","port":65536}`, auth, 400, "port", "port 65536: must be 1-65535"},
		{"port string", "POST", "/api/smb/connect", `{"host":"127.0.0.1","port":"445"}`, auth, 400, "port", "port: want a JSON number"},
		{"port fraction", "POST", "/api/smb/connect", `{"host":"127.0.0.1","port":445.5}`, auth, 400, "port", "port: want a JSON number"},
		{"timeout 0", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1","timeout":0}`, auth, 400, "timeout", "timeout 0: must be 1-300000 milliseconds"},
		{"timeout huge", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1","timeout":300001}`, auth, 400, "timeout", "must be 1-300000"},
		{"credentials on /api/smb", "POST", "/api/smb/session", `{"host":"127.0.0.1","username":"u","password":"p"}`, auth, 400, "username", "take no credentials"},
		{"share on negotiate", "POST", "/api/smb/negotiate", `{"host":"127.0.0.1","share":"IPC$"}`, auth, 400, "share", "does not use a share"},
		{"UNC share", "POST", "/api/smb/tree", `{"host":"127.0.0.1","share":"\\\\srv\\IPC$"}`, auth, 400, "share", "give the share name only"},
		{"path on tree", "POST", "/api/smb/tree", `{"host":"127.0.0.1","path":"a"}`, auth, 400, "path", "does not use a path"},
		{"content on stat", "POST", "/api/smb/stat", `{"host":"127.0.0.1","share":"public","content":"x"}`, auth, 400, "content", "only /api/cifs/write takes content"},
		{"cifs stat without share", "POST", "/api/cifs/stat", `{"host":"127.0.0.1","path":"a"}`, auth, 400, "share", "share is required"},
		{"outside the allowlist", "POST", "/api/smb/negotiate", `{"host":"192.0.2.1"}`, auth, 403, "host", "target 192.0.2.1 is outside the allowed networks"},
		{"v6 outside", "POST", "/api/smb/negotiate", `{"host":"::1"}`, auth, 403, "host", "target ::1 is outside"},
		{"name resolving outside", "POST", "/api/smb/negotiate", `{"host":"outside.test"}`, auth, 403, "host", "target 192.0.2.10 is outside"},
		{"name resolving partly outside", "POST", "/api/smb/negotiate", `{"host":"mixed.test"}`, auth, 403, "host", "target 192.0.2.11 is outside"},
		{"name not resolving", "POST", "/api/smb/negotiate", `{"host":"nowhere.test"}`, auth, 502, "host", `host "nowhere.test" could not be resolved`},
		{"write disabled", "POST", "/api/cifs/write", `{"host":"127.0.0.1","share":"dropbox","path":"x.txt","content":"hi"}`, auth, 403, "", "/api/cifs/write is disabled: set api.allow_write: true"},
		{"auth outside the allowlist", "POST", "/api/cifs/auth", `{"host":"192.0.2.1","username":"u","password":"p"}`, auth, 403, "host", "outside the allowed networks"},
		{"auth without username", "POST", "/api/cifs/auth", `{"host":"127.0.0.1"}`, auth, 400, "username", "username is required: /api/cifs/auth logs on with NTLMv2"},
		{"ls without username", "POST", "/api/cifs/ls", `{"host":"127.0.0.1","share":"public"}`, auth, 400, "username", "username is required"},
		{"ls without share", "POST", "/api/cifs/ls", `{"host":"127.0.0.1","username":"u"}`, auth, 400, "share", "share is required"},
		{"ls bad limit", "POST", "/api/cifs/ls", `{"host":"127.0.0.1","username":"u","share":"s","limit":0}`, auth, 400, "limit", "limit 0: must be 1-100000"},
		{"ls negative offset", "POST", "/api/cifs/ls", `{"host":"127.0.0.1","username":"u","share":"s","offset":-1}`, auth, 400, "offset", "must not be negative"},
		{"read without path", "POST", "/api/cifs/read", `{"host":"127.0.0.1","username":"u","share":"public"}`, auth, 400, "path", "path is required"},
		{"read maxBytes", "POST", "/api/cifs/read", `{"host":"127.0.0.1","username":"u","share":"s","path":"f","maxBytes":0}`, auth, 400, "maxBytes", "maxBytes 0: must be 1-8388608"},
		{"offset on read", "POST", "/api/cifs/read", `{"host":"127.0.0.1","username":"u","share":"s","path":"f","offset":1}`, auth, 400, "offset", "only /api/cifs/ls pages"},
		{"share on auth", "POST", "/api/cifs/auth", `{"host":"127.0.0.1","username":"u","share":"s"}`, auth, 400, "share", "does not use a share"},
		{"stat options", "POST", "/api/cifs/stat", `{"host":"127.0.0.1","share":"s","mode":"append"}`, auth, 400, "", "do not apply to /api/cifs/stat"},
		{"scan without targets", "POST", "/api/v1/scans", `{"profile":"default"}`, auth, 400, "targets", "targets is required"},
		{"scan bad target", "POST", "/api/v1/scans", `{"targets":["10.0.0.300"]}`, auth, 400, "targets", `targets[0]: invalid target "10.0.0.300"`},
		{"scan bad profile", "POST", "/api/v1/scans", `{"targets":["127.0.0.1"],"profile":"fast"}`, auth, 400, "profile", `profile "fast": want one of default, full, quick, vuln`},
		{"scan bad rid_range", "POST", "/api/v1/scans", `{"targets":["127.0.0.1"],"profile":"full","enum_users":true,"rid_range":"9-1"}`, auth, 400, "rid_range", `rid_range "9-1": FIRST is above LAST; write the lower RID first, e.g. rid_range 1-9`},
		{"scan rid_range alone", "POST", "/api/v1/scans", `{"targets":["127.0.0.1"],"rid_range":"500-600"}`, auth, 400, "rid_range", `rid_range "500-600" does nothing without enum_users`},
		{"scan outside", "POST", "/api/v1/scans", `{"targets":["127.0.0.1","192.0.2.0/30"]}`, auth, 403, "targets", "target 192.0.2.0:445 is outside"},
		{"scan too large", "POST", "/api/v1/scans", `{"targets":["127.0.0.0/8"]}`, auth, 400, "targets", "16777216 targets: at most 4096 per request"},
		{"probe without target", "GET", "/probe", "", auth, 400, "target", "target parameter is missing"},
		{"probe outside", "GET", "/probe?target=192.0.2.1:445", "", auth, 403, "target", "outside the allowed networks"},
		{"probe bad module", "GET", "/probe?target=127.0.0.1&module=fast", "", auth, 400, "module", `module: profile "fast"`},
		{"probe bad port", "GET", "/probe?target=127.0.0.1:0", "", auth, 400, "target", "port must be 1-65535"},
	}
	for _, c := range cases {
		r := td.do(t, c.method, c.path, c.body, c.hdr...)
		if r.code != c.code {
			t.Errorf("%s: HTTP %d, want %d (%s)", c.name, r.code, c.code, r.body)
			continue
		}
		if r.json == nil || r.json["success"] != false {
			t.Errorf("%s: body is not {success:false,...}: %s", c.name, r.body)
			continue
		}
		if c.field != "" && r.json["field"] != c.field {
			t.Errorf("%s: field %v, want %q", c.name, r.json["field"], c.field)
		}
		if msg, _ := r.json["error"].(string); !strings.Contains(msg, c.errPart) {
			t.Errorf("%s: error %q lacks %q", c.name, msg, c.errPart)
		}
		switch c.code {
		case 401:
			if r.header.Get("WWW-Authenticate") != `Bearer realm="smbsweep"` {
				t.Errorf("%s: WWW-Authenticate %q", c.name, r.header.Get("WWW-Authenticate"))
			}
		case 405:
			if want := map[string]string{"GET": "POST", "PUT": "POST", "POST": "GET, HEAD"}[c.method]; r.header.Get("Allow") != want {
				t.Errorf("%s: Allow %q, want %q", c.name, r.header.Get("Allow"), want)
			}
		}
	}
	// Health endpoints need no token.
	if r := td.do(t, "GET", "/-/healthy", ""); r.code != 200 {
		t.Errorf("/-/healthy: %d", r.code)
	}
	if r := td.do(t, "GET", "/-/ready", ""); r.code != 200 {
		t.Errorf("/-/ready: %d", r.code)
	}
	td.d.ready.Store(false)
	if r := td.do(t, "GET", "/-/ready", ""); r.code != 503 {
		t.Errorf("/-/ready while not ready: %d", r.code)
	}
	// The request counter saw every refusal, labelled by endpoint and code only.
	if n := testutil.ToFloat64(td.d.metrics.apiRequests.WithLabelValues("/api/smb/negotiate", "401")); n != 3 {
		t.Errorf("401 count %v", n)
	}
	if n := testutil.ToFloat64(td.d.metrics.apiRequests.WithLabelValues("other", "404")); n != 1 {
		t.Errorf("404 count %v", n)
	}
}

func TestWriteRequestChecks(t *testing.T) {
	td := newTestDaemon(t, "api:\n  allow_write: true\n", nil)
	for _, c := range []struct{ body, field, msg string }{
		{`{"host":"127.0.0.1","username":"u","share":"s","path":"x","content":"a","base64":"YQ=="}`, "base64", "content and base64 both given"},
		{`{"host":"127.0.0.1","username":"u","share":"s","path":"x","base64":"%%%"}`, "base64", "not standard base64"},
		{`{"host":"127.0.0.1","username":"u","share":"s","path":"x","content":"a","mode":"truncate"}`, "mode", `mode "truncate": want create`},
		{`{"host":"127.0.0.1","username":"u","share":"s","content":"a"}`, "path", "path is required"},
		{`{"host":"192.0.2.1","username":"u","share":"s","path":"x","content":"a"}`, "host", "outside the allowed networks"},
	} {
		r := td.post(t, "/api/cifs/write", c.body)
		if (r.code != 400 && r.code != 403) || r.json["field"] != c.field || !strings.Contains(r.json["error"].(string), c.msg) {
			t.Errorf("%s: %d %s", c.body, r.code, r.body)
		}
	}
}

func TestRefuseToStartExposed(t *testing.T) {
	_, err := New(Options{Overrides: Overrides{Listen: "0.0.0.0:9445"}, Env: testEnv(nil)})
	want := "listen 0.0.0.0:9445 is not a loopback address and no API token is configured: set api.token_file (or api.token_env, or -token-file) so that clients must present a bearer token, or listen on 127.0.0.1"
	if err == nil || err.Error() != want {
		t.Fatalf("exposed without token: %v", err)
	}
	// With tokens from the command line the same listener is accepted.
	d, err := New(Options{Overrides: Overrides{Listen: "0.0.0.0:9445", TokenFile: filepath.Join(testdataDir, "tokens.txt")}, Env: testEnv(nil)})
	if err != nil || !d.config().API.hasTokens() {
		t.Fatalf("with -token-file: %v", err)
	}
	// A file that exposes the API is fixed by -listen on loopback.
	td := newTestDaemon(t, "listen: 127.0.0.1:0\n", nil)
	_ = td
	if _, err := New(Options{ConfigFile: filepath.Join(testdataDir, "invalid-no-token.yml"), Overrides: Overrides{Listen: "127.0.0.1:0"}, Env: testEnv(nil)}); err != nil {
		t.Errorf("-listen loopback over an exposed file: %v", err)
	}
}

// TestPerClientLimit holds one slow request open and sees the next one refused with 429.
func TestPerClientLimit(t *testing.T) {
	fleet := sambatest.Require(t)
	td := newTestDaemon(t, "api:\n  max_concurrent_per_client: 1\n", nil)
	slow := fmt.Sprintf(`{"host":"%s","port":%d,"timeout":1500}`, fleet.Silent.Addr(), fleet.Silent.Port())
	var wg sync.WaitGroup
	wg.Add(1)
	var first apiResult
	go func() {
		defer wg.Done()
		first = td.post(t, "/api/smb/negotiate", slow)
	}()
	deadline := time.Now().Add(time.Second)
	for testutil.ToFloat64(td.d.metrics.apiInFlight) < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	r := td.post(t, "/api/smb/negotiate", slow)
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" ||
		!strings.Contains(r.json["error"].(string), "api.max_concurrent_per_client is 1") {
		t.Errorf("second concurrent request: %d %s", r.code, r.body)
	}
	wg.Wait()
	if first.code != http.StatusGatewayTimeout {
		t.Errorf("silent host: HTTP %d, want 504: %s", first.code, first.body)
	}
	// Health and metrics are not limited.
	if r := td.do(t, "GET", "/metrics", ""); r.code != 200 {
		t.Errorf("metrics: %d", r.code)
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
