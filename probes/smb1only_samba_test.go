package probes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// fullProfile is the stage list of the built-in "full" profile (configs/profiles.yaml).
var fullProfile = []string{"negotiate", "smb1", "ms17010", "dialects", "session", "guest", "tree", "shares", "shareprobe", "access", "coercion"}

// smbclientNT1 runs smbclient speaking SMB1 only against the instance; it returns the combined
// output and whether it exited 0.
func smbclientNT1(t *testing.T, smbclient string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, smbclient, append(append([]string{"--configfile=/dev/null"}, sambatest.SMBClientNT1Args...), args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// impacketView is what impacket's SMB1 client sees of a server after an anonymous login.
type impacketView struct {
	OS, LanMan, Name string
	Shares           []struct{ Name, Remark string }
}

// impacketSMB1 logs on anonymously with impacket's SMB1 client (SMB_DIALECT) and lists the
// shares; ok is false when no python3 with impacket is installed.
func impacketSMB1(t *testing.T, ip string) (impacketView, bool) {
	t.Helper()
	const script = `
import json, sys, impacket.smb
from impacket.smbconnection import SMBConnection
ip = sys.argv[1]
c = SMBConnection(ip, ip, preferredDialect=impacket.smb.SMB_DIALECT)
c.login('', '')
v = {"OS": c.getServerOS(), "LanMan": c.getSMBServer().get_server_lanman(), "Name": c.getServerName(), "Shares": []}
for s in c.listShares():
    v["Shares"].append({"Name": s['shi1_netname'][:-1], "Remark": s['shi1_remark'][:-1]})
print(json.dumps(v))
`
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import impacket.smbconnection").Run() != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, py, "-c", script, ip).Output()
		if err != nil {
			t.Fatalf("impacket SMB1 client against %s: %v\n%s", ip, err, out)
		}
		var v impacketView
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("impacket output %q: %v", out, err)
		}
		return v, true
	}
	return impacketView{}, false
}

var smbclientShareLine = regexp.MustCompile(`(?m)^\t(\S+)\s+(Disk|IPC|Printer)\s*(.*?)\s*$`)

