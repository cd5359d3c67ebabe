package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

var allSigning = []uint16{wire.SigningHMACSHA256, wire.SigningAESCMAC, wire.SigningAESGMAC}

// testMessage builds an SMB2 message of n bytes (n >= 64) with a real header: command,
// flags, message id and a patterned body.
func testMessage(n int, cmd wire.Command, flags uint32, messageID uint64) []byte {
	h := wire.Header{Command: cmd, Flags: flags, MessageID: messageID, SessionID: 0x100000000025, TreeID: 1}
	msg := h.AppendTo(make([]byte, 0, n))
	for len(msg) < n {
		msg = append(msg, byte(len(msg)*7))
	}
	return msg
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range allSigning {
		s, err := NewSigner(alg, testKey(0x42))
		if err != nil {
			t.Fatal(err)
		}
		if s.Algorithm() != alg {
			t.Fatalf("Algorithm() = %d", s.Algorithm())
		}
		for _, n := range []int{64, 65, 79, 80, 81, 200, 4096 + 3} {
			msg := testMessage(n, wire.CmdWrite, wire.FlagSigned, 77)
			orig := bytes.Clone(msg)
			if err := s.Sign(msg); err != nil {
				t.Fatal(err)
			}
			// Only the Signature field changed.
			if !bytes.Equal(msg[:48], orig[:48]) || !bytes.Equal(msg[64:], orig[64:]) {
				t.Fatalf("alg %d: Sign changed bytes outside the signature", alg)
			}
			if bytes.Equal(msg[48:64], make([]byte, 16)) {
				t.Fatalf("alg %d: empty signature", alg)
			}
			signed := bytes.Clone(msg)
			if !s.Verify(msg) {
				t.Fatalf("alg %d len %d: own signature does not verify", alg, n)
			}
			if !bytes.Equal(msg, signed) {
				t.Fatalf("alg %d: Verify changed the message", alg)
			}
			// Re-signing a signed message gives the same signature (the field is ignored).
			again := bytes.Clone(msg)
			if err := s.Sign(again); err != nil || !bytes.Equal(again, msg) {
				t.Fatalf("alg %d: re-signing changed the signature", alg)
			}
			if !Verify(alg, testKey(0x42), msg) {
				t.Fatalf("alg %d: package Verify disagrees", alg)
			}
			if Verify(alg, testKey(0x43), msg) {
				t.Fatalf("alg %d: verified under another key", alg)
			}
		}
	}
}

// TestVerifyTamper flips every bit of a signed message in turn: none may verify, and Verify
// must leave each tampered message as it was.
func TestVerifyTamper(t *testing.T) {
	for _, alg := range allSigning {
		s, _ := NewSigner(alg, testKey(0x10))
		msg := testMessage(100, wire.CmdRead, wire.FlagSigned, 5)
		if err := s.Sign(msg); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8*len(msg); i++ {
			bad := bytes.Clone(msg)
			bad[i/8] ^= 1 << (i % 8)
			keep := bytes.Clone(bad)
			if s.Verify(bad) {
				t.Fatalf("alg %d: verified with bit %d flipped", alg, i)
			}
			if !bytes.Equal(bad, keep) {
				t.Fatalf("alg %d: Verify modified a tampered message", alg)
			}
		}
		// Truncated or extended messages do not verify either.
		if s.Verify(msg[:len(msg)-1]) || s.Verify(append(bytes.Clone(msg), 0)) {
			t.Fatalf("alg %d: verified a message of another length", alg)
		}
	}
}

// TestSignHMACIndependent checks HMAC-SHA256 signing (2.0.2, 2.1; MS-SMB2 3.1.4.1: the first
// 16 bytes of HMAC-SHA256 over the message with a zero Signature) against the standard
// library computed directly. No published SMB 2.x signing vector was found.
func TestSignHMACIndependent(t *testing.T) {
	key := testKey(0x77)
	msg := testMessage(150, wire.CmdCreate, wire.FlagSigned, 9)
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	want := m.Sum(nil)[:16]
	if err := Sign(wire.SigningHMACSHA256, key, msg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg[48:64], want) {
		t.Fatalf("signature %x, want %x", msg[48:64], want)
	}
}

