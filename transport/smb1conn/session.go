package smb1conn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/transport"
	ntlmlogon "github.com/smbsweep/smbsweep/transport/logon"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// Kind is the identity of a logon.
type Kind int

// Kinds of logon.
const (
	// Anonymous is the null session: empty user, no responses (MS-NLMP 3.2.5.1.2).
	Anonymous Kind = iota
	// Guest logs on as a random user with a random password: a server that maps unknown
	// users to guest ("map to guest = Bad User", Windows' Guest account) grants a guest
	// session, others refuse it.
	Guest
	// User logs on with Identity.User and its password or NT hash (NTLMv2).
	User
)

// Identity says who logs on. It holds secrets and prints without them.
type Identity struct {
	Kind   Kind
	User   string
	Domain string // "" means the server's domain (from its CHALLENGE or NEGOTIATE)
	// Password is used unless NTHash is set.
	Password string
	NTHash   *ntlmcrypto.Key
}

// Format prints the identity without its secret.
func (id Identity) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "Identity{Kind: "+id.Kind.String()+", User: "+id.User+", Domain: "+id.Domain+", secret: [REDACTED]}")
}

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Anonymous:
		return "anonymous"
	case Guest:
		return "guest"
	case User:
		return "user"
	}
	return "unknown"
}

// Session is the result of a successful logon.
type Session struct {
	UID uint16
	// Guest is SMB_SETUP_GUEST: the server logged the user on as guest.
	Guest bool
	// Extended tells which SESSION_SETUP_ANDX form was used (SPNEGO/NTLMSSP or NT LM 0.12).
	Extended bool
	// NativeOS, NativeLanMan and PrimaryDomain are the reply's strings (MS-CIFS 2.2.4.53.2).
	NativeOS, NativeLanMan, PrimaryDomain string
	// Signed reports that every later message is signed (the server requires it).
	Signed bool
	// NTLM is what the server's NTLM CHALLENGE said about it (extended form only).
	NTLM *ServerNames
	// Challenge is the server's NTLM CHALLENGE message itself and ChallengeTime when it
	// arrived (Options.Now), extended form only. SessionSetup returns them, with NTLM, also
	// when the server then refuses the logon: the CHALLENGE describes the server whatever the
	// outcome.
	Challenge     ntlmssp.Challenge
	ChallengeTime time.Time
	// NTLMv1 records that the logon used an NTLMv1 response (Options.AllowNTLMv1, after the
	// server refused NTLMv2): the server accepts a response that can be cracked to the NT hash.
	NTLMv1 bool
}

// ServerNames is the self-description of an NTLM CHALLENGE (MS-NLMP 2.2.2.1).
type ServerNames = ntlmssp.ServerNames

// SessionSetup logs on (SESSION_SETUP_ANDX): in the extended-security form (MS-SMB 3.2.4.2.4,
// NTLMSSP in SPNEGO) when the server negotiated it, else the NT LM 0.12 form with NTLMv2
// responses (MS-CIFS 3.2.4.2.4 with MS-NLMP 3.3.2). When the server requires signing and the
// logon has a session key, signing starts with the logon's reply (MS-CIFS 3.2.5.3), and the
// session is refused with ErrSigningRequired when it has none. A refusal returns the NT
// status as a wire.NTStatus in the error chain.
func (c *Conn) SessionSetup(ctx context.Context, id Identity) (Session, error) {
	if !c.done {
		return Session{}, errors.New("smb1 session setup: negotiate first")
	}
	if id.Kind == User && id.User == "" {
		return Session{}, errors.New("smb1 session setup: no user name")
	}
	if id.Kind == Guest {
		id = randomGuest()
	}
	if c.neg.ExtendedSecurity {
		return c.setupExtended(ctx, id)
	}
	return c.setupNT(ctx, id)
}

// randomGuest returns a user that does not exist, with a random password.
func randomGuest() Identity {
	var b [6]byte
	_, _ = rand.Read(b[:])
	var p [12]byte
	_, _ = rand.Read(p[:])
	return Identity{Kind: User, User: "smbsweep-" + hex.EncodeToString(b[:]), Password: hex.EncodeToString(p[:])}
}

