package probes_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

func TestMain(m *testing.M) { sambatest.Main(m) }

func scanOne(t *testing.T, opts *probes.Options, ap netip.AddrPort, timeout time.Duration) *probes.Result {
	t.Helper()
	if opts.Dialer == nil {
		opts.Dialer = &net.Dialer{Timeout: 2 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return checkEmpty(t, probes.DefaultPipeline(opts).Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()}))
}

func tri(b *bool) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprint(*b)
}

func finding(r *probes.Result, id string) *probes.Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestFleetFingerprint scans every Samba configuration of the harness and checks each field its
// smb.conf determines: status, SMB1, dialect, signing, null session, and the matching findings.
func TestFleetFingerprint(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, srv := range fleet.Servers {
		t.Run(srv.Name, func(t *testing.T) {
			want := srv.Config.Expect
			r := scanOne(t, &probes.Options{SessionTimeout: 5 * time.Second}, srv.AddrPort(), 10*time.Second)
			if r.Status != probes.StatusSMB {
				t.Fatalf("status %s (%s), want smb", r.Status, r.Error)
			}
			for name, st := range r.Stages {
				if want.NoSMB2 && name == "negotiate" {
					// An SMB1-only server closes the connection on the SMB2 NEGOTIATE: that
					// is its answer, recorded as "no SMB2" (and not a missing stage).
					if st.Status != probes.StageErrored || !strings.HasPrefix(st.Reason, "no SMB2") || len(r.Incomplete) != 0 {
						t.Errorf("negotiate %+v incomplete %v: want the no-SMB2 answer, complete", st, r.Incomplete)
					}
					continue
				}
				if st.Status == probes.StageErrored {
					t.Errorf("stage %s ended in error: %s", name, st.Error)
				}
			}
			if r.SMB1 == nil || tri(r.SMB1.Enabled) != fmt.Sprint(want.SMB1) {
				t.Errorf("smb1.enabled = %v, want %v", r.SMB1, want.SMB1)
			} else if r.SMB1.Evidence == "" {
				t.Error("smb1 without evidence")
			}
			if want.NoSMB2 {
				fingerprintSMB1Only(t, srv, r)
				return
			}
			n := r.Negotiate
			if n == nil {
				t.Fatal("no negotiate record")
			}
			if n.Dialect != want.MaxDialect {
				t.Errorf("dialect %s, want %s", n.Dialect, want.MaxDialect)
			}
			if tri(n.SigningEnabled) != "true" || tri(n.SigningRequired) != fmt.Sprint(want.SigningRequired) {
				t.Errorf("signing enabled/required = %s/%s, want true/%v", tri(n.SigningEnabled), tri(n.SigningRequired), want.SigningRequired)
			}
			if n.ServerGUID == "" || n.ServerGUID == "00000000-0000-0000-0000-000000000000" {
				t.Errorf("server guid %q", n.ServerGUID)
			}
			if n.SystemTime == nil || time.Since(*n.SystemTime).Abs() > time.Hour {
				t.Errorf("system time %v not near now", n.SystemTime)
			}
			if n.BootTime != nil {
				t.Errorf("Samba sends ServerStartTime 0, which must be null, got %v", n.BootTime)
			}
			if !slices.Equal(n.SecurityMechanisms, []string{"NTLMSSP"}) {
				t.Errorf("security_mechanisms %q, want the documented [NTLMSSP]", n.SecurityMechanisms)
			}
			if want.MaxDialect == "3.1.1" && (n.PreauthHash != "SHA-512" || n.Cipher == "" || n.SigningAlgorithm == "") {
				t.Errorf("3.1.1 posture incomplete: hash %q cipher %q signing %q", n.PreauthHash, n.Cipher, n.SigningAlgorithm)
			}
			if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") != "SWEEP-"+strings.ToUpper(strings.ReplaceAll(srv.Name, "_", "-")) {
				t.Errorf("ntlm record %+v", r.NTLM)
			} else if r.NTLM.ClockSkewSeconds == nil || *r.NTLM.ClockSkewSeconds > 5 || *r.NTLM.ClockSkewSeconds < -5 {
				t.Errorf("clock skew %v", r.NTLM.ClockSkewSeconds)
			}
			if r.ClockSkewSeconds == nil || r.ClockSkewSource != probes.ClockSkewNegotiate || math.Abs(*r.ClockSkewSeconds) > 5 {
				t.Errorf("clock skew %v from %q: want near 0 from the SMB2 SystemTime", r.ClockSkewSeconds, r.ClockSkewSource)
			}
			null := r.Sessions.Null
			if null == nil || tri(null.Allowed) != fmt.Sprint(want.NullSession) {
				t.Fatalf("sessions.null = %+v, want allowed %v", null, want.NullSession)
			}
			if null.Evidence == "" || probes.StringOr(null.Status, "") == "" {
				t.Errorf("null session without evidence: %+v", null)
			}

			// Findings follow the fields, with the same tri-state values.
			checks := map[string]bool{
				probes.FindingSMB1Enabled:        want.SMB1,
				probes.FindingSigningNotRequired: !want.SigningRequired,
				probes.FindingNullSession:        want.NullSession,
			}
			for id, v := range checks {
				f := finding(r, id)
				if f == nil || tri(f.Value) != fmt.Sprint(v) || f.Reason == "" || f.Severity == "" {
					t.Errorf("finding %s = %+v, want value %v with a reason", id, f, v)
				}
			}
		})
	}
	// Per-configuration details beyond the Expect table.
	r := scanOne(t, &probes.Options{}, fleet.Server("nonull").AddrPort(), 10*time.Second)
	if n := r.Sessions.Null; tri(n.SetupOK) != "true" || tri(n.Allowed) != "false" || r.Stages["tree"].NTStatus != "STATUS_ACCESS_DENIED" {
		t.Errorf("nonull: anonymous setup must succeed and IPC$ be refused: %+v, tree %+v", n, r.Stages["tree"])
	}
	r = scanOne(t, &probes.Options{}, fleet.Server("encrypt").AddrPort(), 10*time.Second)
	if n := r.Sessions.Null; tri(n.SetupOK) != "false" || probes.StringOr(n.Status, "") != "STATUS_ACCESS_DENIED" || r.Stages["tree"].Status != probes.StageSkipped {
		t.Errorf("encrypt: anonymous setup must be refused: %+v, tree %+v", n, r.Stages["tree"])
	}
	r = scanOne(t, &probes.Options{}, fleet.Server("smb1").AddrPort(), 10*time.Second)
	if s := r.SMB1; s == nil || s.Dialect != "NT LM 0.12" || tri(s.ExtendedSecurity) != "true" || s.SystemTime == nil || len(s.Capabilities) == 0 {
		t.Errorf("smb1 details: %+v", s)
	}
}

