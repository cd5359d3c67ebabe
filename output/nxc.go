package output

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/probes"
)

// NXC writes one line per host in the shape NetExec's `nxc smb` prints, so that results can be
// pasted where people expect that shape:
//
//	SMB         10.0.0.5        445    FS1              [*] 10.0.20348 (name:FS1) (domain:corp.example) (signing:False) (SMBv1:False) (Null Auth:True) (Guest Auth:False) (findings:signing_not_required,null_session)
//
// Each parenthesized item is printed only when the scan decided it (a tri-state that is null
// leaves its item out, as the text view leaves its column blank). Hosts that did not answer SMB
// get "[-] STATUS". Every server-controlled string passes through SanitizeTerminal.
type NXC struct {
	name  string
	color bool
	out   recordBuffer
	b     bytes.Buffer
}

// NewNXC returns the NetExec-shaped sink writing to w; color enables ANSI colours for the
// [*]/[-] markers (pass true only for a terminal without NO_COLOR).
func NewNXC(w io.Writer, name string, color bool) *NXC {
	return &NXC{name: name, color: color, out: newRecordBuffer(w)}
}

// Name implements Sink.
func (n *NXC) Name() string { return n.name }

// Flush implements Sink.
func (n *NXC) Flush() error { return n.out.flush() }

func (n *NXC) paint(code, s string) string {
	if !n.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// prefix writes NetExec's column layout: protocol, address, port, NetBIOS name.
func (n *NXC) prefix(b *bytes.Buffer, r *probes.Result) {
	name := "-"
	if r.NTLM != nil {
		if v := probes.StringOr(r.NTLM.NetBIOSComputerName, ""); v != "" {
			name = SanitizeTerminal(v)
		}
	}
	b.WriteString(n.paint(ansiBold, "SMB") + "         ") // "SMB" in 11 columns, then a space
	fmt.Fprintf(b, "%-15s %-6s %-16s ", SanitizeTerminal(r.IP), strconv.Itoa(int(r.Port)), name)
}

// WriteResult implements Sink.
func (n *NXC) WriteResult(r *probes.Result) error {
	b := &n.b
	b.Reset()
	n.prefix(b, r)
	if r.Status != probes.StatusSMB {
		b.WriteString(n.paint(ansiRed, "[-]") + " " + SanitizeTerminal(string(r.Status)))
		if r.Error != "" {
			b.WriteString(" (" + SanitizeTerminal(r.Error) + ")")
		}
		b.WriteByte('\n')
		return n.out.add(b.Bytes())
	}
	b.WriteString(n.paint(ansiCyan, "[*]") + " " + NXCOS(r))
	for _, item := range NXCItems(r) {
		b.WriteString(" (" + item[0] + ":" + item[1] + ")")
	}
	b.WriteByte('\n')
	return n.out.add(b.Bytes())
}

// NXCOS is the OS text after "[*]", as NetExec words it: the OS the record identified
// (probes.OSInfo) with its build ("Windows Server 2019 (1809) Build 17763"; for Samba the
// SMB1 NativeLanMan when the logon gave one, "Samba 4.17.12-Debian", else "Samba"); without a
// name, the NTLM-reported version (major.minor.build) as the server sent it, else the SMB1
// logon's NativeOS (what NetExec shows for SMB1 hosts, e.g. "Windows 5.1"), else the SMB
// dialect.
func NXCOS(r *probes.Result) string {
	if name := nxcOSName(r); name != "" {
		return SanitizeTerminal(name)
	}
	if r.NTLM != nil {
		if v := probes.StringOr(r.NTLM.OSVersion, ""); v != "" {
			return SanitizeTerminal(v)
		}
	}
	if r.SMB1 != nil && r.SMB1.NativeOS != "" {
		return SanitizeTerminal(r.SMB1.NativeOS)
	}
	if r.Negotiate != nil && r.Negotiate.Dialect != "" {
		return "SMB " + SanitizeTerminal(r.Negotiate.Dialect)
	}
	if r.SMB1 != nil && r.SMB1.Enabled != nil && *r.SMB1.Enabled {
		return "SMB 1"
	}
	return "SMB"
}

// nxcOSName is the identified OS name of NXCOS, "" when the record names none.
func nxcOSName(r *probes.Result) string {
	if r.OS == nil || r.OS.Name == nil {
		return ""
	}
	name := *r.OS.Name
	switch probes.StringOr(r.OS.Family, "") {
	case probes.OSFamilySamba:
		if r.SMB1 != nil && strings.HasPrefix(r.SMB1.NativeLanManager, "Samba ") {
			return r.SMB1.NativeLanManager
		}
	case probes.OSFamilyWindows:
		if f := strings.Split(probes.StringOr(r.OS.Version, ""), "."); len(f) == 3 && f[2] != "0" {
			name += " Build " + f[2] // major.minor.build
		}
	}
	return name
}

// NXCItems returns the parenthesized (key:value) items of an SMB host's line, in NetExec's
// order, leaving out what the scan did not decide; then the true findings. A new item (an OS
// name, a verdict) is one more append here.
func NXCItems(r *probes.Result) [][2]string {
	var items [][2]string
	add := func(k, v string) {
		if v != "" {
			items = append(items, [2]string{k, v})
		}
	}
	if n := r.NTLM; n != nil {
		add("name", SanitizeTerminal(probes.StringOr(n.NetBIOSComputerName, "")))
		domain := probes.StringOr(n.DNSDomainName, "")
		if domain == "" {
			domain = probes.StringOr(n.NetBIOSDomainName, "")
		}
		add("domain", SanitizeTerminal(domain))
	}
	var signing *bool
	if r.Negotiate != nil {
		signing = r.Negotiate.SigningRequired
	} else if r.SMB1 != nil {
		signing = r.SMB1.SigningRequired
	}
	add("signing", pyBool(signing))
	if r.SMB1 != nil {
		add("SMBv1", pyBool(r.SMB1.Enabled))
	}
	if s := r.Sessions.Null; s != nil {
		add("Null Auth", pyBool(s.Allowed))
	}
	if s := r.Sessions.Guest; s != nil {
		add("Guest Auth", pyBool(s.Allowed))
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range trueFindings(r) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, SanitizeTerminal(id))
		}
	}
	add("findings", strings.Join(ids, ","))
	return items
}

// pyBool spells a tri-state the way NetExec (Python) does: True, False, or "" when unknown.
func pyBool(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "True"
	}
	return "False"
}

// WriteSummary implements Sink: one "[*]" line with the counts, in the same shape.
func (n *NXC) WriteSummary(s *probes.Summary) error {
	b := &n.b
	b.Reset()
	dur := time.Duration(s.DurationSeconds * float64(time.Second)).Round(time.Millisecond)
	fmt.Fprintf(b, "%s %d of %d targets scanned in %s", n.paint(ansiCyan, "[*]"), s.Scanned, s.Targets, dur)
	var parts []string
	for _, st := range probes.Statuses {
		if c := s.Statuses[string(st)]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", st, c))
		}
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	if s.Interrupted {
		b.WriteString(" (interrupted)")
	}
	b.WriteByte('\n')
	for _, e := range s.Errors {
		b.WriteString(n.paint(ansiRed, "[-]") + " error: " + SanitizeTerminal(e) + "\n")
	}
	return n.out.add(b.Bytes())
}
