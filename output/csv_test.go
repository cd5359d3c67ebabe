package output

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func writeCSV(t *testing.T, recs ...*probes.Result) []map[string]string {
	t.Helper()
	var buf bytes.Buffer
	c := NewCSV(&buf, "out.csv")
	for _, r := range recs {
		if err := c.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteSummary(&probes.Summary{Targets: 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v", err)
	}
	if len(rows) != len(recs)+1 {
		t.Fatalf("%d rows, want header + %d (no summary row)", len(rows), len(recs))
	}
	if !slices.Equal(rows[0], CSVColumns) {
		t.Fatalf("header %v, want %v", rows[0], CSVColumns)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, col := range CSVColumns {
			m[col] = row[i]
		}
		out = append(out, m)
	}
	return out
}

func TestCSVRow(t *testing.T) {
	rows := writeCSV(t, sambaRecord(), refusedRecord())
	want := map[string]string{
		"ip": "127.0.0.2", "host": "", "port": "445", "status": "smb", "error": "",
		"timestamp": "2024-05-06T07:08:09.123456Z", "duration_seconds": "0.0412",
		"smb1_enabled": "true", "smb1_signing_required": "false",
		"dialect": "3.1.1", "signing_enabled": "true", "signing_required": "false",
		"server_guid":  "46494c45-5345-5256-4552-000000000000",
		"capabilities": "DFS;LEASING;LARGE_MTU",
		"system_time":  "2024-05-06T07:08:09.123456Z", "boot_time": "",
		"netbios_computer_name": "FILESRV", "netbios_domain_name": "WORKGROUP",
		"dns_computer_name": "filesrv", "dns_domain_name": "", "os_version": "6.1.0",
		"null_session_setup_ok": "true", "null_session_allowed": "true",
		"null_session_status": "STATUS_SUCCESS", "guest_session_allowed": "",
		"shares":   "IPC$;public;admin",
		"findings": "smb1_enabled;signing_not_required;null_session;anonymous_share_readable;share_writable",
	}
	for col, v := range want {
		if rows[0][col] != v {
			t.Errorf("samba %s = %q, want %q", col, rows[0][col], v)
		}
	}
	// Unknown tri-states are empty, never "false".
	for _, col := range []string{"smb1_enabled", "signing_required", "null_session_allowed", "guest_session_allowed"} {
		if rows[1][col] != "" {
			t.Errorf("refused %s = %q, want empty (unknown)", col, rows[1][col])
		}
	}
	if rows[1]["host"] != "closed.test" || rows[1]["status"] != "connection-refused" || rows[1]["findings"] != "" {
		t.Errorf("refused row: %v", rows[1])
	}
}

func TestCSVInjectionGuard(t *testing.T) {
	rows := writeCSV(t, hostileRecord())
	r := rows[0]
	if got := r["netbios_domain_name"]; got != "'=cmd|' /C calc'!A0" {
		t.Errorf("netbios_domain_name = %q", got)
	}
	if got := r["netbios_computer_name"]; got != "EVIL[2J[H" {
		t.Errorf("netbios_computer_name = %q (ESC must be stripped)", got)
	}
	if got := r["shares"]; got != "'@SUM(1)\ufffd31m" {
		t.Errorf("shares = %q", got)
	}
	if got := r["os_version"]; got != "1127.0.0.9:445  SMB 3.1.1  signing:required" {
		t.Errorf("os_version = %q (CR/LF must be stripped)", got)
	}
	for col, v := range r {
		for _, c := range []byte(v) {
			if c < 0x20 || c == 0x7f {
				t.Errorf("%s keeps control byte %#x", col, c)
			}
		}
	}
}

func TestCSVEmptyScanHasHeader(t *testing.T) {
	writeCSV(t) // asserts the header row and no other row
}
