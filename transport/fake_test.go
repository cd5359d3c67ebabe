package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/smbcrypto"
	"github.com/smbsweep/smbsweep/wire"
)

// memConn is an in-memory net.Conn: every Write is handed whole frames to serve, whose replies
// are queued for Read. Single goroutine, no allocation once its buffers have grown, so that
// allocation tests see only the client's own allocations.
type memConn struct {
	serve  func(req []byte, out []byte) []byte
	in     []byte
	out    []byte
	rd     int
	closed bool
}

func (m *memConn) Write(b []byte) (int, error) {
	if m.closed {
		return 0, net.ErrClosed
	}
	m.in = append(m.in, b...)
	for len(m.in) >= 4 {
		_, n, _ := wire.ParseNetBIOSHeader(m.in)
		if len(m.in) < 4+n {
			break
		}
		if m.rd == len(m.out) {
			m.out, m.rd = m.out[:0], 0
		}
		m.out = m.serve(m.in[4:4+n], m.out)
		m.in = m.in[:copy(m.in, m.in[4+n:])]
	}
	return len(b), nil
}

func (m *memConn) Read(b []byte) (int, error) {
	if m.rd == len(m.out) {
		if m.closed {
			return 0, net.ErrClosed
		}
		return 0, io.EOF
	}
	n := copy(b, m.out[m.rd:])
	m.rd += n
	return n, nil
}

func (m *memConn) Close() error                     { m.closed = true; return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 445} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// fakeServer is the server side of SMB2 signing and encryption, written from MS-SMB2 3.3 with
// the smbcrypto primitives: it keeps its own preauth hash chain, derives its own keys, checks
// the client's signatures and encryption, and signs or encrypts its replies.
type fakeServer struct {
	t          testing.TB
	dialect    uint16
	cipher     uint16 // 3.1.1 context, or CipherAES128CCM for 3.0 with CAP_ENCRYPTION
	signAlg    uint16 // 3.1.1 SIGNING context; omitted when noSignCtx
	noSignCtx  bool
	sessionKey []byte
	flags      uint16 // SessionFlags of the final SESSION_SETUP
	shareFlags uint32 // TREE_CONNECT ShareFlags
	sessionID  uint64

	// Misbehaviour knobs.
	corruptSig    bool   // flip a signature bit in replies
	unsigned      bool   // do not sign replies
	clearReply    bool   // answer encrypted requests in the clear
	compressed    bool   // answer with a COMPRESSION_TRANSFORM_HEADER
	badTag        bool   // corrupt the tag of encrypted replies
	unsignedFinal bool   // do not sign the final SESSION_SETUP response
	extra         []byte // appended to replies (keeps them variable)

	connHash, sessHash smbcrypto.PreauthHash
	keys               smbcrypto.Keys
	signer             *smbcrypto.Signer
	enc, dec           smbcrypto.AEAD // enc: server to client
	nonces             *smbcrypto.NonceGenerator
	rounds             int

	// What the last request looked like.
	lastSigned, lastEncrypted bool
	lastCmd                   wire.Command
	errs                      []string
	scratch                   []byte
}

func (s *fakeServer) fail(format string) { s.errs = append(s.errs, format) }

