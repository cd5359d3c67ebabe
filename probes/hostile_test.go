package probes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
	"github.com/smbsweep/smbsweep/wire"
)

// hostileStages is the default profile's stage list.
var hostileStages = []string{"negotiate", "smb1", "session", "tree", "shares"}

// stageWant is the expected status of each stage; "a|b" accepts either.
type stageWant map[string]probes.StageStatus

// hostileCase says what smbsweep must record for one hostile server of the catalog.
type hostileCase struct {
	name    string // test name
	server  string // hostile.Cases() name (default: name)
	stages  []string
	timeout time.Duration // host deadline (default 3s)
	session time.Duration // session stages' own deadline (default 2s)
	status  probes.Status
	want    stageWant
	check   func(r *probes.Result) []string // further checks; returns the failures
	// knownBug marks a case that fails because of a reported bug outside the hostile suite:
	// the test skips while the checks fail and fails once they pass (remove the marker then).
	knownBug string
}

const (
	ok      = probes.StageOK
	failed  = probes.StageFailed
	errored = probes.StageErrored
	skipped = probes.StageSkipped
)

// Stage outcome sets shared by several cases.
var (
	// When the host deadline ends a negotiate read, the SMB1 stage either sees the deadline
	// passed (skipped) or starts in the instant before the context reports it (error).
	deadAtNegotiate = stageWant{"negotiate": errored, "smb1": skipped + "|" + errored, "session": skipped, "tree": skipped, "shares": skipped}
	deadBothConns   = stageWant{"negotiate": errored, "smb1": errored, "session": skipped, "tree": skipped, "shares": skipped}
	allOK           = stageWant{"negotiate": ok, "smb1": ok, "session": ok, "tree": ok, "shares": ok}
	sessionBroken   = stageWant{"negotiate": ok, "smb1": ok, "session": errored, "tree": skipped, "shares": skipped}
	sharesBroken    = stageWant{"negotiate": ok, "smb1": ok, "session": ok, "tree": ok, "shares": errored}
)

