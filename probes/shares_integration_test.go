package probes_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// smbclientShares lists the shares `smbclient -N -L` reports (the oracle for anonymous share
// enumeration), sorted, or nil when smbclient is refused.
func smbclientShares(t *testing.T, srv *sambatest.Server, auth ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if auth == nil {
		auth = []string{"-N"}
	}
	args := append(auth, "-L", "//"+srv.Addr.String(), "-p", itoa(srv.Port), "-g")
	if srv.Config.Expect.NoSMB2 {
		args = append(args, sambatest.SMBClientNT1Args...)
	}
	out, err := exec.CommandContext(ctx, "smbclient", args...).CombinedOutput()
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		// -g (grepable) lines look like "Disk|public|Public files".
		f := strings.SplitN(line, "|", 3)
		if len(f) == 3 && (f[0] == "Disk" || f[0] == "IPC" || f[0] == "Printer") {
			names = append(names, f[1])
		}
	}
	if err != nil && len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return names
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

func runStages(t *testing.T, srv *sambatest.Server, opts *probes.Options, stages ...string) *probes.Result {
	t.Helper()
	opts.Dialer = &net.Dialer{Timeout: 2 * time.Second}
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 10 * time.Second
	}
	p, err := probes.NewPipeline(stages, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ap := srv.AddrPort()
	return checkEmpty(t, p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()}))
}

// TestFleetShareEnumeration compares the shares listed over SRVSVC with what smbclient -N -L
// reports for the same server, for every configuration.
func TestFleetShareEnumeration(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, srv := range fleet.Servers {
		t.Run(srv.Name, func(t *testing.T) {
			want := smbclientShares(t, srv)
			stages := []string{"shares", "guest"}
			if srv.Config.Expect.NoSMB2 {
				stages = append(stages, "smb1") // the SMB1 path runs once smb1 found the host SMB1-only
			}
			r := runStages(t, srv, &probes.Options{}, stages...)
			st := r.Stages["shares"]
			got := listedBy(r, "anonymous")
			// The guest identity: smbclient logging on as a user that does not exist.
			wantGuest := smbclientShares(t, srv, "-U", "smbsweep-nosuchuser%not-a-password")
			if gotGuest := listedBy(r, "guest"); strings.Join(gotGuest, ",") != strings.Join(wantGuest, ",") {
				t.Errorf("guest shares %v, smbclient as a non-existent user says %v", gotGuest, wantGuest)
			}
			if want == nil {
				// smbclient was refused: so must our anonymous enumeration be.
				if len(got) != 0 {
					t.Fatalf("smbclient -N -L is refused but we listed %v (stage %+v)", got, st)
				}
				return
			}
			if st.Status != probes.StageOK {
				t.Fatalf("shares stage %+v", st)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("shares %v, smbclient -N -L says %v", got, want)
			}
			for _, sh := range r.Shares {
				if sh.Name == "public" && (sh.Type != "disk" || sh.Comment != "Public files") {
					t.Errorf("public share: type %q comment %q", sh.Type, sh.Comment)
				}
				if sh.Name == "IPC$" && sh.Type != "pipe,special" {
					t.Errorf("IPC$ type %q", sh.Type)
				}
			}
		})
	}
}

// TestFleetShareAccess checks read access per share and identity on the default server, and
// that -check-write finds the writable guest share and leaves nothing behind.
func TestFleetShareAccess(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("default")
	r := runStages(t, srv, &probes.Options{CheckWrite: true}, "session", "guest", "tree", "shares", "access")
	if st := r.Stages["access"]; st.Status != probes.StageOK {
		t.Fatalf("access stage %+v", st)
	}
	access := map[string]probes.ShareAccess{}
	for _, sh := range r.Shares {
		for _, a := range sh.Access {
			access[sh.Name+"/"+a.Identity] = a
		}
	}
	check := func(key string, read, write string) {
		t.Helper()
		a, ok := access[key]
		if !ok {
			t.Errorf("%s: no access record", key)
			return
		}
		if tri(a.Read) != read || tri(a.Write) != write {
			t.Errorf("%s: read %s (%s) write %s (%s), want %s/%s", key, tri(a.Read), a.ReadStatus, tri(a.Write), a.WriteStatus, read, write)
		}
	}
	check("public/anonymous", "true", "false")
	check("dropbox/anonymous", "true", "true")
	check("public/guest", "true", "false")
	check("private/anonymous", "false", "false")
	if f := finding(r, probes.FindingAnonymousShareReadable); f == nil || tri(f.Value) != "true" || !strings.Contains(f.Reason, "public") {
		t.Errorf("anonymous_share_readable %+v", f)
	}
	if f := finding(r, probes.FindingShareWritable); f == nil || tri(f.Value) != "true" || !strings.Contains(f.Reason, "dropbox") {
		t.Errorf("share_writable %+v", f)
	}
	// Nothing left behind in any share directory.
	for _, share := range []string{"public", "dropbox", "private"} {
		ents, err := os.ReadDir(srv.SharePath(share))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), probes.WriteCheckPrefix) {
				t.Errorf("write check left %s/%s behind", share, e.Name())
			}
		}
	}
	// Without -check-write, write stays unknown and the finding says why.
	r = runStages(t, srv, &probes.Options{}, "session", "tree", "shares", "access")
	if f := finding(r, probes.FindingShareWritable); f == nil || f.Value != nil || !strings.Contains(f.Reason, "-check-write") {
		t.Errorf("share_writable without -check-write: %+v", f)
	}
}

