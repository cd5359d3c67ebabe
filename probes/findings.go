package probes

import (
	"slices"
	"strings"

	"github.com/smbsweep/smbsweep/wire"
)

// Findings are derived from the result fields, never from a client library's defaults: every
// finding is tri-state (true = exposure present, false = checked and absent, null = could not
// be decided) with the evidence that decided it. A timeout is never "false".

// severities of the stable finding ids (docs/schema.md).
var findingSeverity = map[string]string{
	FindingSMB1Enabled:            "high",
	FindingSigningNotRequired:     "medium",
	FindingNullSession:            "medium",
	FindingGuestSession:           "medium",
	FindingAnonymousShareReadable: "high",
	FindingShareWritable:          "high",
	FindingSMB3Unsupported:        "low",
	FindingEncryptionUnsupported:  "low",
	FindingSMBGhost:               "critical",
	FindingMS17010:                "critical",
	FindingDoublePulsar:           "critical",
	FindingCoercibleInterface:     "medium",
	FindingCoercibleCredentialed:  "low",
	FindingWebClientRunning:       "medium",
	FindingSpoolerRunning:         "low",
}

func init() {
	findingSeverity[FindingAnonymousLSA] = "low"
	findingSeverity[FindingAnonymousSIDTranslation] = "medium"
	findingSeverity[FindingAnonymousPasswordPolicy] = "medium"
}

func addFinding(r *Result, id string, v *bool, reason string) {
	r.Findings = append(r.Findings, Finding{ID: id, Value: v, Severity: findingSeverity[id], Reason: reason})
}

// evaluateFindings appends a finding for every check the pipeline's stages could inform.
// It also derives the record's OS name and domain controller verdict (no packet of their own),
// and raises the severity of some findings on domain controllers.
func evaluateFindings(r *Result, opts *Options) {
	r.OS = identifyOS(r)
	r.DomainController = detectDC(r, opts)
	defer raiseOnDC(r)
	if _, ran := r.Stages[StageSMB1]; ran {
		v, why := smb1Finding(r)
		addFinding(r, FindingSMB1Enabled, v, why)
	}
	if _, ran := r.Stages[StageNegotiate]; ran {
		v, why := signingFinding(r)
		addFinding(r, FindingSigningNotRequired, v, why)
		v, why = smb3Finding(r)
		addFinding(r, FindingSMB3Unsupported, v, why)
		v, why = encryptionFinding(r)
		addFinding(r, FindingEncryptionUnsupported, v, why)
		addVerdict(r, FindingSMBGhost, smbghostVerdict(r))
	}
	if _, ran := r.Stages[StageMS17010]; ran {
		addMS17010(r)
	}
	if _, ran := r.Stages[StageTree]; ran {
		v, why := nullSessionFinding(r)
		addFinding(r, FindingNullSession, v, why)
	}
	if _, ran := r.Stages[StageAccess]; ran {
		v, why := shareFinding(r, func(a ShareAccess) *bool { return a.Read }, "readable")
		addFinding(r, FindingAnonymousShareReadable, v, why)
		v, why = shareFinding(r, func(a ShareAccess) *bool { return a.Write }, "writable")
		if v == nil && !opts.CheckWrite {
			why = "write access not checked (it is intrusive: enable with -check-write)"
		}
		addFinding(r, FindingShareWritable, v, why)
	}
	if _, ran := r.Stages[StageCoercion]; ran {
		v, why := coercionFinding(r, false)
		addFinding(r, FindingCoercibleInterface, v, why)
		if opts.Credentials != nil {
			v, why = coercionFinding(r, true)
			addFinding(r, FindingCoercibleCredentialed, v, why)
		}
		v, why = serviceFinding(r, func(s *RPCSurface) []ServiceState { return s.WebClient }, "WebClient")
		addFinding(r, FindingWebClientRunning, v, why)
		v, why = serviceFinding(r, func(s *RPCSurface) []ServiceState { return s.Spooler }, "Print Spooler")
		addFinding(r, FindingSpoolerRunning, v, why)
	}
	if _, ran := r.Stages[StageLSA]; ran {
		v, why := lsaFinding(r, func(l *LSAInfo) *bool { return l.Exposed }, "domain name and SID")
		addFinding(r, FindingAnonymousLSA, v, why)
		v, why = lsaFinding(r, func(l *LSAInfo) *bool { return l.SIDTranslation }, "SID translation")
		addFinding(r, FindingAnonymousSIDTranslation, v, why)
	}
	if _, ran := r.Stages[StageSAMR]; ran {
		v, why := samrFinding(r)
		addFinding(r, FindingAnonymousPasswordPolicy, v, why)
	}
	if _, ran := r.Stages[StageGuest]; ran {
		v, why := sessionFinding(r.Sessions.Guest, r, StageGuest)
		addFinding(r, FindingGuestSession, v, why)
	}
}

