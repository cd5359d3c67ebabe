package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

// Credentials identify the user of a logon: a user name, a domain ("" means the server's own
// NetBIOS domain, from its NTLM CHALLENGE), and either a password or the NT hash of one
// (pass-the-hash). Credentials print as the user and domain with the secret [REDACTED], with
// every fmt verb, and marshal to JSON without the secret.
type Credentials struct {
	User   string `json:"user"`
	Domain string `json:"domain,omitempty"`
	// Password is used when NTHash is nil. An empty password is a valid password.
	Password string `json:"-"`
	// NTHash, when set, is used instead of Password: MD4 of the UTF-16LE password.
	NTHash *ntlmssp.Key `json:"-"`
}

// Format prints the credentials without their secret, whatever the verb.
func (c Credentials) Format(f fmt.State, _ rune) {
	secret := "password"
	if c.NTHash != nil {
		secret = "NT hash"
	}
	_, _ = io.WriteString(f, "Credentials{User: "+c.User+", Domain: "+c.Domain+", "+secret+": [REDACTED]}")
}

// responseKey returns NTOWFv2 for the user and domain: from the NT hash when given, else from
// the password.
func (c *Credentials) responseKey(domain string) ntlmssp.Key {
	if c.NTHash != nil {
		return ntlmssp.NTOWFv2FromHash(*c.NTHash, c.User, domain)
	}
	return ntlmssp.NTOWFv2(c.Password, c.User, domain)
}

// ParseNTHash parses an NT hash given as 32 hexadecimal digits, or in the LM:NT form
// (65 characters) that secretsdump and similar tools print. The error never repeats the input.
func ParseNTHash(s string) (ntlmssp.Key, error) {
	s = strings.TrimSpace(s)
	if lm, nt, ok := strings.Cut(s, ":"); ok {
		if len(lm) != 32 && len(lm) != 0 {
			return ntlmssp.Key{}, errors.New("NT hash: the LM part of LM:NT must be 32 hex digits or empty")
		}
		s = nt
	}
	if len(s) != 32 {
		return ntlmssp.Key{}, fmt.Errorf("NT hash: want 32 hex digits (or LM:NT), got %d characters", len(s))
	}
	var k ntlmssp.Key
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return ntlmssp.Key{}, errors.New("NT hash: not hexadecimal")
	}
	return k, nil
}

// ServerNames is what the server's NTLM CHALLENGE says about it (MS-NLMP 2.2.2.1).
type ServerNames = ntlmssp.ServerNames

// Session is a logged-on, signed session.
type Session struct {
	ID uint64
	// User and Domain are the identity that logged on (Domain as sent: the given one, or the
	// server's NetBIOS domain).
	User, Domain string
	// Flags are the SESSION_SETUP SessionFlags (wire.SessionFlag*).
	Flags uint16
	// Security says how the session is protected: signing algorithm, encryption.
	Security transport.Security
	// Server is what the NTLM CHALLENGE said about the server.
	Server ServerNames
	// MIC tells whether the AUTHENTICATE carried a MIC (and SPNEGO a mechListMIC).
	MIC bool
}

// Signed reports whether replies are verified by signature (every reply not encrypted).
func (s *Session) Signed() bool { return s != nil }

// Encrypted reports whether every request of the session is encrypted.
func (s *Session) Encrypted() bool { return s != nil && s.Security.EncryptAll }

// ntlmFlags are the NEGOTIATE_MESSAGE flags of a credentialed logon: the defaults plus
// KEY_EXCH (a random ExportedSessionKey, from which SMB derives its keys) and SIGN (the
// mechListMIC that accompanies a MIC is an NTLM signature).
const ntlmFlags = ntlmssp.DefaultNegotiateFlags | ntlmssp.FlagKeyExch | ntlmssp.FlagSign