// cavpGMAC are NIST CAVP gcmEncryptExtIV128.rsp vectors with no plaintext and 128 bits of
// AAD ([Keylen=128][IVlen=96][PTlen=0][AADlen=128][Taglen=128], Counts 0 and 1): AES-GMAC.
var cavpGMAC = []struct{ key, iv, aad, tag string }{
	{"77be63708971c4e240d1cb79e8d77feb", "e0e00f19fed7ba0136a797f3", "7a43ec1d9c0a5a78a0b16533a6213cab", "209fcc8d3675ed938e9c7166709dd946"},
	{"7680c5d3ca6154758e510f4d25b98820", "f8f105f9c3df4965780321f8", "c94c410194c765e3dcc7964379758ed3", "94dca8edfcf90bb74b153c8d48a17930"},
}

// TestGMACPrimitiveCAVP checks the GMAC call the signer makes (GCM Seal with no plaintext and
// the message as AAD) on the signer's own cipher against CAVP.
func TestGMACPrimitiveCAVP(t *testing.T) {
	for _, v := range cavpGMAC {
		s, err := NewSigner(wire.SigningAESGMAC, unhex(t, v.key))
		if err != nil {
			t.Fatal(err)
		}
		got := s.gcm.Seal(s.tag[:0], unhex(t, v.iv), nil, unhex(t, v.aad))
		if !bytes.Equal(got, unhex(t, v.tag)) {
			t.Errorf("GMAC = %x, want %s", got, v.tag)
		}
	}
}

// TestGMACNonce checks the nonce layout of MS-SMB2 3.1.4.1 byte by byte. No published SMB
// AES-GMAC signing vector was found; this and TestSignGMACIndependent are the evidence.
func TestGMACNonce(t *testing.T) {
	cases := []struct {
		name  string
		cmd   wire.Command
		flags uint32
		role  byte // expected byte 8
	}{
		{"client request", wire.CmdRead, wire.FlagSigned, 0},
		{"server response", wire.CmdRead, wire.FlagSigned | wire.FlagServerToRedir, 1},
		{"client cancel", wire.CmdCancel, wire.FlagSigned, 2},
		{"async client cancel", wire.CmdCancel, wire.FlagSigned | wire.FlagAsyncCommand, 2},
		{"server async response, other flags set", wire.CmdChangeNotify,
			wire.FlagServerToRedir | wire.FlagAsyncCommand | wire.FlagRelatedOperations | wire.FlagPriorityMask | wire.FlagDFSOperations | wire.FlagReplayOperation, 1},
	}
	for _, c := range cases {
		msg := testMessage(64, c.cmd, c.flags, 0x0102030405060708)
		var n [12]byte
		gmacNonce(&n, msg)
		want := [12]byte{8, 7, 6, 5, 4, 3, 2, 1, c.role, 0, 0, 0}
		if n != want {
			t.Errorf("%s: nonce %x, want %x", c.name, n, want)
		}
	}
}

// TestSignGMACIndependent recomputes AES-GMAC signatures with crypto/cipher directly from the
// specification's nonce, and checks that the role and CANCEL bits change the signature.
func TestSignGMACIndependent(t *testing.T) {
	key := testKey(0x31)
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(b)
	sigs := map[string]bool{}
	for _, c := range []struct {
		cmd   wire.Command
		flags uint32
		bits  uint32
	}{
		{wire.CmdWrite, wire.FlagSigned, 0},
		{wire.CmdWrite, wire.FlagSigned | wire.FlagServerToRedir, 1},
		{wire.CmdCancel, wire.FlagSigned, 2},
	} {
		msg := testMessage(120, c.cmd, c.flags, 42)
		nonce := binary.LittleEndian.AppendUint64(nil, 42)
		nonce = binary.LittleEndian.AppendUint32(nonce, c.bits)
		want := g.Seal(nil, nonce, nil, msg) // Signature field is zero here
		if err := Sign(wire.SigningAESGMAC, key, msg); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg[48:64], want) {
			t.Errorf("cmd %v flags %#x: signature %x, want %x", c.cmd, c.flags, msg[48:64], want)
		}
		sigs[string(want)] = true
	}
	// The same bytes under a different nonce word would be a different tag; here the
	// messages also differ, so just check that all three signatures are distinct.
	if len(sigs) != 3 {
		t.Error("signatures collide")
	}
	// A client message reflected as a server message (flag flipped, signature kept) does
	// not verify.
	msg := testMessage(120, wire.CmdWrite, wire.FlagSigned, 42)
	_ = Sign(wire.SigningAESGMAC, key, msg)
	binary.LittleEndian.PutUint32(msg[16:], wire.FlagSigned|wire.FlagServerToRedir)
	if Verify(wire.SigningAESGMAC, key, msg) {
		t.Error("verified with the role flipped")
	}
}

