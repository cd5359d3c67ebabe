package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/smbcrypto"
	"github.com/smbsweep/smbsweep/wire"
)

// signingCases covers every signing algorithm and how each dialect chooses it.
var signingCases = []struct {
	name      string
	dialect   wire.Dialect
	signAlg   uint16
	noSignCtx bool
	wantAlg   uint16
}{
	{"2.0.2 HMAC-SHA256", wire.Dialect202, 0, false, wire.SigningHMACSHA256},
	{"2.1 HMAC-SHA256", wire.Dialect210, 0, false, wire.SigningHMACSHA256},
	{"3.0 AES-CMAC", wire.Dialect300, 0, false, wire.SigningAESCMAC},
	{"3.0.2 AES-CMAC", wire.Dialect302, 0, false, wire.SigningAESCMAC},
	{"3.1.1 AES-GMAC", wire.Dialect311, wire.SigningAESGMAC, false, wire.SigningAESGMAC},
	{"3.1.1 AES-CMAC context", wire.Dialect311, wire.SigningAESCMAC, false, wire.SigningAESCMAC},
	{"3.1.1 no signing context", wire.Dialect311, 0, true, wire.SigningAESCMAC},
}

func TestSignedSession(t *testing.T) {
	for _, tc := range signingCases {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeServer{dialect: uint16(tc.dialect), signAlg: tc.signAlg, noSignCtx: tc.noSignCtx, cipher: wire.CipherAES128GCM}
			if tc.dialect < wire.Dialect300 {
				s.cipher = wire.CipherNone
			}
			if tc.dialect == wire.Dialect300 || tc.dialect == wire.Dialect302 {
				s.cipher = wire.CipherAES128CCM
			}
			c, _ := newFake(t, s)
			defer c.Close()
			sec, err := logon(t, c, s, SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sec.SigningAlgorithm != tc.wantAlg || sec.EncryptAll {
				t.Fatalf("security %+v, want algorithm %d unencrypted", sec, tc.wantAlg)
			}
			if got, ok := c.Security(c.Session().ID()); !ok || got != sec {
				t.Fatalf("Security() = %+v %v", got, ok)
			}
			for i := 0; i < 3; i++ {
				s.extra = bytes.Repeat([]byte{byte(i)}, i*7)
				r, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if !s.lastSigned || s.lastEncrypted || len(s.errs) > 0 {
					t.Fatalf("request signed %v encrypted %v, server errors %v", s.lastSigned, s.lastEncrypted, s.errs)
				}
				if r.Header.Flags&wire.FlagSigned == 0 {
					t.Fatal("reply not marked signed")
				}
			}
		})
	}
}

// TestPreauthHashMatchesServer checks the client's 3.1.1 hash chain against the fake server's,
// computed independently: NEGOTIATE request and response, every SESSION_SETUP request, and the
// non-final SESSION_SETUP response.
func TestPreauthHashMatchesServer(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESCMAC, cipher: wire.CipherAES256GCM}
	c, _ := newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Negotiated().PreauthHash, s.connHash; got != want {
		t.Fatalf("connection hash\n got %v\nwant %v", got, want)
	}
	if got, want := c.SessionPreauthHash(), s.sessHash; got != want || got == (smbcrypto.PreauthHash{}) {
		t.Fatalf("session hash\n got %v\nwant %v", got, want)
	}
	n := c.Negotiated()
	if n.Dialect != uint16(wire.Dialect311) || n.Cipher != wire.CipherAES256GCM || !n.SigningNegotiated || n.SigningAlgorithm != wire.SigningAESCMAC {
		t.Fatalf("negotiated %+v", n)
	}
}

