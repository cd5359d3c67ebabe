package output

import (
	"bytes"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func TestHostList(t *testing.T) {
	rec := func(ip string, port uint16, v *bool) *probes.Result {
		return &probes.Result{IP: ip, Port: port, Findings: []probes.Finding{{ID: probes.FindingSigningNotRequired, Value: v}}}
	}
	var b bytes.Buffer
	l := NewHostList(&b, "relay.txt", probes.FindingSigningNotRequired)
	for _, r := range []*probes.Result{
		rec("10.0.0.1", 445, probes.Bool(true)),
		rec("10.0.0.2", 445, probes.Bool(false)), // signing required: not a relay target
		rec("10.0.0.3", 445, nil),                // unknown: not listed
		rec("10.0.0.1", 445, probes.Bool(true)),  // duplicate
		rec("10.0.0.4", 139, probes.Bool(true)),
		rec("2001:db8::1", 4455, probes.Bool(true)),
	} {
		if err := l.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.1\n10.0.0.4:139\n[2001:db8::1]:4455\n"
	if b.String() != want {
		t.Fatalf("got %q want %q", b.String(), want)
	}
}
