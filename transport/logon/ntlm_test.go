package logon

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// sambaChallenge is the SESSION_SETUP NegTokenResp carrying the CHALLENGE a Samba 4.17 smbd
// sent (wire/ntlmssp/testdata/README.md says how it was captured).
func sambaChallenge(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../wire/ntlmssp/testdata/samba-4.17-session-setup-challenge.bin")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// authenticateOf returns the AUTHENTICATE_MESSAGE and mechListMIC inside a NegTokenResp.
func authenticateOf(t *testing.T, blob []byte) (ntlmssp.AuthenticateMessage, []byte) {
	t.Helper()
	r, err := spnego.DecodeNegTokenResp(blob)
	if err != nil {
		t.Fatal(err)
	}
	m := ntlmssp.AuthenticateMessage(r.ResponseToken)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m, r.MechListMIC
}

func TestRespondAnonymous(t *testing.T) {
	n := New(Identity{Kind: Anonymous}, Options{Sign: true})
	if neg := ntlmssp.Negotiate(n.neg); neg.Flags&ntlmssp.FlagKeyExch != 0 {
		t.Fatal("anonymous logon asks for KEY_EXCH")
	}
	_ = n.Start(nil)
	blob, err := n.Respond(nil, sambaChallenge(t))
	if err != nil {
		t.Fatal(err)
	}
	m, mic := authenticateOf(t, blob)
	if len(m.User()) != 0 || len(m.NtChallengeResponse()) != 0 || mic != nil || n.MIC() {
		t.Fatalf("anonymous AUTHENTICATE carries a user, NT response or MIC: user %q nt %d mic %v", m.User(), len(m.NtChallengeResponse()), mic)
	}
	if n.SessionKey() != nil {
		t.Fatal("anonymous logon has a session key")
	}
	if n.Names().NetBIOSComputer != "SMBSWEEPNTLM" {
		t.Fatalf("server names %+v", n.Names())
	}
}

func TestRespondUserVerifiesAtTheServer(t *testing.T) {
	for _, c := range []struct {
		name         string
		opts         Options
		domain, want string
		mic          bool
	}{
		// Samba's standalone server names itself as the NetBIOS domain of its CHALLENGE.
		{"signed, server domain", Options{Sign: true, ServerDomain: true, Workstation: "WS1"}, "", "SMBSWEEPNTLM", true},
		{"signed, given domain", Options{Sign: true, ServerDomain: true}, "CORP", "CORP", true},
		{"unsigned guest probe", Options{}, "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			c.opts.Now = func() time.Time { return at }
			n := New(Identity{Kind: User, User: "alice", Domain: c.domain, Password: "s3cret"}, c.opts)
			start := n.Start(nil)
			init, err := spnego.DecodeNegTokenInit(start)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := n.Respond(nil, sambaChallenge(t))
			if err != nil {
				t.Fatal(err)
			}
			m, listMIC := authenticateOf(t, blob)
			if got := wire.DecodeUTF16LE(m.Domain()); got != c.want || n.Domain() != c.want {
				t.Fatalf("domain %q (Domain() %q), want %q", got, n.Domain(), c.want)
			}
			ch := n.Challenge()
			base, ok := ntlmcrypto.VerifyNTLMv2Response(ntlmcrypto.NTOWFv2("s3cret", "alice", c.want), ch.ServerChallenge(), m.NtChallengeResponse())
			if !ok {
				t.Fatal("the NTLMv2 response does not verify with the password")
			}
			_, hasMIC := m.MIC()
			if hasMIC != c.mic || n.MIC() != c.mic || (listMIC != nil) != c.mic {
				t.Fatalf("MIC %v, mechListMIC %v, want %v", hasMIC, listMIC != nil, c.mic)
			}
			key := n.SessionKey()
			if c.mic {
				// The captured CHALLENGE answered a NEGOTIATE without KEY_EXCH: the exported
				// key is then the session base key (MS-NLMP 3.1.5.1.2).
				exported := base
				if n.flags&ntlmssp.FlagKeyExch != 0 {
					var enc ntlmcrypto.Key
					copy(enc[:], m.EncryptedRandomSessionKey())
					exported = ntlmcrypto.RC4K(base, enc)
				}
				if string(exported[:]) != string(key) {
					t.Fatalf("the exported session key is not the one the server derives (KEY_EXCH %v)", n.flags&ntlmssp.FlagKeyExch != 0)
				}
				want, err := ntlmcrypto.MIC(ntlmcrypto.Key(key), init.MechToken, ch, m)
				if got, _ := m.MIC(); err != nil || got != want {
					t.Fatalf("MIC does not verify: %v", err)
				}
			}
			n.Clear()
			if n.SessionKey() != nil || n.exported != (ntlmcrypto.Key{}) {
				t.Fatal("Clear left the session key")
			}
		})
	}
}

