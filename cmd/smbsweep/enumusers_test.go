package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestRIDRangeRejected: a bad -rid-range is a usage error that says how to fix it, before any
// scan starts.
func TestRIDRangeRejected(t *testing.T) {
	target := "127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t))
	for _, c := range []struct {
		value string
		want  []string
	}{
		{"abc", []string{`-rid-range "abc"`, "want FIRST-LAST", "-rid-range 500-1100"}},
		{"900-100", []string{`-rid-range "900-100"`, "FIRST is above LAST", "-rid-range 100-900"}},
		{"1-5000", []string{`-rid-range "1-5000"`, "5000 RIDs, at most 2000", "-rid-range 1-2000"}},
		{"-5-10", []string{`-rid-range "-5-10"`, "decimal RIDs"}},
		{"500-4294967296", []string{"decimal RIDs from 0 to 4294967295"}},
	} {
		code, out, stderr := runCLI(t, "", "scan", "-enum-users", "-rid-range", c.value, target)
		if code != exitUsage || out != "" {
			t.Errorf("-rid-range %s: exit %d, output %q", c.value, code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("-rid-range %s: message %q lacks %q", c.value, stderr, w)
			}
		}
	}
}

// TestRIDRangeNeedsEnumUsers: -rid-range alone would silently do nothing, so it is refused.
func TestRIDRangeNeedsEnumUsers(t *testing.T) {
	target := "127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t))
	code, out, stderr := runCLI(t, "", "scan", "-rid-range", "500-600", target)
	if code != exitUsage || out != "" || !strings.Contains(stderr, "-rid-range 500-600 does nothing without -enum-users") {
		t.Errorf("exit %d, output %q, stderr %q", code, out, stderr)
	}
}

// TestEnumUsersAccepted: valid -enum-users -rid-range values start the scan.
func TestEnumUsersAccepted(t *testing.T) {
	target := "127.0.0.1:" + strconv.Itoa(closedLoopbackPort(t))
	code, out, stderr := runCLI(t, "", "scan", "-profile", "vuln", "-jsonl", "-enum-users", "-rid-range", "0-1999", target)
	if code == exitUsage || !strings.Contains(out, `"status":"connection-refused"`) || !strings.Contains(out, `"lsa":{"status":"skipped"`) {
		t.Errorf("exit %d, stderr %q, output %q", code, stderr, out)
	}
}
