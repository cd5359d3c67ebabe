package daemon

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/faultproxy"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
	"github.com/smbsweep/smbsweep/probes"
)

// TestAnonymousEndpointsSMB1: the anonymous endpoints answer an SMB1-only server over SMB1
// (the SMB2 NEGOTIATE is answered by a closed connection), and a dual-protocol one over SMB1
// when the request says "smb1": true; fields as over SMB2, plus "protocol".
func TestAnonymousEndpointsSMB1(t *testing.T) {
	fleet := smb1only.Require(t)
	td := newTestDaemon(t, "", nil)
	for _, tc := range []struct{ server, extra string }{{smb1only.Plain, ""}, {smb1only.Signing, ""}, {smb1only.Dual, `"smb1":true`}} {
		srv := fleet.Server(tc.server)
		body := func(extra string) string {
			if tc.extra != "" {
				extra = strings.TrimPrefix(extra+","+tc.extra, ",")
			}
			return hostBody(srv, extra)
		}
		t.Run(tc.server, func(t *testing.T) {
			r := td.post(t, "/api/smb/connect", body(""))
			wantOK(t, "connect", r)
			if r.json["protocol"] != "smb1" || r.json["dialect"] != "SMB 1.x (CIFS)" || r.json["status"] != "smb" {
				t.Errorf("connect: %.400s", r.body)
			}
			r = td.post(t, "/api/cifs/negotiate", body(""))
			wantOK(t, "cifs negotiate", r)
			if r.json["protocol"] != "smb1" || !strings.Contains(r.body, "CAP_NT_SMBS") || !guidRE.MatchString(r.json["serverGuid"].(string)) || r.json["serverTime"] == nil {
				t.Errorf("cifs negotiate: %.400s", r.body)
			}
			r = td.post(t, "/api/smb/session", body(""))
			wantOK(t, "session", r)
			if r.json["protocol"] != "smb1" || r.json["anonymous"] != true || jsonNum(t, r, "sessionId") == 0 || r.json["encrypted"] != false {
				t.Errorf("session: %.400s", r.body)
			}
			r = td.post(t, "/api/smb/tree", body(`"share":"public"`))
			wantOK(t, "tree", r)
			if r.json["protocol"] != "smb1" || r.json["shareType"] != "DISK" || r.json["nullSessionAllowed"] != true || jsonNum(t, r, "treeId") == 0 {
				t.Errorf("tree: %.400s", r.body)
			}
			r = td.post(t, "/api/smb/tree", body(`"share":"no-such-share"`))
			if r.code != http.StatusOK || r.json["success"] != false || r.json["error"] != "TREE_CONNECT failed: STATUS_BAD_NETWORK_NAME" {
				t.Errorf("tree of a missing share: %d %.400s", r.code, r.body)
			}
			r = td.post(t, "/api/smb/stat", body(`"share":"public","path":"docs/manual.txt"`))
			wantOK(t, "stat", r)
			if r.json["protocol"] != "smb1" || jsonNum(t, r, "size") != 1216 || r.json["isDirectory"] != false || r.json["lastWriteTime"] == nil {
				t.Errorf("stat: %.400s", r.body)
			}
			r = td.post(t, "/api/smb/stat", body(`"share":"public","path":"missing.txt"`))
			if r.code != http.StatusOK || r.json["success"] != false || r.json["error"] != "QUERY_PATH_INFORMATION failed: STATUS_OBJECT_NAME_NOT_FOUND" {
				t.Errorf("stat of a missing file: %d %.400s", r.code, r.body)
			}
			r = td.post(t, "/api/cifs/stat", body(`"share":"public","path":"docs"`))
			wantOK(t, "cifs stat", r)
			if r.json["protocol"] != "smb1" || r.json["isDirectory"] != true {
				t.Errorf("cifs stat: %.400s", r.body)
			}
		})
	}
	// Without "smb1", a server that speaks SMB2 is answered over SMB2.
	r := td.post(t, "/api/smb/session", hostBody(fleet.Server(smb1only.Dual), ""))
	wantOK(t, "dual session", r)
	if r.json["protocol"] != "smb2" {
		t.Errorf("dual session: %.300s", r.body)
	}
	// A closed port is not retried over SMB1.
	r = td.post(t, "/api/smb/session", `{"host":"`+fleet.Closed.Addr().String()+`","port":`+strconv.Itoa(int(fleet.Closed.Port()))+`}`)
	if r.code != http.StatusBadGateway || r.json["status"] != "connection-refused" || r.json["protocol"] != nil {
		t.Errorf("closed port: %d %.300s", r.code, r.body)
	}
}

