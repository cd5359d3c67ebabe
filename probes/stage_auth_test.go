package probes_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

func runAuthStages(t *testing.T, opts *probes.Options, srv *sambatest.Server, stages ...string) *probes.Result {
	t.Helper()
	if opts.Dialer == nil {
		opts.Dialer = &net.Dialer{Timeout: 2 * time.Second}
	}
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 5 * time.Second
	}
	p, err := probes.NewPipeline(stages, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ap := srv.AddrPort()
	return checkEmpty(t, p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()}))
}

// TestAuthStages runs auth, ls and read against the default, signing-mandatory and
// encryption-required servers and checks what they record.
func TestAuthStages(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, name := range []string{"default", "signing", "encrypt"} {
		srv := fleet.Server(name)
		t.Run(name, func(t *testing.T) {
			opts := &probes.Options{
				Credentials: &client.Credentials{User: sambatest.TestUser, Password: sambatest.TestPassword},
				StatShare:   sambatest.SharePrivate, StatPath: "reports", ListDepth: 0,
			}
			r := runAuthStages(t, opts, srv, "auth", "ls")
			for _, st := range []string{"negotiate", "auth", "ls"} {
				if s := r.Stages[probes.StageName(st)]; s == nil || s.Status != probes.StageOK {
					t.Fatalf("stage %s: %+v", st, s)
				}
			}
			a := r.Auth
			if a == nil || a.Success == nil || !*a.Success || probes.StringOr(a.Status, "") != "STATUS_SUCCESS" || a.Dialect != "3.1.1" ||
				a.Signing == nil || !*a.Signing || a.SigningAlgorithm == "" || a.ServerName != "SWEEP-"+strings.ToUpper(name) || a.Evidence == "" {
				t.Fatalf("auth %+v", a)
			}
			if enc := a.Encryption != nil && *a.Encryption; enc != (name == "encrypt") || (enc && a.Cipher == "") {
				t.Fatalf("encryption %v cipher %q on %s", enc, a.Cipher, name)
			}
			l := r.Listing
			if l == nil || l.Count != 2 || len(l.Entries) != 2 || l.Truncated || l.Path != "reports" {
				t.Fatalf("listing %+v", l)
			}
			if e := l.Entries[0]; !strings.HasPrefix(e.Path, "reports/q") || e.Size != int64(len("quarter one\n")) || e.LastWriteTime == nil {
				t.Fatalf("entry %+v", e)
			}

			opts.StatPath = "large/ten-kib.bin"
			r = runAuthStages(t, opts, srv, "read")
			if s := r.Stages["read"]; s == nil || s.Status != probes.StageOK {
				t.Fatalf("read stage %+v", s)
			}
			want := []byte(strings.Repeat("0123456789abcdef", 640))
			sum := sha256.Sum256(want)
			got, _ := base64.StdEncoding.DecodeString(r.Read.Content)
			if string(got) != string(want) || r.Read.SHA256 != hex.EncodeToString(sum[:]) || r.Read.Truncated || !r.Read.IsText || r.Read.BytesRead != 10240 {
				t.Fatalf("read %+v", r.Read)
			}
		})
	}
}

func TestAuthStageRefusalsAndSkips(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("signing")
	// No credentials: auth and what needs it are skipped with a reason.
	r := runAuthStages(t, &probes.Options{StatShare: sambatest.SharePrivate}, srv, "ls")
	if s := r.Stages["auth"]; s.Status != probes.StageSkipped || s.Reason != "no credentials given" {
		t.Fatalf("auth without credentials: %+v", s)
	}
	if s := r.Stages["ls"]; s.Status != probes.StageSkipped || !strings.Contains(s.Reason, "needs auth") {
		t.Fatalf("ls without auth: %+v", s)
	}
	// Wrong password: failed with STATUS_LOGON_FAILURE.
	r = runAuthStages(t, &probes.Options{Credentials: &client.Credentials{User: sambatest.TestUser, Password: "wrong-password-123"}}, srv, "auth")
	if s := r.Stages["auth"]; s.Status != probes.StageFailed || s.NTStatus != "STATUS_LOGON_FAILURE" {
		t.Fatalf("wrong password: %+v", s)
	}
	if r.Auth == nil || r.Auth.Success == nil || *r.Auth.Success || probes.StringOr(r.Auth.Status, "") != "STATUS_LOGON_FAILURE" {
		t.Fatalf("auth record %+v", r.Auth)
	}
	// Unknown share: ls failed with STATUS_BAD_NETWORK_NAME.
	h := ntlmcrypto.NTHash(sambatest.TestPassword)
	r = runAuthStages(t, &probes.Options{Credentials: &client.Credentials{User: sambatest.TestUser, NTHash: &h}, StatShare: "nosuch"}, srv, "ls")
	if s := r.Stages["ls"]; s.Status != probes.StageFailed || s.NTStatus != "STATUS_BAD_NETWORK_NAME" {
		t.Fatalf("unknown share: %+v", s)
	}
	if r.Auth == nil || !*r.Auth.Success {
		t.Fatalf("pass-the-hash logon: %+v", r.Auth)
	}
	// The record never carries the secret.
	b, _ := json.Marshal(r)
	for _, secret := range []string{sambatest.TestPassword, hex.EncodeToString(h[:]), "wrong-password-123"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("the result contains a secret: %s", b)
		}
	}
}
