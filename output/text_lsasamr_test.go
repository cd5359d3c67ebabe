package output

import (
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

// TestLSASAMRTextLines: the text view words the LSA/SAMR findings with the domain, the policy
// values and the number of users, never the user names, and neutralises server strings.
func TestLSASAMRTextLines(t *testing.T) {
	i := func(v int) *int { return &v }
	s := func(v int64) *int64 { return &v }
	r := &probes.Result{
		LSA: []probes.LSAInfo{{Identity: "anonymous", Exposed: probes.Bool(true), SIDTranslation: probes.Bool(true),
			DomainName: probes.String("SWEEP\x1b[2J"), DomainSID: probes.String("S-1-5-21-1-2-3"), PrimaryDomainName: probes.String("SMBSWEEP"),
			Users: &probes.UserEnum{RIDRange: "500-1100", Found: 2, Names: []string{"secret-user", "nobody"}}}},
		SAMR: []probes.SAMRInfo{{Identity: "anonymous", Exposed: probes.Bool(true), PasswordPolicy: &probes.PasswordPolicy{
			MinPasswordLength: i(11), PasswordHistoryLength: i(4), PasswordProperties: []string{"DOMAIN_PASSWORD_COMPLEX"},
			LockoutThreshold: i(7), LockoutDurationSeconds: s(2700), LockoutWindowSeconds: s(1200)}}},
	}
	for id, want := range map[string]string{
		probes.FindingAnonymousLSA:            `Anonymous LSA: domain SWEEP\x1b[2J S-1-5-21-1-2-3 (primary domain SMBSWEEP) as anonymous`,
		probes.FindingAnonymousSIDTranslation: "Anonymous SID translation (LsarLookupSids) as anonymous: RID cycling 500-1100 found 2 users",
		probes.FindingAnonymousPasswordPolicy: "Password policy readable anonymously: min length 11, history 4, DOMAIN_PASSWORD_COMPLEX, lockout after 7 attempts for 45 min (window 20 min) as anonymous",
	} {
		got := findingLines(id, r)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
		if strings.Contains(strings.Join(got, ""), "secret-user") {
			t.Errorf("%s: the text view names a user", id)
		}
	}
}