func TestBadSignatureFailsClosed(t *testing.T) {
	for _, tc := range signingCases {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeServer{dialect: uint16(tc.dialect), signAlg: tc.signAlg, noSignCtx: tc.noSignCtx}
			c, _ := newFake(t, s)
			defer c.Close()
			if _, err := logon(t, c, s, SessionOptions{}); err != nil {
				t.Fatal(err)
			}
			s.corruptSig = true
			_, err := c.Call(t.Context(), wire.CmdEcho, 3, wire.EchoRequest{})
			if !isProto(err, ErrBadSignature) || !strings.Contains(err.Error(), "ECHO") {
				t.Fatalf("got %v, want a protocol error naming ECHO with ErrBadSignature", err)
			}
			// Fail closed: nothing more is sent on the connection.
			s.corruptSig = false
			if _, err := c.Call(t.Context(), wire.CmdEcho, 3, wire.EchoRequest{}); err == nil {
				t.Fatal("connection still usable after a bad signature")
			}
		})
	}
}

func TestUnsignedReplyRejected(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect300)}
	c, _ := newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{}); err != nil {
		t.Fatal(err)
	}
	s.unsigned = true
	_, err := c.Call(t.Context(), wire.CmdRead, 3, wire.EchoRequest{})
	if !isProto(err, ErrBadSignature) || !strings.Contains(err.Error(), "READ") || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("got %v", err)
	}
}

func TestFinalSessionSetupSignature(t *testing.T) {
	// A 3.1.1 server must sign the final response; a corrupted one never verifies.
	s := &fakeServer{dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESGMAC, unsignedFinal: true}
	c, _ := newFake(t, s)
	if _, err := logon(t, c, s, SessionOptions{}); !isProto(err, ErrBadSignature) {
		t.Fatalf("unsigned 3.1.1 final response: got %v", err)
	}
	c.Close()
	s = &fakeServer{dialect: uint16(wire.Dialect302), corruptSig: true}
	c, _ = newFake(t, s)
	if _, err := logon(t, c, s, SessionOptions{}); !isProto(err, ErrBadSignature) || !strings.Contains(err.Error(), "SESSION_SETUP") {
		t.Fatalf("corrupted final response: got %v", err)
	}
	c.Close()
	// A different session key (wrong password on the client side) fails verification too.
	s = &fakeServer{dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESCMAC}
	c, _ = newFake(t, s)
	defer c.Close()
	s.sessionKey = bytes.Repeat([]byte{1}, 16)
	ctx := t.Context()
	var guid wire.GUID
	req := wire.DefaultNegotiateRequest(guid, [32]byte{})
	if _, err := c.Call(ctx, wire.CmdNegotiate, 0, &req); err != nil {
		t.Fatal(err)
	}
	ss := wire.SessionSetupRequest{SecurityBuffer: []byte("a")}
	r, _ := c.Call(ctx, wire.CmdSessionSetup, 0, &ss)
	c.Use(NewSession(r.Header.SessionID))
	r, _ = c.Call(ctx, wire.CmdSessionSetup, 0, &ss)
	if _, err := c.EstablishSession(r, bytes.Repeat([]byte{2}, 16), SessionOptions{}); !isProto(err, ErrBadSignature) {
		t.Fatalf("wrong key: got %v", err)
	}
	if _, ok := c.Security(c.Session().ID()); ok {
		t.Fatal("session established despite the bad signature")
	}
}

func TestGuestAndNullNeverSigned(t *testing.T) {
	for _, flags := range []uint16{wire.SessionFlagIsGuest, wire.SessionFlagIsNull} {
		s := &fakeServer{dialect: uint16(wire.Dialect300), flags: flags}
		c, _ := newFake(t, s)
		if _, err := logon(t, c, s, SessionOptions{}); err == nil || !strings.Contains(err.Error(), "guest or null") {
			t.Fatalf("flags %#x: got %v", flags, err)
		}
		if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
			t.Fatal(err)
		}
		if s.lastSigned || s.lastEncrypted {
			t.Fatalf("flags %#x: request on a guest/null session was signed or encrypted", flags)
		}
		c.Close()
	}
}

