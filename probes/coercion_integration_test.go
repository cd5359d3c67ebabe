package probes_test

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// impacketPython returns the Python that has impacket (Debian python3-impacket installs it for
// /usr/bin/python3), or skips the cross-check.
func impacketPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import impacket").Run(); err == nil {
			return py
		}
	}
	t.Skip("impacket not installed (Debian: apt-get install python3-impacket): no oracle for the bind outcomes")
	return ""
}

// impacketBinds runs testdata/impacket_bind.py as user against srv for each record's pipe
// and interface, and returns its outcome per pipe.
func impacketBinds(t *testing.T, py string, srv *sambatest.Server, user, password string, recs []probes.RPCInterface) map[string]string {
	t.Helper()
	args := []string{"testdata/impacket_bind.py", srv.Addr.String(), strconv.Itoa(int(srv.Port)), user, password}
	for _, rec := range recs {
		uuid, ver, _ := strings.Cut(rec.Syntax, " v")
		args = append(args, rec.Pipe+"="+uuid+":"+ver)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("impacket oracle: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			got[f[0]] = f[1]
		}
	}
	return got
}

// TestFleetCoercionSurface: for each identity, every pipe's outcome (reachable, absent,
// access_denied, rejected) agrees with what impacket's SMBTransport + DCERPC bind reports for
// the same server, pipe and interface; and the outcomes Samba's configuration implies hold
// (the fleet disables spoolss; Samba serves netdfs and eventlog, has no EFSR, no FSRVP without
// fssd and no WebClient).
func TestFleetCoercionSurface(t *testing.T) {
	fleet := sambatest.Require(t)
	py := impacketPython(t)
	creds := map[string][2]string{"anonymous": {"", ""}, "guest": {"smbsweep-nosuchuser", "not-a-password"}}
	for _, name := range []string{"default", "nonull"} {
		t.Run(name, func(t *testing.T) {
			srv := fleet.Server(name)
			var treeConnects atomic.Int32
			opts := &probes.Options{Trace: func(_ probes.Target, _ string, dir transport.Direction, b []byte) {
				var h wire.Header
				if dir == transport.Sent && wire.DecodeHeader(b, &h) == nil && h.Command == wire.CmdTreeConnect {
					treeConnects.Add(1)
				}
			}}
			r := runStages(t, srv, opts, "guest", "coercion")
			// One IPC$ TREE_CONNECT per identity, whatever its answer, not one per pipe.
			if n := treeConnects.Load(); n != 2 {
				t.Errorf("%d TREE_CONNECTs, want 2 (IPC$ once per identity)", n)
			}
			if st := r.Stages["coercion"]; st.Status != probes.StageOK {
				t.Fatalf("coercion stage %+v", st)
			}
			if r.RPC == nil {
				t.Fatal("no rpc record")
			}
			byID := map[string][]probes.RPCInterface{}
			for _, rec := range r.RPC.Interfaces {
				byID[rec.Identity] = append(byID[rec.Identity], rec)
			}
			if len(byID) != 2 {
				t.Fatalf("identities probed %v, want anonymous and guest", byID)
			}
			for id, recs := range byID {
				oracle := impacketBinds(t, py, srv, creds[id][0], creds[id][1], recs)
				for _, rec := range recs {
					if want := oracle[rec.Pipe]; rec.Outcome != want {
						t.Errorf("%s %s \\%s: %s (%s), impacket says %s", id, rec.Interface, rec.Pipe, rec.Outcome, rec.Evidence, want)
					}
				}
			}
			want := map[string]string{
				"spoolss": probes.RPCAbsent, "efsrpc": probes.RPCAbsent, "lsarpc": probes.RPCRejected,
				"netdfs": probes.RPCReachable, "FssagentRpc": probes.RPCAbsent, "eventlog": probes.RPCReachable,
			}
			if name == "nonull" {
				// restrict anonymous = 2: IPC$ is refused to the anonymous and the guest session,
				// so nothing is reachable and whether a service runs cannot be told.
				for _, rec := range r.RPC.Interfaces {
					if rec.Outcome != probes.RPCAccessDenied || tri(rec.Reachable) != "false" {
						t.Errorf("nonull %s \\%s: %s, want access_denied (IPC$ refused)", rec.Identity, rec.Pipe, rec.Outcome)
					}
				}
				checkFinding(t, r, probes.FindingCoercibleInterface, "false", "no coercible interface reachable")
				checkFinding(t, r, probes.FindingSpoolerRunning, "null", "unknown")
				checkFinding(t, r, probes.FindingWebClientRunning, "null", "unknown")
				return
			}
			for _, rec := range r.RPC.Interfaces {
				if w, ok := want[rec.Pipe]; ok && rec.Outcome != w {
					t.Errorf("%s \\%s: %s (%s), want %s", rec.Identity, rec.Pipe, rec.Outcome, rec.Evidence, w)
				}
			}
			f := checkFinding(t, r, probes.FindingCoercibleInterface, "true", "coercible interface reachable: ")
			if f != nil && (!strings.Contains(f.Reason, `MS-DFSNM on \netdfs (anonymous)`) || strings.Contains(f.Reason, "ulnerable")) {
				t.Errorf("coercible_interface_reachable reason %q", f.Reason)
			}
			checkFinding(t, r, probes.FindingSpoolerRunning, "false", "Print Spooler not running") // disable spoolss = yes
			checkFinding(t, r, probes.FindingWebClientRunning, "false", "WebClient not running")   // no DAV RPC SERVICE pipe
		})
	}
}

