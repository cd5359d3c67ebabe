package probes

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
}

func addFinding(r *Result, id string, v *bool, reason string) {
	r.Findings = append(r.Findings, Finding{ID: id, Value: v, Severity: findingSeverity[id], Reason: reason})
}

// evaluateFindings appends a finding for every check the pipeline's stages could inform.
func evaluateFindings(r *Result) {
	if _, ran := r.Stages["smb1"]; ran {
		v, why := smb1Finding(r)
		addFinding(r, FindingSMB1Enabled, v, why)
	}
	if _, ran := r.Stages["negotiate"]; ran {
		v, why := signingFinding(r)
		addFinding(r, FindingSigningNotRequired, v, why)
	}
	if _, ran := r.Stages["tree"]; ran {
		v, why := nullSessionFinding(r)
		addFinding(r, FindingNullSession, v, why)
	}
}

func smb1Finding(r *Result) (*bool, string) {
	if r.SMB1 == nil || r.SMB1.Enabled == nil {
		return nil, "unknown: " + stageWhy(r, "smb1")
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
	return nil, "unknown: " + stageWhy(r, "negotiate")
}

func nullSessionFinding(r *Result) (*bool, string) {
	n := r.Sessions.Null
	if n == nil {
		return nil, "unknown: " + stageWhy(r, "session")
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
func stageWhy(r *Result, name string) string {
	sr, ok := r.Stages[name]
	if !ok {
		return name + " stage not run"
	}
	switch {
	case sr.Reason != "":
		return name + " " + string(sr.Status) + ": " + sr.Reason
	case sr.Error != "":
		return sr.Error
	case sr.NTStatus != "":
		return name + " " + string(sr.Status) + " with " + sr.NTStatus
	}
	return name + " " + string(sr.Status)
}