func TestSignBadMessages(t *testing.T) {
	for _, alg := range allSigning {
		s, _ := NewSigner(alg, testKey(1))
		for _, n := range []int{0, 1, 47, 63} {
			msg := make([]byte, n)
			if err := s.Sign(msg); !errors.Is(err, wire.ErrShort) {
				t.Errorf("alg %d: Sign(%d bytes) = %v, want ErrShort", alg, n, err)
			}
			if s.Verify(msg) {
				t.Errorf("alg %d: Verify(%d bytes) = true", alg, n)
			}
		}
		msg := testMessage(64, wire.CmdEcho, 0, 1)
		msg[0] = 0xFD // a TRANSFORM_HEADER is not signed
		keep := bytes.Clone(msg)
		if err := s.Sign(msg); !errors.Is(err, wire.ErrBadProtocol) {
			t.Errorf("alg %d: Sign(bad protocol) = %v", alg, err)
		}
		if !bytes.Equal(msg, keep) {
			t.Errorf("alg %d: failed Sign modified the message", alg)
		}
		if s.Verify(msg) {
			t.Errorf("alg %d: Verify(bad protocol) = true", alg)
		}
	}
}

func TestNewSignerErrors(t *testing.T) {
	for _, alg := range allSigning {
		for _, n := range []int{0, 15, 17, 24, 32} {
			if _, err := NewSigner(alg, make([]byte, n)); err == nil {
				t.Errorf("alg %d accepted a %d-byte key", alg, n)
			}
		}
	}
	if _, err := NewSigner(3, testKey(1)); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if Verify(3, testKey(1), testMessage(64, 0, 0, 0)) {
		t.Error("package Verify with unknown algorithm returned true")
	}
	if err := Sign(3, testKey(1), testMessage(64, 0, 0, 0)); err == nil {
		t.Error("package Sign with unknown algorithm succeeded")
	}
}

func TestSigningAlgorithm(t *testing.T) {
	cases := []struct {
		dialect    wire.Dialect
		neg        uint16
		negotiated bool
		want       uint16
	}{
		{wire.Dialect202, wire.SigningAESGMAC, true, wire.SigningHMACSHA256},
		{wire.Dialect210, 0, false, wire.SigningHMACSHA256},
		{wire.Dialect300, 0, false, wire.SigningAESCMAC},
		{wire.Dialect302, wire.SigningAESGMAC, true, wire.SigningAESCMAC},
		{wire.Dialect311, 0, false, wire.SigningAESCMAC},
		{wire.Dialect311, wire.SigningAESGMAC, true, wire.SigningAESGMAC},
		{wire.Dialect311, wire.SigningHMACSHA256, true, wire.SigningHMACSHA256},
	}
	for _, c := range cases {
		if got := SigningAlgorithm(uint16(c.dialect), c.neg, c.negotiated); got != c.want {
			t.Errorf("%v %d %v: %d, want %d", c.dialect, c.neg, c.negotiated, got, c.want)
		}
	}
}

// TestSignerAllocs measures Sign and Verify on a reused Signer: 0 allocations for every
// algorithm, AES-GMAC included (the standard library's GCM writes the tag into the
// signer's own buffer).
func TestSignerAllocs(t *testing.T) {
	for _, alg := range allSigning {
		s, _ := NewSigner(alg, testKey(9))
		msg := testMessage(4096, wire.CmdWrite, wire.FlagSigned, 3)
		if n := testing.AllocsPerRun(100, func() { _ = s.Sign(msg) }); n != 0 {
			t.Errorf("alg %d: Sign allocates %v times", alg, n)
		}
		if n := testing.AllocsPerRun(100, func() { s.Verify(msg) }); n != 0 {
			t.Errorf("alg %d: Verify allocates %v times", alg, n)
		}
	}
}
