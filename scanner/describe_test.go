package scanner

import (
	"slices"
	"testing"
)

func TestDescribe(t *testing.T) {
	set := build(t, []string{"10.0.0.0/8", "10.0.0.0/24", "192.0.2.9", "192.0.2.10-20", "[2001:db8::/120]:139", "2001:db8:1::5", "files.example"},
		[]string{"10.128.0.0/9"}, nil)
	want := []string{ // by port, family, address; names last
		"2001:db8::/120 port 139 (256 addresses)",
		"10.0.0.0/9 port 445 (8388608 addresses)",
		"192.0.2.9-192.0.2.20 port 445 (12 addresses)",
		"2001:db8:1::5 port 445",
		"files.example port 445 (a name: resolved at each run)",
	}
	if got := set.Describe(0); !slices.Equal(got, want) {
		t.Errorf("Describe(0):\n got  %q\n want %q", got, want)
	}
	if got := set.Describe(2); !slices.Equal(got, append(want[:2:2], "... and 3 more")) {
		t.Errorf("Describe(2): %q", got)
	}
}