// smb3Finding: no SMB 3.x dialect. Decided by the enumerated dialect list when the dialects
// stage ran, else by the highest dialect the server chose when offered all.
func smb3Finding(r *Result) (*bool, string) {
	if smb1Only(r) {
		return Bool(true), smb1OnlyEvidence + ": no SMB 3.x"
	}
	n := r.Negotiate
	if n == nil || n.Dialect == "" {
		return nil, "unknown: " + stageWhy(r, StageNegotiate)
	}
	if n.Dialects != nil {
		for _, d := range n.Dialects {
			if strings.HasPrefix(d, "3.") {
				return Bool(false), "server accepts SMB " + d + " (dialects enumerated: " + strings.Join(n.Dialects, ", ") + ")"
			}
		}
		return Bool(true), "no SMB 3.x dialect accepted (dialects enumerated: " + strings.Join(n.Dialects, ", ") + ")"
	}
	if strings.HasPrefix(n.Dialect, "3.") {
		return Bool(false), "server chose SMB " + n.Dialect + " when offered 2.0.2 through 3.1.1"
	}
	return Bool(true), "server chose SMB " + n.Dialect + " when offered 2.0.2 through 3.1.1: no SMB 3.x"
}

// encryptionFinding: the server cannot encrypt SMB traffic. 3.1.1 decides by the cipher the
// server chose in its ENCRYPTION_CAPABILITIES context (or the enumerated cipher list); 3.0 and
// 3.0.2 by the ENCRYPTION capability; 2.x has no encryption.
func encryptionFinding(r *Result) (*bool, string) {
	if smb1Only(r) {
		return Bool(true), smb1OnlyEvidence + ": SMB1 has no encryption (SMB 3.x only)"
	}
	n := r.Negotiate
	if n == nil || n.Dialect == "" {
		return nil, "unknown: " + stageWhy(r, StageNegotiate)
	}
	switch {
	case n.Dialect == "3.1.1" && n.Ciphers != nil:
		if len(n.Ciphers) == 0 {
			return Bool(true), "3.1.1 server accepted none of AES-128/256-CCM/GCM (ciphers enumerated)"
		}
		return Bool(false), "3.1.1 server accepts " + strings.Join(n.Ciphers, ", ")
	case n.Dialect == "3.1.1":
		if n.Cipher == "" {
			return Bool(true), "3.1.1 NEGOTIATE response chose no cipher (no ENCRYPTION_CAPABILITIES context)"
		}
		if n.Cipher == wire.CipherName(wire.CipherNone) {
			return Bool(true), "3.1.1 NEGOTIATE response chose cipher 0 (no cipher in common with AES-128/256-CCM/GCM)"
		}
		return Bool(false), "3.1.1 NEGOTIATE response chose " + n.Cipher
	case strings.HasPrefix(n.Dialect, "3."):
		if slices.Contains(n.Capabilities, "ENCRYPTION") {
			return Bool(false), "SMB " + n.Dialect + " with the ENCRYPTION capability (AES-128-CCM)"
		}
		return Bool(true), "SMB " + n.Dialect + " without the ENCRYPTION capability"
	}
	return Bool(true), "SMB " + n.Dialect + " has no encryption (SMB 3.x only)"
}

// smb1OnlyEvidence is what decides the SMB2 findings of a host that speaks SMB1 only.
const smb1OnlyEvidence = "server closed the connection in answer to the SMB2 NEGOTIATE and accepted SMB1 NT LM 0.12 (SMB1 only)"

// smb1Only reports whether the record is of a host that speaks SMB1 only (smb1.only), which
// decides the SMB2 findings: it has neither SMB 3.x nor encryption.
func smb1Only(r *Result) bool {
	return r.Negotiate == nil && r.SMB1 != nil && r.SMB1.Only && r.SMB1.Enabled != nil && *r.SMB1.Enabled
}

func smb1Finding(r *Result) (*bool, string) {
	if r.SMB1 == nil || r.SMB1.Enabled == nil {
		return nil, "unknown: " + stageWhy(r, StageSMB1)
	}
	if *r.SMB1.Enabled {
		return Bool(true), "server accepted the SMB1 dialect NT LM 0.12 on a dedicated SMB1 NEGOTIATE"
	}
	return Bool(false), "server refused SMB1: " + r.SMB1.Evidence
}

