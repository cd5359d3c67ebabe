package sweep

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/faultproxy"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/wire"
)

// TestPort139SessionRequest scans the fleet's Samba behind a NetBIOS session service on port
// 139 that demands the SESSION REQUEST (as Windows does; Samba alone would pass without it):
// the scan names *SMBSERVER, falls back to the address as a name when that is refused, follows
// one RETARGET, and reports a host that refuses every name with the NEGATIVE reason. Each
// record that got a session is complete, with the shares listed over it.
func TestPort139SessionRequest(t *testing.T) {
	// Without a SESSION REQUEST the server hangs up: the feature is what makes the scan work.
	_, bare := faultyFleetOn(t, "127.0.89.48", 1, 139, faultproxy.Options{NetBIOS: &faultproxy.NetBIOSOptions{Names: []string{wire.NetBIOSSMBServer}}})
	if nc, err := net.DialTimeout("tcp", "127.0.89.48:139", 2*time.Second); err == nil {
		var neg [128]byte
		frame := wire.AppendNetBIOSHeader(nil, 4)
		_, _ = nc.Write(append(frame, 0xfe, 'S', 'M', 'B'))
		_ = nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := nc.Read(neg[:]); err == nil {
			t.Errorf("the test server answered %d bytes to SMB without a session request", n)
		}
		nc.Close()
	}
	_ = bare

	cases := []struct {
		name, first string
		n           int
		opts        faultproxy.NetBIOSOptions
		called      string // "" when no name is accepted
		refused     string
		retarget    string
	}{
		{name: "smbserver", first: "127.0.89.50", n: 1, opts: faultproxy.NetBIOSOptions{Names: []string{"*SMBSERVER"}}, called: "*SMBSERVER"},
		{name: "address-as-name", first: "127.0.89.51", n: 1, opts: faultproxy.NetBIOSOptions{Names: []string{"127.0.89.51"}},
			called: "127.0.89.51", refused: "*SMBSERVER: called name not present"},
		{name: "retarget", first: "127.0.89.52", n: 2, opts: faultproxy.NetBIOSOptions{Names: []string{"*SMBSERVER"},
			RetargetTo: netip.MustParseAddrPort("127.0.89.53:139")}, called: "*SMBSERVER", retarget: "127.0.89.53:139"},
		{name: "refused", first: "127.0.89.54", n: 1, opts: faultproxy.NetBIOSOptions{Names: []string{"SOMEONE-ELSE"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			set, px := faultyFleetOn(t, tc.first, tc.n, 139, faultproxy.Options{NetBIOS: &opts})
			if tc.n > 1 { // scan only the first address; the second is where the retarget points
				b := scanner.NewTargetBuilder(139)
				if err := b.Add(tc.first); err != nil {
					t.Fatal(err)
				}
				var err error
				if set, err = b.Build(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
			}
			recs, _ := sweepRecords(t, set, "default", probes.Options{}, false)
			r := recs[0]
			if px.SessionRequests() == 0 {
				t.Fatal("no SESSION REQUEST reached the server")
			}
			nb := r.NetBIOSSession
			if nb == nil {
				t.Fatalf("no netbios_session in the record: status %s %s", r.Status, r.Error)
			}
			if tc.called == "" {
				if nb.CalledName != nil || r.Status == probes.StatusSMB || !strings.Contains(r.Error, "called name not present") {
					t.Errorf("every name refused: called %v, status %s, error %q", nb.CalledName, r.Status, r.Error)
				}
				return
			}
			if nb.CalledName == nil || *nb.CalledName != tc.called {
				t.Errorf("called name %v, want %s", nb.CalledName, tc.called)
			}
			if got := strings.Join(nb.Refused, "; "); got != tc.refused {
				t.Errorf("refused %q, want %q", got, tc.refused)
			}
			if nb.Retarget != tc.retarget {
				t.Errorf("retarget %q, want %q", nb.Retarget, tc.retarget)
			}
			if r.Status != probes.StatusSMB || len(r.Incomplete) != 0 || len(r.Shares) < 3 {
				t.Errorf("status %s, incomplete %v, %d shares: %+v", r.Status, r.Incomplete, len(r.Shares), r.Stages)
			}
		})
	}

	// The credentialed client (ls, get, stat, put) goes through the same session service.
	set, _ := faultyFleetOn(t, "127.0.89.56", 1, 139, faultproxy.Options{NetBIOS: &faultproxy.NetBIOSOptions{Names: []string{"*SMBSERVER"}}})
	_ = set
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, &scanner.Dialer{ConnectTimeout: 2 * time.Second}, "127.0.89.56:139", client.Options{})
	if err != nil {
		t.Fatalf("client over port 139: %v", err)
	}
	defer c.Close()
	if err := c.Login(ctx, client.Credentials{User: sambatest.TestUser, Password: sambatest.TestPassword}); err != nil {
		t.Fatalf("login over port 139: %v", err)
	}
}
