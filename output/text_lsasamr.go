package output

import (
	"strconv"
	"strings"

	"github.com/smbsweep/smbsweep/probes"
)

// lsaSAMRLines words the true findings of stages lsa and samr with what was read: the domain
// and its SID, how many users RID cycling found (never their names: they are only in the JSON
// record, where -enum-users asked for them), the password and lockout policy.
func lsaSAMRLines(id string, r *probes.Result) []string {
	switch id {
	case probes.FindingAnonymousLSA:
		for _, l := range r.LSA {
			if l.Exposed != nil && *l.Exposed {
				line := "Anonymous LSA: domain " + SanitizeTerminal(probes.StringOr(l.DomainName, "?")) + " " + SanitizeTerminal(probes.StringOr(l.DomainSID, ""))
				if l.PrimaryDomainName != nil {
					line += " (primary domain " + SanitizeTerminal(*l.PrimaryDomainName)
					if l.PrimaryDomainSID != nil {
						line += " " + SanitizeTerminal(*l.PrimaryDomainSID)
					}
					line += ")"
				}
				return []string{line + " as " + SanitizeTerminal(l.Identity)}
			}
		}
		return []string{"Anonymous LSA: domain name and SID readable"}
	case probes.FindingAnonymousSIDTranslation:
		for _, l := range r.LSA {
			if l.SIDTranslation != nil && *l.SIDTranslation {
				line := "Anonymous SID translation (LsarLookupSids) as " + SanitizeTerminal(l.Identity)
				if u := l.Users; u != nil {
					line += ": RID cycling " + SanitizeTerminal(u.RIDRange) + " found " + strconv.Itoa(u.Found) + " users"
				}
				return []string{line}
			}
		}
		return []string{"Anonymous SID translation (LsarLookupSids)"}
	}
	for _, m := range r.SAMR {
		p := m.PasswordPolicy
		if m.Exposed == nil || !*m.Exposed || p == nil {
			continue
		}
		var parts []string
		if p.MinPasswordLength != nil {
			parts = append(parts, "min length "+strconv.Itoa(*p.MinPasswordLength), "history "+strconv.Itoa(*p.PasswordHistoryLength))
			if len(p.PasswordProperties) > 0 {
				parts = append(parts, SanitizeTerminal(strings.Join(p.PasswordProperties, ",")))
			}
		}
		if p.LockoutThreshold != nil {
			if *p.LockoutThreshold == 0 {
				parts = append(parts, "no lockout")
			} else {
				parts = append(parts, "lockout after "+strconv.Itoa(*p.LockoutThreshold)+" attempts for "+minutes(p.LockoutDurationSeconds)+
					" (window "+minutes(p.LockoutWindowSeconds)+")")
			}
		}
		return []string{"Password policy readable anonymously: " + strings.Join(parts, ", ") + " as " + SanitizeTerminal(m.Identity)}
	}
	return []string{"Password policy readable anonymously"}
}

// minutes words a duration in seconds; nil is "ever" (the domain's "never" value).
func minutes(sec *int64) string {
	if sec == nil {
		return "ever"
	}
	if *sec%60 == 0 {
		return strconv.FormatInt(*sec/60, 10) + " min"
	}
	return strconv.FormatInt(*sec, 10) + " s"
}
