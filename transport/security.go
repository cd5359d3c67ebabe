package transport

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/internal/smbcrypto"
	"github.com/smbsweep/smbsweep/wire"
)

// ErrBadSignature means a reply on a signed session failed signature verification, or
// arrived unsigned (MS-SMB2 3.2.5.1.3). It is always wrapped in a *ProtocolError whose Op names
// the command. The connection is unusable afterwards: nothing a forged peer says is trusted.
var ErrBadSignature = errors.New("bad signature")

// ErrNotEncrypted means a reply that had to be encrypted (the session or the share requires
// encryption, or the request was encrypted) arrived in the clear (MS-SMB2 3.2.5.1.1.1).
var ErrNotEncrypted = errors.New("reply not encrypted")

// ErrDecrypt means an encrypted reply did not decrypt: its tag did not match, or it named a
// session without keys.
var ErrDecrypt = errors.New("decryption failed")

// Negotiated is what the transport recorded from the successful NEGOTIATE exchange: the
// inputs of session key derivation (MS-SMB2 3.2.5.2).
type Negotiated struct {
	// Dialect is the selected DialectRevision (0 before NEGOTIATE).
	Dialect uint16
	// Cipher is the 3.1.1 cipher from the ENCRYPTION_CAPABILITIES context (wire.Cipher*);
	// for 3.0 and 3.0.2 it is AES-128-CCM when the server announced CAP_ENCRYPTION, and
	// wire.CipherNone otherwise.
	Cipher uint16
	// SigningAlgorithm is the 3.1.1 algorithm from the SIGNING_CAPABILITIES context,
	// meaningful when SigningNegotiated is true.
	SigningAlgorithm  uint16
	SigningNegotiated bool
	// PreauthHash is Connection.PreauthIntegrityHashValue after the exchange (3.1.1 only; zero
	// when the connection was opened with Options.NoSigning).
	PreauthHash smbcrypto.PreauthHash
}

// Security is how an established session is protected (see Conn.EstablishSession).
type Security struct {
	// SigningAlgorithm (wire.Signing*) signs every request not encrypted and verifies every
	// reply not encrypted.
	SigningAlgorithm uint16
	// EncryptAll is true when every request of the session is encrypted (the server set
	// SMB2_SESSION_FLAG_ENCRYPT_DATA, or the caller asked).
	EncryptAll bool
	// Cipher is the cipher (wire.Cipher*) when the session has encryption keys, whether or
	// not EncryptAll is set (shares with SMB2_SHAREFLAG_ENCRYPT_DATA use them);
	// wire.CipherNone for 2.x dialects and servers without encryption.
	Cipher uint16
}

// Session is one SMB2 session of a Conn: the SessionId the server assigned and, once
// EstablishSession turned on its signing, its signing and sealing state. A logon makes one
// (NewSession with the id of the server's first SESSION_SETUP reply) and Conn.Use points the
// connection's next requests at it: that one method decides the SessionId of a request's
// header and whether it is signed or encrypted, so no caller writes connection state. Null
// and guest sessions are never established and stay unsigned.
type Session struct {
	id  uint64
	sec *secSession // nil until EstablishSession, and again after LOGOFF
}

// NewSession returns the session the server numbered id, unsigned.
func NewSession(id uint64) *Session { return &Session{id: id} }

// ID returns the session's SessionId (0 for a nil session: no session yet).
func (s *Session) ID() uint64 {
	if s == nil {
		return 0
	}
	return s.id
}

// Security returns how the session is protected, and false when it is not established
// (signed): never-established, null and guest sessions, and sessions logged off.
func (s *Session) Security() (Security, bool) {
	if s == nil || s.sec == nil {
		return Security{}, false
	}
	return s.sec.sec, true
}

// established returns the session's security state, nil when its requests go out unsigned.
func (s *Session) established() *secSession {
	if s == nil {
		return nil
	}
	return s.sec
}

// Use points the connection's next requests at session s (nil: no session, SessionId 0):
// their header carries its SessionId, and they are signed or encrypted as it is established.
func (c *Conn) Use(s *Session) { c.cur = s }

// Session returns the session the connection's next requests go out in (nil: none).
func (c *Conn) Session() *Session { return c.cur }