// TestUnestablishedSessionsUnchanged: a session never passed to EstablishSession (the
// probes' anonymous and guest sessions) is neither signed nor checked, on the same connection
// as an established one.
func TestUnestablishedSessionsUnchanged(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESCMAC, cipher: wire.CipherAES128CCM}
	c, _ := newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{Encrypt: true}); err != nil {
		t.Fatal(err)
	}
	secured := c.Session()
	c.Use(NewSession(0x77))
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	if s.lastSigned || s.lastEncrypted {
		t.Fatal("request on another session was protected")
	}
	c.Use(secured)
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil || !s.lastEncrypted {
		t.Fatalf("secured session: err %v encrypted %v", err, s.lastEncrypted)
	}
}

var cipherCases = []struct {
	dialect wire.Dialect
	cipher  uint16
}{
	{wire.Dialect300, wire.CipherAES128CCM},
	{wire.Dialect302, wire.CipherAES128CCM},
	{wire.Dialect311, wire.CipherAES128CCM},
	{wire.Dialect311, wire.CipherAES128GCM},
	{wire.Dialect311, wire.CipherAES256CCM},
	{wire.Dialect311, wire.CipherAES256GCM},
}

func TestEncryptedSession(t *testing.T) {
	for _, tc := range cipherCases {
		for _, how := range []string{"server requires", "client asks"} {
			t.Run(fmt.Sprintf("%s %s %s", tc.dialect, wire.CipherName(tc.cipher), how), func(t *testing.T) {
				s := &fakeServer{dialect: uint16(tc.dialect), cipher: tc.cipher, signAlg: wire.SigningAESGMAC}
				opts := SessionOptions{Encrypt: how == "client asks"}
				if !opts.Encrypt {
					s.flags = wire.SessionFlagEncryptData
				}
				c, _ := newFake(t, s)
				defer c.Close()
				sec, err := logon(t, c, s, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !sec.EncryptAll || sec.Cipher != tc.cipher {
					t.Fatalf("security %+v", sec)
				}
				for i := 0; i < 3; i++ {
					s.extra = bytes.Repeat([]byte{0xee}, i*100+1)
					r, err := c.Call(t.Context(), wire.CmdTreeConnect, 0, wire.EchoRequest{})
					if err != nil {
						t.Fatal(err)
					}
					if !s.lastEncrypted || s.lastSigned || len(s.errs) > 0 {
						t.Fatalf("request encrypted %v signed %v; server errors %v", s.lastEncrypted, s.lastSigned, s.errs)
					}
					if r.Header.Command != wire.CmdTreeConnect || !bytes.HasSuffix(r.Msg, s.extra) {
						t.Fatal("decrypted reply differs from what the server sent")
					}
				}
				s.badTag = true
				if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); !isProto(err, ErrDecrypt) || !strings.Contains(err.Error(), "ECHO") {
					t.Fatalf("tampered reply: got %v", err)
				}
			})
		}
	}
}

func TestEncryptionRefusals(t *testing.T) {
	// -encrypt with a 2.1 server has no cipher.
	s := &fakeServer{dialect: uint16(wire.Dialect210)}
	c, _ := newFake(t, s)
	if _, err := logon(t, c, s, SessionOptions{Encrypt: true}); err == nil || !strings.Contains(err.Error(), "no cipher") {
		t.Fatalf("2.1 with -encrypt: got %v", err)
	}
	c.Close()
	// An encrypted request answered in the clear.
	s = &fakeServer{dialect: uint16(wire.Dialect311), cipher: wire.CipherAES128GCM}
	c, _ = newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{Encrypt: true}); err != nil {
		t.Fatal(err)
	}
	s.clearReply = true
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); !isProto(err, ErrNotEncrypted) {
		t.Fatalf("clear reply: got %v", err)
	}
}