// fingerprintSMB1Only checks the default profile's record of an SMB1-only configuration: no
// SMB2 record, the session stages over SMB1 with the NTLM names and the SMB1 logon's strings,
// the clock skew from the NTLM timestamp, and the findings that follow.
func fingerprintSMB1Only(t *testing.T, srv *sambatest.Server, r *probes.Result) {
	t.Helper()
	want := srv.Config.Expect
	if r.Negotiate != nil || !r.SMB1.Only || tri(r.SMB1.SigningRequired) != fmt.Sprint(want.SigningRequired) {
		t.Errorf("negotiate %+v smb1 %+v: want no SMB2 record, smb1.only, signing required %v", r.Negotiate, r.SMB1, want.SigningRequired)
	}
	for _, name := range []string{"session", "tree", "shares"} {
		if st := r.Stages[probes.StageName(name)]; st == nil || st.Status != probes.StageOK || st.Protocol != probes.ProtocolSMB1 {
			t.Errorf("stage %s %+v: want ok over smb1", name, st)
		}
	}
	if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") != "SWEEP-"+strings.ToUpper(strings.ReplaceAll(srv.Name, "_", "-")) {
		t.Errorf("ntlm record %+v", r.NTLM)
	}
	if r.ClockSkewSeconds == nil || r.ClockSkewSource != probes.ClockSkewNTLM || math.Abs(*r.ClockSkewSeconds) > 5 {
		t.Errorf("clock skew %v from %q: want near 0 from the NTLM timestamp (no SMB2 SystemTime)", r.ClockSkewSeconds, r.ClockSkewSource)
	}
	if !strings.HasPrefix(r.SMB1.NativeLanManager, "Samba ") || r.SMB1.NativeOS == "" {
		t.Errorf("smb1 native os %q lan manager %q: want Samba's strings", r.SMB1.NativeOS, r.SMB1.NativeLanManager)
	}
	if null := r.Sessions.Null; null == nil || tri(null.Allowed) != fmt.Sprint(want.NullSession) {
		t.Errorf("sessions.null = %+v, want allowed %v", null, want.NullSession)
	}
	for id, v := range map[string]bool{
		probes.FindingSMB1Enabled:           true,
		probes.FindingSigningNotRequired:    !want.SigningRequired,
		probes.FindingNullSession:           want.NullSession,
		probes.FindingSMB3Unsupported:       true,
		probes.FindingEncryptionUnsupported: true,
	} {
		if f := finding(r, id); f == nil || tri(f.Value) != fmt.Sprint(v) || f.Reason == "" {
			t.Errorf("finding %s = %+v, want value %v with a reason", id, f, v)
		}
	}
}

