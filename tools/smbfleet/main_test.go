package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestExpandTargets(t *testing.T) {
	targets := []string{"127.1.2.10", "127.0.0.1:4455"}
	got := expandTargets([]string{"smbsweep", "scan", "{targets}", "-c", "echo {targets};"}, targets)
	want := []string{"smbsweep", "scan", "127.1.2.10", "127.0.0.1:4455", "-c", "echo 127.1.2.10 127.0.0.1:4455;"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := expandTargets([]string{"true"}, targets); !slices.Equal(got, []string{"true"}) {
		t.Errorf("no token: %q", got)
	}
}

func TestRunCommandEnvAndExitCode(t *testing.T) {
	var out, errb bytes.Buffer
	code := runCommand([]string{"sh", "-c", `echo "$` + EnvTargets + `|$1"; exit 3`, "sh", "{targets}"},
		[]string{"127.1.2.10", "127.1.2.11"}, &out, &errb, make(chan os.Signal))
	if code != 3 {
		t.Errorf("exit code %d, want 3 (stderr %q)", code, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != "127.1.2.10 127.1.2.11|127.1.2.10" {
		t.Errorf("command saw %q", got)
	}
	if code := runCommand([]string{"/nonexistent/command"}, nil, &out, &errb, make(chan os.Signal)); code != 127 {
		t.Errorf("missing command: exit code %d, want 127", code)
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-h"}, &out, &errb); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	if !strings.Contains(errb.String(), "usage: smbfleet") {
		t.Errorf("usage text: %q", errb.String())
	}
	if code := run([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
