package probes_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// TestFleetMS17010 runs the MS17-010 check against real Samba: the smb1 instance (server min
// protocol = NT1) answers PeekNamedPipe on FID 0 with STATUS_INVALID_HANDLE (not vulnerable),
// anonymously and with the test user's credentials, and its SMB1 logon's strings are recorded;
// the default instance (SMB1 disabled) skips the check with the reason.
func TestFleetMS17010(t *testing.T) {
	fleet := sambatest.Require(t)
	run := func(t *testing.T, srv *sambatest.Server, cred *client.Credentials) *probes.Result {
		t.Helper()
		opts := &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 5 * time.Second, Credentials: cred}
		p, err := probes.NewPipeline([]string{"ms17010"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ap := srv.AddrPort()
		return p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()})
	}
	for _, c := range []struct {
		name string
		cred *client.Credentials
		who  string
	}{
		{"anonymous", nil, "anonymous session"},
		{"credentialed", &client.Credentials{User: sambatest.TestUser, Password: sambatest.TestPassword}, "credentialed session"},
	} {
		t.Run("smb1/"+c.name, func(t *testing.T) {
			r := run(t, fleet.Server("smb1"), c.cred)
			if st := r.Stages["ms17010"]; st == nil || st.Status != probes.StageOK {
				t.Fatalf("stage ms17010 %+v, want ok", st)
			}
			f := finding(r, probes.FindingMS17010)
			if f == nil || f.State != probes.StateNotVulnerable || f.Value == nil || *f.Value ||
				!strings.Contains(f.Evidence, "STATUS_INVALID_HANDLE (0xC0000008)") || !strings.Contains(f.Evidence, c.who) {
				t.Errorf("ms17_010 %+v, want not_vulnerable on Samba's STATUS_INVALID_HANDLE (%s)", f, c.who)
			}
			if finding(r, probes.FindingDoublePulsar) != nil {
				t.Error("doublepulsar_implant reported for a host that is not vulnerable")
			}
			if r.SMB1 == nil || !strings.HasPrefix(r.SMB1.NativeLanManager, "Samba ") || r.SMB1.NativeOS == "" || r.SMB1.PrimaryDomain == "" {
				t.Errorf("smb1 %+v: want Samba's NativeOS, NativeLanMan and PrimaryDomain", r.SMB1)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		r := run(t, fleet.Server("default"), nil)
		if st := r.Stages["ms17010"]; st == nil || st.Status != probes.StageSkipped || !strings.Contains(st.Reason, "SMB1 disabled") {
			t.Errorf("stage ms17010 %+v, want skipped: SMB1 disabled", st)
		}
		if f := finding(r, probes.FindingMS17010); f == nil || f.State != probes.StateNotVulnerable {
			t.Errorf("ms17_010 %+v, want not_vulnerable (SMB1 disabled)", f)
		}
	})
}
