package probes_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// probeStages runs stages on srv and insists the host answered SMB.
func probeStages(t *testing.T, srv *sambatest.Server, opts *probes.Options, stages ...string) *probes.Result {
	t.Helper()
	r := runStages(t, srv, opts, stages...)
	if r.Status != probes.StatusSMB {
		t.Fatalf("status %s (%s), want smb", r.Status, r.Error)
	}
	return r
}

func shareByName(r *probes.Result, name string) *probes.Share {
	for i := range r.Shares {
		if strings.EqualFold(r.Shares[i].Name, name) {
			return &r.Shares[i]
		}
	}
	return nil
}

// TestShareProbeNoNull probes shares by name on the fleet's nonull server (restrict anonymous =
// 2): the null session is set up but SRVSVC is refused, so the share probe runs on it. Samba
// answers the anonymous TREE_CONNECT of an existing share with STATUS_ACCESS_DENIED and of a
// missing one with STATUS_BAD_NETWORK_NAME (the golden captures samba-nonull-tree-connect-*.bin
// of package wire). The shares found must be the configured ones that smbclient lists with
// credentials (sambatest's Expect.Shares, checked against smbclient -L by package sambatest),
// and nothing else.
func TestShareProbeNoNull(t *testing.T) {
	srv := sambatest.Require(t).Server("nonull")
	if srv == nil {
		t.Fatal("fleet has no nonull server")
	}
	names := []string{"IPC$", "C$", "SYSVOL", "NETLOGON", "public", "private", "dropbox", "no-such-share"}
	r := probeStages(t, srv, &probes.Options{ProbeShares: names}, "negotiate", "session", "tree", "shares", "shareprobe")
	if st := r.Stages["shares"]; st == nil || st.Status == probes.StageOK {
		t.Fatalf("shares stage %+v: nonull should refuse SRVSVC to the null session", st)
	}
	if st := r.Stages["shareprobe"]; st == nil || st.Status != probes.StageOK {
		t.Fatalf("shareprobe stage %+v, want ok", st)
	}
	var found []string
	for _, sh := range r.Shares {
		if slices.Contains(sh.ListedBy, probes.ListedByProbe) {
			found = append(found, sh.Name)
		}
	}
	want := append([]string{"IPC$"}, srv.Config.Expect.Shares...)
	slices.Sort(found)
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Errorf("share probe found %v, want %v (the configured shares and IPC$)", found, want)
	}
	for _, absent := range []string{"C$", "SYSVOL", "NETLOGON", "no-such-share"} {
		if sh := shareByName(r, absent); sh != nil {
			t.Errorf("share %s recorded (%+v), but nonull does not have it", absent, sh)
		}
	}
	// public is "guest ok": even restrict anonymous = 2 lets the null session connect it;
	// private ("valid users") answers STATUS_ACCESS_DENIED, which still proves it exists.
	for name, want := range map[string]string{"public": "STATUS_SUCCESS", "private": "STATUS_ACCESS_DENIED", "IPC$": "STATUS_ACCESS_DENIED"} {
		if sh := shareByName(r, name); sh == nil || len(sh.Access) != 1 || probes.StringOr(sh.Access[0].TreeConnect, "") != want {
			t.Errorf("%s access record %+v, want the anonymous TREE_CONNECT's %s", name, sh, want)
		}
	}
	// Without SYSVOL and NETLOGON in a complete probe, and no DNS forest, it is no DC.
	if dc := r.DomainController; dc == nil || tri(dc.Value) != "false" {
		t.Errorf("domain_controller = %+v, want false", dc)
	}

	// restrict anonymous = 2 refuses IPC$ to the guest session too (Samba counts guest as
	// anonymous there), so SRVSVC gives no list with guest either and the probe still runs.
	r = probeStages(t, srv, &probes.Options{ProbeShares: names}, "negotiate", "session", "guest", "tree", "shares", "shareprobe")
	if st := r.Stages["shares"]; st == nil || st.Status != probes.StageFailed || st.NTStatus != "STATUS_ACCESS_DENIED" {
		t.Errorf("shares with a guest session on nonull = %+v, want failed with STATUS_ACCESS_DENIED", st)
	}
	if st := r.Stages["shareprobe"]; st == nil || st.Status != probes.StageOK {
		t.Errorf("shareprobe with a guest session = %+v, want ok", st)
	}
	if sh := shareByName(r, "private"); sh == nil || !slices.Contains(sh.ListedBy, probes.ListedByProbe) {
		t.Errorf("private not found by the probe with a guest session: %+v", sh)
	}
}

// TestShareProbeSkippedAfterListing: where SRVSVC lists the shares, the probe sends nothing.
func TestShareProbeSkippedAfterListing(t *testing.T) {
	srv := sambatest.Require(t).Server("default")
	r := probeStages(t, srv, &probes.Options{}, "negotiate", "session", "tree", "shares", "shareprobe")
	if st := r.Stages["shareprobe"]; st == nil || st.Status != probes.StageSkipped || !strings.Contains(st.Reason, "SRVSVC") {
		t.Errorf("shareprobe after a SRVSVC listing = %+v, want skipped because SRVSVC listed the shares", st)
	}
	for _, sh := range r.Shares {
		if slices.Contains(sh.ListedBy, probes.ListedByProbe) {
			t.Errorf("share %s listed by probe although the probe was skipped", sh.Name)
		}
	}
}

// TestDomainControllerShares runs a Samba that exports NETLOGON and SYSVOL (as every AD domain
// controller does; this one is a standalone server, so its NTLM CHALLENGE names no forest):
// enumerated over SRVSVC or found by the share probe, the two shares make domain_controller
// true and raise signing_not_required to high, saying why. smbclient -L lists the same shares
// for this configuration (sambatest's share tests compare its listings with smbclient's).
func TestDomainControllerShares(t *testing.T) {
	if err := sambatest.SambaAvailable(); err != nil {
		if os.Getenv(sambatest.EnvRequire) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{NoWarmUp: true, RemoveOnStop: true, Configs: []sambatest.Config{{
		Name:   "dcshares",
		Global: []string{"map to guest = Bad User"},
		Shares: []sambatest.ShareConfig{
			{Name: "netlogon", Params: []string{"guest ok = yes", "read only = yes"}, Files: map[string]string{"logon.cmd": "rem\r\n"}},
			{Name: "sysvol", Params: []string{"guest ok = yes", "read only = yes"}, Files: map[string]string{"corp/Policies/.keep": ""}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fleet.Stop() })
	srv := fleet.Servers[0]
	for _, c := range []struct {
		name, how string
		stages    []string
	}{
		{"srvsvc", "listed by anonymous", []string{"negotiate", "smb1", "session", "tree", "shares"}},
		{"probe", "listed by probe", []string{"negotiate", "session", "tree", "shareprobe"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := probeStages(t, srv, &probes.Options{}, c.stages...)
			dc := r.DomainController
			if dc == nil || tri(dc.Value) != "true" {
				t.Fatalf("domain_controller = %+v, want true", dc)
			}
			ev := strings.Join(dc.Evidence, "; ")
			for _, want := range []string{"SYSVOL share " + c.how, "NETLOGON share " + c.how, "no DNS forest"} {
				if !strings.Contains(ev, want) {
					t.Errorf("evidence %q lacks %q", ev, want)
				}
			}
			f := finding(r, probes.FindingSigningNotRequired)
			if f == nil || tri(f.Value) != "true" || f.Severity != "high" || !strings.Contains(f.SeverityReason, "raised from medium: the host is a domain controller") {
				t.Errorf("signing_not_required on the DC = %+v, want true, high, with the reason", f)
			}
		})
	}
}
