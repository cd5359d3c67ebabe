package probes_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/replay"
	"github.com/smbsweep/smbsweep/probes"
)

// replayScan runs the named stages against a replay server (Samba's captured replies, or their
// SMBGhost edits).
func replayScan(t *testing.T, opts replay.Options, stages []string) *probes.Result {
	t.Helper()
	srv := replay.New(opts)
	t.Cleanup(func() { _ = srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(addr.String())
	p, err := probes.NewPipeline(stages, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()})
	if r.Status != probes.StatusSMB {
		t.Fatalf("status %s (%s), want smb", r.Status, r.Error)
	}
	return r
}

// TestSMBGhostVerdict decides CVE-2020-0796 from Samba's real NEGOTIATE and CHALLENGE replies
// (not vulnerable: no compression context) and from the same replies edited as a Windows 10
// 1903 host answers (likely: compression context and NTLM build 18362; internal/testing/replay
// smbghost.go cites the source of every emulated byte), and leaves it unknown without an NTLM
// build.
func TestSMBGhostVerdict(t *testing.T) {
	defaultStages := []string{"negotiate", "smb1", "session", "tree", "shares"}
	t.Run("samba", func(t *testing.T) {
		r := replayScan(t, replay.Options{}, defaultStages)
		f := finding(r, probes.FindingSMBGhost)
		if f == nil {
			t.Fatal("no smbghost finding")
		}
		if f.State != probes.StateNotVulnerable || tri(f.Value) != "false" || f.Confidence != "high" {
			t.Errorf("smbghost on Samba = %s/%s/%s (%s), want not_vulnerable/false/high", f.State, tri(f.Value), f.Confidence, f.Reason)
		}
		if !strings.Contains(f.Reason, "no COMPRESSION_CAPABILITIES context") || !strings.Contains(f.Evidence, "ENCRYPTION_CAPABILITIES") {
			t.Errorf("reason %q / evidence %q do not show the missing compression context", f.Reason, f.Evidence)
		}
		if !slices.Equal(f.CVE, []string{"CVE-2020-0796"}) || len(f.References) == 0 {
			t.Errorf("cve %v references %v", f.CVE, f.References)
		}
		if r.OS == nil || probes.StringOr(r.OS.Family, "") != probes.OSFamilySamba || probes.StringOr(r.OS.Version, "") != "6.1.0" {
			t.Errorf("os = %+v, want Samba from NTLM 6.1.0", r.OS)
		}
	})
	t.Run("likely", func(t *testing.T) {
		r := replayScan(t, replay.Options{SMBGhost: true}, defaultStages)
		if r.Negotiate == nil || !slices.Contains(r.Negotiate.Contexts, "COMPRESSION_CAPABILITIES") {
			t.Fatalf("the emulated NEGOTIATE reply lost its compression context: %+v", r.Negotiate)
		}
		f := finding(r, probes.FindingSMBGhost)
		if f == nil {
			t.Fatal("no smbghost finding")
		}
		if f.State != probes.StateLikely || tri(f.Value) != "true" || f.Confidence != "medium" || f.Severity != "critical" {
			t.Errorf("smbghost = %s/%s/%s/%s (%s), want likely/true/medium/critical", f.State, tri(f.Value), f.Confidence, f.Severity, f.Reason)
		}
		for _, want := range []string{"10.0.18362", "KB4551762", "does not change the negotiation"} {
			if !strings.Contains(f.Reason, want) {
				t.Errorf("reason %q lacks %q", f.Reason, want)
			}
		}
		if !strings.Contains(f.Evidence, "LZNT1, LZ77, LZ77+Huffman") || !strings.Contains(f.Evidence, "NTLM CHALLENGE Version 10.0.18362") {
			t.Errorf("evidence %q", f.Evidence)
		}
		if r.OS == nil || probes.StringOr(r.OS.Name, "") != "Windows 10 1903 / Windows Server 1903" || probes.StringOr(r.OS.Family, "") != probes.OSFamilyWindows {
			t.Errorf("os = %+v, want Windows 10 1903 / Windows Server 1903", r.OS)
		}
	})
	t.Run("unknown-without-ntlm", func(t *testing.T) {
		r := replayScan(t, replay.Options{SMBGhost: true}, []string{"negotiate"})
		f := finding(r, probes.FindingSMBGhost)
		if f == nil {
			t.Fatal("no smbghost finding")
		}
		if f.State != probes.StateUnknown || f.Value != nil || f.Confidence != "" {
			t.Errorf("smbghost without a session = %s/%s/%q (%s), want unknown/null/none", f.State, tri(f.Value), f.Confidence, f.Reason)
		}
		if !strings.Contains(f.Reason, "no NTLM-reported build") {
			t.Errorf("reason %q does not say what is missing", f.Reason)
		}
	})
}

// TestShareProbeRefusesUndecidableServer: the replay server answers every TREE_CONNECT with
// Samba's IPC$ success, whatever the name, so a TREE_CONNECT answer proves nothing there; the
// share probe notices it on its first name (one that cannot exist) and fails saying so instead
// of listing every well-known name.
func TestShareProbeRefusesUndecidableServer(t *testing.T) {
	r := replayScan(t, replay.Options{}, []string{"negotiate", "session", "tree", "shareprobe"})
	st := r.Stages["shareprobe"]
	if st == nil || st.Status != probes.StageFailed || st.NTStatus != "STATUS_SUCCESS" || !strings.Contains(st.Error, "does not tell missing shares apart") {
		t.Fatalf("shareprobe on a server that accepts every name = %+v, want failed naming the reason", st)
	}
	for _, sh := range r.Shares {
		if slices.Contains(sh.ListedBy, probes.ListedByProbe) {
			t.Errorf("share %s listed by probe on a server that accepts every name", sh.Name)
		}
	}
}