// TestFinishVerifiesServerMIC: the acceptor's mechListMIC is checked in the server's direction.
func TestFinishVerifiesServerMIC(t *testing.T) {
	n := New(Identity{Kind: User, User: "alice", Password: "x"}, Options{Sign: true, ServerDomain: true})
	_ = n.Start(nil)
	if _, err := n.Respond(nil, sambaChallenge(t)); err != nil {
		t.Fatal(err)
	}
	if !n.MIC() {
		t.Fatal("Samba's CHALLENGE has a timestamp: a MIC is expected")
	}
	srv, err := ntlmcrypto.NewSigner(n.flags, n.exported, false)
	if err != nil {
		t.Fatal(err)
	}
	good := spnego.AppendNegTokenResp(nil, nil, srv.Sign(nil, n.mechTypes))
	if err := n.Finish(good); err != nil {
		t.Fatalf("server MIC refused: %v", err)
	}
	cli, _ := ntlmcrypto.NewSigner(n.flags, n.exported, true) // the client's direction: wrong key
	bad := spnego.AppendNegTokenResp(nil, nil, cli.Sign(nil, n.mechTypes))
	if err := n.Finish(bad); !errors.Is(err, transport.ErrBadSignature) {
		t.Fatalf("client-direction MIC accepted: %v", err)
	}
	if err := n.Finish(nil); err != nil {
		t.Fatalf("no blob: %v", err)
	}
}

func TestRespondRefusesBadChallenge(t *testing.T) {
	for name, blob := range map[string][]byte{
		"empty":      nil,
		"truncated":  sambaChallenge(t)[:20],
		"not spnego": []byte("NTLMSSP\x00\x02\x00\x00\x00"),
	} {
		n := New(Identity{Kind: Anonymous}, Options{})
		_ = n.Start(nil)
		_, err := n.Respond(nil, blob)
		var pe *transport.ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "NTLM CHALLENGE") {
			t.Errorf("%s: %v, want a ProtocolError naming the NTLM CHALLENGE", name, err)
		}
	}
}

func TestIdentityPrintsNoSecret(t *testing.T) {
	h := ntlmcrypto.Key{0xaa, 0xbb}
	id := Identity{Kind: User, User: "bob", Password: "hunter2-pw", NTHash: &h}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if s := fmt.Sprintf(verb, id); strings.Contains(s, "hunter2") || strings.Contains(s, "aabb") || !strings.Contains(s, "bob") {
			t.Errorf("%s prints %q", verb, s)
		}
	}
}

// TestAnonymousToleratesBadTargetInfo: target information that does not decode stops a User
// logon (its response embeds it) but not the null session, which uses none of it.
func TestAnonymousToleratesBadTargetInfo(t *testing.T) {
	ti := ntlmssp.AppendAVPairString(nil, ntlmssp.AvNbComputerName, "SRV")
	ti = ti[:len(ti)-2] // the pair's value runs past the end: no MsvAvEOL
	cb := ntlmssp.ChallengeBuilder{Flags: ntlmssp.DefaultNegotiateFlags, ServerChallenge: [8]byte{1}, TargetInfo: ti}
	blob := spnego.AppendNegTokenResp(nil, cb.AppendTo(nil), nil)
	anon := New(Identity{Kind: Anonymous}, Options{})
	_ = anon.Start(nil)
	if _, err := anon.Respond(nil, blob); err != nil {
		t.Fatalf("anonymous logon stopped by the target info: %v", err)
	}
	user := New(Identity{Kind: User, User: "u", Password: "p"}, Options{Sign: true})
	_ = user.Start(nil)
	var pe *transport.ProtocolError
	if _, err := user.Respond(nil, blob); !errors.As(err, &pe) {
		t.Fatalf("user logon over undecodable target info: %v, want a ProtocolError", err)
	}
}