// TestFleetNotSMB checks the non-Samba endpoints: silence is io-timeout (unknown findings, never
// false), HTTP is not-smb, a closed port is connection-refused.
func TestFleetNotSMB(t *testing.T) {
	fleet := sambatest.Require(t)
	cases := []struct {
		ap   netip.AddrPort
		want probes.Status
	}{
		{fleet.Silent, probes.StatusIOTimeout},
		{fleet.HTTP, probes.StatusNotSMB},
		{fleet.Closed, probes.StatusConnectionRefused},
	}
	for _, c := range cases {
		r := scanOne(t, &probes.Options{}, c.ap, 1500*time.Millisecond)
		if r.Status != c.want {
			t.Errorf("%s: status %s (%s), want %s", c.ap, r.Status, r.Error, c.want)
		}
		if r.Error == "" || !strings.HasPrefix(r.Error, "negotiate: ") {
			t.Errorf("%s: error %q should name the stage", c.ap, r.Error)
		}
		for _, f := range r.Findings {
			if f.Value != nil {
				t.Errorf("%s: finding %s = %v on a host that never spoke SMB; must be null (unknown)", c.ap, f.ID, *f.Value)
			}
		}
		if r.DurationSeconds > 5 {
			t.Errorf("%s: took %.1fs, beyond the host deadline", c.ap, r.DurationSeconds)
		}
	}
}

// TestFleetTreeAndStat tree-connects a named share anonymously and stats a file and a directory
// on it: one CREATE each, whatever the kind of object, with 64-bit sizes and real times.
func TestFleetTreeAndStat(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("default")
	for _, c := range []struct {
		path  string
		dir   bool
		size  uint64
		attrs string
	}{
		{"docs/manual.txt", false, uint64(len(strings.Repeat("public manual line\n", 64))), ""},
		{`docs\nested`, true, 0, "DIRECTORY"},
		{"", true, 0, "DIRECTORY"},
	} {
		opts := &probes.Options{Shares: []string{"public"}, StatShare: "public", StatPath: c.path}
		r := scanOne(t, opts, srv.AddrPort(), 10*time.Second)
		if st := r.Stages["stat"]; st == nil || st.Status != probes.StageOK {
			t.Fatalf("stat %q: stage %+v", c.path, st)
		}
		var got *probes.Stat
		for _, sh := range r.Shares {
			if sh.Name == "public" {
				if sh.Type != "disk" || probes.StringOr(sh.Access[0].TreeConnect, "") != "STATUS_SUCCESS" || sh.Access[0].MaximalAccess == nil {
					t.Errorf("public share record %+v", sh)
				}
				got = sh.Access[0].Stat
			}
		}
		if got == nil || got.IsDirectory == nil || *got.IsDirectory != c.dir || got.LastWriteTime == nil {
			t.Fatalf("stat %q: %+v", c.path, got)
		}
		if !c.dir && (got.Size == nil || *got.Size != c.size) {
			t.Errorf("stat %q: size %v, want %d", c.path, got.Size, c.size)
		}
		if c.attrs != "" && !strings.Contains(strings.Join(got.Attributes, ","), c.attrs) {
			t.Errorf("stat %q: attributes %v lack %s", c.path, got.Attributes, c.attrs)
		}
	}
	// A missing path fails the stage with the NT status named.
	opts := &probes.Options{Shares: []string{"public"}, StatShare: "public", StatPath: "no/such/file"}
	r := scanOne(t, opts, srv.AddrPort(), 10*time.Second)
	if st := r.Stages["stat"]; st.Status != probes.StageFailed || !strings.HasPrefix(st.NTStatus, "STATUS_OBJECT_") {
		t.Errorf("missing path: %+v", st)
	}
	// An unknown share is STATUS_BAD_NETWORK_NAME, and stat says why it did not run.
	opts = &probes.Options{Shares: []string{"nosuchshare"}, StatShare: "nosuchshare", StatPath: "x"}
	r = scanOne(t, opts, srv.AddrPort(), 10*time.Second)
	if len(r.Shares) < 2 || probes.StringOr(r.Shares[1].Access[0].TreeConnect, "") != "STATUS_BAD_NETWORK_NAME" || r.Stages["stat"].Status != probes.StageSkipped {
		t.Errorf("unknown share: shares %+v stat %+v", r.Shares, r.Stages["stat"])
	}
}