func TestShareEncryption(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect302), cipher: wire.CipherAES128CCM, shareFlags: wire.ShareFlagEncryptData}
	c, _ := newFake(t, s)
	defer c.Close()
	sec, err := logon(t, c, s, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.EncryptAll || sec.Cipher != wire.CipherAES128CCM {
		t.Fatalf("security %+v", sec)
	}
	ctx := t.Context()
	r, err := c.Call(ctx, wire.CmdTreeConnect, 0, wire.EchoRequest{})
	if err != nil || s.lastEncrypted || !s.lastSigned {
		t.Fatalf("tree connect: %v encrypted %v signed %v", err, s.lastEncrypted, s.lastSigned)
	}
	tid := r.Header.TreeID
	if _, err := c.Call(ctx, wire.CmdRead, tid, wire.EchoRequest{}); err != nil || !s.lastEncrypted {
		t.Fatalf("request on the encrypted share: %v encrypted %v", err, s.lastEncrypted)
	}
	if _, err := c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{}); err != nil || s.lastEncrypted {
		t.Fatalf("request outside the share: %v encrypted %v", err, s.lastEncrypted)
	}
	if _, err := c.Call(ctx, wire.CmdTreeDisconnect, tid, wire.TreeDisconnectRequest{}); err != nil || !s.lastEncrypted {
		t.Fatalf("tree disconnect: %v encrypted %v", err, s.lastEncrypted)
	}
	if _, err := c.Call(ctx, wire.CmdRead, tid, wire.EchoRequest{}); err != nil || s.lastEncrypted {
		t.Fatalf("after disconnect: %v encrypted %v", err, s.lastEncrypted)
	}
	if _, err := c.Call(ctx, wire.CmdLogoff, 0, wire.LogoffRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Security(c.Session().ID()); ok {
		t.Fatal("session still established after LOGOFF")
	}
}

func TestCompressedReplyRejected(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect311)}
	c, _ := newFake(t, s)
	defer c.Close()
	s.compressed = true
	var guid wire.GUID
	req := wire.DefaultNegotiateRequest(guid, [32]byte{})
	_, err := c.Call(t.Context(), wire.CmdNegotiate, 0, &req)
	if !errors.Is(err, wire.ErrBadProtocol) || !strings.Contains(err.Error(), "COMPRESSION_TRANSFORM_HEADER") {
		t.Fatalf("got %v", err)
	}
}

func TestMultiCreditCharge(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect311)}
	c, _ := newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{}); err != nil {
		t.Fatal(err)
	}
	before := c.Credits()
	if before < 4 {
		t.Fatalf("only %d credits", before)
	}
	id := c.nextMessageID
	if _, err := c.CallCharge(t.Context(), wire.CmdRead, 1, 4, wire.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	if c.nextMessageID != id+4 {
		t.Fatalf("message id advanced by %d, want 4", c.nextMessageID-id)
	}
	// The fake grants what was asked: at least the charge.
	if c.Credits() < before {
		t.Fatalf("credits %d after, %d before", c.Credits(), before)
	}
}