// signingFinding uses the SMB2 NEGOTIATE SecurityMode bits; for a host that speaks only SMB1
// it uses the SMB1 SecurityMode.
func signingFinding(r *Result) (*bool, string) {
	if n := r.Negotiate; n != nil && n.SigningRequired != nil {
		if *n.SigningRequired {
			return Bool(false), "SMB2 NEGOTIATE SecurityMode has SIGNING_REQUIRED"
		}
		if n.SigningEnabled != nil && !*n.SigningEnabled {
			return Bool(true), "SMB2 NEGOTIATE SecurityMode has neither SIGNING_ENABLED nor SIGNING_REQUIRED (message signing disabled)"
		}
		return Bool(true), "SMB2 NEGOTIATE SecurityMode has SIGNING_ENABLED without SIGNING_REQUIRED"
	}
	if s := r.SMB1; s != nil && s.Enabled != nil && *s.Enabled && s.SigningRequired != nil {
		if *s.SigningRequired {
			return Bool(false), "SMB1-only host: NEGOTIATE SecurityMode has SECURITY_SIGNATURES_REQUIRED"
		}
		return Bool(true), "SMB1-only host: NEGOTIATE SecurityMode lacks SECURITY_SIGNATURES_REQUIRED"
	}
	return nil, "unknown: " + stageWhy(r, StageNegotiate)
}

func nullSessionFinding(r *Result) (*bool, string) {
	return sessionFinding(r.Sessions.Null, r, StageSession)
}

func sessionFinding(n *SessionInfo, r *Result, stage StageName) (*bool, string) {
	if n == nil {
		return nil, "unknown: " + stageWhy(r, stage)
	}
	if n.Allowed == nil {
		return nil, "unknown: " + n.Evidence
	}
	if *n.Allowed {
		return Bool(true), n.Evidence
	}
	return Bool(false), n.Evidence
}

// stageWhy explains why a stage produced nothing usable.
func stageWhy(r *Result, name StageName) string {
	sr, ok := r.Stages[name]
	if !ok {
		return string(name) + " stage not run"
	}
	switch {
	case sr.Reason != "":
		return string(name) + " " + string(sr.Status) + ": " + sr.Reason
	case sr.Error != "":
		return sr.Error
	case sr.NTStatus != "":
		return string(name) + " " + string(sr.Status) + " with " + sr.NTStatus
	}
	return string(name) + " " + string(sr.Status)
}

// shareFinding decides a share finding over the anonymous and guest access records of disk
// shares (IPC$ and pipes excluded): true when any is true (naming them), false only when every
// record was decided false, null when any is undecided (an unchecked share may be the exposed one).
func shareFinding(r *Result, field func(ShareAccess) *bool, what string) (*bool, string) {
	var yes, no, unknown []string
	for _, sh := range r.Shares {
		if strings.EqualFold(sh.Name, "IPC$") || strings.HasPrefix(sh.Type, "pipe") {
			continue
		}
		for _, a := range sh.Access {
			if a.Identity != IdentityAnonymous && a.Identity != IdentityGuest {
				continue
			}
			switch v := field(a); {
			case v == nil:
				unknown = append(unknown, sh.Name+" ("+a.Identity+")")
			case *v:
				yes = append(yes, sh.Name+" ("+a.Identity+")")
			default:
				no = append(no, sh.Name+" ("+a.Identity+")")
			}
		}
	}
	switch {
	case len(yes) > 0:
		return Bool(true), what + " without credentials: " + strings.Join(yes, ", ")
	case len(unknown) > 0:
		return nil, "unknown: not decided for " + strings.Join(unknown, ", ")
	case len(no) > 0:
		return Bool(false), "not " + what + " without credentials: " + strings.Join(no, ", ")
	}
	return nil, "unknown: no disk share access was decided (" + stageWhy(r, StageAccess) + ")"
}

