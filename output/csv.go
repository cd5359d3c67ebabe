package output

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/probes"
)

// CSVColumns is the fixed column order of the CSV output (docs/schema.md, "CSV columns"). New
// columns are only ever appended. Tri-state values are "true", "false" or "" (unknown); lists are
// joined with ";"; times are RFC 3339 UTC.
var CSVColumns = []string{
	"ip", "host", "port", "status", "error", "timestamp", "duration_seconds",
	"smb1_enabled", "smb1_signing_required",
	"dialect", "signing_enabled", "signing_required", "server_guid", "capabilities",
	"system_time", "boot_time",
	"netbios_computer_name", "netbios_domain_name", "dns_computer_name", "dns_domain_name", "os_version",
	"null_session_setup_ok", "null_session_allowed", "null_session_status", "guest_session_allowed",
	"shares", "findings",
	"os_name", "domain_controller", "verdicts",
}

// CSV writes one row per host under a header row of CSVColumns (encoding/csv quoting, "\n" line
// ends). The run summary is not written: CSV has no comment syntax, so a summary row would corrupt
// the table; use the JSONL or text output for it. Every text cell passes through SanitizeCSVCell.
type CSV struct {
	name string
	out  recordBuffer
	row  bytes.Buffer // one encoded row, reused
	cw   *csv.Writer  // writes into row
	rec  []string     // reused cells
}

// NewCSV returns a CSV sink writing to w; name identifies it in errors. The header row is queued
// at once, so even a scan without results produces a valid file.
func NewCSV(w io.Writer, name string) *CSV {
	c := &CSV{name: name, out: newRecordBuffer(w), rec: make([]string, len(CSVColumns))}
	c.cw = csv.NewWriter(&c.row)
	_ = c.writeRow(CSVColumns) // cannot fail: the buffer is empty and nothing is written yet
	return c
}

// Name implements Sink.
func (c *CSV) Name() string { return c.name }

// WriteSummary implements Sink; the CSV output has no summary row (see CSV).
func (c *CSV) WriteSummary(*probes.Summary) error { return nil }

// Flush implements Sink.
func (c *CSV) Flush() error { return c.out.flush() }

// WriteResult implements Sink.
func (c *CSV) WriteResult(r *probes.Result) error {
	row := csvRow(c.rec[:0])
	row.host(r)
	row.negotiate(r)
	row.ntlm(r.NTLM)
	row.sessions(r)
	row.verdicts(r)
	c.rec = row
	return c.writeRow(row)
}

// csvRow is a record's cells, in the order of the header; cells from the server are
// sanitized (add), the program's own numbers and tri-states are not.
type csvRow []string

func (row *csvRow) add(s string) { *row = append(*row, SanitizeCSVCell(s)) }

func (row *csvRow) raw(cells ...string) { *row = append(*row, cells...) }

// host: ip, host, port, status, error, timestamp, duration.
func (row *csvRow) host(r *probes.Result) {
	row.add(r.IP)
	row.add(r.Host)
	row.raw(strconv.FormatUint(uint64(r.Port), 10))
	row.add(string(r.Status))
	row.add(r.Error)
	row.raw(csvTime(&r.Timestamp), strconv.FormatFloat(r.DurationSeconds, 'f', -1, 64))
}

// negotiate: the SMB1 and SMB2 NEGOTIATE columns.
func (row *csvRow) negotiate(r *probes.Result) {
	var smb1 probes.SMB1Info
	if r.SMB1 != nil {
		smb1 = *r.SMB1
	}
	row.raw(tri(smb1.Enabled), tri(smb1.SigningRequired))
	var neg probes.NegotiateInfo
	if r.Negotiate != nil {
		neg = *r.Negotiate
	}
	row.add(neg.Dialect)
	row.raw(tri(neg.SigningEnabled), tri(neg.SigningRequired))
	row.add(neg.ServerGUID)
	row.add(strings.Join(neg.Capabilities, ";"))
	row.raw(csvTime(neg.SystemTime), csvTime(neg.BootTime))
}

// ntlm: what the CHALLENGE said. Unknown (null) and empty are both an empty cell, as for
// tri-state values.
func (row *csvRow) ntlm(n *probes.NTLMInfo) {
	var ntlm probes.NTLMInfo
	if n != nil {
		ntlm = *n
	}
	row.add(probes.StringOr(ntlm.NetBIOSComputerName, ""))
	row.add(probes.StringOr(ntlm.NetBIOSDomainName, ""))
	row.add(probes.StringOr(ntlm.DNSComputerName, ""))
	row.add(probes.StringOr(ntlm.DNSDomainName, ""))
	row.add(probes.StringOr(ntlm.OSVersion, ""))
}

// sessions: null and guest sessions, then the share names.
func (row *csvRow) sessions(r *probes.Result) {
	var null, guest probes.SessionInfo
	if r.Sessions.Null != nil {
		null = *r.Sessions.Null
	}
	if r.Sessions.Guest != nil {
		guest = *r.Sessions.Guest
	}
	row.raw(tri(null.SetupOK), tri(null.Allowed))
	row.add(probes.StringOr(null.Status, ""))
	row.raw(tri(guest.Allowed))
	names := make([]string, 0, len(r.Shares))
	for _, s := range r.Shares {
		names = append(names, s.Name)
	}
	row.add(strings.Join(names, ";"))
}

// verdicts: true findings, OS name, domain controller, and the verdict states.
func (row *csvRow) verdicts(r *probes.Result) {
	row.add(strings.Join(trueFindings(r), ";"))
	var osName string
	if r.OS != nil {
		osName = probes.StringOr(r.OS.Name, "")
	}
	row.add(osName)
	var dc *bool
	if r.DomainController != nil {
		dc = r.DomainController.Value
	}
	row.raw(tri(dc))
	var verdicts []string
	for _, f := range r.Findings {
		if f.State != "" {
			verdicts = append(verdicts, f.ID+"="+f.State)
		}
	}
	row.add(strings.Join(verdicts, ";"))
}

func (c *CSV) writeRow(row []string) error {
	c.row.Reset()
	if err := c.cw.Write(row); err != nil {
		return err
	}
	c.cw.Flush() // into c.row, so the row reaches the record buffer whole
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.out.add(c.row.Bytes())
}

// tri renders a tri-state value: "true", "false" or "" for unknown.
func tri(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
