package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

// TestSMBOnlyAndViews scans an SMB server and a refused port: -smb-only keeps the refused host
// out of JSONL, CSV, the text view and the nxc view while the summary counts both; -text-style
// nxc prints NetExec's line; -bloodhound writes the SMB host only; NO_COLOR turns colours off.
func TestSMBOnlyAndViews(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("smb1")
	targets := []string{srv.Target(), fleet.Closed.String()}
	dir := t.TempDir()
	scan := func(args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, "", append(append([]string{"scan", "-timeout", "10s"}, args...), targets...)...)
		if code != exitOK {
			t.Fatalf("scan %v: exit %d: %s", args, code, stderr)
		}
		return out
	}

	out := scan("-jsonl", "-smb-only")
	if strings.Count(out, `"type":"host"`) != 1 || strings.Contains(out, `"connection-refused",`) || !strings.Contains(out, `"connection-refused":1`) || !strings.Contains(out, `"targets":2`) {
		t.Errorf("-smb-only JSONL: one host record, a summary counting both:\n%s", out)
	}
	csvPath := filepath.Join(dir, "out.csv")
	scan("-smb-only", "-o", csvPath)
	fh, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil || len(rows) != 2 {
		t.Errorf("-smb-only CSV: %v, %d rows (want header + 1)", err, len(rows))
	}
	text := scan("-text", "-no-color", "-smb-only")
	if !strings.Contains(text, srv.Target()) || strings.Contains(text, fleet.Closed.String()) || !strings.Contains(text, "connection-refused  1") {
		t.Errorf("-smb-only text: the SMB host, not the refused one, the summary counting it:\n%s", text)
	}

	nxc := scan("-text-style", "nxc", "-no-color")
	lines := strings.Split(strings.TrimSpace(nxc), "\n")
	if len(lines) != 3 {
		t.Fatalf("nxc: want 2 host lines and a summary:\n%s", nxc)
	}
	var smbLine string
	for _, l := range lines {
		if strings.Contains(l, "SWEEP-SMB1") {
			smbLine = l
		}
	}
	for _, want := range []string{"SMB ", " 445 ", "SWEEP-SMB1", "[*] Samba", "(name:SWEEP-SMB1)", "(domain:SWEEP-SMB1)", "(signing:False)", "(SMBv1:True)", "(Null Auth:True)", "(findings:smb1_enabled,signing_not_required"} {
		if !strings.Contains(smbLine, want) {
			t.Errorf("nxc line lacks %q: %q", want, smbLine)
		}
	}
	if !strings.Contains(nxc, "[-] connection-refused") {
		t.Errorf("nxc without -smb-only shows the refused host:\n%s", nxc)
	}
	if nxcOnly := scan("-text-style", "nxc", "-no-color", "-smb-only"); strings.Count(nxcOnly, "\n") != 2 || strings.Contains(nxcOnly, "[-]") {
		t.Errorf("nxc -smb-only:\n%s", nxcOnly)
	}

	bh := filepath.Join(dir, "bh.json")
	scan("-jsonl", "-bloodhound", bh)
	data, err := os.ReadFile(bh)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Metadata map[string]string `json:"metadata"`
		Graph    struct {
			Nodes []struct {
				ID         string         `json:"id"`
				Kinds      []string       `json:"kinds"`
				Properties map[string]any `json:"properties"`
			} `json:"nodes"`
		} `json:"graph"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("-bloodhound: %v\n%s", err, data)
	}
	computers := 0
	for _, n := range g.Graph.Nodes {
		if n.Kinds[0] == "SMB_Computer" {
			computers++
			if n.ID != "smb://"+srv.AddrPort().String() || n.Properties["smbsigning"] != false || n.Properties["smbv1"] != true {
				t.Errorf("computer node %+v", n)
			}
		}
	}
	if computers != 1 || g.Metadata["source_kind"] != "SMBSweep" {
		t.Errorf("-bloodhound: %d computers, metadata %v", computers, g.Metadata)
	}

	// Colours: only on a terminal (TestTextColoursOnATerminal), so -text into a pipe or a file
	// is plain text; never with NO_COLOR set (https://no-color.org).
	if piped := scan("-text"); strings.Contains(piped, "\x1b") {
		t.Errorf("-text into a pipe has colour sequences:\n%q", piped)
	}
	file := filepath.Join(t.TempDir(), "view.txt")
	scan("-text", "-o", file)
	if data, err := os.ReadFile(file); err != nil || strings.Contains(string(data), "\x1b") || len(data) == 0 {
		t.Errorf("-text -o FILE: %v, colour sequences in:\n%q", err, data)
	}
	t.Setenv("NO_COLOR", "1")
	if plain := scan("-text"); strings.Contains(plain, "\x1b") {
		t.Errorf("NO_COLOR=1 still colours:\n%q", plain)
	}
}
