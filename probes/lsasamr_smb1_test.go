package probes_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// TestLSASAMROverSMB1 runs the lsa and samr stages against the fleet's SMB1-only Samba: they
// go over SMB1 (TRANSACTION named pipes), and what they read anonymously is what rpcclient,
// made to speak NT1 only, reads: the primary domain name and the minimum password length.
func TestLSASAMROverSMB1(t *testing.T) {
	srv := sambatest.Require(t).Server("smb1only")
	bin, err := exec.LookPath("rpcclient")
	if err != nil {
		t.Skip("rpcclient not installed: no oracle (apt-get install smbclient)")
	}
	p, err := probes.NewPipeline([]string{"smb1", "lsa", "samr"}, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ap := srv.AddrPort()
	r := p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()})
	if r.SMB1 == nil || !r.SMB1.Only {
		t.Fatalf("smb1 %+v: want an SMB1-only host", r.SMB1)
	}
	for _, name := range []probes.StageName{probes.StageLSA, probes.StageSAMR} {
		if st := r.Stages[name]; st == nil || st.Status != probes.StageOK || st.Protocol != probes.ProtocolSMB1 {
			t.Fatalf("stage %s %+v: want ok over smb1", name, st)
		}
	}
	var lsa *probes.LSAInfo
	for i := range r.LSA {
		if r.LSA[i].Identity == "anonymous" {
			lsa = &r.LSA[i]
		}
	}
	var samr *probes.SAMRInfo
	for i := range r.SAMR {
		if r.SAMR[i].Identity == "anonymous" {
			samr = &r.SAMR[i]
		}
	}
	if lsa == nil || tri(lsa.Exposed) != "true" || samr == nil || samr.PasswordPolicy == nil || samr.PasswordPolicy.MinPasswordLength == nil {
		t.Fatalf("anonymous lsa %+v samr %+v: want the domain and the policy read", lsa, samr)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	if err := os.WriteFile(conf, []byte("[global]\n\tclient min protocol = NT1\n\tclient max protocol = NT1\n\tlock directory = "+dir+
		"\n\tstate directory = "+dir+"\n\tcache directory = "+dir+"\n\tprivate dir = "+dir+"\n\tncalrpc dir = "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "--configfile="+conf, "-p", strconv.Itoa(int(srv.Port)), "-U%", "-N",
		"-c", "lsaquery; getdompwinfo", srv.Addr.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("rpcclient over NT1: %v\n%s", err, out)
	}
	domain := regexp.MustCompile(`(?m)^Domain Name: (\S+)`).FindSubmatch(out)
	minLen := regexp.MustCompile(`(?m)^min_password_length: (\d+)`).FindSubmatch(out)
	if domain == nil || minLen == nil {
		t.Fatalf("rpcclient output without a domain name or min_password_length:\n%s", out)
	}
	if got := probes.StringOr(lsa.PrimaryDomainName, ""); got != string(domain[1]) {
		t.Errorf("primary domain %q, rpcclient (NT1) lsaquery says %q", got, domain[1])
	}
	if got := strconv.Itoa(*samr.PasswordPolicy.MinPasswordLength); got != string(minLen[1]) {
		t.Errorf("min password length %s, rpcclient (NT1) getdompwinfo says %s", got, minLen[1])
	}
}
