package output

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/probes"
)

// Text writes a terminal view: one banner line per host, the host's true findings indented below
// it (in nmap's wording where nmap has one), its shares with per-identity access, and a closing
// summary block. Every server-controlled string passes through SanitizeTerminal; ANSI colours are
// used only when enabled (for a TTY) and only from this code, never from record contents.
type Text struct {
	name  string
	color bool
	out   recordBuffer
	b     bytes.Buffer // one host block, reused
}

// NewText returns a text sink writing to w; name identifies it in errors; color enables ANSI
// colours (pass true only when w is a terminal).
func NewText(w io.Writer, name string, color bool) *Text {
	return &Text{name: name, color: color, out: newRecordBuffer(w)}
}

// Name implements Sink.
func (t *Text) Name() string { return t.name }

// Flush implements Sink.
func (t *Text) Flush() error { return t.out.flush() }

// ANSI SGR sequences.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

func (t *Text) paint(code, s string) string {
	if !t.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// unknown is how the text view shows a value that is null or empty.
const unknown = "?"

// Column widths of the host line, so that the hosts of a stream line up without buffering:
// the longest IPv4 host:port, then "SMB 3.1.1", "signing:required", "smb1:yes", "null:yes",
// "guest:yes". A longer cell (an IPv6 address, a host name) pushes its line's later columns.
const (
	addrWidth    = len("255.255.255.255:65535")
	versionWidth = len("SMB 3.1.1")
	signingWidth = len("signing:required")
	smb1Width    = len("smb1:yes")
	nullWidth    = len("null:yes")
	guestWidth   = len("guest:yes")
)

// cell writes s (already sanitized) painted with code, padded to width visible columns, and the
// two spaces that separate columns. An empty s leaves the column blank: a value the profile did
// not decide is not printed (no runs of "?"); trailing blanks are trimmed at the end of the line.
func (t *Text) cell(b *bytes.Buffer, code, s string, width int) {
	b.WriteString(t.paint(code, s))
	if n := utf8.RuneCountInString(s); n < width {
		b.WriteString(strings.Repeat(" ", width-n))
	}
	b.WriteString("  ")
}

// WriteResult implements Sink.
func (t *Text) WriteResult(r *probes.Result) error {
	b := &t.b
	b.Reset()
	addr := net.JoinHostPort(SanitizeTerminal(r.IP), strconv.Itoa(int(r.Port)))
	if r.Host != "" {
		addr += " (" + SanitizeTerminal(r.Host) + ")"
	}
	t.cell(b, ansiBold, addr, addrWidth)
	if r.Status == probes.StatusSMB {
		t.banner(b, r)
	} else {
		t.cell(b, ansiDim, SanitizeTerminal(string(r.Status)), 0)
		if r.Error != "" {
			b.WriteString("error: " + SanitizeTerminal(r.Error))
		}
	}
	trimTrailingSpaces(b)
	b.WriteByte('\n')
	t.portsTried(b, r)
	t.incomplete(b, r)
	t.identity(b, r)
	t.nbstat(b, r)
	t.dialects(b, r)
	t.findings(b, r)
	t.auth(b, r)
	t.shares(b, r)
	return t.out.add(b.Bytes())
}

// dialects lists what -profile full (-enum-dialects) enumerated: every dialect the server
// accepted and every 3.1.1 cipher; nothing when they were not enumerated.
func (t *Text) dialects(b *bytes.Buffer, r *probes.Result) {
	n := r.Negotiate
	if n == nil || (n.Dialects == nil && n.Ciphers == nil) {
		return
	}
	list := func(title string, vs []string) {
		if vs == nil {
			return
		}
		b.WriteString("  " + title + ":")
		if len(vs) == 0 {
			b.WriteString(" none")
		}
		for _, v := range vs {
			b.WriteString(" " + SanitizeTerminal(v))
		}
	}
	list("dialects", n.Dialects)
	list("ciphers", n.Ciphers)
	b.WriteByte('\n')
}

// portsTried says, with -ports, which ports were tried before the one shown.
func (t *Text) portsTried(b *bytes.Buffer, r *probes.Result) {
	if len(r.PortsTried) < 2 {
		return
	}
	b.WriteString("  ports tried:")
	for _, p := range r.PortsTried {
		b.WriteString(" " + strconv.Itoa(int(p)))
	}
	if r.Status == probes.StatusSMB {
		b.WriteString(" (answered on " + strconv.Itoa(int(r.Port)) + ")")
	}
	b.WriteByte('\n')
}

// incomplete names the stages the record misses although the host answered, and why.
func (t *Text) incomplete(b *bytes.Buffer, r *probes.Result) {
	if len(r.Incomplete) == 0 {
		return
	}
	b.WriteString("  " + t.paint(ansiYellow, "incomplete:"))
	for _, name := range r.Incomplete {
		why := ""
		if sr := r.Stages[name]; sr != nil {
			why = sr.Error
			if why == "" {
				why = sr.Reason
			}
		}
		b.WriteString(" " + SanitizeTerminal(string(name)))
		if why != "" {
			b.WriteString(" (" + SanitizeTerminal(why) + ")")
		}
	}
	b.WriteByte('\n')
}

// auth prints the credentialed logon, when the scan had credentials: who, and how the session
// was protected, or why it was refused.
func (t *Text) auth(b *bytes.Buffer, r *probes.Result) {
	a := r.Auth
	if a == nil {
		return
	}
	who := SanitizeTerminal(a.User)
	if d := probes.StringOr(a.Domain, ""); d != "" {
		who = SanitizeTerminal(d) + `\` + who
	}
	b.WriteString("  auth: " + who + "  ")
	if a.Success == nil || !*a.Success {
		what := "did not complete"
		if a.Status != nil {
			what = "refused " + SanitizeTerminal(*a.Status)
		}
		b.WriteString(t.paint(ansiDim, what) + "\n")
		return
	}
	b.WriteString("ok  SMB " + SanitizeTerminal(a.Dialect))
	if a.Signing != nil && *a.Signing {
		b.WriteString("  signed " + SanitizeTerminal(a.SigningAlgorithm))
	}
	if a.Encryption != nil && *a.Encryption {
		b.WriteString("  encrypted " + SanitizeTerminal(a.Cipher))
	}
	b.WriteByte('\n')
}

// banner writes the SMB host's columns: version, signing, SMB1, null and guest sessions, then
// the NTLM names and OS version. Each column is blank when the profile did not decide it.
func (t *Text) banner(b *bytes.Buffer, r *probes.Result) {
	version := "SMB"
	switch {
	case r.Negotiate != nil && r.Negotiate.Dialect != "":
		version = "SMB " + SanitizeTerminal(r.Negotiate.Dialect)
	case r.SMB1 != nil && r.SMB1.Enabled != nil && *r.SMB1.Enabled:
		version = "SMB 1"
	}
	signing := unknown
	if n := r.Negotiate; n != nil {
		signing = signingMode(n.SigningEnabled, n.SigningRequired)
	} else if s := r.SMB1; s != nil {
		signing = signingMode(s.SigningEnabled, s.SigningRequired)
	}
	var smb1, null, guest *bool
	if r.SMB1 != nil {
		smb1 = r.SMB1.Enabled
	}
	if r.Sessions.Null != nil {
		null = r.Sessions.Null.Allowed
	}
	if r.Sessions.Guest != nil {
		guest = r.Sessions.Guest.Allowed
	}
	t.cell(b, "", version, versionWidth)
	t.cell(b, "", labelled("signing", signing), signingWidth)
	t.cell(b, "", labelled("smb1", yesNo(smb1)), smb1Width)
	t.cell(b, "", labelled("null", yesNo(null)), nullWidth)
	t.cell(b, "", labelled("guest", yesNo(guest)), guestWidth)
	if n := r.NTLM; n != nil {
		for _, kv := range [][2]string{{"name", probes.StringOr(n.NetBIOSComputerName, "")},
			{"domain", probes.StringOr(n.NetBIOSDomainName, "")}, {"os", probes.StringOr(n.OSVersion, "")}} {
			if kv[1] != "" {
				t.cell(b, "", kv[0]+":"+SanitizeTerminal(kv[1]), 0)
			}
		}
	}
}

// labelled is "key:value", or "" (a blank column) when value is unknown.
func labelled(key, value string) string {
	if value == unknown {
		return ""
	}
	return key + ":" + value
}

// signingMode condenses the SecurityMode bits: required, optional (enabled, not required),
// disabled, or ? when unknown.
func signingMode(enabled, required *bool) string {
	switch {
	case required != nil && *required:
		return "required"
	case required == nil:
		return unknown
	case enabled != nil && *enabled:
		return "optional"
	case enabled != nil:
		return "disabled"
	}
	return unknown
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return unknown
	case *b:
		return "yes"
	}
	return "no"
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return SanitizeTerminal(s)
}

func (t *Text) severity(sev string) string {
	label := "[" + SanitizeTerminal(sev) + "]"
	pad := ""
	if n := utf8.RuneCountInString(label); n < 8 {
		pad = "        "[:8-n]
	}
	code := ""
	switch sev {
	case "critical", "high":
		code = ansiRed
	case "medium":
		code = ansiYellow
	case "low":
		code = ansiCyan
	}
	return t.paint(code, label) + pad
}

// identity writes what the host is, when the record names it: the OS (with the NTLM-reported
// version it was named from), the SMB1 logon's NativeOS / NativeLanMan, whether the host speaks
// SMB1 only (its session stages then ran over SMB1) and whether it is a domain controller.
func (t *Text) identity(b *bytes.Buffer, r *probes.Result) {
	var parts []string
	if os := r.OS; os != nil && os.Name != nil {
		p := "os: " + SanitizeTerminal(*os.Name)
		if os.Version != nil {
			p += " (NTLM " + SanitizeTerminal(*os.Version) + ")"
		}
		parts = append(parts, p)
	}
	if s := r.SMB1; s != nil && (s.NativeOS != "" || s.NativeLanManager != "") {
		parts = append(parts, "smb1 native os: "+SanitizeTerminal(strings.TrimSpace(s.NativeOS+" / "+s.NativeLanManager)))
	}
	if s := r.SMB1; s != nil && s.Only {
		parts = append(parts, "protocol: SMB1 only (no SMB2; sessions, shares and access over SMB1)")
	}
	if dc := r.DomainController; dc != nil && dc.Value != nil && *dc.Value {
		parts = append(parts, t.paint(ansiBold, "domain controller"))
	}
	if parts != nil {
		b.WriteString("  " + strings.Join(parts, "  ") + "\n")
	}
}

// findings writes the host's true findings, one line each; a verdict finding gets nmap's two
// lines ("VULNERABLE: ...", "State: ..."). A verdict the host's checks ran for but could not
// decide is written too, with its reason, in nmap's words ("State: UNKNOWN (unable to test)"):
// unknown is never safe, so it is not left out as a false finding is. (On a host that did not
// answer SMB the error line already says why nothing was decided.) A severity raised on a
// domain controller says so.
func (t *Text) findings(b *bytes.Buffer, r *probes.Result) {
	seen := make(map[string]bool, len(r.Findings))
	for _, f := range r.Findings {
		unknown := f.State == probes.StateUnknown && r.Status == probes.StatusSMB
		if (f.Value == nil || !*f.Value) && !unknown || seen[f.ID] {
			continue
		}
		seen[f.ID] = true
		suffix := ""
		if f.SeverityReason != "" {
			suffix = " " + t.paint(ansiDim, "(severity raised: domain controller)")
		}
		if f.State != "" {
			indent := "  " + strings.Repeat(" ", max(8, utf8.RuneCountInString(f.Severity)+2)) + "   "
			if unknown {
				b.WriteString("  " + t.severity(f.Severity) + " " + verdictTitle(f) + suffix + "\n")
				b.WriteString(indent + "State: UNKNOWN (unable to test): " + SanitizeTerminal(strings.TrimPrefix(f.Reason, "unknown: ")) + "\n")
				continue
			}
			b.WriteString("  " + t.severity(f.Severity) + " VULNERABLE: " + verdictTitle(f) + suffix + "\n")
			b.WriteString(indent + "State: " + verdictState(f.State) + "\n")
			continue
		}
		for _, line := range findingLines(f.ID, r) {
			b.WriteString("  " + t.severity(f.Severity) + " " + line + suffix + "\n")
		}
	}
}

// verdictTitle is nmap's title of a vulnerability check (its smb-vuln-* scripts' wording), with
// the CVE ids.
func verdictTitle(f probes.Finding) string {
	title := SanitizeTerminal(f.ID)
	switch f.ID {
	case probes.FindingSMBGhost:
		title = "Remote Code Execution vulnerability in Microsoft SMBv3 compression (SMBGhost)"
	case probes.FindingMS17010:
		title = "Remote Code Execution vulnerability in Microsoft SMBv1 servers (ms17-010)"
	case probes.FindingDoublePulsar:
		title = "Double Pulsar SMB Backdoor"
	}
	if len(f.CVE) > 0 {
		title += " " + SanitizeTerminal(strings.Join(f.CVE, ", "))
	}
	return title
}

// verdictState words a verdict state as nmap's vulns library does.
func verdictState(state string) string {
	switch state {
	case probes.StateVulnerable:
		return "VULNERABLE"
	case probes.StateLikely:
		return "LIKELY VULNERABLE"
	case probes.StateNotVulnerable:
		return "NOT VULNERABLE"
	}
	return "UNKNOWN"
}

// findingLines words one true finding, nmap-style where nmap has a phrase for it. Share findings
// name each share the record shows with that access (as docs/schema.md defines the finding: IPC$
// does not count as a readable share; writes count for the anonymous and guest identities).
func findingLines(id string, r *probes.Result) []string {
	switch id {
	case probes.FindingSMB1Enabled:
		return []string{"SMBv1 enabled"}
	case probes.FindingSigningNotRequired:
		// nmap smb2-security-mode's phrases.
		var enabled *bool
		if r.Negotiate != nil {
			enabled = r.Negotiate.SigningEnabled
		} else if r.SMB1 != nil {
			enabled = r.SMB1.SigningEnabled
		}
		if enabled != nil && !*enabled {
			return []string{"Message signing is disabled and not required!"}
		}
		return []string{"Message signing enabled but not required"}
	case probes.FindingNullSession:
		return []string{"Anonymous (null) session allowed"}
	case probes.FindingGuestSession:
		return []string{"Guest session allowed"}
	case probes.FindingAnonymousShareReadable:
		return shareLines("Share readable anonymously", r, func(s probes.Share, a probes.ShareAccess) bool {
			return !strings.EqualFold(s.Name, "IPC$") && a.Identity == "anonymous" && a.Read != nil && *a.Read
		})
	case probes.FindingShareWritable:
		return shareLines("Share writable", r, func(_ probes.Share, a probes.ShareAccess) bool {
			return (a.Identity == probes.IdentityAnonymous || a.Identity == probes.IdentityGuest) && a.Write != nil && *a.Write
		})
	case probes.FindingSMB3Unsupported:
		return []string{"SMB 3.x not supported"}
	case probes.FindingEncryptionUnsupported:
		return []string{"SMB encryption not supported"}
	case probes.FindingCoercibleInterface, probes.FindingCoercibleCredentialed:
		credentialed := id == probes.FindingCoercibleCredentialed
		var lines []string
		if r.RPC != nil {
			for _, in := range r.RPC.Interfaces {
				if in.Reachable != nil && *in.Reachable && (in.Identity == probes.IdentityUser) == credentialed {
					lines = append(lines, "Coercible RPC interface reachable: "+SanitizeTerminal(in.Interface+` on \`+in.Pipe+" ("+in.Identity+")"))
				}
			}
		}
		if len(lines) == 0 {
			lines = []string{"Coercible RPC interface reachable"}
		}
		return lines
	case probes.FindingWebClientRunning:
		return []string{"WebClient service running"}
	case probes.FindingSpoolerRunning:
		return []string{"Print Spooler service running"}
	case probes.FindingAnonymousLSA, probes.FindingAnonymousSIDTranslation, probes.FindingAnonymousPasswordPolicy:
		return lsaSAMRLines(id, r)
	}
	return []string{SanitizeTerminal(id)}
}

func shareLines(phrase string, r *probes.Result, match func(probes.Share, probes.ShareAccess) bool) []string {
	var lines []string
	for _, s := range r.Shares {
		for _, a := range s.Access {
			if match(s, a) {
				lines = append(lines, phrase+": "+SanitizeTerminal(s.Name))
				break
			}
		}
	}
	if lines == nil {
		lines = []string{phrase}
	}
	return lines
}

// shares writes the share list: name, type, each identity's access, and the comment.
func (t *Text) shares(b *bytes.Buffer, r *probes.Result) {
	if len(r.Shares) == 0 {
		return
	}
	names := make([]string, len(r.Shares))
	nameWidth, typeWidth := 0, 0
	for i, s := range r.Shares {
		names[i] = SanitizeTerminal(s.Name)
		nameWidth = max(nameWidth, utf8.RuneCountInString(names[i]))
		typeWidth = max(typeWidth, utf8.RuneCountInString(SanitizeTerminal(s.Type)))
	}
	b.WriteString("  shares:\n")
	for i, s := range r.Shares {
		fmt.Fprintf(b, "    %s%*s  %s%*s", names[i], nameWidth-utf8.RuneCountInString(names[i]), "",
			SanitizeTerminal(s.Type), typeWidth-utf8.RuneCountInString(SanitizeTerminal(s.Type)), "") // blank when unknown
		for _, a := range s.Access {
			b.WriteString("  " + orUnknown(a.Identity) + ":" + accessWord(a))
		}
		if s.Comment != "" {
			b.WriteString(`  "` + SanitizeTerminal(s.Comment) + `"`)
		}
		// Trim the padding of a share without access entries or comment.
		trimTrailingSpaces(b)
		b.WriteByte('\n')
	}
}

func trimTrailingSpaces(b *bytes.Buffer) {
	p := b.Bytes()
	n := len(p)
	for n > 0 && p[n-1] == ' ' {
		n--
	}
	b.Truncate(n)
}

// accessWord summarizes one identity's access to a share: the tree connect status when it failed,
// else read, write, read+write, none (both false), "connected" when the tree connect succeeded
// but access was not checked, or ? (not decided).
func accessWord(a probes.ShareAccess) string {
	tc := probes.StringOr(a.TreeConnect, "")
	if tc != "" && tc != "STATUS_SUCCESS" {
		return SanitizeTerminal(tc)
	}
	read := a.Read != nil && *a.Read
	write := a.Write != nil && *a.Write
	switch {
	case read && write:
		return "read+write"
	case read:
		return "read"
	case write:
		return "write"
	case a.Read != nil && a.Write != nil:
		return "none"
	case tc == "STATUS_SUCCESS" && a.Read == nil && a.Write == nil:
		return "connected"
	}
	return unknown
}

// WriteSummary implements Sink: a closing block with the counts per status and per finding
// (non-zero ones only) and the run's errors.
func (t *Text) WriteSummary(s *probes.Summary) error {
	b := &t.b
	b.Reset()
	dur := time.Duration(s.DurationSeconds * float64(time.Second)).Round(time.Millisecond)
	fmt.Fprintf(b, "\n%s %d of %d targets scanned in %s", t.paint(ansiBold, "Summary:"), s.Scanned, s.Targets, dur)
	if s.Interrupted {
		b.WriteString(" " + t.paint(ansiYellow, "(interrupted)"))
	}
	b.WriteByte('\n')
	if s.Incomplete > 0 {
		fmt.Fprintf(b, "  %s %d hosts answered SMB but miss stages after the recheck (see \"incomplete\" in their records)\n",
			t.paint(ansiYellow, "incomplete:"), s.Incomplete)
	}
	writeCounts(b, "statuses", s.Statuses, statusOrder())
	writeCounts(b, "findings", s.Findings, FindingIDs)
	writeVerdicts(b, s.Verdicts)
	if p := s.Pacing; p != nil {
		b.WriteString("  " + pacingWords(p) + "\n")
	}
	for _, e := range s.Errors {
		b.WriteString("  error: " + SanitizeTerminal(e) + "\n")
	}
	return t.out.add(b.Bytes())
}

func statusOrder() []string {
	order := make([]string, len(probes.Statuses))
	for i, s := range probes.Statuses {
		order[i] = string(s)
	}
	return order
}

// writeCounts writes the non-zero counts of m, known keys in order first, then any others sorted.
func writeCounts(b *bytes.Buffer, title string, m map[string]int, order []string) {
	known := make(map[string]bool, len(order))
	keys := make([]string, 0, len(m))
	for _, k := range order {
		known[k] = true
		if m[k] != 0 {
			keys = append(keys, k)
		}
	}
	var extra []string
	for k, v := range m {
		if !known[k] && v != 0 {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	keys = append(keys, extra...)
	fmt.Fprintf(b, "  %s:", title)
	if len(keys) == 0 {
		b.WriteString(" none\n")
		return
	}
	b.WriteByte('\n')
	width := 0
	for _, k := range keys {
		width = max(width, utf8.RuneCountInString(SanitizeTerminal(k)))
	}
	for _, k := range keys {
		name := SanitizeTerminal(k)
		fmt.Fprintf(b, "    %s%*s  %d\n", name, width-utf8.RuneCountInString(name), "", m[k])
	}
}

// writeVerdicts writes, for each verdict id some SMB host has a state of, its non-zero state
// counts on one line ("ms17_010  not_vulnerable 3, unknown 1"); nothing when no host has one.
func writeVerdicts(b *bytes.Buffer, v map[string]map[string]int) {
	type line struct{ id, counts string }
	var lines []line
	width := 0
	for _, id := range probes.VerdictIDs {
		var parts []string
		for _, st := range probes.VerdictStates {
			if n := v[id][st]; n != 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, n))
			}
		}
		if parts != nil {
			width = max(width, len(id))
			lines = append(lines, line{id, strings.Join(parts, ", ")})
		}
	}
	if lines == nil {
		return
	}
	b.WriteString("  verdicts (hosts that answered SMB):\n")
	for _, l := range lines {
		fmt.Fprintf(b, "    %-*s  %s\n", width, l.id, l.counts)
	}
}

// pacingWords says how the scan paced its probes, in plain words.
func pacingWords(p *probes.Pacing) string {
	w := fmt.Sprintf("pacing: at most %d hosts probed at once (limit %d)", p.PeakProbes, p.Slots)
	if p.ConnectAhead == 0 {
		return w
	}
	w += fmt.Sprintf("; up to %d more waited for their TCP handshake", p.ConnectAhead)
	if p.Decreases > 0 {
		w += fmt.Sprintf("; slowed down %s because %s stopped answering, reset or timed out", times(p.Decreases), plural(p.OverloadSigns, "host", "hosts"))
	}
	if p.QueueingEpochs > 0 {
		w += fmt.Sprintf("; held steady %s because probes queued", times(p.QueueingEpochs))
	}
	return w + fmt.Sprintf("; %d probes at once allowed at the end", p.Window)
}

func times(n uint64) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// nbstat writes the host's NBSTAT answer (UDP 137), nbtstat -A style: what the names say (computer
// name, workgroup or domain, MAC, logged-on users, master browser, domain controller), then every
// name with its suffix and whether it is a group. Nothing when the host did not answer: silence on
// 137 is the norm. A host that answered only there still gets these lines under its TCP status.
func (t *Text) nbstat(b *bytes.Buffer, r *probes.Result) {
	nb := r.NBStat
	if nb == nil || nb.Answered == nil || !*nb.Answered {
		return
	}
	var parts []string
	for _, kv := range [][2]string{{"name", probes.StringOr(nb.ComputerName, "")}, {"workgroup", probes.StringOr(nb.Workgroup, "")},
		{"mac", probes.StringOr(nb.MAC, "")}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+":"+SanitizeTerminal(kv[1]))
		}
	}
	if len(nb.Users) > 0 {
		users := make([]string, len(nb.Users))
		for i, u := range nb.Users {
			users[i] = SanitizeTerminal(u)
		}
		parts = append(parts, "users:"+strings.Join(users, ","))
	}
	if nb.MasterBrowser != nil && *nb.MasterBrowser {
		parts = append(parts, "master browser")
	}
	if nb.DomainController != nil && *nb.DomainController {
		parts = append(parts, t.paint(ansiBold, "domain controller <1C>"))
	}
	if len(parts) == 0 {
		parts = []string{"answered, no names"}
	}
	b.WriteString("  netbios: " + strings.Join(parts, "  ") + "\n")
	if len(nb.Names) == 0 {
		return
	}
	names := make([]string, len(nb.Names))
	for i, n := range nb.Names {
		kind := "unique"
		if n.Group {
			kind = "group"
		}
		names[i] = SanitizeTerminal(n.Name) + "<" + strings.ToUpper(strings.TrimPrefix(SanitizeTerminal(n.Suffix), "0x")) + "> " + kind
	}
	b.WriteString("  names: " + strings.Join(names, ", ") + "\n")
}
