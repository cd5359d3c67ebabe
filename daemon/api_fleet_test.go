package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// hostBody is a request body for a fleet server.
func hostBody(s *sambatest.Server, extra string) string {
	b := fmt.Sprintf(`{"host":"%s","port":%d`, s.Addr, s.Port)
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

func wantKeys(t *testing.T, what string, r apiResult, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := r.json[k]; !ok {
			t.Errorf("%s: response lacks %q: %s", what, k, r.body)
		}
	}
}

func wantOK(t *testing.T, what string, r apiResult) {
	t.Helper()
	if r.code != http.StatusOK || r.json["success"] != true {
		t.Fatalf("%s: HTTP %d: %s", what, r.code, r.body)
	}
}

// TestSeedEndpointsAgainstSamba calls every anonymous seed endpoint against the fleet and
// checks the seed's documented response fields and their values.
func TestSeedEndpointsAgainstSamba(t *testing.T) {
	fleet := sambatest.Require(t)
	def, smb1, signing, nonull, encrypt, smb21 := fleet.Server("default"), fleet.Server("smb1"), fleet.Server("signing"),
		fleet.Server("nonull"), fleet.Server("encrypt"), fleet.Server("smb2_10")
	td := newTestDaemon(t, "", nil)

	t.Run("smb/connect", func(t *testing.T) {
		r := td.post(t, "/api/smb/connect", hostBody(def, ""))
		wantOK(t, "connect", r)
		wantKeys(t, "connect", r, "success", "message", "host", "port", "dialect", "serverResponse", "latencyMs", "result")
		if r.json["dialect"] != "SMB 3.1.1" || r.json["message"] != "SMB connection successful" || r.json["host"] != def.Addr.String() || jsonNum(t, r, "port") != float64(def.Port) {
			t.Errorf("connect: %s", r.body)
		}
		if r := td.post(t, "/api/smb/connect", hostBody(smb21, "")); r.json["dialect"] != "SMB 2.1" {
			t.Errorf("smb2_10 dialect: %s", r.body)
		}
	})

	t.Run("smb/negotiate", func(t *testing.T) {
		r := td.post(t, "/api/smb/negotiate", hostBody(def, `"timeout":5000`))
		wantOK(t, "negotiate", r)
		wantKeys(t, "negotiate", r, "latencyMs", "dialect", "dialectCode", "dialectName", "serverGuid", "securityMode",
			"securityModeFlags", "capabilities", "capabilitiesRaw", "systemTime", "smb1Enabled", "result")
		if r.json["dialect"] != "SMB 3.1.1" || jsonNum(t, r, "dialectCode") != 0x0311 || r.json["dialectName"] != "SMB 3.1.1" {
			t.Errorf("dialect fields: %s", r.body)
		}
		if !guidRE.MatchString(r.json["serverGuid"].(string)) {
			t.Errorf("serverGuid %v", r.json["serverGuid"])
		}
		if jsonNum(t, r, "securityMode") != 1 || fmt.Sprint(r.json["securityModeFlags"]) != "[SigningEnabled]" || r.json["smb1Enabled"] != false {
			t.Errorf("default server security: %s", r.body)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.json["systemTime"].(string)); err != nil {
			t.Errorf("systemTime: %v", err)
		}
		caps := uint32(jsonNum(t, r, "capabilitiesRaw"))
		if names := fmt.Sprint(r.json["capabilities"]); caps&1 != 0 && !strings.Contains(names, "DFS") || caps&4 != 0 && !strings.Contains(names, "LargeMTU") {
			t.Errorf("capabilities %s for 0x%x", names, caps)
		}
		if r := td.post(t, "/api/smb/negotiate", hostBody(signing, "")); jsonNum(t, r, "securityMode") != 3 ||
			fmt.Sprint(r.json["securityModeFlags"]) != "[SigningEnabled SigningRequired]" || r.json["signingRequired"] != true {
			t.Errorf("signing server: %s", r.body)
		}
		if r := td.post(t, "/api/smb/negotiate", hostBody(smb1, "")); r.json["smb1Enabled"] != true || r.json["dialect"] != "SMB 3.1.1" {
			t.Errorf("smb1 server (probed for real, besides SMB2): %s", r.body)
		}
	})

	t.Run("smb/session", func(t *testing.T) {
		r := td.post(t, "/api/smb/session", hostBody(def, ""))
		wantOK(t, "session", r)
		wantKeys(t, "session", r, "latencyMs", "sessionId", "sessionFlags", "anonymous", "guest", "encrypted")
		if jsonNum(t, r, "sessionId") == 0 || r.json["anonymous"] != true || r.json["encrypted"] != false {
			t.Errorf("session: %s", r.body)
		}
		// sessionFlags is the raw SESSION_SETUP field: the result record names the same bits.
		flags := uint16(jsonNum(t, r, "sessionFlags"))
		names := r.json["result"].(map[string]any)["sessions"].(map[string]any)["null"].(map[string]any)["flags"].([]any)
		if (flags&0x0001 != 0) != (r.json["guest"] == true) || len(names) != bitsSet(uint64(flags)) {
			t.Errorf("sessionFlags 0x%x vs guest %v and flags %v", flags, r.json["guest"], names)
		}
		// Samba refuses anonymous sessions when encryption is required: the server answered,
		// so 200 with success false and the seed's error wording.
		r = td.post(t, "/api/smb/session", hostBody(encrypt, ""))
		if r.code != 200 || r.json["success"] != false || !strings.HasPrefix(r.json["error"].(string), "anonymous session rejected: STATUS_") || jsonNum(t, r, "sessionId") != 0 {
			t.Errorf("encrypt server: %d %s", r.code, r.body)
		}
	})

	t.Run("smb/tree", func(t *testing.T) {
		r := td.post(t, "/api/smb/tree", hostBody(def, ""))
		wantOK(t, "tree IPC$", r)
		wantKeys(t, "tree", r, "latencyMs", "sessionId", "treeId", "share", "shareType", "shareFlags", "capabilities", "maximalAccess")
		if r.json["share"] != "IPC$" || r.json["shareType"] != "PIPE" || jsonNum(t, r, "treeId") == 0 || jsonNum(t, r, "sessionId") == 0 ||
			!strings.HasPrefix(r.json["maximalAccess"].(string), "0x") || r.json["nullSessionAllowed"] != true {
			t.Errorf("tree IPC$: %s", r.body)
		}
		r = td.post(t, "/api/smb/tree", hostBody(def, `"share":"public"`))
		wantOK(t, "tree public", r)
		if r.json["shareType"] != "DISK" || r.json["share"] != "public" {
			t.Errorf("tree public: %s", r.body)
		}
		r = td.post(t, "/api/smb/tree", hostBody(def, `"share":"no-such-share"`))
		if r.code != 200 || r.json["success"] != false || r.json["error"] != "TREE_CONNECT failed: STATUS_BAD_NETWORK_NAME" {
			t.Errorf("missing share: %d %s", r.code, r.body)
		}
		r = td.post(t, "/api/smb/tree", hostBody(nonull, ""))
		if r.code != 200 || r.json["success"] != false || !strings.HasPrefix(r.json["error"].(string), "TREE_CONNECT failed: STATUS_") || r.json["nullSessionAllowed"] != false {
			t.Errorf("nonull IPC$: %d %s", r.code, r.body)
		}
	})

	readme := sambatest.StandardShares()[0].Files["README.txt"]
	t.Run("smb/stat", func(t *testing.T) {
		r := td.post(t, "/api/smb/stat", hostBody(def, `"share":"public","path":"README.txt"`))
		wantOK(t, "stat", r)
		wantKeys(t, "stat", r, "latencyMs", "sessionId", "treeId", "share", "path", "creationTime", "lastAccessTime", "lastWriteTime", "changeTime", "fileAttributes")
		if r.json["path"] != "README.txt" || r.json["isDirectory"] != false || jsonNum(t, r, "size") != float64(len(readme)) ||
			!strings.HasPrefix(r.json["fileAttributes"].(string), "0x") {
			t.Errorf("stat README: %s", r.body)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.json["lastWriteTime"].(string)); err != nil {
			t.Errorf("lastWriteTime: %v", err)
		}
		r = td.post(t, "/api/smb/stat", hostBody(def, `"share":"public","path":"data"`))
		if r.json["isDirectory"] != true || !strings.Contains(fmt.Sprint(r.json["attributes"]), "DIRECTORY") {
			t.Errorf("stat dir: %s", r.body)
		}
		r = td.post(t, "/api/smb/stat", hostBody(def, `"share":"public","path":"nope.txt"`))
		if r.code != 200 || r.json["success"] != false || r.json["error"] != "CREATE failed: STATUS_OBJECT_NAME_NOT_FOUND" {
			t.Errorf("stat missing file: %d %s", r.code, r.body)
		}
	})

	t.Run("cifs/negotiate", func(t *testing.T) {
		for _, ep := range []string{"/api/cifs/negotiate", "/api/cifs/connect"} {
			r := td.post(t, ep, hostBody(def, ""))
			wantOK(t, ep, r)
			wantKeys(t, ep, r, "success", "host", "port", "tcpLatency", "dialect", "serverGuid", "capabilities", "maxTransactSize", "maxReadSize", "maxWriteSize", "serverTime")
			if r.json["dialect"] != "SMB 3.1.1" || jsonNum(t, r, "maxReadSize") < 65536 || r.json["serverTime"] == nil {
				t.Errorf("%s: %s", ep, r.body)
			}
			for _, c := range r.json["capabilities"].([]any) {
				if c != strings.ToUpper(c.(string)) {
					t.Errorf("%s: capability %v not in the seed's upper-case form", ep, c)
				}
			}
		}
	})

	t.Run("cifs/stat anonymous", func(t *testing.T) {
		r := td.post(t, "/api/cifs/stat", hostBody(def, `"share":"public","path":"docs/manual.txt"`))
		wantOK(t, "cifs stat", r)
		wantKeys(t, "cifs stat", r, "success", "host", "share", "path", "isDirectory", "size", "attributes", "rawAttributes")
		if r.json["isDirectory"] != false || jsonNum(t, r, "size") != float64(len(sambatest.StandardShares()[0].Files["docs/manual.txt"])) {
			t.Errorf("cifs stat: %s", r.body)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		closed := fmt.Sprintf(`{"host":"%s","port":%d}`, fleet.Closed.Addr(), fleet.Closed.Port())
		r := td.post(t, "/api/smb/negotiate", closed)
		if r.code != http.StatusBadGateway || r.json["success"] != false || r.json["status"] != "connection-refused" {
			t.Errorf("closed port: %d %s", r.code, r.body)
		}
		httpEP := fmt.Sprintf(`{"host":"%s","port":%d}`, fleet.HTTP.Addr(), fleet.HTTP.Port())
		if r := td.post(t, "/api/cifs/negotiate", httpEP); r.code != http.StatusBadGateway || r.json["status"] != "not-smb" {
			t.Errorf("HTTP endpoint: %d %s", r.code, r.body)
		}
		// One budget honoured exactly: the whole request, not a per-step timeout.
		silent := fmt.Sprintf(`{"host":"%s","port":%d,"timeout":400}`, fleet.Silent.Addr(), fleet.Silent.Port())
		r = td.post(t, "/api/smb/stat", strings.TrimSuffix(silent, "}")+`,"share":"public","path":"x"}`)
		if r.code != http.StatusGatewayTimeout || r.took < 400*time.Millisecond || r.took > 900*time.Millisecond {
			t.Errorf("silent host, timeout 400ms: HTTP %d after %s: %s", r.code, r.took, r.body)
		}
	})
}

func bitsSet(v uint64) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// TestScansStream streams a scan of the fleet: one line per target as each completes (the
// fast hosts well before the silent one times out), then the summary.
func TestScansStream(t *testing.T) {
	fleet := sambatest.Require(t)
	td := newTestDaemon(t, "", nil)
	targets, _ := json.Marshal(fleet.Targets())
	body := fmt.Sprintf(`{"targets":%s,"profile":"quick","timeout":2500}`, targets)
	start := time.Now()
	resp, err := http.Post(td.srv.URL+"/api/v1/scans", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	var hosts int
	var firstAt time.Duration
	var summary probes.Summary
	for sc.Scan() {
		var head struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch head.Type {
		case "host":
			if hosts == 0 {
				firstAt = time.Since(start)
			}
			hosts++
			var r probes.Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if _, ok := r.Stages["session"]; ok {
				t.Errorf("quick profile ran the session stage")
			}
		case "summary":
			if err := json.Unmarshal(sc.Bytes(), &summary); err != nil {
				t.Fatal(err)
			}
		}
	}
	if hosts != len(fleet.Targets()) || summary.Scanned != uint64(hosts) || summary.Statuses["smb"] != len(fleet.Servers) {
		t.Errorf("%d host lines, summary %+v", hosts, summary)
	}
	if firstAt > 2*time.Second {
		t.Errorf("first line after %s: results are not streamed as they complete", firstAt)
	}
}

// TestProbeEndpoint checks /probe's metrics per server behaviour; unknown findings are
// absent, never 0.
func TestProbeEndpoint(t *testing.T) {
	fleet := sambatest.Require(t)
	td := newTestDaemon(t, "", nil)
	get := func(target, module string) []sample {
		r := td.do(t, "GET", "/probe?target="+target+"&module="+module, "", "X-Prometheus-Scrape-Timeout-Seconds", "3")
		if r.code != 200 {
			t.Fatalf("probe %s: %d %s", target, r.code, r.body)
		}
		return parseMetrics(t, r.body)
	}
	check := func(what string, s []sample, name string, want float64, present bool) {
		t.Helper()
		v, ok := find(s, name)
		if ok != present || (ok && v != want) {
			t.Errorf("%s: %s = %v (present %v), want %v (present %v)", what, name, v, ok, want, present)
		}
	}
	s := get(fleet.Server("smb1").AddrPort().String(), "default")
	check("smb1", s, "probe_success", 1, true)
	check("smb1", s, "probe_smb1_enabled", 1, true)
	check("smb1", s, "probe_smb_signing_required", 0, true)
	check("smb1", s, "probe_smb_null_session", 1, true)
	if d, ok := find(s, "probe_duration_seconds"); !ok || d <= 0 || d > 3 {
		t.Errorf("probe_duration_seconds %v", d)
	}
	s = get(fleet.Server("signing").AddrPort().String(), "")
	check("signing", s, "probe_smb_signing_required", 1, true)
	check("signing", s, "probe_smb1_enabled", 0, true)
	s = get(fleet.Server("nonull").AddrPort().String(), "default")
	check("nonull", s, "probe_smb_null_session", 0, true)
	s = get(fleet.Server("default").AddrPort().String(), "quick")
	check("quick", s, "probe_success", 1, true)
	check("quick", s, "probe_smb_null_session", 0, false) // not in the quick profile: absent
	s = get(fleet.Closed.String(), "default")
	check("closed", s, "probe_success", 0, true)
	check("closed", s, "probe_smb1_enabled", 0, false)
	check("closed", s, "probe_smb_signing_required", 0, false)
	check("closed", s, "probe_smb_null_session", 0, false)
}

// TestSecretsNeverLeak sends a password to every endpoint that parses one and checks it is in
// no response, no log line and no metric.
func TestSecretsNeverLeak(t *testing.T) {
	fleet := sambatest.Require(t)
	td := newTestDaemon(t, "api:\n  allow_write: true\n", nil)
	const secret = "Hunter2-Secret-Zq9"
	def := fleet.Server("default")
	body := hostBody(def, `"share":"public","path":"README.txt","username":"u","password":"`+secret+`","domain":"D","content":"`+secret+`"`)
	for _, ep := range []string{"/api/cifs/auth", "/api/cifs/ls", "/api/cifs/read", "/api/cifs/stat", "/api/cifs/write", "/api/smb/session", "/api/smb/stat", "/api/v1/scans"} {
		if r := td.post(t, ep, body); strings.Contains(r.body, secret) {
			t.Errorf("%s echoed the secret: %s", ep, r.body)
		}
	}
	req := &apiRequest{Host: "h", Password: secret}
	if strings.Contains(fmt.Sprint(req), secret) || strings.Contains(fmt.Sprintf("%#v", req), secret) {
		t.Error("apiRequest formats its password")
	}
	if strings.Contains(td.log.String(), secret) {
		t.Errorf("the log holds the secret:\n%s", td.log.String())
	}
	if m := td.do(t, "GET", "/metrics", ""); strings.Contains(m.body, secret) || strings.Contains(m.body, def.Addr.String()) {
		t.Error("the metrics hold the secret or a target address")
	}
}