// Login authenticates with NTLMv2 inside SPNEGO (MS-NLMP 3.1.5.1.2, MS-SPNG): NEGOTIATE,
// CHALLENGE, then an AUTHENTICATE with KEY_EXCH and, when the CHALLENGE carries a timestamp,
// a MIC and the SPNEGO mechListMIC (the server's mechListMIC is verified). The domain defaults
// to the server's NetBIOS domain. On success the session is signed, and encrypted when the
// server requires it or Options.Encrypt asks (see transport.Conn.EstablishSession).
//
// A logon the server grants only as guest or anonymous fails with ErrGuest; a refusal names
// the NT status (STATUS_LOGON_FAILURE, ...).
func (c *Client) Login(ctx context.Context, cred Credentials) error {
	const op = "login"
	target := c.unc("", "")
	if c.sess != nil {
		return &Error{Op: op, Target: target, Err: errors.New("already logged on")}
	}
	if cred.User == "" {
		return &Error{Op: op, Target: target, Err: errors.New("no user name")}
	}
	if cred.Domain != "" {
		target += " as " + cred.Domain + `\` + cred.User
	} else {
		target += " as " + cred.User
	}
	conn := c.conn
	conn.SessionID = 0
	var negBuf, tokBuf [512]byte
	neg := ntlmssp.Negotiate{Flags: ntlmFlags, Version: ntlmssp.DefaultVersion}
	negTok := neg.AppendTo(negBuf[:0])
	mode := uint8(wire.NegotiateSigningRequired)
	req := wire.SessionSetupRequest{SecurityMode: mode, SecurityBuffer: spnego.AppendNegTokenInit(tokBuf[:0], negTok)}
	resp, err := conn.Call(ctx, wire.CmdSessionSetup, 0, &req)
	if err != nil {
		return failed(op, target, err)
	}
	if st := resp.Header.Status; st != wire.StatusMoreProcessingRequired {
		if st == wire.StatusSuccess {
			return failed(op, target, &transport.ProtocolError{Op: "SESSION_SETUP", Err: fmt.Errorf("logon completed without an NTLM CHALLENGE: %w", wire.ErrMalformed)})
		}
		return refused(op, target, st)
	}
	ssr := wire.SessionSetupResponse(resp.Msg)
	if err := ssr.Validate(); err != nil {
		return failed(op, target, &transport.ProtocolError{Op: "SESSION_SETUP response", Err: err})
	}
	challenge, err := challengeFrom(ssr.SecurityBuffer())
	if err != nil {
		return failed(op, target, &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: err})
	}
	// The CHALLENGE is a view into the connection's buffer: keep a copy for the MIC.
	challenge = append(ntlmssp.Challenge(nil), challenge...)
	conn.SessionID = resp.Header.SessionID
	var av ntlmssp.AVInfo
	if err := challenge.AVInfo(&av); err != nil {
		return failed(op, target, &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: err})
	}
	sess := &Session{ID: resp.Header.SessionID, User: cred.User, Domain: cred.Domain, Server: challenge.ServerNames(&av)}
	if sess.Domain == "" {
		sess.Domain = sess.Server.NetBIOSDomain
	}
	flags := challenge.Flags() & neg.Flags
	ws := c.opts.Workstation
	if ws == "" {
		ws = "SMBSWEEP"
	}
	auth := ntlmssp.NTLMv2Auth{
		User: cred.User, Domain: sess.Domain, Workstation: ws,
		ResponseKeyNT: cred.responseKey(sess.Domain),
		Time:          wire.TimeToFiletime(c.opts.now()),
		IncludeMIC:    av.HasTimestamp && flags&ntlmssp.FlagExtendedSessionSecurity != 0,
	}
	defer clear(auth.ResponseKeyNT[:])
	_, _ = rand.Read(auth.ClientChallenge[:])
	_, _ = rand.Read(auth.ExportedSessionKey[:])
	defer clear(auth.ExportedSessionKey[:])
	var authBuf [2048]byte
	authTok, exported, err := auth.AppendAuthenticate(authBuf[:0], flags, negTok, challenge)
	if err != nil {
		return failed(op, target, err)
	}
	defer clear(exported[:])
	var listMIC []byte
	var mechTypes []byte
	if auth.IncludeMIC {
		mechTypesList := spnego.NTLMMechTypeList()
		mechTypes = mechTypesList.AppendDER(nil)
		s, err := ntlmssp.NewSigner(flags, exported, true)
		if err != nil {
			return failed(op, target, err)
		}
		listMIC = s.Sign(nil, mechTypes)
		sess.MIC = true
	}
	req.SecurityBuffer = spnego.AppendNegTokenResp(tokBuf[:0], authTok, listMIC)
	resp, err = conn.Call(ctx, wire.CmdSessionSetup, 0, &req)
	clear(authBuf[:])
	if err != nil {
		return failed(op, target, err)
	}
	switch st := resp.Header.Status; st {
	case wire.StatusSuccess:
	case wire.StatusMoreProcessingRequired:
		return &Error{Op: op, Target: target, Status: st, Err: errors.New("the server asked for another round after the AUTHENTICATE")}
	default:
		return refused(op, target, st)
	}
	ssr = wire.SessionSetupResponse(resp.Msg)
	if err := ssr.Validate(); err != nil {
		return failed(op, target, &transport.ProtocolError{Op: "SESSION_SETUP response", Err: err})
	}
	sess.Flags = ssr.SessionFlags()
	if sess.Flags&(wire.SessionFlagIsGuest|wire.SessionFlagIsNull) != 0 {
		return &Error{Op: op, Target: target, Err: ErrGuest}
	}
	if buf := ssr.SecurityBuffer(); len(buf) > 0 && auth.IncludeMIC {
		if err := verifyServerMIC(buf, flags, exported, mechTypes); err != nil {
			return failed(op, target, &transport.ProtocolError{Op: "SPNEGO", Err: err})
		}
	}
	sec, err := conn.EstablishSession(resp, exported[:], transport.SessionOptions{Encrypt: c.opts.Encrypt})
	if err != nil {
		return failed(op, target, err)
	}
	sess.Security = sec
	c.sess = sess
	return nil
}

// verifyServerMIC checks the acceptor's mechListMIC over the mechTypes the client sent
// (RFC 4178 section 5, MS-SPNG 3.3.5.1), when the final NegTokenResp carries one.
func verifyServerMIC(buf []byte, flags ntlmssp.Flags, exported ntlmssp.Key, mechTypes []byte) error {
	if spnego.IsRawNTLMSSP(buf) {
		return nil
	}
	r, err := spnego.DecodeNegTokenResp(buf)
	if err != nil {
		return err
	}
	if r.HasNegState && r.NegState == spnego.Reject {
		return fmt.Errorf("server rejected the SPNEGO negotiation: %w", wire.ErrMalformed)
	}
	if r.MechListMIC == nil {
		return nil
	}
	s, err := ntlmssp.NewSigner(flags, exported, false)
	if err != nil {
		return err
	}
	if !s.Verify(mechTypes, r.MechListMIC) {
		return fmt.Errorf("server's mechListMIC does not verify: %w", transport.ErrBadSignature)
	}
	return nil
}

// challengeFrom extracts and validates the NTLM CHALLENGE of a SESSION_SETUP security buffer
// (SPNEGO NegTokenResp, or a bare NTLMSSP token, which some servers send).
func challengeFrom(buf []byte) (ntlmssp.Challenge, error) {
	tok, err := spnego.ResponseMechToken(buf)
	if err != nil {
		return nil, err
	}
	ch := ntlmssp.Challenge(tok)
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	return ch, nil
}
