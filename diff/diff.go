// Package diff compares two scan runs (JSONL files of docs/schema.md) and lists what changed
// per host: SMB service appeared or disappeared, SMB1 turned on or off, the signing
// requirement flipped, null session access changed, an anonymously reachable share was added
// or removed, the dialect changed. The daemon writes one <run>.diff.jsonl per run with it and
// `smbsweep diff OLD NEW` prints the same.
//
// Unknown is never a change: a host that timed out this time (its findings null) does not
// "turn SMB1 off"; only a value observed true in one run and false in the other counts.
package diff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

// Change types (the "type" of a diff line).
const (
	HostAppeared       = "host_appeared"        // the host speaks SMB now and did not before
	HostDisappeared    = "host_disappeared"     // the host spoke SMB before and now refuses the port or speaks something else
	HostNoAnswer       = "host_no_answer"       // the host spoke SMB before and gave no answer this time (unknown, not gone)
	SMB1Changed        = "smb1_changed"         // smb1.enabled flipped
	SigningChanged     = "signing_changed"      // negotiate.signing_required flipped
	NullSessionChanged = "null_session_changed" // sessions.null.allowed flipped
	ShareAdded         = "share_added"          // a share became reachable anonymously
	ShareRemoved       = "share_removed"        // a share is no longer reachable anonymously
	DialectChanged     = "dialect_changed"      // negotiate.dialect changed
)

const (
	maxLineBytes       = 64 << 20
	statusSMB          = string(probes.StatusSMB)
	identityAnonymous  = "anonymous"
	treeConnectSuccess = "STATUS_SUCCESS"
	ipcShare           = "IPC$"
)

// typeOrder orders the changes of one host.
var typeOrder = []string{HostAppeared, HostDisappeared, HostNoAnswer, SMB1Changed, SigningChanged, NullSessionChanged,
	ShareAdded, ShareRemoved, DialectChanged}