func hostileCases() []hostileCase {
	notSMB := func(r *probes.Result) []string {
		if !strings.Contains(r.Error, "did not answer with SMB") {
			return []string{fmt.Sprintf("error %q does not say the peer is not SMB", r.Error)}
		}
		return nil
	}
	noNegotiate := func(r *probes.Result) []string {
		var f []string
		if r.Negotiate != nil {
			f = append(f, "negotiate record filled from an invalid reply")
		}
		if fd := finding(r, probes.FindingSigningNotRequired); fd == nil || fd.Value != nil {
			f = append(f, "signing_not_required decided from an invalid NEGOTIATE")
		}
		if r.SMB1 != nil && r.SMB1.Enabled != nil {
			f = append(f, "smb1.enabled = "+tri(r.SMB1.Enabled)+", want null (nothing valid was received)")
		}
		return f
	}
	noSessionStatus := func(r *probes.Result) []string {
		if n := r.Sessions.Null; n != nil && probes.StringOr(n.Status, "") == "STATUS_SUCCESS" && n.SetupOK == nil {
			return []string{"sessions.null.status is STATUS_SUCCESS although no SESSION_SETUP reply arrived"}
		}
		return nil
	}
	emptyNames := func(r *probes.Result) []string {
		if r.NTLM == nil {
			return []string{"ntlm record missing: the CHALLENGE itself was valid"}
		}
		// Null, not "": no name was learned.
		if n := r.NTLM; n.NetBIOSComputerName != nil || n.NetBIOSDomainName != nil || n.DNSComputerName != nil || n.DNSDomainName != nil || n.DNSTreeName != nil || n.ServerTime != nil {
			return []string{fmt.Sprintf("names decoded from malformed AV pairs: %+v", *n)}
		}
		if probes.StringOr(r.NTLM.OSVersion, "") != "6.1.0" {
			return []string{"os_version lost: " + probes.StringOr(r.NTLM.OSVersion, "null")}
		}
		return nil
	}
	noNTLM := func(r *probes.Result) []string {
		if r.NTLM != nil {
			return []string{"ntlm record filled from an invalid token"}
		}
		return nil
	}
	sharesErr := func(r *probes.Result) []string {
		if e := r.Stages["shares"].Error; !strings.Contains(e, "NetrShareEnum") {
			return []string{"shares error does not name NetrShareEnum: " + e}
		}
		return nil
	}
	withGuest := []string{"negotiate", "smb1", "session", "guest", "tree", "shares"}
	withCoercion := append(slices.Clip(withGuest), "coercion")

	cs := []hostileCase{
		{name: "tarpit", status: probes.StatusIOTimeout, want: deadAtNegotiate},
		{name: "slowloris", status: probes.StatusIOTimeout, want: deadAtNegotiate},
		{name: "http-banner", status: probes.StatusNotSMB, want: deadAtNegotiate, check: notSMB},
		{name: "tls-banner", status: probes.StatusNotSMB, want: deadAtNegotiate, check: notSMB},
		{name: "garbage", status: probes.StatusNotSMB, want: deadAtNegotiate, check: notSMB},
		{name: "framed-garbage", status: probes.StatusNotSMB, want: deadAtNegotiate, check: notSMB},
		{name: "netbios-length-0", status: probes.StatusNotSMB, want: deadAtNegotiate, check: notSMB},
		{name: "netbios-length-16m", status: probes.StatusProtocolError, want: deadBothConns},
		{name: "netbios-length-short", status: probes.StatusProtocolError, want: deadBothConns},
		{name: "reset-on-accept", status: probes.StatusConnectionReset, want: deadBothConns},

		{name: "smb2-header-structure-size", status: probes.StatusProtocolError, want: deadBothConns},
		{name: "smb2-protocol-id", status: probes.StatusNotSMB, want: deadAtNegotiate, check: notSMB},
		{name: "smb2-transform-protocol-id", status: probes.StatusProtocolError, want: deadBothConns},
		{name: "negotiate-body-structure-size", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},
		{name: "negotiate-secbuf-offset", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},
		{name: "negotiate-secbuf-length", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},
		{name: "negotiate-context-offset", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},
		{name: "negotiate-context-count", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},
		{name: "negotiate-context-count-plus-one", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},
		{name: "negotiate-context-length", status: probes.StatusProtocolError, want: deadBothConns, check: noNegotiate},

		{name: "smb1-enabled", status: probes.StatusSMB, want: allOK, check: func(r *probes.Result) []string {
			if r.SMB1 == nil || r.SMB1.Enabled == nil || !*r.SMB1.Enabled || r.SMB1.SigningRequired == nil || *r.SMB1.SigningRequired {
				return []string{"SMB1 acceptance not recorded as enabled, signing not required"}
			}
			return nil
		}},
		{name: "smb1-byte-count", status: probes.StatusSMB, want: stageWant{"negotiate": ok, "smb1": errored, "session": ok, "tree": ok, "shares": ok},
			check: smb1Unknown},
		{name: "smb1-word-count", status: probes.StatusSMB, want: stageWant{"negotiate": ok, "smb1": errored, "session": ok, "tree": ok, "shares": ok},
			check: smb1Unknown},
		// A LANMAN-form reply selecting index 3 of the one dialect offered: the server speaks
		// SMB1, but its reply does not accept NT LM 0.12 as offered (it was read as "enabled,
		// NT LM 0.12" before), so enabled stays unknown and the evidence says what came back.
		{name: "smb1-lanman-index-3", status: probes.StatusSMB, want: stageWant{"negotiate": ok, "smb1": errored, "session": ok, "tree": ok, "shares": ok},
			check: func(r *probes.Result) []string {
				f := smb1Unknown(r)
				const want = "LANMAN-form reply (WordCount 13) selecting dialect index 3, outside the 1 offered"
				if r.SMB1 != nil && (!strings.HasPrefix(r.SMB1.Evidence, want) || r.SMB1.Dialect != "" || r.SMB1.SigningRequired != nil) {
					f = append(f, fmt.Sprintf("smb1 evidence %q dialect %q signing_required %s; want evidence %q, no dialect, signing unknown",
						r.SMB1.Evidence, r.SMB1.Dialect, tri(r.SMB1.SigningRequired), want))
				}
				if e := r.Stages["smb1"].Error; !strings.Contains(e, want) {
					f = append(f, "smb1 stage error does not carry the evidence: "+e)
				}
				return f
			}},
		// Dialects enumerated: 3.1.1 accepted, no cipher in common. The cipher list is
		// present and empty (it was left out, as if never enumerated), and the security
		// mechanisms carry the documented names.
		{name: "no-common-cipher", stages: []string{"negotiate", "smb1", "dialects", "session", "tree", "shares"}, status: probes.StatusSMB,
			want: stageWant{"negotiate": ok, "smb1": ok, "dialects": ok, "session": ok, "tree": ok, "shares": ok},
			check: func(r *probes.Result) []string {
				var f []string
				n := r.Negotiate
				if n == nil || n.Ciphers == nil || len(n.Ciphers) != 0 || !slices.Equal(n.Dialects, []string{"3.1.1"}) {
					return []string{fmt.Sprintf("negotiate %+v: want dialects [3.1.1] and an empty, non-nil cipher list", n)}
				}
				b, err := json.Marshal(n)
				if err != nil || !strings.Contains(string(b), `"ciphers":[]`) {
					f = append(f, fmt.Sprintf("encoded negotiate lacks \"ciphers\":[]: %s", b))
				}
				if !slices.Equal(n.SecurityMechanisms, []string{"NTLMSSP"}) {
					f = append(f, fmt.Sprintf("security_mechanisms %q, want the documented [NTLMSSP]", n.SecurityMechanisms))
				}
				if v := finding(r, probes.FindingEncryptionUnsupported); v == nil || tri(v.Value) != "true" {
					f = append(f, fmt.Sprintf("encryption_unsupported %+v, want true (no cipher accepted)", v))
				}
				return f
			}},
		// The same server without the dialects stage: the one NEGOTIATE's cipher 0 ("NONE")
		// means no encryption (it was read as "chose NONE", encryption supported).
		{name: "no-common-cipher-default", server: "no-common-cipher", status: probes.StatusSMB, want: allOK,
			check: func(r *probes.Result) []string {
				if v := finding(r, probes.FindingEncryptionUnsupported); v == nil || tri(v.Value) != "true" {
					return []string{fmt.Sprintf("encryption_unsupported %+v, want true for cipher 0", v)}
				}
				return nil
			}},
		// Samba's non-extended reply: Flags2 without UNICODE, CAP_UNICODE, UTF-16 names.
		{name: "smb1-names-cap-unicode", status: probes.StatusSMB, want: allOK, check: func(r *probes.Result) []string {
			if r.SMB1 == nil || r.SMB1.Enabled == nil || !*r.SMB1.Enabled || r.SMB1.DomainName != "SMBSWEEP" || r.SMB1.ServerName != "SMBSWEEPCAP" {
				return []string{fmt.Sprintf("smb1 %+v: want enabled, domain SMBSWEEP, server SMBSWEEPCAP", r.SMB1)}
			}
			return nil
		}},

		// The anonymous logon does not use the target info, so it proceeds; the guest logon
		// (NTLMv2 puts the target info in its response) must refuse to build on it.
		{name: "ntlm-avpair-past-end", stages: withGuest, status: probes.StatusSMB, check: emptyNames,
			want: stageWant{"negotiate": ok, "smb1": ok, "session": ok, "guest": errored, "tree": ok, "shares": ok}},
		{name: "ntlm-targetinfo-loop", stages: withGuest, status: probes.StatusSMB, check: emptyNames,
			want: stageWant{"negotiate": ok, "smb1": ok, "session": ok, "guest": errored, "tree": ok, "shares": ok}},
		{name: "ntlm-targetinfo-offset", stages: withGuest, status: probes.StatusSMB, check: noNTLM,
			want: stageWant{"negotiate": ok, "smb1": ok, "session": errored, "guest": errored, "tree": skipped, "shares": skipped}},
		{name: "spnego-non-minimal", status: probes.StatusSMB, want: sessionBroken, check: noNTLM},
		{name: "spnego-indefinite", status: probes.StatusSMB, want: sessionBroken, check: noNTLM},

		{name: "rpc-frag-length-long", status: probes.StatusSMB, want: sharesBroken, check: sharesErr},
		{name: "rpc-frag-length-short", status: probes.StatusSMB, want: sharesBroken, check: sharesErr},
		{name: "ndr-huge-count", status: probes.StatusSMB, want: sharesBroken, check: sharesErr},
		{name: "ndr-huge-string", status: probes.StatusSMB, want: sharesBroken, check: sharesErr},

		// A BIND answered with garbage: SRVSVC and every pipe of the coercion surface say so,
		// nothing is decided from it, and the scan goes on to the next pipe and identity.
		{name: "rpc-bind-garbage", stages: withCoercion, status: probes.StatusSMB,
			want: stageWant{"negotiate": ok, "smb1": ok, "session": ok, "guest": ok, "tree": ok, "shares": errored, "coercion": errored},
			check: func(r *probes.Result) []string {
				var f []string
				if e := r.Stages["coercion"].Error; !strings.Contains(e, "BIND_ACK") || !strings.Contains(e, "anonymous") {
					f = append(f, "coercion error does not name the BIND reply and the identity: "+e)
				}
				if r.RPC == nil || len(r.RPC.Interfaces) != 18 {
					return append(f, fmt.Sprintf("rpc record %+v: want 9 pipes for each of 2 identities", r.RPC))
				}
				for _, in := range r.RPC.Interfaces {
					if in.Outcome != probes.RPCError || in.Reachable != nil || in.Bind != nil {
						f = append(f, fmt.Sprintf("%s %s: outcome %s reachable %s from a garbage BIND reply", in.Identity, in.Pipe, in.Outcome, tri(in.Reachable)))
					}
				}
				if fd := finding(r, probes.FindingCoercibleInterface); fd == nil || fd.Value != nil {
					f = append(f, fmt.Sprintf("coercible_interface_reachable %+v, want null", fd))
				}
				return f
			}},
		{name: "rpc-bind-nak", stages: withCoercion, status: probes.StatusSMB,
			want: stageWant{"negotiate": ok, "smb1": ok, "session": ok, "guest": ok, "tree": ok, "shares": errored, "coercion": ok},
			check: func(r *probes.Result) []string {
				var f []string
				if r.RPC == nil || len(r.RPC.Interfaces) != 18 {
					return []string{fmt.Sprintf("rpc record %+v: want 9 pipes for each of 2 identities", r.RPC)}
				}
				for _, in := range r.RPC.Interfaces {
					if in.Outcome != probes.RPCRejected || tri(in.Reachable) != "false" || probes.StringOr(in.Bind, "") != "bind_nak (protocol_version_not_supported)" {
						f = append(f, fmt.Sprintf("%s %s: outcome %s bind %s, want rejected by bind_nak", in.Identity, in.Pipe, in.Outcome, probes.StringOr(in.Bind, "null")))
					}
				}
				if fd := finding(r, probes.FindingCoercibleInterface); fd == nil || tri(fd.Value) != "false" {
					f = append(f, fmt.Sprintf("coercible_interface_reachable %+v, want false", fd))
				}
				if fd := finding(r, probes.FindingSpoolerRunning); fd == nil || fd.Value != nil {
					f = append(f, fmt.Sprintf("spooler_running %+v, want null: a rejected bind does not tell", fd))
				}
				return f
			}},

		{name: "rst-negotiate", status: probes.StatusConnectionReset, want: deadBothConns},
		{name: "rst-session-setup-1", status: probes.StatusSMB, want: sessionBroken,
			check: func(r *probes.Result) []string { return append(noNTLM(r), noSessionStatus(r)...) }},
		{name: "rst-session-setup-2", status: probes.StatusSMB, want: sessionBroken,
			check: func(r *probes.Result) []string {
				f := noSessionStatus(r)
				if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") != "SWEEP-DEFAULT" {
					f = append(f, "the CHALLENGE must be recorded whatever the logon's outcome")
				}
				return f
			}},
		{name: "rst-tree-connect", status: probes.StatusSMB, want: stageWant{"negotiate": ok, "smb1": ok, "session": ok, "tree": errored, "shares": errored},
			check: func(r *probes.Result) []string {
				if r.Sessions.Null == nil || r.Sessions.Null.Allowed != nil {
					return []string{"null session allowed decided although the IPC$ TREE_CONNECT got no answer"}
				}
				return nil
			}},
		{name: "rst-ioctl", status: probes.StatusSMB, want: sharesBroken},

		{name: "slow-logon", timeout: 6 * time.Second, session: 3 * time.Second, status: probes.StatusSMB, want: allOK,
			check: func(r *probes.Result) []string {
				if d := r.Stages["session"].DurationSeconds; d < hostile.SlowLogonDelay.Seconds()-0.1 {
					return []string{fmt.Sprintf("session took %.2fs, the server delays %s", d, hostile.SlowLogonDelay)}
				}
				return nil
			}},
		{name: "slow-logon/short-session-timeout", server: "slow-logon", timeout: 4 * time.Second, session: time.Second,
			status: probes.StatusSMB, want: stageWant{"negotiate": ok, "smb1": ok, "session": errored, "tree": skipped, "shares": skipped},
			check: func(r *probes.Result) []string {
				var f []string
				if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") == "" {
					f = append(f, "the NTLM fingerprint must not depend on the logon's answer")
				}
				if d := r.Stages["session"].DurationSeconds; d > 1.5 {
					f = append(f, fmt.Sprintf("session stage took %.2fs with a 1s session deadline", d))
				}
				if !strings.Contains(r.Stages["session"].Error, "timeout") {
					f = append(f, "session error does not say timeout: "+r.Stages["session"].Error)
				}
				return f
			}},
		// The server's NTLM timestamp runs 530 s ahead of its SMB2 SystemTime: the host's
		// clock skew comes from SystemTime and says so; ntlm keeps its own view.
		{name: "clock-ntlm-ahead", status: probes.StatusSMB, want: allOK, check: func(r *probes.Result) []string {
			if r.ClockSkewSeconds == nil || r.NTLM == nil || r.NTLM.ClockSkewSeconds == nil {
				return []string{"clock skew missing"}
			}
			var f []string
			if r.ClockSkewSource != probes.ClockSkewNegotiate || math.Abs(*r.ClockSkewSeconds) > 2 {
				f = append(f, fmt.Sprintf("clock_skew_seconds %v from %q, want about 0 from negotiate", *r.ClockSkewSeconds, r.ClockSkewSource))
			}
			if d := *r.NTLM.ClockSkewSeconds - *r.ClockSkewSeconds; math.Abs(d-hostile.NTLMAhead.Seconds()) > 2 {
				f = append(f, fmt.Sprintf("ntlm.clock_skew_seconds %v is %v s from the host's, want %v", *r.NTLM.ClockSkewSeconds, d, hostile.NTLMAhead.Seconds()))
			}
			return f
		}},
		{name: "clock-ntlm-only", status: probes.StatusSMB, want: allOK, check: func(r *probes.Result) []string {
			if r.ClockSkewSeconds == nil || r.ClockSkewSource != probes.ClockSkewNTLM || r.NTLM == nil || r.NTLM.ClockSkewSeconds == nil ||
				*r.ClockSkewSeconds != *r.NTLM.ClockSkewSeconds || math.Abs(*r.ClockSkewSeconds) > 2 {
				return []string{fmt.Sprintf("clock skew %v from %q: want the NTLM one, about 0, without a SystemTime", r.ClockSkewSeconds, r.ClockSkewSource)}
			}
			return nil
		}},
		{name: "clock-zero", status: probes.StatusSMB, want: allOK, check: func(r *probes.Result) []string {
			var f []string
			if r.Negotiate == nil || r.Negotiate.SystemTime != nil || r.Negotiate.BootTime != nil {
				f = append(f, "negotiate.system_time/boot_time must be null for FILETIME 0")
			}
			if r.NTLM == nil || r.NTLM.ServerTime != nil || r.NTLM.ClockSkewSeconds != nil {
				f = append(f, "ntlm.server_time and clock_skew_seconds must be null without a timestamp")
			}
			if r.ClockSkewSeconds != nil || r.ClockSkewSource != "" {
				f = append(f, fmt.Sprintf("clock_skew_seconds %v (%q) without any server time, want null", *r.ClockSkewSeconds, r.ClockSkewSource))
			}
			return f
		}},
		{name: "shares-split-fragment", status: probes.StatusSMB, want: allOK,
			check: func(r *probes.Result) []string {
				if len(r.Shares) < 700 {
					return []string{fmt.Sprintf("%d shares listed, want 700 and IPC$", len(r.Shares))}
				}
				return nil
			}},
		{name: "hostile-strings", status: probes.StatusSMB, want: allOK, check: func(r *probes.Result) []string {
			var f []string
			if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") != hostile.EvilComputer {
				f = append(f, "server strings must be kept as received in the record")
			}
			for _, s := range hostile.EvilShares {
				if !slices.ContainsFunc(r.Shares, func(sh probes.Share) bool { return sh.Name == s.Name }) {
					f = append(f, fmt.Sprintf("share %q missing", s.Name))
				}
			}
			return f
		}},
	}
	for i := range cs {
		c := &cs[i]
		if c.server == "" {
			c.server = c.name
		}
		if c.stages == nil {
			c.stages = hostileStages
		}
		if c.timeout == 0 {
			c.timeout = 3 * time.Second
		}
		if c.session == 0 {
			c.session = 2 * time.Second
		}
	}
	return cs
}

