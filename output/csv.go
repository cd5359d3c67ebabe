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
	row := c.rec[:0]
	add := func(s string) { row = append(row, SanitizeCSVCell(s)) }
	add(r.IP)
	add(r.Host)
	row = append(row, strconv.FormatUint(uint64(r.Port), 10))
	add(string(r.Status))
	add(r.Error)
	row = append(row, csvTime(&r.Timestamp))
	row = append(row, strconv.FormatFloat(r.DurationSeconds, 'f', -1, 64))

	var smb1 probes.SMB1Info
	if r.SMB1 != nil {
		smb1 = *r.SMB1
	}
	row = append(row, tri(smb1.Enabled), tri(smb1.SigningRequired))

	var neg probes.NegotiateInfo
	if r.Negotiate != nil {
		neg = *r.Negotiate
	}
	add(neg.Dialect)
	row = append(row, tri(neg.SigningEnabled), tri(neg.SigningRequired))
	add(neg.ServerGUID)
	add(strings.Join(neg.Capabilities, ";"))
	row = append(row, csvTime(neg.SystemTime), csvTime(neg.BootTime))

	var ntlm probes.NTLMInfo
	if r.NTLM != nil {
		ntlm = *r.NTLM
	}
	// Unknown (null) and empty are both an empty cell, as for tri-state values.
	add(probes.StringOr(ntlm.NetBIOSComputerName, ""))
	add(probes.StringOr(ntlm.NetBIOSDomainName, ""))
	add(probes.StringOr(ntlm.DNSComputerName, ""))
	add(probes.StringOr(ntlm.DNSDomainName, ""))
	add(probes.StringOr(ntlm.OSVersion, ""))

	var null, guest probes.SessionInfo
	if r.Sessions.Null != nil {
		null = *r.Sessions.Null
	}
	if r.Sessions.Guest != nil {
		guest = *r.Sessions.Guest
	}
	row = append(row, tri(null.SetupOK), tri(null.Allowed))
	add(probes.StringOr(null.Status, ""))
	row = append(row, tri(guest.Allowed))

	names := make([]string, 0, len(r.Shares))
	for _, s := range r.Shares {
		names = append(names, s.Name)
	}
	add(strings.Join(names, ";"))
	add(strings.Join(trueFindings(r), ";"))

	var osName string
	if r.OS != nil {
		osName = probes.StringOr(r.OS.Name, "")
	}
	add(osName)
	var dc *bool
	if r.DomainController != nil {
		dc = r.DomainController.Value
	}
	row = append(row, tri(dc))
	var verdicts []string
	for _, f := range r.Findings {
		if f.State != "" {
			verdicts = append(verdicts, f.ID+"="+f.State)
		}
	}
	add(strings.Join(verdicts, ";"))

	c.rec = row
	return c.writeRow(row)
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