// Change is one line of a diff. Old and New are the values before and after (null when there
// was none: a share that did not exist, a host that was not in the run).
type Change struct {
	Type  string `json:"type"`
	IP    string `json:"ip"`
	Port  uint16 `json:"port"`
	Host  string `json:"host,omitempty"`
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Run is one scan file: its host records by ip:port and its summary (nil when the file has
// none, e.g. a run cut off by a crash).
type Run struct {
	Hosts   map[Key]*probes.Result
	Summary *probes.Summary
	// Lines counts the non-blank lines read, Records those that were host records or the
	// summary: a file with lines but no records is not a scan (see smbsweep diff).
	Lines, Records int
}

// Key identifies a host across runs.
type Key struct {
	IP   string
	Port uint16
}

// Interrupted reports whether the run did not scan every target: then hosts missing from it
// say nothing.
func (r *Run) Interrupted() bool { return r.Summary == nil || r.Summary.Interrupted }

// ReadFile reads a run from a JSONL file.
func ReadFile(path string) (*Run, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Read reads a run from JSONL. Lines of other types are ignored; a line that is not JSON is an
// error naming its line number.
func Read(rd io.Reader) (*Run, error) {
	run := &Run{Hosts: make(map[Key]*probes.Result)}
	br := bufio.NewReaderSize(rd, 64<<10)
	for line := 1; ; line++ {
		b, err := readLine(br)
		if len(bytes.TrimSpace(b)) > 0 {
			run.Lines++
			var head struct {
				Type string `json:"type"`
			}
			if jerr := json.Unmarshal(b, &head); jerr != nil {
				return nil, fmt.Errorf("line %d: not a JSON object: %v", line, jerr)
			}
			switch head.Type {
			case "host":
				var res probes.Result
				if jerr := json.Unmarshal(b, &res); jerr != nil {
					return nil, fmt.Errorf("line %d: host record: %v", line, jerr)
				}
				run.Hosts[Key{res.IP, res.Port}] = &res
				run.Records++
			case "summary":
				var s probes.Summary
				if jerr := json.Unmarshal(b, &s); jerr != nil {
					return nil, fmt.Errorf("line %d: summary: %v", line, jerr)
				}
				run.Summary = &s
				run.Records++
			}
		}
		if errors.Is(err, io.EOF) {
			return run, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLineBytes {
			return nil, fmt.Errorf("line longer than %d MiB", maxLineBytes>>20)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}

// Compare lists the changes from old to new, ordered by address, port and change type. When
// new was interrupted, hosts missing from it are not reported as disappeared (and likewise
// hosts missing from an interrupted old run are not reported as appeared).
func Compare(old, cur *Run) []Change {
	keys := make([]Key, 0, len(old.Hosts)+len(cur.Hosts))
	for k := range old.Hosts {
		keys = append(keys, k)
	}
	for k := range cur.Hosts {
		if _, ok := old.Hosts[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	var out []Change
	for _, k := range keys {
		o, n := old.Hosts[k], cur.Hosts[k]
		if (o == nil && old.Interrupted()) || (n == nil && cur.Interrupted()) {
			continue
		}
		out = append(out, compareHost(k, o, n)...)
	}
	return out
}

func compareKeys(a, b Key) int {
	aa, aerr := netip.ParseAddr(a.IP)
	ba, berr := netip.ParseAddr(b.IP)
	switch {
	case aerr == nil && berr == nil:
		if c := aa.Compare(ba); c != 0 {
			return c
		}
	case a.IP != b.IP:
		return strings.Compare(a.IP, b.IP)
	}
	return int(a.Port) - int(b.Port)
}

func compareHost(k Key, o, n *probes.Result) []Change {
	var out []Change
	add := func(typ, field string, ov, nv any) {
		c := Change{Type: typ, IP: k.IP, Port: k.Port, Field: field, Old: ov, New: nv}
		if n != nil {
			c.Host = n.Host
		} else if o != nil {
			c.Host = o.Host
		}
		out = append(out, c)
	}
	oSMB, nSMB := o != nil && string(o.Status) == statusSMB, n != nil && string(n.Status) == statusSMB
	switch {
	case !oSMB && nSMB:
		add(HostAppeared, "status", statusOf(o), statusSMB)
		return out
	case oSMB && !nSMB && n != nil && unknownStatus(n.Status):
		// A timeout, a reset or an error says nothing about SMB: unknown, never gone.
		add(HostNoAnswer, "status", statusSMB, statusOf(n))
		return out
	case oSMB && !nSMB:
		add(HostDisappeared, "status", statusSMB, statusOf(n))
		return out
	case !oSMB && !nSMB:
		return nil
	}
	if ov, nv := smb1Enabled(o), smb1Enabled(n); ov != nil && nv != nil && *ov != *nv {
		add(SMB1Changed, "smb1.enabled", *ov, *nv)
	}
	if ov, nv := signingRequired(o), signingRequired(n); ov != nil && nv != nil && *ov != *nv {
		add(SigningChanged, "negotiate.signing_required", *ov, *nv)
	}
	if ov, nv := nullAllowed(o), nullAllowed(n); ov != nil && nv != nil && *ov != *nv {
		add(NullSessionChanged, "sessions.null.allowed", *ov, *nv)
	}
	if was, ok1 := anonymousShares(o); ok1 {
		if ns, ok2 := anonymousShares(n); ok2 {
			for _, s := range ns {
				if !slices.Contains(was, s) {
					add(ShareAdded, "shares", nil, s)
				}
			}
			for _, s := range was {
				if !slices.Contains(ns, s) {
					add(ShareRemoved, "shares", s, nil)
				}
			}
		}
	}
	if o.Negotiate != nil && n.Negotiate != nil && o.Negotiate.Dialect != "" && n.Negotiate.Dialect != "" &&
		o.Negotiate.Dialect != n.Negotiate.Dialect {
		add(DialectChanged, "negotiate.dialect", o.Negotiate.Dialect, n.Negotiate.Dialect)
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		return slices.Index(typeOrder, a.Type) - slices.Index(typeOrder, b.Type)
	})
	return out
}

// unknownStatus reports whether a host status leaves SMB undecided: only a refused port and an
// answer that is not SMB say that SMB is not there.
func unknownStatus(s probes.Status) bool {
	return s != probes.StatusSMB && s != probes.StatusNotSMB && s != probes.StatusConnectionRefused
}

func statusOf(r *probes.Result) any {
	if r == nil {
		return nil
	}
	return string(r.Status)
}

func smb1Enabled(r *probes.Result) *bool {
	if r.SMB1 == nil {
		return nil
	}
	return r.SMB1.Enabled
}

func signingRequired(r *probes.Result) *bool {
	if r.Negotiate == nil {
		return nil
	}
	return r.Negotiate.SigningRequired
}

func nullAllowed(r *probes.Result) *bool {
	if r.Sessions.Null == nil {
		return nil
	}
	return r.Sessions.Null.Allowed
}

// anonymousShares returns the shares other than IPC$ the anonymous identity tree-connected,
// sorted, and whether the run decided that at all (the tree stage ran to an answer).
func anonymousShares(r *probes.Result) ([]string, bool) {
	st, ok := r.Stages[probes.StageTree]
	if !ok || (st.Status != probes.StageOK && st.Status != probes.StageFailed) {
		return nil, false
	}
	var out []string
	for _, s := range r.Shares {
		if strings.EqualFold(s.Name, ipcShare) {
			continue
		}
		for _, a := range s.Access {
			if a.Identity == identityAnonymous && probes.StringOr(a.TreeConnect, "") == treeConnectSuccess {
				out = append(out, s.Name)
				break
			}
		}
	}
	slices.Sort(out)
	return out, true
}

// WriteJSONL writes one JSON object per change.
func WriteJSONL(w io.Writer, changes []Change) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range changes {
		if err := enc.Encode(&changes[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteText writes a readable view, one line per change. Every string that comes from the
// scan files is made inert for a terminal: host and share names are quoted, other values
// (status, dialect) pass through output.SanitizeTerminal, so no ANSI, C0, C1 or bidirectional
// control character from a file reaches the screen.
func WriteText(w io.Writer, changes []Change) error {
	bw := bufio.NewWriter(w)
	if len(changes) == 0 {
		fmt.Fprintln(bw, "no changes")
	}
	for _, c := range changes {
		addr := netip.AddrPortFrom(netip.MustParseAddr(orZero(c.IP)), c.Port).String()
		if c.Host != "" {
			addr += " (" + strconv.Quote(c.Host) + ")"
		}
		fmt.Fprintf(bw, "%-24s %s\n", addr, describe(c))
	}
	return bw.Flush()
}

func orZero(ip string) string {
	if _, err := netip.ParseAddr(ip); err != nil {
		return "0.0.0.0"
	}
	return ip
}

func describe(c Change) string {
	onOff := func(v any, on, off string) string {
		if b, ok := v.(bool); ok && b {
			return on
		}
		return off
	}
	switch c.Type {
	case HostAppeared:
		return fmt.Sprintf("SMB appeared (was %s)", valueText(c.Old))
	case HostDisappeared:
		return fmt.Sprintf("SMB disappeared (now %s)", valueText(c.New))
	case HostNoAnswer:
		return fmt.Sprintf("no answer this time (%s): SMB state unknown", valueText(c.New))
	case SMB1Changed:
		return "SMBv1 " + onOff(c.New, "turned ON", "turned off")
	case SigningChanged:
		return "signing " + onOff(c.New, "now required", "no longer required")
	case NullSessionChanged:
		return "null session " + onOff(c.New, "now allowed", "no longer allowed")
	case ShareAdded:
		return "anonymous share added: " + quotedText(c.New)
	case ShareRemoved:
		return "anonymous share removed: " + quotedText(c.Old)
	case DialectChanged:
		return fmt.Sprintf("dialect %s -> %s", valueText(c.Old), valueText(c.New))
	}
	return fmt.Sprintf("%s %s: %s -> %s", output.SanitizeTerminal(c.Type), output.SanitizeTerminal(c.Field), valueText(c.Old), valueText(c.New))
}

// valueText prints a value read from a scan file (a status, a dialect: whatever the file
// says) made inert for a terminal.
func valueText(v any) string {
	if v == nil {
		return "absent"
	}
	return output.SanitizeTerminal(fmt.Sprint(v))
}

// quotedText prints a value as a Go string literal, which escapes every control character.
func quotedText(v any) string {
	if v == nil {
		return strconv.Quote("absent")
	}
	return strconv.Quote(fmt.Sprint(v))
}