// TestEndpointsSMB1Port139: port 139 behind a NetBIOS session service that demands the
// SESSION REQUEST, in front of an SMB1-only Samba: the anonymous and the credentialed
// endpoints work there, over SMB1.
func TestEndpointsSMB1Port139(t *testing.T) {
	srv := smb1only.Require(t).Server(smb1only.Plain)
	px := faultproxy.New(faultproxy.Options{Upstream: srv.AddrPort(), NetBIOS: &faultproxy.NetBIOSOptions{Names: []string{"*SMBSERVER"}}})
	t.Cleanup(px.Close)
	ip := netip.MustParseAddr("127.0.131.141")
	if _, err := px.ListenMany(ip, 1, 139); err != nil {
		t.Fatal(err)
	}
	td := newTestDaemon(t, "", nil)
	host := `"host":"` + ip.String() + `","port":139`
	r := td.post(t, "/api/smb/session", "{"+host+"}")
	wantOK(t, "session on 139", r)
	if r.json["protocol"] != "smb1" || r.json["port"] != float64(139) {
		t.Errorf("session on 139: %.300s", r.body)
	}
	r = td.post(t, "/api/cifs/ls", `{`+host+`,"username":"`+sambatest.TestUser+`","password":"`+sambatest.TestPassword+`","share":"private","path":"many"}`)
	wantOK(t, "ls on 139", r)
	if r.json["protocol"] != "smb1" || jsonNum(t, r, "totalEntries") != smb1only.ManyCount {
		t.Errorf("ls on 139: %.300s", r.body)
	}
	if px.SessionRequests() < 2 {
		t.Errorf("%d NetBIOS session requests", px.SessionRequests())
	}
}

// TestSMB1WantedDecision: which probe outcomes send an anonymous endpoint to SMB1.
func TestSMB1WantedDecision(t *testing.T) {
	yes := true
	errored := map[probes.StageName]*probes.StageResult{"negotiate": {Status: probes.StageErrored}}
	for _, tc := range []struct {
		name string
		pr   probeRun
		want bool
	}{
		{"forced", probeRun{req: apiRequest{SMB1: &yes}, res: &probes.Result{}}, true},
		{"reset", probeRun{res: &probes.Result{Status: probes.StatusConnectionReset, Stages: errored}}, true},
		{"smb1 reply", probeRun{res: &probes.Result{Status: probes.StatusProtocolError, Stages: errored}}, true},
		{"smb via smb1", probeRun{res: &probes.Result{Status: probes.StatusSMB, Stages: errored}}, true},
		{"smb2 answered", probeRun{res: &probes.Result{Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{}, Stages: map[probes.StageName]*probes.StageResult{"negotiate": {Status: probes.StageOK}}}}, false},
		{"refused", probeRun{res: &probes.Result{Status: probes.StatusConnectionRefused, Stages: errored}}, false},
		{"filtered", probeRun{res: &probes.Result{Status: probes.StatusConnectionTimeout, Stages: errored}}, false},
		{"silent", probeRun{res: &probes.Result{Status: probes.StatusIOTimeout, Stages: errored}}, false},
		{"not smb", probeRun{res: &probes.Result{Status: probes.StatusNotSMB, Stages: errored}}, false},
	} {
		if got := smb1Wanted(&tc.pr); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
