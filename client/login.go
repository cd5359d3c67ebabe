package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/transport/logon"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
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
	NTHash *ntlmcrypto.Key `json:"-"`
}

// Format prints the credentials without their secret, whatever the verb.
func (c Credentials) Format(f fmt.State, _ rune) {
	secret := "password"
	if c.NTHash != nil {
		secret = "NT hash"
	}
	_, _ = io.WriteString(f, "Credentials{User: "+c.User+", Domain: "+c.Domain+", "+secret+": [REDACTED]}")
}

// ParseNTHash parses an NT hash given as 32 hexadecimal digits, or in the LM:NT form
// (65 characters) that secretsdump and similar tools print. The error never repeats the input.
func ParseNTHash(s string) (ntlmcrypto.Key, error) {
	s = strings.TrimSpace(s)
	if lm, nt, ok := strings.Cut(s, ":"); ok {
		if len(lm) != 32 && len(lm) != 0 {
			return ntlmcrypto.Key{}, errors.New("NT hash: the LM part of LM:NT must be 32 hex digits or empty")
		}
		s = nt
	}
	if len(s) != 32 {
		return ntlmcrypto.Key{}, fmt.Errorf("NT hash: want 32 hex digits (or LM:NT), got %d characters", len(s))
	}
	var k ntlmcrypto.Key
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return ntlmcrypto.Key{}, errors.New("NT hash: not hexadecimal")
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

	// smb2 is the transport's session: the one owner of its SessionId, signing and sealing
	// state, which every request of the client is sent in (transport.Conn.Use).
	smb2 *transport.Session
}

// Signed reports whether replies are verified by signature (every reply not encrypted).
func (s *Session) Signed() bool { return s != nil }

// Encrypted reports whether every request of the session is encrypted.
func (s *Session) Encrypted() bool { return s != nil && s.Security.EncryptAll }

// Login authenticates with NTLMv2 inside SPNEGO (MS-NLMP 3.1.5.1.2, MS-SPNG) through the
// one logon of transport/logon: NEGOTIATE, CHALLENGE, then an AUTHENTICATE with KEY_EXCH and,
// when the CHALLENGE carries a timestamp, a MIC and the SPNEGO mechListMIC (the server's
// mechListMIC is verified). The domain defaults to the server's NetBIOS domain. On success the
// session is signed, and encrypted when the server requires it or Options.Encrypt asks (see
// transport.Conn.EstablishSession).
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
	n := logon.New(cred.identity(), logon.Options{Sign: true, ServerDomain: true, Workstation: c.workstation(), Now: c.opts.now})
	defer n.Clear()
	res, err := logon.SMB2(ctx, c.conn, n, uint8(wire.NegotiateSigningRequired), c.opts.now)
	if err != nil {
		return loginError(op, target, err)
	}
	sess := &Session{ID: res.Session.ID(), User: cred.User, Domain: n.Domain(), Server: n.Names(), MIC: n.MIC(), Flags: res.Flags, smb2: res.Session}
	if sess.Flags&(wire.SessionFlagIsGuest|wire.SessionFlagIsNull) != 0 {
		return &Error{Op: op, Target: target, Err: ErrGuest}
	}
	sec, err := c.conn.EstablishSession(res.Final, n.SessionKey(), transport.SessionOptions{Encrypt: c.opts.Encrypt})
	if err != nil {
		return failed(op, target, err)
	}
	sess.Security = sec
	c.sess = sess
	return nil
}

// loginError turns a failed logon step into the client's error: a refusal names its status.
func loginError(op, target string, err error) error {
	var r *logon.Refused
	if !errors.As(err, &r) {
		return failed(op, target, err)
	}
	if r.Step == "AUTHENTICATE" && r.Status == wire.StatusMoreProcessingRequired {
		return &Error{Op: op, Target: target, Status: r.Status, Err: errors.New("the server asked for another round after the AUTHENTICATE")}
	}
	return refused(op, target, r.Status)
}

// identity is the logon identity of the credentials.
func (c *Credentials) identity() logon.Identity {
	return logon.Identity{Kind: logon.User, User: c.User, Domain: c.Domain, Password: c.Password, NTHash: c.NTHash}
}

// workstation is the client name sent in the AUTHENTICATE.
func (c *Client) workstation() string {
	if c.opts.Workstation == "" {
		return "SMBSWEEP"
	}
	return c.opts.Workstation
}