// setupRequest returns the fields every SESSION_SETUP_ANDX request shares.
func (c *Conn) setupRequest() smb1.SessionSetupRequest {
	caps := smb1.ClientCapabilities
	if c.neg.Unicode {
		caps |= smb1.CapUnicode
	}
	if c.neg.ExtendedSecurity && !c.ntForm {
		caps |= smb1.CapExtendedSecurity
	}
	mpx := c.neg.MaxMpxCount
	if mpx == 0 || mpx > 2 {
		mpx = 2
	}
	return smb1.SessionSetupRequest{
		MaxBufferSize: c.opts.MaxBufferSize, MaxMpxCount: mpx, VcNumber: 1, SessionKey: c.neg.SessionKey,
		Capabilities: caps, Unicode: c.neg.Unicode, NativeOS: "Unix", NativeLanMan: "smbsweep",
	}
}

// finish records a successful logon reply.
func (c *Conn) finish(r smb1.SessionSetupResponse, s *Session) {
	c.uid = r.UID()
	s.UID = r.UID()
	s.Guest = r.Guest()
	s.Extended = r.Extended()
	s.NativeOS = string(r.AppendNativeOS(nil))
	s.NativeLanMan = string(r.AppendNativeLanMan(nil))
	s.PrimaryDomain = string(r.AppendPrimaryDomain(nil))
}

// startSigning activates signing with macKey when the server requires it, after checking
// that the logon reply carries a valid signature for sequence number 1 (MS-CIFS 3.2.5.3).
// A logon reply sent without Flags2SecuritySignature is accepted unverified: Samba signs the
// reply of an extended-security logon but turns signing on only after replying to an NT LM
// 0.12 one (its reply carries the "BSRSPYL " placeholder); either way the next request has
// sequence number 2 and every later reply is verified.
func (c *Conn) startSigning(reply []byte, macKey []byte, s *Session) error {
	if !c.neg.SigningRequired() || s.Guest {
		return nil
	}
	c.macKey = append([]byte(nil), macKey...)
	if smb1.Reply(reply).Flags2()&smb1.Flags2SecuritySignature != 0 && !verify(reply, c.macKey, 1) {
		clear(c.macKey)
		c.macKey = nil
		return &transport.ProtocolError{Op: "smb1 session setup", Err: ErrBadSignature}
	}
	c.signing, c.seq, s.Signed = true, 2, true
	return nil
}

