package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/probes"
)

func TestTextAuthLine(t *testing.T) {
	ok := &probes.Result{IP: "10.0.0.1", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1"},
		Auth: &probes.AuthInfo{User: "alice", Domain: probes.String("CORP"), Success: probes.Bool(true), Dialect: "3.1.1",
			Signing: probes.Bool(true), SigningAlgorithm: "AES-GMAC", Encryption: probes.Bool(true), Cipher: "AES-128-GCM"}}
	refused := &probes.Result{IP: "10.0.0.2", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1"},
		Auth: &probes.AuthInfo{User: "bob\x1b[2J", Success: probes.Bool(false), Status: probes.String("STATUS_LOGON_FAILURE")}}
	var b bytes.Buffer
	tx := NewText(&b, "t", false)
	// A logon that got no final answer has no status: it did not complete (it printed
	// "refused " with an empty status before).
	incomplete := &probes.Result{IP: "10.0.0.3", Port: 445, Status: probes.StatusSMB, Negotiate: &probes.NegotiateInfo{Dialect: "3.1.1"},
		Auth: &probes.AuthInfo{User: "carol"}}
	for _, r := range []*probes.Result{ok, refused, incomplete} {
		if err := tx.WriteResult(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`auth: CORP\alice  ok  SMB 3.1.1  signed AES-GMAC  encrypted AES-128-GCM`, "refused STATUS_LOGON_FAILURE", "auth: carol  did not complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("text view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[2J") {
		t.Error("a server- or user-supplied escape sequence reached the terminal")
	}
}