// secSession is the security state of one established session on the connection.
type secSession struct {
	id      uint64
	sec     Security
	signer  *smbcrypto.Signer
	enc     smbcrypto.AEAD // client to server
	dec     smbcrypto.AEAD // server to client
	nonces  *smbcrypto.NonceGenerator
	trees   []uint32 // trees connected with SMB2_SHAREFLAG_ENCRYPT_DATA
	nonceBf [16]byte
}

// encrypts reports whether a request on treeID must be encrypted.
func (s *secSession) encrypts(treeID uint32) bool {
	if s.enc == nil {
		return false
	}
	if s.sec.EncryptAll {
		return true
	}
	for _, t := range s.trees {
		if t == treeID {
			return true
		}
	}
	return false
}

func (s *secSession) dropTree(treeID uint32) {
	for i, t := range s.trees {
		if t == treeID {
			s.trees = append(s.trees[:i], s.trees[i+1:]...)
			return
		}
	}
}

// session returns the security state of the established session with id, or nil.
func (c *Conn) session(id uint64) *secSession {
	if id == 0 {
		return nil
	}
	for _, s := range c.sessions {
		if s.id == id {
			return s.sec
		}
	}
	return nil
}

// dropSession ends the security of the established session with id: its requests go out
// unsigned from then on.
func (c *Conn) dropSession(id uint64) {
	for i, s := range c.sessions {
		if s.id == id {
			s.sec = nil
			c.sessions = append(c.sessions[:i], c.sessions[i+1:]...)
			return
		}
	}
}

// Negotiated returns what the NEGOTIATE exchange established.
func (c *Conn) Negotiated() Negotiated { return c.neg }

// Credits returns the credits the server granted that are not yet used: the largest
// CreditCharge the next request may carry.
func (c *Conn) Credits() uint32 { return c.credits }

// Security returns the protection of session id, and false when it is not an established
// (signed) session: never-established, null and guest sessions.
func (c *Conn) Security(id uint64) (Security, bool) {
	if s := c.session(id); s != nil {
		return s.sec, true
	}
	return Security{}, false
}

// SessionPreauthHash returns the preauthentication integrity hash of the SESSION_SETUP
// exchange in progress (or just completed) on the connection, the context of the 3.1.1 key
// derivation. It is meaningful for dialect 3.1.1 only.
func (c *Conn) SessionPreauthHash() smbcrypto.PreauthHash { return c.sessHash }

// recordNegotiate notes the dialect, cipher and signing algorithm of a NEGOTIATE response and,
// for 3.1.1, sets the connection's preauth hash to withRequest (the hash advanced with the
// request) advanced with the response (MS-SMB2 3.2.5.2). A response that fails validation is
// left for the caller to report.
func (c *Conn) recordNegotiate(msg []byte, st wire.NTStatus, withRequest smbcrypto.PreauthHash) {
	nr := wire.NegotiateResponse(msg)
	if st != wire.StatusSuccess || nr.Validate() != nil {
		return
	}
	d := nr.DialectRevision()
	c.neg.Dialect = uint16(d)
	switch d {
	case wire.Dialect300, wire.Dialect302:
		if nr.Capabilities()&wire.CapEncryption != 0 {
			c.neg.Cipher = wire.CipherAES128CCM
		}
	case wire.Dialect311:
		if !c.noSign {
			c.connHash = withRequest
			c.connHash.Update(msg)
		}
		var ctxs wire.NegotiateContexts
		if nr.Contexts(&ctxs) == nil {
			if ctxs.Has(wire.NegotiateContextEncryption) {
				c.neg.Cipher = ctxs.Cipher
			}
			if ctxs.Has(wire.NegotiateContextSigning) {
				c.neg.SigningAlgorithm, c.neg.SigningNegotiated = ctxs.SigningAlgorithm, true
			}
		}
		c.neg.PreauthHash = c.connHash
	}
}

// SessionOptions says how EstablishSession protects a session.
type SessionOptions struct {
	// Encrypt encrypts every request of the session even when the server does not require it
	// (the -encrypt flag). It fails for dialects without encryption.
	Encrypt bool
}

