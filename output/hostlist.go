package output

import (
	"io"
	"net/netip"
	"slices"

	"github.com/smbsweep/smbsweep/probes"
)

// HostList is a sink writing one host per line for every record whose finding is true:
// `-relay-list` (signing_not_required: NTLM relay targets, whatever the OS) and `-smb1-list`.
// Lines are "IP" for port 445 and "IP:PORT" ("[IPv6]:PORT") otherwise; each host appears once.
// Hosts are written as they are found, so an interrupted scan keeps what it found.
type HostList struct {
	name    string
	finding string
	out     recordBuffer
	seen    map[string]struct{}
}

// NewHostList writes to w the hosts whose finding (e.g. probes.FindingSigningNotRequired) is true.
func NewHostList(w io.Writer, name, finding string) *HostList {
	return &HostList{name: name, finding: finding, out: newRecordBuffer(w), seen: map[string]struct{}{}}
}

// Name implements Sink.
func (h *HostList) Name() string { return h.name }

// WriteResult implements Sink.
func (h *HostList) WriteResult(r *probes.Result) error {
	if !slices.Contains(trueFindings(r), h.finding) {
		return nil
	}
	line := r.IP
	if r.Port != 445 {
		if a, err := netip.ParseAddr(r.IP); err == nil {
			line = netip.AddrPortFrom(a, r.Port).String()
		}
	}
	if _, dup := h.seen[line]; dup {
		return nil
	}
	h.seen[line] = struct{}{}
	return h.out.add([]byte(line + "\n"))
}

// WriteSummary implements Sink (the list has no summary).
func (h *HostList) WriteSummary(*probes.Summary) error { return nil }

// Flush implements Sink.
func (h *HostList) Flush() error { return h.out.flush() }
