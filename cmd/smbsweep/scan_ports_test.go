package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/faultproxy"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
)

func TestScanPortsUsage(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"-ports 445", "give 2 to 4 comma-separated ports"},
		{"-ports 445,139,1,2,3", "give 2 to 4 comma-separated ports"},
		{"-ports 445,x", `"x" is not a port: each must be 1-65535`},
		{"-ports 445,70000", `"70000" is not a port`},
		{"-ports 445,445", "port 445 given twice"},
		{"-ports 445,139 -port 139", "-port and -ports both given"},
	} {
		args := append([]string{"scan"}, strings.Fields(tc.args)...)
		code, _, stderr := runCLI(t, "", append(args, "127.0.0.1")...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, out, _ := runCLI(t, "", "scan", "-h"); code != exitOK || !strings.Contains(out, "-ports PORTS") {
		t.Errorf("scan -h does not name -ports: %q", out)
	}
}

// TestScanPortsFallback scans, with -ports 445,139, a loopback address where nothing listens
// on 445 and a NetBIOS session service (demanding the SESSION REQUEST) serves Samba on 139:
// the record is port 139's, says so in ports_tried, and has the SMB2 negotiate and the NetBIOS
// session; an address whose 445 answers keeps 445 without ports_tried.
func TestScanPortsFallback(t *testing.T) {
	srv := smb1only.Require(t).Server(smb1only.Dual)
	px := faultproxy.New(faultproxy.Options{Upstream: srv.AddrPort(), NetBIOS: &faultproxy.NetBIOSOptions{Names: []string{"*SMBSERVER"}}})
	t.Cleanup(px.Close)
	ip := netip.MustParseAddr("127.0.131.140")
	if _, err := px.ListenMany(ip, 1, 139); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "", "scan", "-jsonl", "-profile", "quick", "-ports", "445,139", "-timeout", "20s", ip.String(), srv.Addr.String())
	if code != exitOK {
		t.Fatalf("scan: %d %s", code, stderr)
	}
	got := map[string]map[string]any{}
	for _, o := range jsonLines(t, out) {
		if o["type"] == "host" {
			got[o["ip"].(string)] = o
		}
	}
	r := got[ip.String()]
	if r == nil || r["port"] != float64(139) || r["status"] != "smb" || r["netbios_session"] == nil || r["negotiate"] == nil {
		t.Fatalf("fallback record: %v", r)
	}
	if tried, _ := r["ports_tried"].([]any); len(tried) != 2 || tried[0] != float64(445) || tried[1] != float64(139) {
		t.Fatalf("ports_tried %v", r["ports_tried"])
	}
	d := got[srv.Addr.String()]
	if d == nil || d["port"] != float64(445) || d["status"] != "smb" || d["ports_tried"] != nil {
		t.Fatalf("record of the host that answers on 445: %v", d)
	}

	// The probe on the next port takes a -c slot like any other: a host reached only on 139
	// is counted in the pacing (behind connect-ahead it went to the few result workers, outside
	// the slots, and the summary said "at most 0 hosts probed at once").
	code, out, stderr = runCLI(t, "", "scan", "-jsonl", "-profile", "quick", "-ports", "445,139", "-timeout", "20s", ip.String())
	if code != exitOK {
		t.Fatalf("scan: %d %s", code, stderr)
	}
	for _, o := range jsonLines(t, out) {
		if o["type"] != "summary" {
			continue
		}
		pacing, _ := o["pacing"].(map[string]any)
		if pacing == nil || pacing["peak_probes"] != float64(1) {
			t.Fatalf("summary pacing %v: want the fallback probe counted (peak_probes 1)", o["pacing"])
		}
	}
}