// smb1Unknown checks that an invalid SMB1 reply leaves SMB1 unknown, never false or true.
func smb1Unknown(r *probes.Result) []string {
	if r.SMB1 == nil || r.SMB1.Enabled != nil {
		return []string{"smb1.enabled decided from an invalid SMB1 reply"}
	}
	if f := finding(r, probes.FindingSMB1Enabled); f == nil || f.Value != nil {
		return []string{"smb1_enabled finding decided from an invalid SMB1 reply"}
	}
	return nil
}

// hostileOptions are the probe options of the hostile tests: the scanner's dialer, as in a scan.
func hostileOptions(session time.Duration) *probes.Options {
	return &probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: time.Second}, SessionTimeout: session}
}

func startCase(t *testing.T, name string) *hostile.Server {
	t.Helper()
	hc, found := hostile.Lookup(name)
	if !found {
		t.Fatalf("no hostile case %q", name)
	}
	return hostile.StartT(t, hc.New())
}

// runHostile probes srv with the case's stages and deadlines.
func runHostile(t *testing.T, c hostileCase, srv *hostile.Server) (*probes.Result, time.Duration) {
	t.Helper()
	p, err := probes.NewPipeline(c.stages, hostileOptions(c.session))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	t0 := time.Now()
	r := p.Run(ctx, probes.Target{Addr: srv.Addr.Addr(), Port: srv.Port()})
	return r, time.Since(t0)
}