// EstablishSession turns on signing, and encryption where required or asked, for the session
// in use (Conn.Use), whose final SESSION_SETUP response (STATUS_SUCCESS) Call just returned as
// final (MS-SMB2 3.2.5.3.1); the Session holds that state from then on. sessionKey is the GSS session key (NTLM's ExportedSessionKey). It derives the
// session's keys (for 3.1.1 with the session's preauth integrity hash), verifies the final
// response's signature with the new signing key (an unsigned final response is an error for
// 3.1.1, where the server must sign it), and from then on signs every request on the session,
// verifies every reply and encrypts requests when the server set SMB2_SESSION_FLAG_ENCRYPT_DATA,
// when opts.Encrypt is set, or (per tree) when a TREE_CONNECT response carries
// SMB2_SHAREFLAG_ENCRYPT_DATA.
//
// Null and guest sessions (IS_NULL, IS_GUEST) have no usable key: they are refused and stay
// unsigned, as the probes need. Call EstablishSession before any other request: final.Msg is a
// view into the connection's buffer.
func (c *Conn) EstablishSession(final Response, sessionKey []byte, opts SessionOptions) (Security, error) {
	const op = "SESSION_SETUP"
	if c.noSign {
		return Security{}, errors.New("establish session: the connection was opened with Options.NoSigning (no preauth integrity hash kept)")
	}
	if final.Header.Command != wire.CmdSessionSetup || final.Header.Status != wire.StatusSuccess {
		return Security{}, fmt.Errorf("establish session: not a successful SESSION_SETUP response (%s %s)", final.Header.Command, final.Header.Status)
	}
	ssr := wire.SessionSetupResponse(final.Msg)
	if err := ssr.Validate(); err != nil {
		return Security{}, &ProtocolError{Op: op, Err: err}
	}
	if f := ssr.SessionFlags(); f&(wire.SessionFlagIsGuest|wire.SessionFlagIsNull) != 0 {
		return Security{}, fmt.Errorf("establish session: a guest or null session (flags 0x%04x) has no key to sign with", f)
	}
	id := final.Header.SessionID
	if id == 0 {
		return Security{}, &ProtocolError{Op: op, Err: fmt.Errorf("session id 0: %w", wire.ErrMalformed)}
	}
	sess := c.cur
	if sess.ID() != id {
		return Security{}, fmt.Errorf("establish session: the final response is for session 0x%x, but the connection uses session 0x%x (point it at the logon's session with Conn.Use)", id, sess.ID())
	}
	d := c.neg.Dialect
	if d == 0 {
		return Security{}, errors.New("establish session: no NEGOTIATE seen on this connection")
	}
	var hash []byte
	if d == uint16(wire.Dialect311) {
		v := c.sessHash.Value()
		hash = v[:]
	}
	keys, err := smbcrypto.DeriveKeys(d, sessionKey, hash, c.neg.Cipher)
	if err != nil {
		return Security{}, fmt.Errorf("establish session: %w", err)
	}
	defer keys.Zero()
	s := &secSession{id: id}
	s.sec.SigningAlgorithm = smbcrypto.SigningAlgorithm(d, c.neg.SigningAlgorithm, c.neg.SigningNegotiated)
	if s.signer, err = smbcrypto.NewSigner(s.sec.SigningAlgorithm, keys.Signing); err != nil {
		return Security{}, fmt.Errorf("establish session: %w", err)
	}
	switch {
	case final.Header.Flags&wire.FlagSigned != 0:
		if !s.signer.Verify(final.Msg) {
			return Security{}, &ProtocolError{Op: op, Err: fmt.Errorf("final response: %w", ErrBadSignature)}
		}
	case d == uint16(wire.Dialect311):
		return Security{}, &ProtocolError{Op: op, Err: fmt.Errorf("final 3.1.1 response not signed: %w", ErrBadSignature)}
	}
	if err := c.startSealing(s, &keys, ssr.SessionFlags()&wire.SessionFlagEncryptData != 0, opts.Encrypt); err != nil {
		return Security{}, fmt.Errorf("establish session: %w", err)
	}
	c.dropSession(id)
	sess.sec = s
	c.sessions = append(c.sessions, sess)
	return s.sec, nil
}