// TestFleetFullProfile runs the full profile against every configuration: the enumerated
// dialect set is what Samba's min/max protocol allow, every 3.1.1 cipher is accepted, and
// guest vs null vs refused matches the configuration.
func TestFleetFullProfile(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, srv := range fleet.Servers {
		t.Run(srv.Name, func(t *testing.T) {
			want := srv.Config.Expect
			opts := &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 5 * time.Second}
			p, err := probes.NewPipeline([]string{"negotiate", "smb1", "dialects", "session", "guest", "tree"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			ap := srv.AddrPort()
			r := checkEmpty(t, p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()}))
			wantDialects := "2.0.2,2.1,3.0,3.0.2,3.1.1"
			if want.MaxDialect == "2.1" {
				wantDialects = "2.0.2,2.1"
			}
			if want.NoSMB2 {
				// No SMB2: no dialect to enumerate, and the sessions come over SMB1.
				if st := r.Stages["dialects"]; r.Negotiate != nil || st.Status != probes.StageSkipped {
					t.Errorf("negotiate %+v dialects %+v: want no SMB2 record, dialects skipped", r.Negotiate, st)
				}
				if st := r.Stages["guest"]; st.Protocol != probes.ProtocolSMB1 {
					t.Errorf("guest stage %+v: want it over smb1", st)
				}
			} else if got := strings.Join(r.Negotiate.Dialects, ","); got != wantDialects {
				t.Errorf("dialects %s, want %s", got, wantDialects)
			}
			if want.MaxDialect == "3.1.1" && len(r.Negotiate.Ciphers) != 4 {
				t.Errorf("ciphers %v, want all four", r.Negotiate.Ciphers)
			}
			if want.MaxDialect != "3.1.1" && r.Negotiate != nil && r.Negotiate.Ciphers != nil {
				t.Errorf("ciphers %q without 3.1.1: want absent (not enumerated)", r.Negotiate.Ciphers)
			}
			g := r.Sessions.Guest
			if g == nil || tri(g.Allowed) != fmt.Sprint(want.Guest) {
				t.Fatalf("guest %+v, want allowed %v", g, want.Guest)
			}
			if want.Guest && !strings.Contains(strings.Join(g.Flags, ","), "IS_GUEST") {
				t.Errorf("guest flags %v lack IS_GUEST", g.Flags)
			}
			if !want.Guest && probes.StringOr(g.Status, "") != "STATUS_ACCESS_DENIED" && probes.StringOr(g.Status, "") != "STATUS_LOGON_FAILURE" {
				t.Errorf("refused guest status %s", probes.StringOr(g.Status, "null"))
			}
			for id, v := range map[string]bool{
				probes.FindingGuestSession:          want.Guest,
				probes.FindingSMB3Unsupported:       want.MaxDialect == "2.1" || want.NoSMB2,
				probes.FindingEncryptionUnsupported: want.MaxDialect == "2.1" || want.NoSMB2,
			} {
				if f := finding(r, id); f == nil || tri(f.Value) != fmt.Sprint(v) {
					t.Errorf("finding %s = %+v, want %v", id, f, v)
				}
			}
			// The null session result must not be disturbed by the guest session on the same
			// connection: the tree stage uses the anonymous session.
			if tri(r.Sessions.Null.Allowed) != fmt.Sprint(want.NullSession) {
				t.Errorf("null session allowed %s after guest stage, want %v", tri(r.Sessions.Null.Allowed), want.NullSession)
			}
		})
	}
}

func TestNewPipelineNamesAndDependencies(t *testing.T) {
	p, err := probes.NewPipeline([]string{"tree"}, &probes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Stages {
		names = append(names, string(s.Name))
	}
	if strings.Join(names, ",") != "negotiate,session,tree" {
		t.Errorf("tree pulls in %v", names)
	}
	_, err = probes.NewPipeline([]string{"negotiate", "bogus"}, &probes.Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown probe stage "bogus": valid stages are negotiate, smb1`) {
		t.Errorf("unknown stage error: %v", err)
	}
}
