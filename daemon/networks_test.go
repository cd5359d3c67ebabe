package daemon

import (
	"context"
	"slices"
	"testing"
)

// TestExampleScansLoopbackOnly: a reader who copies configs/smbsweep.yml scans nothing but
// this machine; real networks appear there only commented out (issue 17).
func TestExampleScansLoopbackOnly(t *testing.T) {
	c, err := LoadFile("../configs/smbsweep.yml", testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range c.Jobs {
		b, err := j.targets()
		if err != nil {
			t.Fatal(err)
		}
		set, err := b.Build(context.Background(), noLookup{})
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() == 0 {
			t.Errorf("job %s scans nothing", j.Name)
		}
		for i := uint64(0); i < set.Len(); i++ {
			if tg := set.At(i); tg.Host != "" || !tg.Addr.IsLoopback() {
				t.Errorf("job %s scans %v (host %q): the example must scan loopback only", j.Name, tg.Addr, tg.Host)
			}
		}
	}
}

// TestJobNetworks: what config check prints for a job — coalesced ranges minus exclusions,
// the targets file's entries, names unresolved (no DNS query is sent).
func TestJobNetworks(t *testing.T) {
	c, err := parseConfig([]byte(`jobs:
  - name: mixed
    targets: [127.0.0.0/30, 127.0.0.4, "127.0.1.0/24", 127.0.4.0/23, "localhost.example:1445", "[::1]:139"]
    targets_file: targets.txt
    excludes: [127.0.1.0]
    schedule: "@every 1h"
`), testdataDir, testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	lines, n, err := c.Jobs[0].Networks()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"127.0.0.2 port 139", // targets.txt
		"::1 port 139",
		"127.0.0.0-127.0.0.4 port 445 (5 addresses)",
		"127.0.1.1-127.0.1.255 port 445 (255 addresses)",
		"127.0.4.0/23 port 445 (512 addresses)",
		"localhost.example port 1445 (a name: resolved at each run)",
	}
	if !slices.Equal(lines, want) || n != 2+5+255+512+1 {
		t.Errorf("networks (%d targets):\n got  %q\n want %q", n, lines, want)
	}
}
