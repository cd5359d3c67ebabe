// Package logon is the client side of an NTLMSSP logon inside SPNEGO (MS-NLMP 3.1.5.1.2,
// MS-SPNG), written once for every caller: the probes' null and guest sessions, the
// credentialed client, the daemon's seed API and SMB1's extended-security SESSION_SETUP_ANDX.
//
// An NTLM value holds the state of one logon between its two round trips: the NEGOTIATE
// token it sent, the server's CHALLENGE, the keys of the AUTHENTICATE. The protocol that
// carries the tokens drives it:
//
//	n := logon.New(id, opts)
//	blob := n.Start(buf)                     // first SESSION_SETUP's security buffer
//	blob, err = n.Respond(buf, replyBlob)    // CHALLENGE in, AUTHENTICATE out
//	err = n.Finish(finalReplyBlob)           // the server's mechListMIC, when there is one
//	key := n.SessionKey()                    // signing and sealing keys derive from it
//	n.Clear()
//
// SMB2 runs those steps over an SMB2 connection (smb2.go); transport/smb1conn runs them over
// SESSION_SETUP_ANDX.
package logon

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// Kind is who logs on.
type Kind int

const (
	// Anonymous is the null session (MS-NLMP 3.2.5.1.2): empty user, domain and responses.
	Anonymous Kind = iota
	// User is an NTLMv2 logon with Identity's user and password or NT hash. A guest probe is a
	// User logon as a name the server cannot know.
	User
)

// Identity says who logs on. It prints without its secret, whatever the verb.
type Identity struct {
	Kind Kind
	User string
	// Domain is sent as given; with Options.ServerDomain an empty Domain is replaced by the
	// server's NetBIOS domain from its CHALLENGE.
	Domain string
	// Password is used when NTHash is nil. An empty password is a valid password.
	Password string
	// NTHash, when set, is used instead of Password (pass-the-hash).
	NTHash *ntlmcrypto.Key
}

// Format prints the identity without its secret.
func (id Identity) Format(f fmt.State, _ rune) {
	if id.Kind == Anonymous {
		_, _ = io.WriteString(f, "anonymous")
		return
	}
	_, _ = io.WriteString(f, "Identity{User: "+id.User+", Domain: "+id.Domain+", secret: [REDACTED]}")
}

// Options shape the messages of a logon.
type Options struct {
	// Sign asks for KEY_EXCH and SIGN: a random exported session key (what SMB derives its
	// signing and sealing keys from) and, when the CHALLENGE carries a timestamp, a MIC in the
	// AUTHENTICATE with the SPNEGO mechListMIC. Credentialed logons set it; the probes' null
	// and guest sessions, which are never signed, do not.
	Sign bool
	// ServerDomain replaces an empty Identity.Domain by the server's NetBIOS domain.
	ServerDomain bool
	// Workstation is the client name sent in the AUTHENTICATE ("" sends none).
	Workstation string
	// Now is the clock of the NTLMv2 response's timestamp (time.Now when nil).
	Now func() time.Time
}

// NTLM is one logon in progress. Its zero value is not usable: build it with New.
type NTLM struct {
	id   Identity
	opts Options

	neg       ntlmssp.Negotiate
	negTok    []byte
	challenge ntlmssp.Challenge // a copy, owned
	av        ntlmssp.AVInfo
	names     ntlmssp.ServerNames
	domain    string
	flags     ntlmssp.Flags
	mechTypes []byte // DER of the mechTypes list, when a MIC was sent
	exported  ntlmcrypto.Key
	keyed     bool // exported holds a session key
	mic       bool
}

// New starts a logon for id.
func New(id Identity, opts Options) *NTLM {
	n := &NTLM{id: id, opts: opts, neg: ntlmssp.DefaultNegotiate()}
	if opts.Sign && id.Kind != Anonymous {
		n.neg.Flags |= ntlmssp.FlagKeyExch | ntlmssp.FlagSign
	}
	return n
}

// Start appends the first security buffer, an SPNEGO NegTokenInit offering NTLM with the
// NEGOTIATE_MESSAGE, to dst.
func (n *NTLM) Start(dst []byte) []byte {
	n.negTok = n.neg.AppendTo(n.negTok[:0])
	return spnego.AppendNegTokenInit(dst, n.negTok)
}

// ErrNoChallenge is returned by Respond for a reply without an NTLM CHALLENGE.
var ErrNoChallenge = errors.New("no NTLM CHALLENGE in the reply")

// Respond reads the server's CHALLENGE from the security buffer of its reply (SPNEGO
// NegTokenResp or a bare NTLMSSP token, which some servers send) and appends the second
// security buffer, the SPNEGO NegTokenResp with the AUTHENTICATE_MESSAGE (and mechListMIC),
// to dst. A CHALLENGE that does not decode is a *transport.ProtocolError.
func (n *NTLM) Respond(dst, reply []byte) ([]byte, error) {
	if err := n.readChallenge(reply); err != nil {
		return dst, err
	}
	n.flags = n.challenge.Flags() & n.neg.Flags
	var authBuf [2048]byte
	defer clear(authBuf[:])
	authTok, err := n.authenticate(authBuf[:0])
	if err != nil {
		return dst, err
	}
	var listMIC []byte
	if n.mic {
		mechTypes := spnego.NTLMMechTypeList()
		n.mechTypes = mechTypes.AppendDER(nil)
		s, err := ntlmcrypto.NewSigner(n.flags, n.exported, true)
		if err != nil {
			return dst, err
		}
		listMIC = s.Sign(nil, n.mechTypes)
	}
	return spnego.AppendNegTokenResp(dst, authTok, listMIC), nil
}