// TestSecuredCallAllocs: once buffers have grown, a signed or encrypted round trip does not
// allocate on the client side (the in-memory fake does not allocate either, except when it
// encrypts, which happens outside the measured client path only for the encrypted case; so
// that case is measured with a replayed reply).
func TestSecuredCallAllocs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dialect wire.Dialect
		signAlg uint16
	}{
		{"HMAC-SHA256", wire.Dialect210, 0},
		{"AES-CMAC", wire.Dialect300, 0},
		{"AES-GMAC", wire.Dialect311, wire.SigningAESGMAC},
	} {
		s := &fakeServer{dialect: uint16(tc.dialect), signAlg: tc.signAlg}
		c, _ := newFake(t, s)
		if _, err := logon(t, c, s, SessionOptions{}); err != nil {
			t.Fatal(err)
		}
		body := wire.EchoRequest{}
		ctx := t.Context()
		for range 3 {
			_, _ = c.Call(ctx, wire.CmdEcho, 0, body)
		}
		n := testing.AllocsPerRun(200, func() {
			if _, err := c.Call(ctx, wire.CmdEcho, 0, body); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %.1f allocations per signed call", tc.name, n)
		}
		c.Close()
	}
	// Encrypted: the server's replies are prepared once; the client seals requests and opens
	// replies in its own reusable buffers.
	for _, cipher := range []uint16{wire.CipherAES128CCM, wire.CipherAES128GCM} {
		s := &fakeServer{dialect: uint16(wire.Dialect311), cipher: cipher}
		c, mc := newFake(t, s)
		if _, err := logon(t, c, s, SessionOptions{Encrypt: true}); err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		// Record one encrypted reply per message id the measured calls will use, then replay.
		const runs = 50
		var replies [][]byte
		for i := 0; i < runs+1+10; i++ {
			if _, err := c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		for i := uint64(0); i < runs+1; i++ {
			h := wire.Header{Command: wire.CmdEcho, MessageID: c.nextMessageID + i, SessionID: c.Session().ID(), Credits: 64, Flags: wire.FlagServerToRedir}
			msg := append(h.AppendTo(nil), 4, 0, 0, 0)
			sealed := s.seal(msg, c.Session().ID())
			replies = append(replies, append(wire.AppendNetBIOSHeader(nil, len(sealed)), sealed...))
		}
		next := 0
		mc.serve = func(req, out []byte) []byte {
			out = append(out, replies[next]...)
			next++
			return out
		}
		n := testing.AllocsPerRun(runs, func() {
			if _, err := c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %.1f allocations per encrypted call", wire.CipherName(cipher), n)
		}
		c.Close()
	}
}

func BenchmarkSignedCall(b *testing.B) {
	s := &fakeServer{dialect: uint16(wire.Dialect311), signAlg: wire.SigningAESGMAC}
	c, _ := newFake(b, s)
	defer c.Close()
	if _, err := logon(b, c, s, SessionOptions{}); err != nil {
		b.Fatal(err)
	}
	s.extra = make([]byte, 4096)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Call(ctx, wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSecuredReply feeds arbitrary reply bytes to a call on an established, encrypted or
// signed session: the client must return an error or a verified reply, never panic, and never
// accept an unsigned or unencrypted reply.
func FuzzSecuredReply(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte("\xfeSMB@\x00"), false)
	f.Add(append([]byte{0xfd, 'S', 'M', 'B'}, make([]byte, 80)...), true)
	f.Add(append([]byte{0xfc, 'S', 'M', 'B'}, make([]byte, 80)...), true)
	h := wire.Header{Command: wire.CmdEcho, Flags: wire.FlagServerToRedir | wire.FlagSigned, MessageID: 3, SessionID: 0x0000_1234_0000_0001}
	f.Add(append(h.AppendTo(nil), 4, 0, 0, 0), false)
	tf := wire.Transform{OriginalMessageSize: 68, SessionID: 0x0000_1234_0000_0001}
	f.Add(append(tf.AppendTo(nil), make([]byte, 68)...), true)
	f.Fuzz(func(t *testing.T, reply []byte, encrypt bool) {
		s := &fakeServer{dialect: uint16(wire.Dialect311), cipher: wire.CipherAES128GCM, signAlg: wire.SigningAESCMAC}
		c, mc := newFake(t, s)
		defer c.Close()
		if _, err := logon(t, c, s, SessionOptions{Encrypt: encrypt}); err != nil {
			t.Fatal(err)
		}
		mc.serve = func(_, out []byte) []byte {
			out = wire.AppendNetBIOSHeader(out, len(reply))
			return append(out, reply...)
		}
		r, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{})
		if err == nil {
			t.Fatalf("an arbitrary reply was accepted: %x", r.Msg)
		}
	})
}

func TestWireFlagsSignedBit(t *testing.T) {
	// protect sets the SIGNED bit and nothing else in Flags.
	s := &fakeServer{dialect: uint16(wire.Dialect300)}
	c, _ := newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{}); err != nil {
		t.Fatal(err)
	}
	var sent []byte
	c.trace = func(dir Direction, msg []byte) {
		if dir == Sent {
			sent = append(sent[:0], msg...)
		}
	}
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	if f := binary.LittleEndian.Uint32(sent[16:]); f != wire.FlagSigned {
		t.Fatalf("flags %#x", f)
	}
}

// TestTraceSeesPlaintext: the tracer of an encrypted session sees SMB2 messages, never
// TRANSFORM ciphertext.
func TestTraceSeesPlaintext(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect311), cipher: wire.CipherAES256GCM}
	c, _ := newFake(t, s)
	defer c.Close()
	if _, err := logon(t, c, s, SessionOptions{Encrypt: true}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	c.trace = func(dir Direction, msg []byte) {
		seen = append(seen, fmt.Sprintf("%d %08x %s", dir, binary.LittleEndian.Uint32(msg), wire.Command(binary.LittleEndian.Uint16(msg[12:]))))
	}
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil || !s.lastEncrypted {
		t.Fatalf("%v encrypted %v", err, s.lastEncrypted)
	}
	want := []string{fmt.Sprintf("%d %08x ECHO", Sent, wire.ProtocolSMB2), fmt.Sprintf("%d %08x ECHO", Received, wire.ProtocolSMB2)}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("traced %q, want %q", seen, want)
	}
}

