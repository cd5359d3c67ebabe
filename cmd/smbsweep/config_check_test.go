package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConfigCheckNetworks: config check prints, per job, the networks it will scan.
func TestConfigCheckNetworks(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "smbsweep.yml")
	if err := os.WriteFile(cfg, []byte(`jobs:
  - name: lab
    targets: [127.0.0.0/24, "files.example:139"]
    excludes: [127.0.0.128/25]
    schedule: "@every 6h"
  - name: one
    targets: [127.0.0.9]
    schedule: "0 3 * * *"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "config", "check", cfg)
	want := `ok: 2 jobs
job lab (@every 6h) scans 129 targets:
  127.0.0.0/25 port 445 (128 addresses)
  files.example port 139 (a name: resolved at each run)
job one (0 3 * * *) scans 1 target:
  127.0.0.9 port 445
`
	if code != exitOK || out != want || errOut != "" {
		t.Errorf("exit %d, stderr %q\n got\n%s want\n%s", code, errOut, out, want)
	}
}