// serve answers one request (a whole SMB2 or TRANSFORM message) by appending a framed reply to out.
func (s *fakeServer) serve(req []byte, out []byte) []byte {
	encrypted := false
	if binary.LittleEndian.Uint32(req) == wire.ProtocolSMB2Transform {
		if s.dec == nil {
			s.fail("encrypted request before keys")
			return out
		}
		pt, err := smbcrypto.OpenMessage(s.dec, req, s.scratch[:0])
		if err != nil {
			s.fail("request does not decrypt: " + err.Error())
			return out
		}
		s.scratch = pt
		req, encrypted = pt, true
	}
	var h wire.Header
	if err := wire.DecodeHeader(req, &h); err != nil {
		s.fail("request header: " + err.Error())
		return out
	}
	s.lastCmd, s.lastEncrypted, s.lastSigned = h.Command, encrypted, h.Flags&wire.FlagSigned != 0
	if s.lastSigned && !encrypted {
		if s.signer == nil || !s.signer.Verify(req) {
			s.fail("request signature does not verify")
		}
	}
	rh := wire.Header{Command: h.Command, MessageID: h.MessageID, SessionID: h.SessionID, TreeID: h.TreeID,
		Credits: h.Credits, Flags: wire.FlagServerToRedir}
	var body []byte
	switch h.Command {
	case wire.CmdNegotiate:
		s.connHash.Update(req)
		body = s.negotiateBody()
	case wire.CmdSessionSetup:
		if h.SessionID == 0 {
			s.sessHash = s.connHash
			rh.SessionID = s.sessionID
		}
		s.sessHash.Update(req)
		s.rounds++
		body = []byte{9, 0, 0, 0, 72, 0, 0, 0}
		if s.rounds == 1 {
			rh.Status = wire.StatusMoreProcessingRequired
		} else {
			binary.LittleEndian.PutUint16(body[2:], s.flags)
			s.establish()
		}
	case wire.CmdTreeConnect:
		body = make([]byte, 16)
		body[0], body[2] = 16, wire.ShareTypeDisk
		binary.LittleEndian.PutUint32(body[4:], s.shareFlags)
		rh.TreeID = 7
	default:
		body = []byte{4, 0, 0, 0}
	}
	body = append(body, s.extra...)
	start := len(out)
	out = append(out, 0, 0, 0, 0)
	out = rh.AppendTo(out)
	out = append(out, body...)
	msg := out[start+4:]
	switch {
	case h.Command == wire.CmdNegotiate:
		if s.dialect == uint16(wire.Dialect311) {
			s.connHash.Update(msg)
		}
	case h.Command == wire.CmdSessionSetup && rh.Status == wire.StatusMoreProcessingRequired:
		s.sessHash.Update(msg)
	case h.Command == wire.CmdSessionSetup:
		if !s.unsignedFinal {
			s.sign(msg)
		}
	case encrypted && !s.clearReply:
		sealed := s.seal(msg, h.SessionID)
		out = append(out[:start+4], sealed...)
	case h.SessionID != 0 && s.signer != nil && !s.unsigned:
		s.sign(msg)
	}
	if s.compressed {
		binary.LittleEndian.PutUint32(out[start+4:], wire.ProtocolSMB2Compressed)
	}
	_ = wire.PutNetBIOSHeader(out[start:], len(out)-start-4)
	return out
}

func (s *fakeServer) sign(msg []byte) {
	binary.LittleEndian.PutUint32(msg[16:], binary.LittleEndian.Uint32(msg[16:])|wire.FlagSigned)
	if err := s.signer.Sign(msg); err != nil {
		s.fail(err.Error())
	}
	if s.corruptSig {
		msg[50] ^= 1
	}
}

func (s *fakeServer) seal(msg []byte, sessionID uint64) []byte {
	var nb [16]byte
	nonce, _ := s.nonces.Next(nb[:0])
	out, err := smbcrypto.SealMessage(nil, s.enc, nonce, sessionID, msg)
	if err != nil {
		s.fail(err.Error())
	}
	if s.badTag {
		out[4] ^= 1
	}
	return out
}

// establish derives the server's keys at the end of the SESSION_SETUP exchange (MS-SMB2
// 3.3.5.5.3): the hash covers every request and every non-final response.
func (s *fakeServer) establish() {
	var hash []byte
	if s.dialect == uint16(wire.Dialect311) {
		v := s.sessHash.Value()
		hash = v[:]
	}
	keys, err := smbcrypto.DeriveKeys(s.dialect, s.sessionKey, hash, s.cipher)
	if err != nil {
		s.fail(err.Error())
		return
	}
	s.keys = keys
	s.signer, _ = smbcrypto.NewSigner(smbcrypto.SigningAlgorithm(s.dialect, s.signAlg, !s.noSignCtx), keys.Signing)
	if s.cipher != wire.CipherNone && keys.Encryption != nil {
		s.dec, _ = smbcrypto.NewCipher(s.cipher, keys.Encryption)
		s.enc, _ = smbcrypto.NewCipher(s.cipher, keys.Decryption)
		s.nonces, _ = smbcrypto.NewNonceGenerator(s.enc.NonceSize())
	}
}

