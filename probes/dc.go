package probes

import (
	"slices"
	"strings"

	"github.com/smbsweep/smbsweep/wire"
)

// Domain controller detection, from what the stages already recorded (no packet of its own):
//
//   - the SYSVOL and NETLOGON shares, which domain controller promotion creates on every Active
//     Directory DC (and Samba's AD DC provisions): seen in the SRVSVC share list, found by the
//     share probe, or tree-connected;
//   - the NTLM CHALLENGE's MsvAvDnsTreeName: every AD member, DC or not, names its forest, and a
//     workgroup host names none;
//   - the NBSTAT answer (stage nbstat): only domain controllers register the domain's <1C> group
//     name (MS-WPO "Domain controller location"; RFC 1001/1002 names, Microsoft's NetBIOS
//     suffix table), so a host that answers NBSTAT lists it when it is a DC.
//
// value is true when both shares are there or the NBSTAT answer lists a <1C> group; false when a
// complete share list (SRVSVC, or the share probe asking for both names) lacks one of them, when
// the host answered NBSTAT without a <1C> group, or when no share list was obtained and the NTLM
// CHALLENGE names no DNS forest (a workgroup host cannot be an AD DC); null otherwise (an AD
// member whose share list could not be read and that did not answer NBSTAT may be a DC).

// dcShares are the shares every AD domain controller exports.
var dcShares = []string{"SYSVOL", "NETLOGON"}

// raisedOnDC lists the findings whose severity goes up one step on a domain controller: what
// is an exposure on a member is a path to the whole domain on a DC (relay of a DC's own
// authentication, SMB1 worms landing on the host that holds every credential, a DC coerced
// into authenticating to a relay).
var raisedOnDC = map[string]bool{
	FindingSMB1Enabled:           true,
	FindingSigningNotRequired:    true,
	FindingCoercibleInterface:    true,
	FindingCoercibleCredentialed: true,
}

// severityAbove is the next severity up.
var severityAbove = map[string]string{"info": "low", "low": "medium", "medium": "high", "high": "critical"}

// detectDC decides r.DomainController; nil when no stage informed it.
func detectDC(r *Result, opts *Options) *DomainControllerInfo {
	_, sharesRan := r.Stages[StageShares]
	_, probeRan := r.Stages[StageShareProbe]
	nb := r.NBStat
	nbAnswered := nb != nil && nb.Answered != nil && *nb.Answered
	if r.NTLM == nil && !sharesRan && !probeRan && !nbAnswered {
		return nil
	}
	dc := &DomainControllerInfo{Evidence: []string{}}
	seen := 0
	for _, name := range dcShares {
		if how := shareSeen(r, name); how != "" {
			dc.Evidence = append(dc.Evidence, name+" share "+how)
			seen++
		}
	}
	complete, listWhy := shareListComplete(r, opts)
	var tree string
	hasTree := false
	if r.NTLM != nil && r.NTLM.DNSTreeName != nil && *r.NTLM.DNSTreeName != "" {
		tree, hasTree = *r.NTLM.DNSTreeName, true
		dc.Evidence = append(dc.Evidence, "NTLM CHALLENGE names the DNS forest "+tree+" (an AD member or DC)")
	} else if r.NTLM != nil {
		dc.Evidence = append(dc.Evidence, "NTLM CHALLENGE names no DNS forest (MsvAvDnsTreeName absent or empty: not in an AD forest)")
	}
	group1C := ""
	if nbAnswered {
		for _, n := range nb.Names {
			if n.Suffix == "0x1c" && n.Group {
				group1C = n.Name
				break
			}
		}
		if group1C != "" {
			dc.Evidence = append(dc.Evidence, "NBSTAT lists the <1C> group "+group1C+" (registered only by domain controllers)")
		} else {
			dc.Evidence = append(dc.Evidence, "NBSTAT answer lists no <1C> group (a domain controller registers one)")
		}
	}
	switch {
	case seen == len(dcShares), group1C != "":
		dc.Value = Bool(true)
	case complete:
		dc.Value = Bool(false)
		dc.Evidence = append(dc.Evidence, "SYSVOL and NETLOGON not both present in the share list ("+listWhy+")")
	case r.NTLM != nil && !hasTree, nbAnswered:
		dc.Value = Bool(false)
	default:
		dc.Evidence = append(dc.Evidence, "share list not obtained ("+listWhy+"): cannot tell a DC from a member")
	}
	return dc
}

// shareSeen says how the share was found to exist, "" when it was not.
func shareSeen(r *Result, name string) string {
	for _, sh := range r.Shares {
		if !strings.EqualFold(sh.Name, name) {
			continue
		}
		if len(sh.ListedBy) > 0 {
			return "listed by " + strings.Join(sh.ListedBy, ", ")
		}
		for _, a := range sh.Access {
			if a.TreeConnect != nil && *a.TreeConnect == wire.StatusSuccess.String() {
				return "tree-connected by " + a.Identity
			}
		}
	}
	return ""
}

// shareListComplete reports whether r holds a share list that would name SYSVOL and NETLOGON
// if the host had them: an SRVSVC enumeration, or a share probe that asked for both names.
func shareListComplete(r *Result, opts *Options) (bool, string) {
	if sr, ok := r.Stages[StageShares]; ok && sr.Status == StageOK {
		return true, "SRVSVC share enumeration"
	}
	if sr, ok := r.Stages[StageShareProbe]; ok && sr.Status == StageOK {
		names := opts.probeShares()
		for _, n := range dcShares {
			if !slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, n) }) {
				return false, "the share probe did not ask for " + n
			}
		}
		return true, "share probe by name"
	}
	return false, stageWhy(r, StageShares)
}

// raiseOnDC raises the severity of the findings in raisedOnDC one step when the host is a
// domain controller, saying why in severity_reason.
func raiseOnDC(r *Result) {
	dc := r.DomainController
	if dc == nil || dc.Value == nil || !*dc.Value {
		return
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		up, ok := severityAbove[f.Severity]
		if !raisedOnDC[f.ID] || !ok {
			continue
		}
		f.SeverityReason = "raised from " + f.Severity + ": the host is a domain controller (" + strings.Join(dc.Evidence, "; ") + ")"
		f.Severity = up
	}
}