// TestHostileServers runs every case of the hostile catalog through the pipeline and checks the
// host status, every stage's outcome and the case's own checks, and that the probe ended within
// the host deadline.
func TestHostileServers(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startCase(t, c.server)
			r, wall := runHostile(t, c, srv)
			var fails []string
			if r.Status != c.status {
				fails = append(fails, fmt.Sprintf("status %q (error %q), want %q", r.Status, r.Error, c.status))
			}
			for _, name := range c.stages {
				sr := r.Stages[probes.StageName(name)]
				if sr == nil {
					fails = append(fails, "stage "+name+" missing from the record")
					continue
				}
				if want, ok := c.want[name]; ok && !slices.Contains(strings.Split(string(want), "|"), string(sr.Status)) {
					fails = append(fails, fmt.Sprintf("stage %s: %s (%s%s), want %s", name, sr.Status, sr.Error, sr.Reason, want))
				}
				if sr.Status == errored && sr.Error == "" || sr.Status == skipped && sr.Reason == "" {
					fails = append(fails, "stage "+name+" says "+string(sr.Status)+" without error or reason")
				}
			}
			if slack := c.timeout + 500*time.Millisecond; wall > slack || time.Duration(r.DurationSeconds*float64(time.Second)) > slack {
				fails = append(fails, fmt.Sprintf("probe took %s (recorded %.2fs), host deadline %s", wall, r.DurationSeconds, c.timeout))
			}
			if c.check != nil {
				fails = append(fails, c.check(r)...)
			}
			fails = append(fails, emptyStrings(r)...)
			if _, err := json.Marshal(r); err != nil {
				fails = append(fails, "record does not marshal: "+err.Error())
			}
			report(t, c.knownBug, fails, r)
		})
	}
}