// checkFinding checks a finding's value and the start of its reason, and returns it.
func checkFinding(t *testing.T, r *probes.Result, id, value, reason string) *probes.Finding {
	t.Helper()
	f := finding(r, id)
	if f == nil || tri(f.Value) != value || !strings.HasPrefix(f.Reason, reason) {
		t.Errorf("%s = %+v, want %s with a reason starting %q", id, f, value, reason)
	}
	return f
}

// TestFleetCoercionCredentialed: with -u, the coercion stage also binds as the account, on the
// auth stage's own connection (encrypted on the encrypt server), and its outcomes agree with
// what impacket reports for the same account, server, pipe and interface. On servers that
// refuse IPC$ to the anonymous and guest sessions (nonull) or refuse the null session
// (encrypt), the account still decides the surface: coercible_interface_reachable keeps its
// meaning (without credentials), and the account's reach is the credentialed finding; the
// services are decided by the account where anonymous could not tell.
func TestFleetCoercionCredentialed(t *testing.T) {
	fleet := sambatest.Require(t)
	py := impacketPython(t)
	for _, name := range []string{"nonull", "encrypt"} {
		t.Run(name, func(t *testing.T) {
			srv := fleet.Server(name)
			opts := &probes.Options{Credentials: &client.Credentials{User: sambatest.TestUser, Password: sambatest.TestPassword}}
			r := runStages(t, srv, opts, "auth", "coercion")
			if st := r.Stages["coercion"]; st.Status != probes.StageOK {
				t.Fatalf("coercion stage %+v", st)
			}
			var user []probes.RPCInterface
			for _, rec := range r.RPC.Interfaces {
				if rec.Identity == probes.IdentityUser {
					user = append(user, rec)
				}
			}
			if len(user) == 0 {
				t.Fatalf("no record for the credentialed identity: %+v", r.RPC.Interfaces)
			}
			oracle := impacketBinds(t, py, srv, sambatest.TestUser, sambatest.TestPassword, user)
			for _, rec := range user {
				if want := oracle[rec.Pipe]; rec.Outcome != want {
					t.Errorf("user %s \\%s: %s (%s), impacket says %s", rec.Interface, rec.Pipe, rec.Outcome, rec.Evidence, want)
				}
			}
			f := checkFinding(t, r, probes.FindingCoercibleCredentialed, "true", "coercible interface reachable with credentials: ")
			if f != nil && !strings.Contains(f.Reason, `MS-DFSNM on \netdfs (user)`) {
				t.Errorf("credentialed finding reason %q", f.Reason)
			}
			if f := finding(r, probes.FindingCoercibleInterface); f == nil || tri(f.Value) == "true" {
				t.Errorf("coercible_interface_reachable = %+v: the account's reach must not count as reach without credentials", f)
			}
			checkFinding(t, r, probes.FindingSpoolerRunning, "false", "Print Spooler not running")
			checkFinding(t, r, probes.FindingWebClientRunning, "false", "WebClient not running")
			var ws []string
			for _, w := range r.RPC.WebClient {
				ws = append(ws, w.Identity+"="+tri(w.Running))
			}
			if !slices.Contains(ws, "user=false") {
				t.Errorf("WebClient per identity %v: want the account to find the pipe absent", ws)
			}
		})
	}
	// Without -u the credentialed finding is not in the record at all.
	r := runStages(t, fleet.Server("default"), &probes.Options{}, "coercion")
	if f := finding(r, probes.FindingCoercibleCredentialed); f != nil {
		t.Errorf("credentialed finding without -u: %+v", f)
	}
}