// startSealing sets up the session's ciphers when the connection negotiated one, and turns
// on encryption of every request when the server requires it or the caller asked.
func (c *Conn) startSealing(s *secSession, keys *smbcrypto.Keys, serverEncrypts, asked bool) error {
	if c.neg.Cipher != wire.CipherNone && keys.Encryption != nil {
		var err error
		if s.enc, err = smbcrypto.NewCipher(c.neg.Cipher, keys.Encryption); err == nil {
			s.dec, err = smbcrypto.NewCipher(c.neg.Cipher, keys.Decryption)
		}
		if err == nil {
			s.nonces, err = smbcrypto.NewNonceGenerator(s.enc.NonceSize())
		}
		if err != nil {
			return err
		}
		s.sec.Cipher = c.neg.Cipher
	}
	if serverEncrypts || asked {
		if s.enc == nil {
			why := "the server requires encryption"
			if !serverEncrypts {
				why = "encryption was asked for"
			}
			return fmt.Errorf("%s, but dialect %s with this server has no cipher", why, wire.Dialect(c.neg.Dialect))
		}
		s.sec.EncryptAll = true
	}
	return nil
}

// protect signs or encrypts the request in frame (NetBIOS header room included) for the
// session it names, and returns the frame to send plus whether it was encrypted.
func (c *Conn) protect(frame []byte, s *secSession, treeID uint32) ([]byte, bool, error) {
	msg := frame[wire.NetBIOSHeaderSize:]
	if s.encrypts(treeID) {
		nonce, err := s.nonces.Next(s.nonceBf[:0])
		if err != nil {
			return nil, false, err
		}
		out := append(c.seal[:0], 0, 0, 0, 0)
		out, err = smbcrypto.SealMessage(out, s.enc, nonce, s.id, msg)
		if err != nil {
			return nil, false, err
		}
		c.seal = out
		return out, true, nil
	}
	binary.LittleEndian.PutUint32(msg[16:], binary.LittleEndian.Uint32(msg[16:])|wire.FlagSigned)
	if err := s.signer.Sign(msg); err != nil {
		return nil, false, err
	}
	return frame, false, nil
}

// decrypt opens a received TRANSFORM message in place and returns the plaintext message.
func (c *Conn) decrypt(cmd wire.Command, msg []byte) ([]byte, error) {
	th := wire.TransformHeader(msg)
	if err := th.Validate(); err != nil {
		return nil, &ProtocolError{Op: cmd.String(), Err: err}
	}
	s := c.session(th.SessionID())
	if s == nil || s.dec == nil {
		return nil, &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("encrypted reply for session 0x%x, which has no keys: %w", th.SessionID(), ErrDecrypt)}
	}
	pt, err := smbcrypto.OpenMessage(s.dec, msg, msg[wire.TransformHeaderSize:wire.TransformHeaderSize])
	if err != nil {
		return nil, &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("%w: %w", ErrDecrypt, err)}
	}
	if len(pt) >= wire.HeaderSize && binary.LittleEndian.Uint32(pt) == wire.ProtocolSMB2 &&
		binary.LittleEndian.Uint64(pt[40:]) != th.SessionID() {
		return nil, &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("encrypted reply's session id differs from its transform header: %w", wire.ErrMalformed)}
	}
	return pt, nil
}

// checkReply applies the session's policy to a reply of the request sent on session s and
// treeID: a reply that had to be encrypted must have been, and a reply in the clear must be
// signed with the session's key (MS-SMB2 3.2.5.1.3; the session always requires signing).
func (c *Conn) checkReply(cmd wire.Command, s *secSession, treeID uint32, sentEncrypted, encrypted bool, h *wire.Header, msg []byte) error {
	if encrypted {
		return nil
	}
	if sentEncrypted || s.encrypts(treeID) {
		return &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("%w on an encrypted session (status %s)", ErrNotEncrypted, h.Status)}
	}
	if h.Flags&wire.FlagSigned == 0 {
		return &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("reply not signed (status %s): %w", h.Status, ErrBadSignature)}
	}
	if !s.signer.Verify(msg) {
		return &ProtocolError{Op: cmd.String(), Err: ErrBadSignature}
	}
	return nil
}

// afterReply updates per-session state from a verified reply: trees that require encryption,
// and sessions and trees that are gone.
func (c *Conn) afterReply(cmd wire.Command, s *secSession, treeID uint32, h *wire.Header, msg []byte) {
	if h.Status != wire.StatusSuccess {
		return
	}
	switch cmd {
	case wire.CmdTreeConnect:
		tr := wire.TreeConnectResponse(msg)
		if tr.Validate() == nil && tr.ShareFlags()&wire.ShareFlagEncryptData != 0 && s.enc != nil {
			s.trees = append(s.trees, h.TreeID)
		}
	case wire.CmdTreeDisconnect:
		s.dropTree(treeID)
	case wire.CmdLogoff:
		c.dropSession(s.id)
	}
}
