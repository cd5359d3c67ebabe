package probes_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

// lsaConfigs are the two Samba instances of the LSA/SAMR tests: anonymous LSA and SAMR allowed
// (restrict anonymous = 0, Samba's default) and refused (restrict anonymous = 2). Neither maps
// unknown users to guest, so the anonymous identity alone decides.
func lsaConfigs() []sambatest.Config {
	return []sambatest.Config{
		{Name: "lsaopen", Global: []string{"restrict anonymous = 0"}, Shares: sambatest.StandardShares(),
			Expect: sambatest.Expect{MaxDialect: "3.1.1", NullSession: true}},
		{Name: "lsaclosed", Global: []string{"restrict anonymous = 2"}, Shares: sambatest.StandardShares(),
			Expect: sambatest.Expect{MaxDialect: "3.1.1"}},
		// Anonymous refused, unknown users mapped to guest: the guest identity decides.
		{Name: "lsaguest", Global: []string{"restrict anonymous = 2", "map to guest = Bad User"}, Shares: sambatest.StandardShares(),
			Expect: sambatest.Expect{MaxDialect: "3.1.1", Guest: true}},
	}
}

// The distinctive policy the test sets with pdbedit on the lsaopen instance.
const (
	testMinPasswordLength = 11
	testPasswordHistory   = 4
	testLockoutThreshold  = 7
	testLockoutMinutes    = 45
	testResetMinutes      = 20
)