// TestSessionOwnsItsState: the Session value the connection is pointed at (Conn.Use) decides
// a request's SessionId and protection; it holds the established security until LOGOFF, and
// EstablishSession refuses a final response for another session than the one in use.
func TestSessionOwnsItsState(t *testing.T) {
	s := &fakeServer{dialect: uint16(wire.Dialect300), signAlg: wire.SigningAESCMAC, sessionID: 0x42}
	c, _ := newFake(t, s)
	defer c.Close()
	var nilSession *Session
	if c.Session() != nil || nilSession.ID() != 0 {
		t.Fatal("a new connection uses no session")
	}
	if _, ok := nilSession.Security(); ok {
		t.Fatal("no session, yet established")
	}
	sec, err := logon(t, c, s, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess := c.Session()
	if sess.ID() != 0x42 {
		t.Fatalf("session in use 0x%x, want 0x42", sess.ID())
	}
	if got, ok := sess.Security(); !ok || got != sec {
		t.Fatalf("session security %+v %v, want %+v", got, ok, sec)
	}
	// No session: SessionId 0, unsigned; back to the session: signed again.
	c.Use(nil)
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil || s.lastSigned {
		t.Fatalf("request without a session: %v signed %v", err, s.lastSigned)
	}
	c.Use(sess)
	if _, err := c.Call(t.Context(), wire.CmdEcho, 0, wire.EchoRequest{}); err != nil || !s.lastSigned {
		t.Fatalf("request in the established session: %v signed %v", err, s.lastSigned)
	}
	if _, err := c.Call(t.Context(), wire.CmdLogoff, 0, wire.LogoffRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := sess.Security(); ok {
		t.Fatal("session still established after LOGOFF")
	}

	// A final response for session 0x42 while the connection uses another one.
	s2 := &fakeServer{dialect: uint16(wire.Dialect300), signAlg: wire.SigningAESCMAC, sessionID: 0x42}
	c2, _ := newFake(t, s2)
	defer c2.Close()
	var guid wire.GUID
	req := wire.DefaultNegotiateRequest(guid, [32]byte{})
	if _, err := c2.Call(t.Context(), wire.CmdNegotiate, 0, &req); err != nil {
		t.Fatal(err)
	}
	ss := wire.SessionSetupRequest{SecurityBuffer: []byte("a")}
	if _, err := c2.Call(t.Context(), wire.CmdSessionSetup, 0, &ss); err != nil {
		t.Fatal(err)
	}
	// The connection is not pointed at the new session (no c2.Use): it still uses none.
	r, err := c2.Call(t.Context(), wire.CmdSessionSetup, 0, &ss)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.EstablishSession(r, s2.sessionKey, SessionOptions{}); err == nil || !strings.Contains(err.Error(), "Conn.Use") {
		t.Fatalf("final response of another session: got %v", err)
	}
}