func (n *NTLM) readChallenge(reply []byte) error {
	tok, err := spnego.ResponseMechToken(reply)
	if err != nil {
		return &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: err}
	}
	if len(tok) == 0 {
		return &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: fmt.Errorf("%w: %w", ErrNoChallenge, wire.ErrMalformed)}
	}
	ch := ntlmssp.Challenge(tok)
	if err := ch.Validate(); err != nil {
		return &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: err}
	}
	// The reply is a view into a connection buffer: keep a copy (the MIC covers it).
	n.challenge = append(n.challenge[:0], ch...)
	n.av = ntlmssp.AVInfo{}
	if err := n.challenge.AVInfo(&n.av); err != nil {
		// An anonymous AUTHENTICATE uses nothing of the target information: a server whose
		// AV pairs do not decode still gets its null session probed (the names stay empty).
		if n.id.Kind != Anonymous {
			return &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: err}
		}
		n.av = ntlmssp.AVInfo{}
	}
	n.names = n.challenge.ServerNames(&n.av)
	n.domain = n.id.Domain
	if n.domain == "" && n.opts.ServerDomain {
		n.domain = n.names.NetBIOSDomain
	}
	return nil
}

// authenticate appends the AUTHENTICATE_MESSAGE answering the CHALLENGE.
func (n *NTLM) authenticate(dst []byte) ([]byte, error) {
	if n.id.Kind == Anonymous {
		a := ntlmssp.AnonymousAuthenticate(n.flags)
		return a.AppendTo(dst), nil
	}
	now := time.Now
	if n.opts.Now != nil {
		now = n.opts.Now
	}
	auth := ntlmcrypto.NTLMv2Auth{
		User: n.id.User, Domain: n.domain, Workstation: n.opts.Workstation,
		ResponseKeyNT: n.responseKey(),
		Time:          wire.TimeToFiletime(now()),
		IncludeMIC:    n.opts.Sign && n.av.HasTimestamp && n.flags&ntlmssp.FlagExtendedSessionSecurity != 0,
	}
	defer clear(auth.ResponseKeyNT[:])
	defer clear(auth.ExportedSessionKey[:])
	_, _ = rand.Read(auth.ClientChallenge[:])
	_, _ = rand.Read(auth.ExportedSessionKey[:])
	msg, exported, err := auth.AppendAuthenticate(dst, n.flags, n.negTok, n.challenge)
	if err != nil {
		return dst, err
	}
	n.exported, n.keyed, n.mic = exported, true, auth.IncludeMIC
	clear(exported[:])
	return msg, nil
}

// responseKey is NTOWFv2 of the identity for the domain sent.
func (n *NTLM) responseKey() ntlmcrypto.Key { return n.id.ResponseKey(n.domain) }

// ResponseKey is NTOWFv2 (MS-NLMP 3.3.2) of the identity for domain: from the NT hash when
// given, else from the password. The SMB1 NT LM 0.12 logon, which carries NTLMv2 responses
// without NTLMSSP, computes its responses with it too.
func (id *Identity) ResponseKey(domain string) ntlmcrypto.Key {
	if id.NTHash != nil {
		return ntlmcrypto.NTOWFv2FromHash(*id.NTHash, id.User, domain)
	}
	return ntlmcrypto.NTOWFv2(id.Password, id.User, domain)
}

// Finish checks the acceptor's mechListMIC over the mechTypes sent (RFC 4178 section 5,
// MS-SPNG 3.3.5.1) when the final reply's security buffer carries one and a MIC was sent.
// An SPNEGO reject is an error.
func (n *NTLM) Finish(reply []byte) error {
	if len(reply) == 0 || !n.mic || spnego.IsRawNTLMSSP(reply) {
		return nil
	}
	r, err := spnego.DecodeNegTokenResp(reply)
	if err != nil {
		return &transport.ProtocolError{Op: "SPNEGO", Err: err}
	}
	if r.HasNegState && r.NegState == spnego.Reject {
		return &transport.ProtocolError{Op: "SPNEGO", Err: fmt.Errorf("server rejected the SPNEGO negotiation: %w", wire.ErrMalformed)}
	}
	if r.MechListMIC == nil {
		return nil
	}
	s, err := ntlmcrypto.NewSigner(n.flags, n.exported, false)
	if err != nil {
		return &transport.ProtocolError{Op: "SPNEGO", Err: err}
	}
	if !s.Verify(n.mechTypes, r.MechListMIC) {
		return &transport.ProtocolError{Op: "SPNEGO", Err: fmt.Errorf("server's mechListMIC does not verify: %w", transport.ErrBadSignature)}
	}
	return nil
}

// Challenge is the server's CHALLENGE (valid after Respond read it; nil before).
func (n *NTLM) Challenge() ntlmssp.Challenge { return n.challenge }

// Names is what the CHALLENGE said about the server.
func (n *NTLM) Names() ntlmssp.ServerNames { return n.names }

// Domain is the domain the AUTHENTICATE named.
func (n *NTLM) Domain() string { return n.domain }

// MIC reports whether the AUTHENTICATE carried a MIC (and SPNEGO a mechListMIC).
func (n *NTLM) MIC() bool { return n.mic }

// SessionKey is the exported session key of a User logon (nil for an anonymous one, which
// has none). The slice aliases the logon's state: Clear wipes it.
func (n *NTLM) SessionKey() []byte {
	if !n.keyed {
		return nil
	}
	return n.exported[:]
}

// Clear wipes the keys the logon holds.
func (n *NTLM) Clear() {
	clear(n.exported[:])
	n.keyed = false
}
