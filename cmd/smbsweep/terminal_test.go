//go:build linux

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

// openPTY opens a pseudo-terminal pair (Linux /dev/ptmx): the CLI writes to the slave, which
// it takes for a terminal, and the test reads what a terminal would receive from the master.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		t.Skipf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		m.Close()
		t.Skipf("ptsname: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	return m, s
}

// runOnTTY runs the CLI with a terminal as stdout and returns what the terminal received.
func runOnTTY(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once the slave is closed
		got <- b
	}()
	var stderr bytes.Buffer
	code := run(args, strings.NewReader(""), slave, &stderr)
	slave.Close()
	return code, string(<-got), stderr.String()
}

// sgr matches the colour sequences the text view itself emits.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// unsafeForTerminal reports what in s could act on a terminal: C0 controls other than the
// line ends a terminal sends back, DEL, C1 controls, bidirectional overrides.
func unsafeForTerminal(s string) []string {
	var bad []string
	for i, r := range s {
		switch {
		case r == '\n' || r == '\r':
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			bad = append(bad, fmt.Sprintf("%U at %d: %q", r, i, s[max(0, i-20):min(len(s), i+20)]))
		}
	}
	return bad
}

// TestHostileStringsNeutralised scans a server whose NTLM names and share names carry ANSI
// escapes, CR/LF that forge output lines, C1 and bidi controls, and spreadsheet formulas, and
// checks every output: the text view on a real terminal (with and without colours) shows them
// escaped, the CSV cells are inert, and the JSONL keeps them as received but escaped.
func TestHostileStringsNeutralised(t *testing.T) {
	srv := hostile.StartT(t, hostile.HostileStrings().Handler())
	target := srv.Target()
	base := []string{"scan", "-timeout", "5s", target}

	for _, color := range []bool{false, true} {
		args := append([]string{"scan"}, base[1:]...)
		if !color {
			args = append([]string{"scan", "-no-color"}, base[1:]...)
		}
		code, term, stderr := runOnTTY(t, args...)
		if code != exitOK {
			t.Fatalf("text view: exit %d: %s", code, stderr)
		}
		if !strings.Contains(term, target) || !strings.Contains(term, "SMB 3.1.1") {
			t.Fatalf("the terminal did not get the text view:\n%s", term)
		}
		shown := sgr.ReplaceAllString(term, "")
		if !color && shown != term {
			t.Errorf("-no-color output has colour sequences")
		}
		if color && shown == term {
			t.Errorf("the text view on a terminal has no colours") // colours are for terminals only
		}
		if bad := unsafeForTerminal(shown); len(bad) > 0 {
			t.Errorf("terminal received control sequences from the server (color=%v):\n%s\n%s", color, strings.Join(bad, "\n"), term)
		}
		for _, want := range []string{
			`name:\x1b[2J\x1b[31mPWNED\x1b[0m`, `domain:CORP\x0d\x0a127.0.0.9:445`, // NTLM names
			`\x1b]0;owned\x07title`, `line\x0abreak`, `csi\u009b31mred`, `\u202eright-to-left`, `\x09TAB`, // shares
		} {
			if !strings.Contains(shown, want) {
				t.Errorf("server string not shown escaped as %s (color=%v):\n%s", want, color, term)
			}
		}
		for _, line := range strings.FieldsFunc(shown, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if strings.HasPrefix(strings.TrimSpace(line), "127.0.0.9:445") {
				t.Errorf("a server string forged an output line: %q", line)
			}
		}
	}

	// CSV: every cell is free of control characters and none can start a formula.
	path := filepath.Join(t.TempDir(), "out.csv")
	if code, _, stderr := runCLI(t, "", "scan", "-csv", "-o", path, "-timeout", "5s", target); code != exitOK {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	col := map[string]string{}
	for i, c := range output.CSVColumns {
		col[c] = rows[1][i]
	}
	for name, cell := range col {
		if bad := unsafeForTerminal(cell); len(bad) > 0 || strings.ContainsAny(cell, "\r\n") {
			t.Errorf("csv %s = %q holds control characters", name, cell)
		}
		if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Errorf("csv %s = %q could be read as a formula", name, cell)
		}
	}
	if col["dns_computer_name"] != "'"+hostile.EvilDNS {
		t.Errorf("dns_computer_name = %q, want the formula prefixed with '", col["dns_computer_name"])
	}
	for _, s := range hostile.EvilShares {
		if want := strings.Map(dropControls, s.Name); !strings.Contains(col["shares"], want) {
			t.Errorf("shares cell %q lacks %q", col["shares"], want)
		}
	}

	// JSONL: the record keeps the strings as received; the line itself holds no raw control
	// bytes (JSON escapes them), so it stays one line.
	code, out, stderr := runCLI(t, "", "scan", "-jsonl", "-timeout", "5s", target)
	if code != exitOK {
		t.Fatalf("jsonl: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSONL lines for one target", len(lines))
	}
	var rec probes.Result
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.NTLM == nil || probes.StringOr(rec.NTLM.NetBIOSComputerName, "") != hostile.EvilComputer || probes.StringOr(rec.NTLM.NetBIOSDomainName, "") != hostile.EvilDomain {
		t.Errorf("JSONL must keep server strings as received: %+v", rec.NTLM)
	}
	if bad := unsafeForTerminal(lines[0]); len(bad) > 0 {
		t.Errorf("JSONL line holds raw control characters: %s", strings.Join(bad, "; "))
	}
}

// dropControls is what the CSV sanitizer does to a control character.
func dropControls(r rune) rune {
	if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
		return -1
	}
	return r
}