// negotiateBody is a NEGOTIATE response body (MS-SMB2 2.2.4) with, for 3.1.1, the
// PREAUTH_INTEGRITY, ENCRYPTION and SIGNING contexts.
func (s *fakeServer) negotiateBody() []byte {
	le := binary.LittleEndian
	b := make([]byte, 64)
	le.PutUint16(b[0:], 65)
	le.PutUint16(b[2:], wire.NegotiateSigningEnabled)
	le.PutUint16(b[4:], s.dialect)
	caps := wire.CapLargeMTU
	if s.cipher != wire.CipherNone && s.dialect != uint16(wire.Dialect311) {
		caps |= wire.CapEncryption
	}
	le.PutUint32(b[24:], caps)
	le.PutUint32(b[28:], 1<<20)
	le.PutUint32(b[32:], 1<<20)
	le.PutUint32(b[36:], 1<<20)
	le.PutUint16(b[56:], 128) // empty security buffer
	if s.dialect != uint16(wire.Dialect311) {
		return b
	}
	type nctx struct {
		typ  uint16
		data []byte
	}
	salt := bytes.Repeat([]byte{0x5a}, 32)
	ctxs := []nctx{
		{wire.NegotiateContextPreauthIntegrity, append([]byte{1, 0, 32, 0, 1, 0}, salt...)},
		{wire.NegotiateContextEncryption, le.AppendUint16([]byte{1, 0}, s.cipher)},
	}
	if !s.noSignCtx {
		ctxs = append(ctxs, nctx{wire.NegotiateContextSigning, le.AppendUint16([]byte{1, 0}, s.signAlg)})
	}
	le.PutUint16(b[6:], uint16(len(ctxs)))
	le.PutUint32(b[60:], 128)
	for i, c := range ctxs {
		for (64+len(b))%8 != 0 {
			b = append(b, 0)
		}
		if i == 0 && 64+len(b) != 128 {
			panic("context offset")
		}
		b = le.AppendUint16(b, c.typ)
		b = le.AppendUint16(b, uint16(len(c.data)))
		b = le.AppendUint32(b, 0)
		b = append(b, c.data...)
	}
	return b
}

// newFake returns a client Conn over an in-memory fake server.
func newFake(t testing.TB, s *fakeServer) (*Conn, *memConn) {
	t.Helper()
	s.t = t
	if s.sessionID == 0 {
		s.sessionID = 0x0000_1234_0000_0001
	}
	if s.sessionKey == nil {
		s.sessionKey = bytes.Repeat([]byte{0x42}, 16)
	}
	mc := &memConn{serve: s.serve}
	return New(t.Context(), mc, Options{MaxFrame: HardMaxFrame}), mc
}

// logon runs NEGOTIATE and a two-round SESSION_SETUP against the fake and establishes the
// session on the client side.
func logon(t testing.TB, c *Conn, s *fakeServer, opts SessionOptions) (Security, error) {
	t.Helper()
	ctx := t.Context()
	var guid wire.GUID
	var salt [32]byte
	req := wire.DefaultNegotiateRequest(guid, salt)
	req.Dialects = []wire.Dialect{wire.Dialect(s.dialect)}
	if _, err := c.Call(ctx, wire.CmdNegotiate, 0, &req); err != nil {
		t.Fatal(err)
	}
	ss := wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningRequired), SecurityBuffer: []byte("token one")}
	r, err := c.Call(ctx, wire.CmdSessionSetup, 0, &ss)
	if err != nil {
		t.Fatal(err)
	}
	c.Use(NewSession(r.Header.SessionID))
	ss.SecurityBuffer = []byte("token two, a little longer")
	r, err = c.Call(ctx, wire.CmdSessionSetup, 0, &ss)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := c.EstablishSession(r, s.sessionKey, opts)
	if len(s.errs) > 0 {
		t.Fatalf("fake server: %v", s.errs)
	}
	return sec, err
}

func isProto(err, target error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe) && errors.Is(err, target)
}