// rpcclientRun runs rpcclient against srv with cmd, anonymously or as the harness's test user.
func rpcclientRun(t *testing.T, srv *sambatest.Server, user bool, cmd string) string {
	t.Helper()
	bin, err := exec.LookPath("rpcclient")
	if err != nil {
		t.Skip("rpcclient not installed: no oracle")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	if err := os.WriteFile(conf, []byte("[global]\n\tclient min protocol = SMB2\n\tlock directory = "+dir+"\n\tstate directory = "+dir+
		"\n\tcache directory = "+dir+"\n\tprivate dir = "+dir+"\n\tncalrpc dir = "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--configfile=" + conf, "-p", strconv.Itoa(int(srv.Port)), "-c", cmd}
	if user {
		args = append(args, "-U", sambatest.TestUser+"%"+sambatest.TestPassword)
	} else {
		args = append(args, "-U%", "-N")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(args, srv.Addr.String())...).CombinedOutput()
	if err != nil && user {
		t.Fatalf("rpcclient -c %q: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// rpcclientRunAs runs rpcclient against srv as user ("name%password"); its output is returned
// whatever the exit status (a refusal is an answer).
func rpcclientRunAs(t *testing.T, srv *sambatest.Server, user, cmd string) string {
	t.Helper()
	bin, err := exec.LookPath("rpcclient")
	if err != nil {
		t.Skip("rpcclient not installed: no oracle")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	if err := os.WriteFile(conf, []byte("[global]\n\tclient min protocol = SMB2\n\tlock directory = "+dir+"\n\tstate directory = "+dir+
		"\n\tcache directory = "+dir+"\n\tprivate dir = "+dir+"\n\tncalrpc dir = "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.CommandContext(ctx, bin, "--configfile="+conf, "-p", strconv.Itoa(int(srv.Port)), "-U", user, "-c", cmd, srv.Addr.String()).CombinedOutput()
	return string(out)
}

// pdbeditPolicy sets an account policy value in srv's passdb with the instance's smb.conf.
func pdbeditPolicy(t *testing.T, srv *sambatest.Server, name string, value int) {
	t.Helper()
	out, err := exec.Command("pdbedit", "-s", srv.ConfPath, "-P", name, "-C", strconv.Itoa(value)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdbedit -P %q -C %d: %v\n%s", name, value, err, out)
	}
}

func startLSAFleet(t *testing.T) *sambatest.Fleet {
	t.Helper()
	if err := sambatest.SambaAvailable(); err != nil || os.Geteuid() != 0 {
		if os.Getenv(sambatest.EnvRequire) == "1" {
			t.Fatalf("Samba unavailable (%v) or not root", err)
		}
		t.Skipf("Samba unavailable (%v) or not root: the LSA/SAMR instances cannot start", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fleet, err := sambatest.StartFleet(ctx, sambatest.Options{Configs: lsaConfigs()})
	if err != nil {
		t.Fatalf("starting the LSA/SAMR instances: %v", err)
	}
	t.Cleanup(func() { _ = fleet.Stop() })
	return fleet
}

func field(out, re string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// TestFleetLSASAMR: against restrict anonymous = 0 the domain name and SID agree with rpcclient
// lsaquery, the password policy with rpcclient getdompwinfo / querydominfo and the values set
// with pdbedit, and -enum-users lists the users rpcclient enumdomusers lists; against restrict
// anonymous = 2 the refusal is recorded as not exposed with the NT status.
func TestFleetLSASAMR(t *testing.T) {
	fleet := startLSAFleet(t)
	open, closed := fleet.Server("lsaopen"), fleet.Server("lsaclosed")
	pdbeditPolicy(t, open, "min password length", testMinPasswordLength)
	pdbeditPolicy(t, open, "password history", testPasswordHistory)
	pdbeditPolicy(t, open, "bad lockout attempt", testLockoutThreshold)
	pdbeditPolicy(t, open, "lockout duration", testLockoutMinutes)
	pdbeditPolicy(t, open, "reset count minutes", testResetMinutes)

	t.Run("open", func(t *testing.T) {
		r := runStages(t, open, &probes.Options{EnumUsers: true}, "lsa", "samr")
		if os.Getenv("SMBSWEEP_VERBOSE") != "" {
			b, _ := json.MarshalIndent(map[string]any{"lsa": r.LSA, "samr": r.SAMR, "findings": r.Findings, "stages": r.Stages}, "", "  ")
			t.Logf("%s", b)
		}
		for _, st := range []string{"lsa", "samr"} {
			if s := r.Stages[probes.StageName(st)]; s.Status != probes.StageOK {
				t.Fatalf("stage %s: %+v", st, s)
			}
		}
		if len(r.LSA) != 1 {
			t.Fatalf("lsa records %+v, want one (anonymous)", r.LSA)
		}
		l := r.LSA[0]
		// rpcclient lsaquery queries class 3 (primary domain) by default, "lsaquery 5" the
		// account domain; a workgroup member's primary domain has no SID ("(NULL SID)").
		for _, c := range []struct {
			class     string
			name, sid *string
		}{{"3", l.PrimaryDomainName, l.PrimaryDomainSID}, {"5", l.DomainName, l.DomainSID}} {
			out := rpcclientRun(t, open, false, "lsaquery "+c.class)
			t.Logf("rpcclient -U%% -N -c 'lsaquery %s':\n%s", c.class, out)
			wantName, wantSID := field(out, `Domain Name:\s*(\S+)`), field(out, `Domain Sid:\s*(.+)`)
			if wantName == "" || wantSID == "" {
				t.Fatalf("rpcclient lsaquery %s gave no domain:\n%s", c.class, out)
			}
			if wantSID == "(NULL SID)" {
				wantSID = "null"
			}
			if got := probes.StringOr(c.name, "null"); got != wantName {
				t.Errorf("class %s domain name %s, rpcclient lsaquery says %s", c.class, got, wantName)
			}
			if got := probes.StringOr(c.sid, "null"); got != wantSID {
				t.Errorf("class %s domain SID %s, rpcclient lsaquery says %s", c.class, got, wantSID)
			}
		}
		checkFinding(t, r, probes.FindingAnonymousLSA, "true", "LSA domain name and SID readable without credentials (anonymous)")
		checkFinding(t, r, probes.FindingAnonymousSIDTranslation, "true", "LSA SID translation readable without credentials (anonymous)")
		checkFinding(t, r, probes.FindingAnonymousPasswordPolicy, "true", "password policy readable over SAMR without credentials (anonymous)")

		// Password policy: pdbedit's values, and rpcclient's own reading of them.
		if len(r.SAMR) != 1 || r.SAMR[0].PasswordPolicy == nil {
			t.Fatalf("samr records %+v", r.SAMR)
		}
		p := r.SAMR[0].PasswordPolicy
		pw := rpcclientRun(t, open, false, "getdompwinfo")
		t.Logf("rpcclient getdompwinfo:\n%s", pw)
		if got, want := ptrInt(p.MinPasswordLength), field(pw, `min_password_length\s*:\s*(\d+)`); strconv.Itoa(got) != want || got != testMinPasswordLength {
			t.Errorf("min_password_length %d, rpcclient getdompwinfo %s, pdbedit %d", got, want, testMinPasswordLength)
		}
		q1 := rpcclientRun(t, open, false, "querydominfo 1")
		q12 := rpcclientRun(t, open, false, "querydominfo 12")
		t.Logf("rpcclient querydominfo 1:\n%s\nquerydominfo 12:\n%s", q1, q12)
		if got, want := ptrInt(p.MinPasswordLength), field(q1, `Minimum password length:\s*(\d+)`); strconv.Itoa(got) != want {
			t.Errorf("min_password_length %d, rpcclient querydominfo 1 %s", got, want)
		}
		if got, want := ptrInt(p.PasswordHistoryLength), field(q1, `remember x passwords\):\s*(\d+)`); strconv.Itoa(got) != want || got != testPasswordHistory {
			t.Errorf("password_history_length %d, rpcclient querydominfo 1 %s, pdbedit %d", got, want, testPasswordHistory)
		}
		if got, want := ptrInt(p.LockoutThreshold), field(q12, `Lockout after bad attempts:\s*(\d+)`); strconv.Itoa(got) != want || got != testLockoutThreshold {
			t.Errorf("lockout_threshold %d, rpcclient querydominfo 12 %s, pdbedit %d", got, want, testLockoutThreshold)
		}
		// rpcclient 4.17 prints the lockout durations as wrapped unsigned day counts (its own
		// display of Samba's negative NTTIME), so those two are checked against pdbedit only.
		if got := ptrInt64(p.LockoutDurationSeconds); got != testLockoutMinutes*60 {
			t.Errorf("lockout_duration_seconds %d, pdbedit %d minutes", got, testLockoutMinutes)
		}
		if got := ptrInt64(p.LockoutWindowSeconds); got != testResetMinutes*60 {
			t.Errorf("lockout_window_seconds %d, pdbedit %d minutes", got, testResetMinutes)
		}

		// -enum-users: RID cycling finds what rpcclient lookupsids finds over the same RIDs
		// (users: type 1), which includes every passdb user rpcclient enumdomusers lists in the
		// range (Samba also maps its guest account, nobody, to RID 501).
		if l.Users == nil || l.DomainSID == nil {
			t.Fatalf("no user enumeration with EnumUsers: %+v", l)
		}
		var sids []string
		for rid := probes.DefaultRIDFirst; rid <= probes.DefaultRIDLast; rid++ {
			sids = append(sids, *l.DomainSID+"-"+strconv.Itoa(rid))
		}
		look := rpcclientRun(t, open, false, "lookupsids "+strings.Join(sids, " "))
		var want []string
		for _, m := range regexp.MustCompile(`(?m)^S-[0-9-]+ [^\\\n]*\\(\S+) \(1\)$`).FindAllStringSubmatch(look, -1) {
			want = append(want, m[1])
		}
		got := slices.Clone(l.Users.Names)
		slices.Sort(got)
		slices.Sort(want)
		if len(want) == 0 || !slices.Equal(got, want) || l.Users.Found != len(want) || !l.Users.Complete {
			t.Errorf("RID cycling found %v (%d, complete %v), rpcclient lookupsids of the same RIDs %v", got, l.Users.Found, l.Users.Complete, want)
		}
		enum := rpcclientRun(t, open, true, "enumdomusers")
		for _, m := range regexp.MustCompile(`user:\[([^\]]+)\] rid:\[0x([0-9a-f]+)\]`).FindAllStringSubmatch(enum, -1) {
			if rid, _ := strconv.ParseUint(m[2], 16, 32); rid >= probes.DefaultRIDFirst && rid <= probes.DefaultRIDLast && !slices.Contains(got, m[1]) {
				t.Errorf("rpcclient enumdomusers lists %s (RID %d), RID cycling did not find it: %v", m[1], rid, got)
			}
		}
		if !slices.Contains(got, sambatest.TestUser) {
			t.Errorf("RID cycling did not find the harness's %s: %v", sambatest.TestUser, got)
		}
		if l.Users.Calls != 7 {
			t.Errorf("%d LsarLookupSids calls for RIDs 500-1100, want 7 (100 SIDs each)", l.Users.Calls)
		}
	})

	t.Run("no-enum-users", func(t *testing.T) {
		r := runStages(t, open, &probes.Options{}, "lsa")
		if len(r.LSA) != 1 || r.LSA[0].Users != nil {
			t.Errorf("user enumeration without EnumUsers: %+v", r.LSA)
		}
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), sambatest.TestUser) {
			t.Errorf("record names the user %s without -enum-users", sambatest.TestUser)
		}
	})

	t.Run("closed", func(t *testing.T) {
		r := runStages(t, closed, &probes.Options{EnumUsers: true}, "lsa", "samr")
		if os.Getenv("SMBSWEEP_VERBOSE") != "" {
			b, _ := json.MarshalIndent(map[string]any{"lsa": r.LSA, "samr": r.SAMR, "findings": r.Findings, "stages": r.Stages}, "", "  ")
			t.Logf("%s", b)
		}
		lsaq := rpcclientRun(t, closed, false, "lsaquery")
		t.Logf("rpcclient -U%% -N lsaquery (refused):\n%s", lsaq)
		for _, st := range []string{"lsa", "samr"} {
			if s := r.Stages[probes.StageName(st)]; s.Status != probes.StageFailed || s.NTStatus != "STATUS_ACCESS_DENIED" {
				t.Errorf("stage %s: %+v, want failed with STATUS_ACCESS_DENIED", st, s)
			}
		}
		if len(r.LSA) != 1 || tri(r.LSA[0].Exposed) != "false" || probes.StringOr(r.LSA[0].Open, "") != "STATUS_ACCESS_DENIED" {
			t.Errorf("lsa %+v, want not exposed with STATUS_ACCESS_DENIED", r.LSA)
		}
		checkFinding(t, r, probes.FindingAnonymousLSA, "false", "LSA domain name and SID refused")
		checkFinding(t, r, probes.FindingAnonymousSIDTranslation, "false", "LSA SID translation refused")
		checkFinding(t, r, probes.FindingAnonymousPasswordPolicy, "false", "password policy refused")
		if !strings.Contains(lsaq, "ACCESS_DENIED") {
			t.Errorf("rpcclient was not refused either:\n%s", lsaq)
		}
	})

	t.Run("guest", func(t *testing.T) {
		srv := fleet.Server("lsaguest")
		r := runStages(t, srv, &probes.Options{}, "guest", "lsa", "samr")
		if os.Getenv("SMBSWEEP_VERBOSE") != "" {
			b, _ := json.MarshalIndent(map[string]any{"lsa": r.LSA, "samr": r.SAMR, "findings": r.Findings, "stages": r.Stages}, "", "  ")
			t.Logf("%s", b)
		}
		// rpcclient as a non-existent user (mapped to guest) is the oracle for the guest identity.
		out := rpcclientRunAs(t, srv, "smbsweep-nosuchuser%not-a-password", "lsaquery 5")
		t.Logf("rpcclient as an unknown user -c 'lsaquery 5':\n%s", out)
		wantName := field(out, `Domain Name:\s*(\S+)`)
		if len(r.LSA) != 2 || r.LSA[0].Identity != "anonymous" || r.LSA[1].Identity != "guest" {
			t.Fatalf("lsa records %+v, want anonymous then guest", r.LSA)
		}
		if tri(r.LSA[0].Exposed) != "false" || probes.StringOr(r.LSA[0].Open, "") != "STATUS_ACCESS_DENIED" {
			t.Errorf("anonymous %+v, want refused with STATUS_ACCESS_DENIED", r.LSA[0])
		}
		g := r.LSA[1]
		if wantName == "" {
			if tri(g.Exposed) == "true" {
				t.Errorf("guest got the domain %s, rpcclient as guest did not:\n%s", probes.StringOr(g.DomainName, ""), out)
			}
			checkFinding(t, r, probes.FindingAnonymousLSA, "false", "LSA domain name and SID refused")
			return
		}
		if probes.StringOr(g.DomainName, "") != wantName || probes.StringOr(g.DomainSID, "") != field(out, `Domain Sid:\s*(\S+)`) {
			t.Errorf("guest domain %s %s, rpcclient as guest says\n%s", probes.StringOr(g.DomainName, "null"), probes.StringOr(g.DomainSID, "null"), out)
		}
		checkFinding(t, r, probes.FindingAnonymousLSA, "true", "LSA domain name and SID readable without credentials (guest)")
		if st := r.Stages["lsa"]; st.Status != probes.StageOK {
			t.Errorf("stage lsa %+v, want ok (guest got the domain)", st)
		}
	})
}

func ptrInt(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func ptrInt64(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