// report fails t with fails, or — for a case marked with a known bug — skips while the failures
// persist and fails once they are gone, so the marker is removed when the bug is fixed.
func report(t *testing.T, knownBug string, fails []string, r *probes.Result) {
	t.Helper()
	switch {
	case knownBug != "" && len(fails) > 0:
		t.Skipf("known bug: %s\nfailing: %s", knownBug, strings.Join(fails, "; "))
	case knownBug != "":
		t.Errorf("passes now: remove the knownBug marker (%s)", knownBug)
	case len(fails) > 0:
		b, _ := json.Marshal(r)
		t.Errorf("%s\nrecord: %s", strings.Join(fails, "\n"), b)
	}
}

// TestHostileCatalogCovered fails when a hostile server of the catalog has no expectation.
func TestHostileCatalogCovered(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range hostileCases() {
		covered[c.server] = true
	}
	for _, hc := range hostile.Cases() {
		if !covered[hc.Name] {
			t.Errorf("hostile case %q (%s) has no expectation in hostileCases", hc.Name, hc.About)
		}
	}
}

// TestHostileSweep scans every hostile server and a well-behaved one in one sweep, the way the
// CLI does: every target yields exactly one record, with its expected status, and the scan runs
// to completion within the host deadline of its slowest targets.
func TestHostileSweep(t *testing.T) {
	t.Parallel()
	cases := hostileCases()
	byTarget := map[string]hostileCase{}
	b := scanner.NewTargetBuilder(445)
	for _, c := range cases {
		if c.server != c.name {
			continue // one target per server
		}
		srv := startCase(t, c.server)
		byTarget[srv.Target()] = c
		if err := b.Add(srv.Target()); err != nil {
			t.Fatal(err)
		}
	}
	good := hostile.StartT(t, (&hostile.SMB{}).Handler())
	if err := b.Add(good.Target()); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := output.NewWriter(output.NewJSONL(&out, "buffer"))
	p, err := probes.NewPipeline(hostileStages, hostileOptions(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	const hostTimeout = 5 * time.Second
	sum, err := sweep.Run(context.Background(), nil, sweep.Config{
		Targets: set, Pipeline: p, Writer: w,
		Scanner: scanner.Config{Concurrency: 16, HostTimeout: hostTimeout, Seed: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if uint64(len(lines)) != set.Len()+1 || sum.Scanned != set.Len() || sum.Interrupted {
		t.Fatalf("%d lines, summary %+v, for %d targets", len(lines), sum, set.Len())
	}
	seen := map[string]bool{}
	for _, l := range lines[:len(lines)-1] {
		var r probes.Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		target := fmt.Sprintf("%s:%d", r.IP, r.Port)
		if seen[target] {
			t.Errorf("%s reported twice", target)
		}
		for _, e := range emptyStrings(&r) { // the records as the JSONL sink wrote them
			t.Errorf("%s: %s", target, e)
		}
		seen[target] = true
		// Every hostile case ends within the host deadline: the deadline is a context on every
		// stage and socket (what runs after it is bookkeeping). This is the functional bound; the
		// sweep's wall time is not asserted (it depends on machine load and on sweep's second
		// look at io-timeout hosts).
		if d := time.Duration(r.DurationSeconds * float64(time.Second)); d > hostTimeout+time.Second {
			t.Errorf("%s took %s, beyond the %s host deadline", target, d, hostTimeout)
		}
		if target == good.Target() {
			if r.Status != probes.StatusSMB || len(r.Shares) != 4 || r.Stages["shares"].Status != ok {
				t.Errorf("well-behaved server: %s", l)
			}
			continue
		}
		c, found := byTarget[target]
		if !found {
			t.Errorf("record for unknown target %s", target)
			continue
		}
		if c.knownBug == "" && r.Status != c.status {
			t.Errorf("%s: status %s, want %s (%s)", c.name, r.Status, c.status, r.Error)
		}
	}
}

// TestHostileMemoryBounded runs the hostile cases that claim 16 MiB (a NetBIOS length, NDR
// counts and string lengths, negotiate context counts, AV pair and security buffer lengths) and
// checks that what the probe allocates stays far below what the peer claimed: nothing is sized
// by the peer. It does not run in parallel: it reads process-wide allocation counters.
func TestHostileMemoryBounded(t *testing.T) {
	const limit = 1 << 20 // bytes allocated by one probe (client and hostile server together)
	measure := func(t *testing.T, srv *hostile.Server) uint64 {
		c := hostileCase{stages: hostileStages, timeout: 3 * time.Second, session: 2 * time.Second}
		runHostile(t, c, srv) // warm up pools and lazily initialised state
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, _ := runHostile(t, c, srv)
		runtime.ReadMemStats(&after)
		srv.Close()
		if r.Status == "" {
			t.Fatal("no result")
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	base := measure(t, startCase(t, "clock-zero")) // a complete, well-behaved probe
	t.Logf("well-behaved probe: %d bytes allocated", base)
	for _, name := range []string{"netbios-length-16m", "ndr-huge-count", "ndr-huge-string", "negotiate-context-count",
		"negotiate-secbuf-length", "ntlm-avpair-past-end", "rpc-frag-length-long", "ntlm-targetinfo-loop"} {
		t.Run(name, func(t *testing.T) {
			got := measure(t, startCase(t, name))
			t.Logf("%d bytes allocated", got)
			if got > limit {
				t.Errorf("a probe allocated %d bytes (limit %d): something is sized by the peer's claim", got, limit)
			}
		})
	}
	// A frame length just at the transport's cap (1 MiB) and then silence: the scanner should
	// not allocate more than it received.
	t.Run("netbios-length-1m-then-silence", func(t *testing.T) {
		got := measure(t, hostile.StartT(t, hostile.NetBIOSLength(1<<20, nil)))
		t.Logf("%d bytes allocated", got)
		if got > 256<<10 {
			t.Errorf("a 1 MiB claim with no payload made the probe allocate %d bytes: the frame buffer must grow "+
				"with the bytes received, not with the peer's claim", got)
		}
	})
}

// pipeDialer connects the pipeline to an in-process hostile handler over net.Pipe: no sockets,
// so the fuzzer below runs thousands of whole probes a second.
type pipeDialer struct {
	h  hostile.Handler
	wg *sync.WaitGroup
}

func (d pipeDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	client, server := net.Pipe()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer server.Close()
		d.h(context.Background(), server)
	}()
	return client, nil
}

// FuzzHostileReply runs the whole pipeline (transport, wire decoders, stages, findings) against a
// scripted server whose reply at one step is the captured Samba reply overwritten at off with
// patch and optionally cut to length. Whatever the bytes, the probe must not panic, must end
// with a status of the vocabulary and a complete stage record, and must marshal.
func FuzzHostileReply(f *testing.F) {
	f.Add(uint8(hostile.StepNegotiate), uint16(hostile.NegContextCount), []byte{0xff, 0xff}, int16(-1))
	f.Add(uint8(hostile.StepNegotiate), uint16(hostile.NegSecBufOffset), []byte{0xf0, 0xff}, int16(-1))
	f.Add(uint8(hostile.StepNegotiate), uint16(0), []byte{0xfd}, int16(-1))
	f.Add(uint8(hostile.StepNegotiate), uint16(0), []byte{}, int16(100))
	f.Add(uint8(hostile.StepSMB1), uint16(67), []byte{0xff, 0xff}, int16(-1))
	f.Add(uint8(hostile.StepSessionSetup1), uint16(wire.HeaderSize+8), []byte{0x81}, int16(-1))
	f.Add(uint8(hostile.StepSessionSetup1), uint16(0x9b), []byte{0xff, 0x7f}, int16(-1))
	f.Add(uint8(hostile.StepSessionSetup2), uint16(wire.HeaderSize+2), []byte{0xff, 0xff}, int16(-1))
	f.Add(uint8(hostile.StepTreeConnect), uint16(8), []byte{0x22, 0, 0, 0xc0}, int16(-1))
	f.Add(uint8(hostile.StepCreate), uint16(wire.HeaderSize), []byte{0x58}, int16(-1))
	f.Add(uint8(hostile.StepBind), uint16(wire.HeaderSize+48+8), []byte{0xff, 0xff}, int16(-1))
	f.Add(uint8(hostile.StepRPC), uint16(wire.HeaderSize+48+24+12), []byte{0xff, 0xff, 0xff, 0x00}, int16(-1))
	f.Add(uint8(hostile.StepRPC), uint16(wire.HeaderSize+48+24+20), []byte{0xff, 0xff, 0xff, 0x00}, int16(-1))
	f.Add(uint8(hostile.StepClose), uint16(wire.HeaderSize), []byte{0}, int16(70))
	stages := []string{"negotiate", "smb1", "session", "guest", "tree", "shares"}
	f.Fuzz(func(t *testing.T, step uint8, off uint16, patch []byte, length int16) {
		target := hostile.Step(int(step) % int(hostile.StepOther+1))
		s := &hostile.SMB{Steps: map[hostile.Step]hostile.Responder{target: func(r *hostile.Request) hostile.Action {
			a := r.Server.Default(r)
			if len(a.Reply) == 0 {
				return a
			}
			msg := a.Reply[0]
			if int(off) <= len(msg) {
				n := copy(msg[off:], patch)
				msg = append(msg, patch[n:]...)
			}
			if length >= 0 && int(length) < len(msg) {
				msg = msg[:length]
			}
			a.Reply[0] = msg
			return a
		}}}
		var wg sync.WaitGroup
		p, err := probes.NewPipeline(stages, &probes.Options{Dialer: pipeDialer{h: s.Handler(), wg: &wg}, SessionTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		r := p.Run(ctx, probes.Target{Addr: netip.MustParseAddr("127.0.0.1"), Port: 445})
		cancel()
		wg.Wait()
		if !slices.Contains(probes.Statuses, r.Status) {
			t.Fatalf("status %q outside the vocabulary", r.Status)
		}
		if strings.Contains(r.Error, "panic") {
			t.Fatalf("probe panicked: %s", r.Error)
		}
		for _, name := range stages {
			sr := r.Stages[probes.StageName(name)]
			if sr == nil || !slices.Contains([]probes.StageStatus{ok, failed, errored, skipped}, sr.Status) {
				t.Fatalf("stage %s: %+v", name, sr)
			}
			if strings.Contains(sr.Error, "panic") {
				t.Fatalf("stage %s panicked: %s", name, sr.Error)
			}
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