// coercionFinding: some interface that can coerce authentication accepted a BIND from an
// identity without credentials (anonymous, guest), or with credentialed, from the -u account.
// True names each (interface, pipe, identity); false only when every pipe was decided for
// every such identity probed; null otherwise.
func coercionFinding(r *Result, credentialed bool) (*bool, string) {
	if r.RPC == nil || len(r.RPC.Interfaces) == 0 {
		return nil, "unknown: " + stageWhy(r, StageCoercion)
	}
	var yes, unknown []string
	var recs []RPCInterface
	for _, in := range r.RPC.Interfaces {
		if (in.Identity == IdentityUser) != credentialed {
			continue
		}
		recs = append(recs, in)
		what := in.Interface + " on \\" + in.Pipe + " (" + in.Identity + ")"
		switch {
		case in.Reachable == nil:
			unknown = append(unknown, what)
		case *in.Reachable:
			yes = append(yes, what)
		}
	}
	switch {
	case len(recs) == 0 && credentialed:
		return nil, "unknown: the credentialed logon did not succeed (" + stageWhy(r, StageAuth) + ")"
	case len(recs) == 0:
		return nil, "unknown: no anonymous or guest session was granted: only the credentialed identity was probed"
	case len(yes) > 0 && credentialed:
		return Bool(true), "coercible interface reachable with credentials: " + strings.Join(yes, ", ")
	case len(yes) > 0:
		return Bool(true), "coercible interface reachable: " + strings.Join(yes, ", ")
	case len(unknown) > 0:
		return nil, "unknown: no answer to the BIND of " + strings.Join(unknown, ", ")
	}
	return Bool(false), "no coercible interface reachable by " + strings.Join(identitiesOf(recs), ", ") + " (every pipe absent, refused or the bind rejected)"
}

// serviceFinding: a service runs, as any identity could tell. The pipe's presence does not
// depend on who asks, so one identity's "not running" decides false when none said running.
func serviceFinding(r *Result, states func(*RPCSurface) []ServiceState, name string) (*bool, string) {
	if r.RPC == nil {
		return nil, "unknown: " + stageWhy(r, StageCoercion)
	}
	var no *ServiceState
	var why []string
	for _, st := range states(r.RPC) {
		switch {
		case st.Running == nil:
			why = append(why, st.Evidence)
		case *st.Running:
			return Bool(true), name + " running: " + st.Evidence
		case no == nil:
			no = &st
		}
	}
	if no != nil {
		return Bool(false), name + " not running: " + no.Evidence
	}
	if len(why) == 0 {
		return nil, "unknown: " + stageWhy(r, StageCoercion)
	}
	return nil, strings.Join(why, "; ")
}

// identitiesOf lists the identities of the records, in order of first appearance.
func identitiesOf(recs []RPCInterface) []string {
	var ids []string
	for _, rec := range recs {
		if !slices.Contains(ids, rec.Identity) {
			ids = append(ids, rec.Identity)
		}
	}
	return ids
}

// lsaFinding: some identity without credentials got what field says from LSA (true, naming
// the identity); false only when every identity probed was decided refused; null otherwise.
func lsaFinding(r *Result, field func(*LSAInfo) *bool, what string) (*bool, string) {
	if len(r.LSA) == 0 {
		return nil, "unknown: " + stageWhy(r, StageLSA)
	}
	var no, unknown []string
	for i := range r.LSA {
		l := &r.LSA[i]
		switch v := field(l); {
		case v == nil:
			unknown = append(unknown, l.Identity+": "+l.Evidence)
		case *v:
			return Bool(true), "LSA " + what + " readable without credentials (" + l.Identity + "): " + l.Evidence
		default:
			no = append(no, l.Identity+": "+l.Evidence)
		}
	}
	if len(unknown) > 0 {
		return nil, "unknown: " + strings.Join(unknown, "; ")
	}
	return Bool(false), "LSA " + what + " refused to every identity without credentials: " + strings.Join(no, "; ")
}

// samrFinding: some identity without credentials read the password or lockout policy over
// SAMR; false only when every identity probed was decided refused; null otherwise.
func samrFinding(r *Result) (*bool, string) {
	if len(r.SAMR) == 0 {
		return nil, "unknown: " + stageWhy(r, StageSAMR)
	}
	var no, unknown []string
	for i := range r.SAMR {
		m := &r.SAMR[i]
		switch v := m.Exposed; {
		case v == nil:
			unknown = append(unknown, m.Identity+": "+m.Evidence)
		case *v:
			return Bool(true), "password policy readable over SAMR without credentials (" + m.Identity + "): " + m.Evidence
		default:
			no = append(no, m.Identity+": "+m.Evidence)
		}
	}
	if len(unknown) > 0 {
		return nil, "unknown: " + strings.Join(unknown, "; ")
	}
	return Bool(false), "password policy refused over SAMR to every identity without credentials: " + strings.Join(no, "; ")
}