func (c *Conn) setupExtended(ctx context.Context, id Identity) (Session, error) {
	const op = "smb1 session setup"
	n := ntlmlogon.New(id.logon(), ntlmlogon.Options{Sign: true, ServerDomain: true, Workstation: c.opts.Workstation, Now: c.opts.Now})
	defer n.Clear()
	var tok [2560]byte
	defer clear(tok[:])
	req, s, err := c.extendedStart(ctx, n, tok[:0])
	if err != nil {
		return Session{}, err
	}
	r, err := c.logonCall(ctx, &req, op)
	if err != nil {
		if r != nil { // refused: the CHALLENGE still describes the server
			c.uid = 0
			return s, err
		}
		return Session{}, err
	}
	c.finish(r, &s)
	if id.Kind == Anonymous || s.Guest {
		return s, nil
	}
	if err := n.Finish(r.SecurityBlob()); err != nil {
		if errors.Is(err, transport.ErrBadSignature) {
			err = fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return Session{}, &transport.ProtocolError{Op: op + " (SPNEGO)", Err: err}
	}
	if err := c.startSigning(r, n.SessionKey(), &s); err != nil {
		return Session{}, err
	}
	return s, nil
}

// extendedStart sends the first SESSION_SETUP_ANDX of an extended-security logon (the NTLM
// NEGOTIATE in SPNEGO) and returns the second one (the AUTHENTICATE, its security blob in
// tok), with the connection's UID set to the one the server assigned, and the session so far
// (the server's CHALLENGE).
func (c *Conn) extendedStart(ctx context.Context, n *ntlmlogon.NTLM, tok []byte) (smb1.SessionSetupRequest, Session, error) {
	const op = "smb1 session setup"
	req := c.setupRequest()
	req.SecurityBlob = n.Start(tok)
	c.uid = 0
	msg, err := c.call(ctx, smb1.CommandSessionSetupAndX, 0, &req)
	if err != nil {
		return req, Session{}, fmt.Errorf("%s: %w", op, err)
	}
	r := smb1.SessionSetupResponse(msg)
	if err := r.Validate(); err != nil {
		return req, Session{}, &transport.ProtocolError{Op: op, Err: err}
	}
	if !r.MoreProcessingRequired() {
		if err := r.Err(); err != nil {
			return req, Session{}, fmt.Errorf("%s (NTLM NEGOTIATE): %w", op, err)
		}
		return req, Session{}, &transport.ProtocolError{Op: op, Err: fmt.Errorf("logon completed without an NTLM CHALLENGE: %w", wire.ErrMalformed)}
	}
	uid := r.UID()
	received := c.opts.Now()
	if req.SecurityBlob, err = n.Respond(tok, r.SecurityBlob()); err != nil {
		return req, Session{}, fmt.Errorf("%s: %w", op, err)
	}
	names := n.Names()
	c.uid = uid
	return req, Session{NTLM: &names, Challenge: n.Challenge(), ChallengeTime: received}, nil
}

// logonCall sends one SESSION_SETUP_ANDX and checks its reply. A refusal returns the reply
// with the NT status, wrapped with op, as the error; other failures return no reply.
func (c *Conn) logonCall(ctx context.Context, req *smb1.SessionSetupRequest, op string) (smb1.SessionSetupResponse, error) {
	msg, err := c.call(ctx, smb1.CommandSessionSetupAndX, 0, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	r := smb1.SessionSetupResponse(msg)
	if err := r.Validate(); err != nil {
		return nil, &transport.ProtocolError{Op: op, Err: err}
	}
	if err := r.Err(); err != nil {
		return r, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}

// logon is the identity in the terms of the one NTLMSSP logon (Guest is already a random User).
func (id Identity) logon() ntlmlogon.Identity {
	k := ntlmlogon.User
	if id.Kind == Anonymous {
		k = ntlmlogon.Anonymous
	}
	return ntlmlogon.Identity{Kind: k, User: id.User, Domain: id.Domain, Password: id.Password, NTHash: id.NTHash}
}

// responseKey returns NTOWFv2 for the user and domain.
func responseKey(id *Identity, domain string) ntlmcrypto.Key {
	l := id.logon()
	return l.ResponseKey(domain)
}

// setupNT is the NT LM 0.12 logon (MS-CIFS 3.2.4.2.4): OEMPassword carries the LMv2 response
// and UnicodePassword the NTLMv2 response over the NEGOTIATE challenge (MS-NLMP 3.3.2, with a
// client-built AV pair list of the domain and workstation names), or both are empty for an
// anonymous logon. The signing key is SessionBaseKey followed by the NT response (MS-CIFS
// 3.2.5.3; Samba computes it so too, but it has no key for NTLMv2 logons of this form and
// does not sign them).
//
// With Options.AllowNTLMv1, a refused NTLMv2 logon is retried once with an NTLMv1 response
// (MS-NLMP 3.3.1; never an LM response) and the session records it (Session.NTLMv1). A wrong
// password then costs the account two failed logons.
func (c *Conn) setupNT(ctx context.Context, id Identity) (Session, error) {
	const op = "smb1 session setup (NT LM 0.12)"
	if c.neg.Challenge == ([8]byte{}) && id.Kind != Anonymous {
		return Session{}, fmt.Errorf("%s: %w", op, ErrNoNTLMv2)
	}
	s, err := c.attemptNT(ctx, id, false)
	var st wire.NTStatus
	if err == nil || !c.opts.AllowNTLMv1 || id.Kind == Anonymous || !errors.As(err, &st) {
		return s, err
	}
	s, err1 := c.attemptNT(ctx, id, true)
	if err1 != nil {
		return Session{}, fmt.Errorf("NTLMv2 refused (%v), then NTLMv1: %w", st, err1)
	}
	return s, nil
}

// attemptNT sends one NT LM 0.12 SESSION_SETUP_ANDX, with NTLMv2 or (v1) NTLMv1 responses.
func (c *Conn) attemptNT(ctx context.Context, id Identity, v1 bool) (Session, error) {
	const op = "smb1 session setup (NT LM 0.12)"
	req := c.setupRequest()
	req.OEMPassword, req.UnicodePassword = []byte{}, []byte{}
	var b ntResponses
	defer b.clear()
	if id.Kind != Anonymous {
		if err := c.respondNT(&req, &id, v1, &b); err != nil {
			return Session{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	c.uid = 0
	r, err := c.logonCall(ctx, &req, op)
	if err != nil {
		return Session{}, err
	}
	s := Session{NTLMv1: v1}
	c.finish(r, &s)
	if id.Kind == Anonymous || s.Guest {
		return s, nil
	}
	macKey := append(b.base[:], req.UnicodePassword...)
	defer clear(macKey)
	if err := c.startSigning(r, macKey, &s); err != nil {
		return Session{}, err
	}
	return s, nil
}

// ntResponses holds the responses of an NT LM 0.12 logon and its session base key, secrets
// that clear wipes.
type ntResponses struct {
	nt       [512]byte
	lm, ntv1 [24]byte
	base     ntlmcrypto.Key
}

func (b *ntResponses) clear() {
	clear(b.nt[:])
	clear(b.lm[:])
	clear(b.ntv1[:])
	clear(b.base[:])
}

// respondNT fills the user, domain and responses of an NT LM 0.12 logon of id over the
// NEGOTIATE challenge: NTLMv2 and LMv2 (MS-NLMP 3.3.2, with a client-built AV pair list of the
// domain and workstation names), or with v1 an NTLMv1 response in both fields
// (NoLMResponseNTLMv1, MS-NLMP 3.3.1).
func (c *Conn) respondNT(req *smb1.SessionSetupRequest, id *Identity, v1 bool, b *ntResponses) error {
	domain := id.Domain
	if domain == "" {
		domain = c.neg.DomainName
	}
	req.AccountName, req.PrimaryDomain = id.User, domain
	if v1 {
		h := ntlmcrypto.NTHash(id.Password)
		if id.NTHash != nil {
			h = *id.NTHash
		}
		b.ntv1, b.base = ntlmcrypto.NTLMv1Response(h, c.neg.Challenge)
		clear(h[:])
		req.OEMPassword, req.UnicodePassword = b.ntv1[:], b.ntv1[:]
		return nil
	}
	var ti [256]byte
	t := ntlmssp.AppendAVPairString(ti[:0], ntlmssp.AvNbDomainName, domain)
	t = ntlmssp.AppendAVPairString(t, ntlmssp.AvNbComputerName, c.opts.Workstation)
	t = ntlmssp.AppendAVEOL(t)
	in := ntlmcrypto.NTLMv2Input{ResponseKeyNT: responseKey(id, domain), ServerChallenge: c.neg.Challenge,
		Time: wire.TimeToFiletime(c.opts.Now()), TargetInfo: t}
	defer clear(in.ResponseKeyNT[:])
	_, _ = rand.Read(in.ClientChallenge[:])
	nt, key, err := ntlmcrypto.ComputeNTLMv2Response(b.nt[:0], &in)
	if err != nil {
		return err
	}
	ntlmcrypto.LMv2Response(b.lm[:0], in.ResponseKeyNT, in.ServerChallenge, in.ClientChallenge)
	b.base = key
	req.OEMPassword, req.UnicodePassword = b.lm[:], nt
	return nil
}
