package probes

import (
	"fmt"
	"slices"
	"strings"
)

// Verdict findings: vulnerability checks with a state (vulnerable, likely, not_vulnerable,
// unknown), a confidence, CVE ids, references and the evidence that decided them. Value follows
// the state (true for vulnerable and likely, false for not_vulnerable, null for unknown), so a
// consumer of the posture findings reads them the same way.

// verdict is one decided vulnerability check.
type verdict struct {
	state      string
	confidence string // high, medium, low; "" for unknown
	reason     string
	evidence   string
}

// verdictInfo is what every record of one verdict id carries.
type verdictInfo struct {
	cve        []string
	references []string
}

var verdictInfos = map[string]verdictInfo{
	FindingSMBGhost: {
		cve: []string{"CVE-2020-0796"},
		references: []string{
			"https://msrc.microsoft.com/update-guide/vulnerability/CVE-2020-0796",
			"https://msrc.microsoft.com/update-guide/vulnerability/ADV200005",
			"https://support.microsoft.com/help/4551762",
		},
	},
	FindingMS17010: {
		cve: []string{"CVE-2017-0143", "CVE-2017-0144", "CVE-2017-0145", "CVE-2017-0146", "CVE-2017-0147", "CVE-2017-0148"},
		references: []string{
			"https://learn.microsoft.com/security-updates/securitybulletins/2017/ms17-010",
			"https://support.microsoft.com/help/4013389",
			"https://nmap.org/nsedoc/scripts/smb-vuln-ms17-010.html",
		},
	},
	FindingDoublePulsar: {
		references: []string{
			"https://github.com/countercept/doublepulsar-detection-script",
			"https://nmap.org/nsedoc/scripts/smb-double-pulsar-backdoor.html",
		},
	},
}

// addVerdict appends a verdict finding.
func addVerdict(r *Result, id string, v verdict) {
	var value *bool
	switch v.state {
	case StateVulnerable, StateLikely:
		value = Bool(true)
	case StateNotVulnerable:
		value = Bool(false)
	}
	info := verdictInfos[id]
	r.Findings = append(r.Findings, Finding{
		ID: id, Value: value, Severity: findingSeverity[id], Reason: v.reason,
		State: v.state, Confidence: v.confidence, CVE: info.cve, References: info.references, Evidence: v.evidence,
	})
}

// smbghostBuilds are the Windows builds with the SMB 3.1.1 compression code of CVE-2020-0796:
// Windows 10 and Windows Server 1903 (18362) and 1909 (18363) (ADV200005).
var smbghostBuilds = map[uint16]bool{18362: true, 18363: true}

// smbghostVerdict decides CVE-2020-0796 from the NEGOTIATE and NTLM records alone — no extra
// packet, and never a compressed frame. The flaw is in the decompression of SMB 3.1.1
// compressed messages on Windows 10/Server 1903 and 1909. The negotiate stage offers 3.1.1 and
// the LZNT1, LZ77, LZ77+Huffman and Pattern_V1 algorithms, so a server that can compress says so
// in a COMPRESSION_CAPABILITIES context. A 1903/1909 build with compression negotiated is only
// "likely": the March 2020 fix (KB4551762) patched the decompression, not the negotiation, so a
// patched host answers the same. Compression absent (never built, or disabled as ADV200005's
// workaround) or another build is not vulnerable; no NTLM build with compression is unknown.
func smbghostVerdict(r *Result) verdict {
	if smb1Only(r) {
		return verdict{state: StateNotVulnerable, confidence: "high",
			reason:   "the host speaks SMB1 only: SMB 3.1.1 compression (CVE-2020-0796) cannot be negotiated",
			evidence: smb1OnlyEvidence}
	}
	n := r.Negotiate
	if n == nil || n.Dialect == "" {
		return verdict{state: StateUnknown, reason: "unknown: " + stageWhy(r, StageNegotiate)}
	}
	if n.Dialect != "3.1.1" {
		return verdict{state: StateNotVulnerable, confidence: "high",
			reason:   "server chose SMB " + n.Dialect + " when offered 3.1.1: SMB 3.1.1 compression (CVE-2020-0796) cannot be negotiated",
			evidence: "NEGOTIATE response DialectRevision " + n.DialectRevision.String()}
	}
	var algs []string
	for _, a := range n.Compression {
		if a != "NONE" {
			algs = append(algs, a)
		}
	}
	ctxEvidence := "3.1.1 NEGOTIATE response contexts: " + strings.Join(n.Contexts, ", ")
	if len(n.Contexts) == 0 {
		ctxEvidence = "3.1.1 NEGOTIATE response without negotiate contexts"
	}
	if len(algs) == 0 {
		why := "no COMPRESSION_CAPABILITIES context"
		if slices.Contains(n.Contexts, "COMPRESSION_CAPABILITIES") {
			why = "a COMPRESSION_CAPABILITIES context without an algorithm (" + strings.Join(n.Compression, ", ") + ")"
		}
		return verdict{state: StateNotVulnerable, confidence: "high",
			reason:   "SMB 3.1.1 without compression: the NEGOTIATE response has " + why + " although the request offered LZNT1, LZ77, LZ77+Huffman and Pattern_V1",
			evidence: ctxEvidence}
	}
	evidence := ctxEvidence + "; compression algorithms " + strings.Join(algs, ", ")
	major, minor, build, ok := ntlmBuild(r)
	if !ok {
		return verdict{state: StateUnknown,
			reason:   "unknown: SMB 3.1.1 compression negotiated, but no NTLM-reported build to tell 1903/1909 from other releases (" + stageWhy(r, StageSession) + ")",
			evidence: evidence}
	}
	version := fmt.Sprintf("%d.%d.%d", major, minor, build)
	evidence += "; NTLM CHALLENGE Version " + version
	if major == 10 && minor == 0 && smbghostBuilds[build] {
		return verdict{state: StateLikely, confidence: "medium",
			reason: "SMB 3.1.1 compression negotiated on NTLM-reported build " + version + " (Windows 10 / Server " + map[uint16]string{18362: "1903", 18363: "1909"}[build] +
				"): likely vulnerable to CVE-2020-0796; the fix (KB4551762) does not change the negotiation, so a patched host looks the same",
			evidence: evidence}
	}
	return verdict{state: StateNotVulnerable, confidence: "high",
		reason:   "SMB 3.1.1 compression negotiated, but NTLM-reported build " + version + " is not 18362 or 18363 (only Windows 10 / Server 1903 and 1909 had the flaw)",
		evidence: evidence}
}

// addMS17010 appends the ms17_010 verdict of a pipeline with the ms17010 stage, and the
// doublepulsar_implant one when the implant was pinged (only on a vulnerable host). A host whose
// smb1 stage saw SMB1 refused is not vulnerable (the flaw is in the SMB1 server); one whose
// check could not complete is unknown with the reason.
func addMS17010(r *Result) {
	v := r.ms17010
	if v == nil {
		v = &verdict{state: StateUnknown, reason: "unknown: " + stageWhy(r, StageMS17010)}
		if s := r.SMB1; s != nil && s.Enabled != nil && !*s.Enabled {
			v = &verdict{state: StateNotVulnerable, confidence: "high",
				reason:   "SMB1 is disabled, and MS17-010 is a flaw of the SMB1 server",
				evidence: s.Evidence}
		}
	}
	addVerdict(r, FindingMS17010, *v)
	if r.doublePulsar != nil {
		addVerdict(r, FindingDoublePulsar, *r.doublePulsar)
	}
}