func listedBy(r *probes.Result, identity string) []string {
	var names []string
	for _, sh := range r.Shares {
		if contains(sh.ListedBy, identity) {
			names = append(names, sh.Name)
		}
	}
	sort.Strings(names)
	return names
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestSharesPipeCloseDeferred: the srvsvc pipe's CLOSE waits for the connection's next use. When
// shares is the last stage to use the SMB2 connection (the default profile), no CLOSE is sent at
// all (the handle goes with the connection); when a later stage uses it (access), the pipe of
// each identity is closed first, in the session that opened it, before the stage's own requests.
func TestSharesPipeCloseDeferred(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("default")
	type msg struct {
		cmd     wire.Command
		session uint64
	}
	run := func(stages ...string) []msg {
		var (
			mu   sync.Mutex
			sent []msg
		)
		opts := &probes.Options{Trace: func(_ probes.Target, _ string, dir transport.Direction, b []byte) {
			var h wire.Header
			if dir != transport.Sent || wire.DecodeHeader(b, &h) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, msg{h.Command, h.SessionID})
		}}
		r := runStages(t, srv, opts, stages...)
		if st := r.Stages["shares"]; st.Status != probes.StageOK {
			t.Fatalf("%v: shares stage %+v", stages, st)
		}
		mu.Lock()
		defer mu.Unlock()
		return sent
	}
	for _, m := range run(probes.DefaultStages...) {
		if m.cmd == wire.CmdClose {
			t.Errorf("default profile sent a CLOSE; the pipe should go with the connection")
		}
	}
	sent := run("session", "guest", "tree", "shares", "access")
	// The IOCTLs (bind, NetrShareEnum) are the shares stage's; the sessions they ran in are
	// the sessions that opened a pipe. The first CLOSE ends the shares stage's requests.
	var pipeSessions []uint64
	firstClose := -1
	closes := map[uint64]int{}
	for i, m := range sent {
		switch m.cmd {
		case wire.CmdIoctl:
			if firstClose >= 0 {
				t.Fatalf("IOCTL after the first CLOSE: %v", sent)
			}
			if len(pipeSessions) == 0 || pipeSessions[len(pipeSessions)-1] != m.session {
				pipeSessions = append(pipeSessions, m.session)
			}
		case wire.CmdClose:
			closes[m.session]++
			if firstClose < 0 {
				firstClose = i
			}
		}
	}
	if len(pipeSessions) != 2 || firstClose < 0 {
		t.Fatalf("pipe sessions %v, first CLOSE at %d: want the anonymous and the guest session, then CLOSEs: %v", pipeSessions, firstClose, sent)
	}
	for _, sess := range pipeSessions {
		if closes[sess] == 0 {
			t.Errorf("no CLOSE in session %#x, which opened a srvsvc pipe (CLOSEs by session %v)", sess, closes)
		}
	}
	// The pipes' CLOSEs come first, before any request of the access stage.
	for i, m := range sent[firstClose : firstClose+len(pipeSessions)] {
		if m.cmd != wire.CmdClose || m.session != pipeSessions[i] {
			t.Errorf("after the shares stage: %v, want the CLOSEs of the pipes of sessions %v first", sent[firstClose:], pipeSessions)
			break
		}
	}
}