// TestSMB1OnlySambaMatchesTools: a full-profile scan of the SMB1-only Samba instance reports
// the null session, the guest session, the NTLM names, NativeOS, the shares and the access
// exactly as smbclient -m NT1 and impacket's SMB1 client see them.
func TestSMB1OnlySambaMatchesTools(t *testing.T) {
	srv := sambatest.Require(t).Server("smb1only")
	ip := srv.Addr.String()
	p, err := probes.NewPipeline(fullProfile, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ap := srv.AddrPort()
	r := checkEmpty(t, p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()}))
	if r.Status != probes.StatusSMB || len(r.Incomplete) != 0 || r.SMB1 == nil || !r.SMB1.Only {
		t.Fatalf("status %s incomplete %v smb1 %+v: want an SMB1-only smb host, complete", r.Status, r.Incomplete, r.SMB1)
	}
	for _, name := range []string{"session", "guest", "tree", "shares", "access"} {
		if st := r.Stages[probes.StageName(name)]; st == nil || st.Status != probes.StageOK || st.Protocol != probes.ProtocolSMB1 {
			t.Errorf("stage %s %+v: want ok over smb1", name, st)
		}
	}
	for id, want := range map[string]string{probes.FindingSMB3Unsupported: "true", probes.FindingEncryptionUnsupported: "true",
		probes.FindingNullSession: "true", probes.FindingGuestSession: "true", probes.FindingAnonymousShareReadable: "true"} {
		if f := finding(r, id); f == nil || tri(f.Value) != want {
			t.Errorf("finding %s = %+v, want %s", id, f, want)
		}
	}

	smbclient, err := exec.LookPath("smbclient")
	if err != nil {
		t.Skip("smbclient not installed: cannot compare with its SMB1 view (install smbclient)")
	}
	// Null session and share list: smbclient -N -L over SMB1.
	out, ok := smbclientNT1(t, smbclient, "-N", "-L", "//"+ip)
	if got := tri(r.Sessions.Null.Allowed); got != "true" || !ok {
		t.Errorf("null session allowed %s; smbclient -N -L exited ok=%v:\n%s", got, ok, out)
	}
	type share struct{ typ, comment string }
	listed := map[string]share{}
	for _, m := range smbclientShareLine.FindAllStringSubmatch(out, -1) {
		typ := map[string]string{"Disk": "disk", "IPC": "pipe", "Printer": "print"}[m[2]]
		listed[m[1]] = share{typ, m[3]}
	}
	got := map[string]share{}
	for _, sh := range r.Shares {
		if slices.Contains(sh.ListedBy, "anonymous") {
			typ, _, _ := strings.Cut(sh.Type, ",")
			got[sh.Name] = share{typ, sh.Comment}
		}
	}
	if len(listed) == 0 || !mapsEqual(got, listed) {
		t.Errorf("shares listed anonymously %v, smbclient -N -L lists %v", got, listed)
	}
	// Access: a share is readable by an identity exactly when smbclient can list it as that identity.
	for _, sh := range r.Shares {
		if sh.Type != "disk" {
			continue
		}
		for _, a := range sh.Access {
			user := []string{"-N"}
			if a.Identity == "guest" {
				user = []string{"-U", "smbsweep-no-such-user%not-a-password"}
			}
			out, ok := smbclientNT1(t, smbclient, append(user, "//"+ip+"/"+sh.Name, "-c", "ls")...)
			if tri(a.Read) != tri(&ok) {
				t.Errorf("%s as %s: read %s (%s), smbclient ls ok=%v:\n%s", sh.Name, a.Identity, tri(a.Read), a.ReadStatus, ok, out)
			}
		}
	}
	// Guest session: smbclient as a non-existent user gets in.
	if _, ok := smbclientNT1(t, smbclient, "-U", "smbsweep-no-such-user%not-a-password", "//"+ip+"/IPC$", "-c", "exit"); tri(r.Sessions.Guest.Allowed) != tri(&ok) {
		t.Errorf("guest allowed %s, smbclient as a non-existent user ok=%v", tri(r.Sessions.Guest.Allowed), ok)
	}

	// NativeOS, NativeLanMan, the NTLM computer name and the shares as impacket's SMB1 client sees them.
	v, ok := impacketSMB1(t, ip)
	if !ok {
		t.Skip("python3 with impacket not installed: cannot compare with impacket's SMB1 client (apt-get install python3-impacket)")
	}
	if r.SMB1.NativeOS != v.OS || r.SMB1.NativeLanManager != v.LanMan {
		t.Errorf("native os/lanman %q/%q, impacket %q/%q", r.SMB1.NativeOS, r.SMB1.NativeLanManager, v.OS, v.LanMan)
	}
	if name := probes.StringOr(r.NTLM.NetBIOSComputerName, ""); name != v.Name {
		t.Errorf("ntlm netbios_computer_name %q, impacket getServerName %q", name, v.Name)
	}
	for _, s := range v.Shares {
		if g, ok := got[s.Name]; !ok || g.comment != s.Remark {
			t.Errorf("impacket lists share %q (%q); scan has %+v", s.Name, s.Remark, g)
		}
	}
	if len(v.Shares) != len(got) {
		t.Errorf("impacket lists %d shares, the scan %d", len(v.Shares), len(got))
	}
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestSMB1OnlySambaCheckWrite: on the SMB1-only instances (signing mandatory included: the
// anonymous and guest sessions have no key and stay unsigned) -check-write finds the guest
// drop box writable and the read-only share not, over SMB1, and leaves nothing behind.
func TestSMB1OnlySambaCheckWrite(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, srv := range fleet.Servers {
		if !srv.Config.Expect.NoSMB2 {
			continue
		}
		t.Run(srv.Name, func(t *testing.T) {
			r := runStages(t, srv, &probes.Options{CheckWrite: true}, "smb1", "guest", "shares", "access")
			if st := r.Stages["access"]; st.Status != probes.StageOK || st.Protocol != probes.ProtocolSMB1 {
				t.Fatalf("access %+v: want ok over smb1", st)
			}
			want := map[string]string{sambatest.ShareDropbox: "true", sambatest.SharePublic: "false", sambatest.SharePrivate: "false"}
			for name, w := range want {
				sh := shareByName(r, name)
				if sh == nil || len(sh.Access) != 2 {
					t.Fatalf("share %s: %+v, want anonymous and guest records", name, sh)
				}
				for _, a := range sh.Access {
					if tri(a.Write) != w || a.WriteStatus == "" {
						t.Errorf("%s as %s: write %s (%s), want %s", name, a.Identity, tri(a.Write), a.WriteStatus, w)
					}
				}
			}
			entries, err := os.ReadDir(srv.SharePath(sambatest.ShareDropbox))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), probes.WriteCheckPrefix) {
					t.Errorf("write check left %s behind", e.Name())
				}
			}
			if f := finding(r, probes.FindingSigningNotRequired); f == nil || tri(f.Value) != fmt.Sprint(!srv.Config.Expect.SigningRequired) {
				t.Errorf("signing_not_required %+v, want %v", f, !srv.Config.Expect.SigningRequired)
			}
		})
	}
}
