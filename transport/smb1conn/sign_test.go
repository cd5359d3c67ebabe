package smb1conn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"

	"github.com/smbsweep/smbsweep/wire/smb1"
)

func TestSignVerify(t *testing.T) {
	h := smb1.Header{Command: smb1.CommandClose, Flags: smb1.FlagsReply, Flags2: smb1.Flags2SecuritySignature, MID: 7}
	msg := (&smb1.CloseRequest{FID: 3}).AppendTo(h.AppendTo(nil))
	key := []byte("0123456789abcdef")
	sign(msg, key, 5)
	if string(msg[18:22]) != "\x00\x00\x00\x00" && string(msg[14:22]) == "\x05\x00\x00\x00\x00\x00\x00\x00" {
		t.Fatal("signature not written")
	}
	sig := string(msg[14:22])
	if !verify(msg, key, 5) {
		t.Fatal("own signature does not verify")
	}
	if string(msg[14:22]) != sig {
		t.Fatal("verify did not restore the signature")
	}
	if verify(msg, key, 7) {
		t.Fatal("verified with the wrong sequence number")
	}
	msg[len(msg)-3] ^= 1
	if verify(msg, key, 5) {
		t.Fatal("verified a modified message")
	}
	msg[len(msg)-3] ^= 1
	if verify(msg, []byte("0123456789abcdeF"), 5) {
		t.Fatal("verified with the wrong key")
	}
	if verify(msg[:20], key, 5) {
		t.Fatal("verified a truncated header")
	}
}

func TestIdentityHidesSecret(t *testing.T) {
	hash := ntlmcrypto.NTHash("hunter2-secret")
	for _, id := range []Identity{
		{Kind: User, User: "alice", Domain: "D", Password: "hunter2-secret"},
		{Kind: User, User: "alice", NTHash: &hash},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, id)
			if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", hash[:])) || !strings.Contains(out, "alice") {
				t.Fatalf("%s: %s", verb, out)
			}
		}
	}
	if g := randomGuest(); g.Kind != User || !strings.HasPrefix(g.User, "smbsweep-") || g.Password == "" || g.User == randomGuest().User {
		t.Fatalf("guest identity %v", g)
	}
}

func TestFlags2(t *testing.T) {
	for _, c := range []struct {
		done, serverExt, noExt, unicode, signing bool
		want                                     uint16
	}{
		{want: smb1.Flags2LongNames | smb1.Flags2NTStatus | smb1.Flags2Unicode | smb1.Flags2ExtendedSecurity},
		{noExt: true, want: smb1.Flags2LongNames | smb1.Flags2NTStatus | smb1.Flags2Unicode},
		// The server chose the NT LM 0.12 form: later requests do not claim extended security.
		{done: true, unicode: true, want: smb1.Flags2LongNames | smb1.Flags2NTStatus | smb1.Flags2Unicode},
		{done: true, serverExt: true, want: smb1.Flags2LongNames | smb1.Flags2NTStatus | smb1.Flags2ExtendedSecurity},
		{done: true, serverExt: true, unicode: true, signing: true, want: smb1.Flags2LongNames | smb1.Flags2NTStatus |
			smb1.Flags2Unicode | smb1.Flags2ExtendedSecurity | smb1.Flags2SecuritySignature},
	} {
		conn := &Conn{done: c.done, signing: c.signing, opts: Options{NoExtendedSecurity: c.noExt},
			neg: Negotiated{ExtendedSecurity: c.serverExt, Unicode: c.unicode}}
		if got := conn.flags2(); got != c.want {
			t.Errorf("%+v: flags2 %#04x, want %#04x", c, got, c.want)
		}
	}
}
