package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func TestTextPortsTried(t *testing.T) {
	fell := &probes.Result{IP: "10.0.0.1", Port: 139, PortsTried: []uint16{445, 139}, Status: probes.StatusSMB,
		Negotiate: &probes.NegotiateInfo{Dialect: "2.1"}}
	none := &probes.Result{IP: "10.0.0.2", Port: 139, PortsTried: []uint16{445, 139}, Status: probes.StatusConnectionRefused}
	plain := &probes.Result{IP: "10.0.0.3", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "2.1"}}
	var b bytes.Buffer
	tx := NewText(&b, "t", false)
	for _, r := range []*probes.Result{fell, none, plain} {
		if err := tx.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "ports tried: 445 139 (answered on 139)\n") || !strings.Contains(out, "ports tried: 445 139\n") ||
		strings.Count(out, "ports tried") != 2 {
		t.Errorf("text view:\n%s", out)
	}
}
