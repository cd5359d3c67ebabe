package smbcrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

var allCiphers = []uint16{wire.CipherAES128CCM, wire.CipherAES128GCM, wire.CipherAES256CCM, wire.CipherAES256GCM}

func testCipher(t testing.TB, id uint16, fill byte) AEAD {
	t.Helper()
	c, err := NewCipher(id, bytes.Repeat([]byte{fill}, CipherKeySize(id)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testNonce(c AEAD, b byte) []byte { return bytes.Repeat([]byte{b}, c.NonceSize()) }

func TestSealOpenRoundTrip(t *testing.T) {
	for _, id := range allCiphers {
		c := testCipher(t, id, 0x21)
		if c.CipherID() != id {
			t.Fatalf("CipherID() = %d, want %d", c.CipherID(), id)
		}
		wantNonce := NonceSizeGCM
		if id == wire.CipherAES128CCM || id == wire.CipherAES256CCM {
			wantNonce = NonceSizeCCM
		}
		if c.NonceSize() != wantNonce {
			t.Fatalf("cipher %d: NonceSize %d", id, c.NonceSize())
		}
		for _, n := range []int{16, 17, 31, 64, 65, 1000, 65536 + 5} {
			pt := testMessage(max(n, 64), wire.CmdWrite, 0, uint64(n))[:n]
			nonce := testNonce(c, byte(n))
			prefix := []byte("frame-prefix")
			msg, err := SealMessage(bytes.Clone(prefix), c, nonce, 0x1122334455667788, pt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(msg, prefix) || len(msg) != len(prefix)+TransformHeaderSize+n {
				t.Fatalf("cipher %d n %d: sealed length %d", id, n, len(msg))
			}
			msg = msg[len(prefix):]
			th := TransformHeader(msg)
			if err := th.Validate(); err != nil {
				t.Fatal(err)
			}
			le := binary.LittleEndian
			if le.Uint32(msg) != wire.ProtocolSMB2Transform || th.OriginalMessageSize() != uint32(n) ||
				le.Uint16(msg[40:]) != 0 || le.Uint16(msg[42:]) != 1 || th.SessionID() != 0x1122334455667788 {
				t.Fatalf("cipher %d: bad header %x", id, msg[:52])
			}
			wantField := append(bytes.Clone(nonce), make([]byte, 16-len(nonce))...)
			if f := th.Nonce(); !bytes.Equal(f[:], wantField) {
				t.Fatalf("cipher %d: nonce field %x", id, f)
			}
			if bytes.Contains(th.Ciphertext(), pt[:16]) {
				t.Fatalf("cipher %d: plaintext visible in ciphertext", id)
			}
			got, err := OpenMessage(c, msg, []byte("x"))
			if err != nil {
				t.Fatalf("cipher %d n %d: %v", id, n, err)
			}
			if !bytes.Equal(got[1:], pt) || got[0] != 'x' {
				t.Fatalf("cipher %d n %d: round trip mismatch", id, n)
			}
			// Bytes after OriginalMessageSize are not part of the message.
			if got, err := OpenMessage(c, append(bytes.Clone(msg), 0xEE, 0xEE), nil); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("cipher %d: trailing bytes broke decryption: %v", id, err)
			}
		}
	}
}

// TestOpenTamper flips every bit of a sealed message in turn: each is refused, with the error
// of the field it hit, and nothing of the plaintext comes back.
func TestOpenTamper(t *testing.T) {
	for _, id := range allCiphers {
		c := testCipher(t, id, 0x5c)
		pt := testMessage(90, wire.CmdRead, 0, 1)
		msg, err := SealMessage(nil, c, testNonce(c, 3), 7, pt)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 0, 256)
		for i := 0; i < 8*len(msg); i++ {
			bad := bytes.Clone(msg)
			bad[i/8] ^= 1 << (i % 8)
			out, err := OpenMessage(c, bad, dst)
			if err == nil {
				t.Fatalf("cipher %d: opened with bit %d flipped", id, i)
			}
			if len(out) != 0 {
				t.Fatalf("cipher %d: failed open returned %d bytes", id, len(out))
			}
			if !bytes.Equal(dst[:cap(dst)], make([]byte, cap(dst))) {
				t.Fatalf("cipher %d bit %d: failed open left bytes in dst", id, i)
			}
			var want error
			switch byteAt := i / 8; {
			case byteAt < 4:
				want = wire.ErrBadProtocol
			case byteAt >= 36 && byteAt < 40:
				// OriginalMessageSize: too big for the frame, too small, or too large.
				if !errors.Is(err, wire.ErrShort) && !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrTooLarge) && !errors.Is(err, ErrAuthentication) {
					t.Fatalf("cipher %d bit %d: %v", id, i, err)
				}
				continue
			case byteAt >= 42 && byteAt < 44:
				want = wire.ErrMalformed
			default:
				// Signature, Nonce, Reserved, SessionId, ciphertext.
				want = ErrAuthentication
			}
			if !errors.Is(err, want) {
				t.Fatalf("cipher %d bit %d: %v, want %v", id, i, err, want)
			}
		}
		// The wrong key, or another cipher with the same key bytes, fails authentication.
		if _, err := OpenMessage(testCipher(t, id, 0x5d), msg, nil); !errors.Is(err, ErrAuthentication) {
			t.Errorf("cipher %d: wrong key: %v", id, err)
		}
	}
	gcm := testCipher(t, wire.CipherAES128GCM, 1)
	msg, _ := SealMessage(nil, gcm, testNonce(gcm, 1), 1, testMessage(64, 0, 0, 0))
	msg[20+11] = 0 // keep the CCM nonce bytes; the result must still not open under CCM
	if _, err := OpenMessage(testCipher(t, wire.CipherAES128CCM, 1), msg, nil); !errors.Is(err, ErrAuthentication) {
		t.Errorf("GCM message opened as CCM: %v", err)
	}
}

func transformHeaderBytes(size uint32, flags uint16, follow int) []byte {
	h := make([]byte, TransformHeaderSize, TransformHeaderSize+follow)
	binary.LittleEndian.PutUint32(h, wire.ProtocolSMB2Transform)
	binary.LittleEndian.PutUint32(h[36:], size)
	binary.LittleEndian.PutUint16(h[42:], flags)
	return append(h, make([]byte, follow)...)
}

func TestOpenHostileHeaders(t *testing.T) {
	c := testCipher(t, wire.CipherAES128GCM, 2)
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, wire.ErrShort},
		{"one byte", []byte{0xFD}, wire.ErrShort},
		{"51 bytes", transformHeaderBytes(16, 1, 0)[:51], wire.ErrShort},
		{"header only, size 16", transformHeaderBytes(16, 1, 0), wire.ErrShort},
		{"size zero", transformHeaderBytes(0, 1, 64), wire.ErrMalformed},
		{"size 15", transformHeaderBytes(15, 1, 64), wire.ErrMalformed},
		{"size 16 MiB + 1", transformHeaderBytes(MaxTransformMessageSize+1, 1, 64), wire.ErrTooLarge},
		{"size 0xFFFFFFFF", transformHeaderBytes(0xFFFFFFFF, 1, 64), wire.ErrTooLarge},
		{"size beyond the frame", transformHeaderBytes(65, 1, 64), wire.ErrShort},
		{"flags 0", transformHeaderBytes(64, 0, 64), wire.ErrMalformed},
		{"flags 2", transformHeaderBytes(64, 2, 64), wire.ErrMalformed},
		{"all zero header", make([]byte, 200), wire.ErrBadProtocol},
		{"forged header, zero tag", transformHeaderBytes(64, 1, 64), ErrAuthentication},
	}
	smb2 := transformHeaderBytes(64, 1, 64)
	binary.LittleEndian.PutUint32(smb2, wire.ProtocolSMB2)
	cases = append(cases, struct {
		name string
		msg  []byte
		want error
	}{"SMB2 protocol id", smb2, wire.ErrBadProtocol})
	for _, cs := range cases {
		out, err := OpenMessage(c, cs.msg, nil)
		if !errors.Is(err, cs.want) {
			t.Errorf("%s: %v, want %v", cs.name, err, cs.want)
		}
		if out != nil {
			t.Errorf("%s: returned %d bytes", cs.name, len(out))
		}
	}
}

// TestOpenInPlace decrypts into the message's own storage, with and without room for the
// GCM tag after it.
func TestOpenInPlace(t *testing.T) {
	for _, id := range allCiphers {
		c := testCipher(t, id, 0x71)
		pt := testMessage(300, wire.CmdWrite, 0, 2)
		sealed, _ := SealMessage(nil, c, testNonce(c, 9), 5, pt)
		for _, spare := range []int{0, 16} {
			msg := make([]byte, len(sealed), len(sealed)+spare)
			copy(msg, sealed)
			got, err := OpenMessage(c, msg, msg[TransformHeaderSize:TransformHeaderSize])
			if err != nil {
				t.Fatalf("cipher %d spare %d: %v", id, spare, err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("cipher %d spare %d: in-place plaintext mismatch", id, spare)
			}
		}
	}
}

// TestEncryptInPlace encrypts a buffer over itself through the AEAD interface, and decrypts
// it back the same way.
func TestEncryptInPlace(t *testing.T) {
	aad := bytes.Repeat([]byte{0xA}, 32)
	for _, id := range allCiphers {
		c := testCipher(t, id, 0x13)
		nonce := testNonce(c, 4)
		pt := testMessage(200, wire.CmdRead, 0, 3)
		buf := make([]byte, len(pt), len(pt)+TagSize)
		copy(buf, pt)
		ct, tag, err := c.Encrypt(buf[:0], aad, nonce, buf)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTag, _ := c.Encrypt(nil, aad, nonce, pt)
		if !bytes.Equal(ct, want) || tag != wantTag || &ct[0] != &buf[0] {
			t.Fatalf("cipher %d: in-place encryption differs", id)
		}
		back, err := c.Decrypt(ct[:0], aad, nonce, ct, tag)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("cipher %d: in-place decryption: %v", id, err)
		}
	}
}

func TestCipherArgumentErrors(t *testing.T) {
	for _, id := range allCiphers {
		c := testCipher(t, id, 1)
		aad := make([]byte, 32)
		for _, n := range []int{0, c.NonceSize() - 1, c.NonceSize() + 1, 16} {
			if _, _, err := c.Encrypt(nil, aad, make([]byte, n), make([]byte, 64)); err == nil {
				t.Errorf("cipher %d: Encrypt took a %d-byte nonce", id, n)
			}
			if _, err := c.Decrypt(nil, aad, make([]byte, n), make([]byte, 64), [16]byte{}); err == nil {
				t.Errorf("cipher %d: Decrypt took a %d-byte nonce", id, n)
			}
			if _, err := SealMessage(nil, c, make([]byte, n), 1, make([]byte, 64)); err == nil {
				t.Errorf("cipher %d: SealMessage took a %d-byte nonce", id, n)
			}
		}
		if _, err := SealMessage(nil, c, testNonce(c, 1), 1, make([]byte, 15)); !errors.Is(err, wire.ErrShort) {
			t.Errorf("cipher %d: SealMessage of 15 bytes: %v", id, err)
		}
	}
	c := testCipher(t, wire.CipherAES128GCM, 1)
	huge := make([]byte, MaxTransformMessageSize+1)
	if _, err := SealMessage(nil, c, testNonce(c, 1), 1, huge); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("SealMessage of 16 MiB + 1: %v", err)
	}
	if _, _, err := c.Encrypt(nil, nil, testNonce(c, 1), huge); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("Encrypt of 16 MiB + 1: %v", err)
	}
}

func TestNewCipherErrors(t *testing.T) {
	for _, id := range []uint16{0, 5, 0xFFFF} {
		if _, err := NewCipher(id, make([]byte, 16)); err == nil {
			t.Errorf("cipher id %d accepted", id)
		}
	}
	for _, id := range allCiphers {
		for _, n := range []int{0, 15, 24, 33} {
			if _, err := NewCipher(id, make([]byte, n)); err == nil {
				t.Errorf("cipher %d accepted a %d-byte key", id, n)
			}
		}
		other := 48 - CipherKeySize(id) // 16 <-> 32
		if _, err := NewCipher(id, make([]byte, other)); err == nil {
			t.Errorf("cipher %d accepted a %d-byte key", id, other)
		}
	}
}

func TestNonceGenerator(t *testing.T) {
	for _, size := range []int{NonceSizeCCM, NonceSizeGCM} {
		g, err := NewNonceGenerator(size)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var salt []byte
		for i := uint64(1); i <= 1000; i++ {
			n, err := g.Next(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(n) != size {
				t.Fatalf("nonce of %d bytes", len(n))
			}
			if binary.LittleEndian.Uint64(n) != i {
				t.Fatalf("counter %d, want %d", binary.LittleEndian.Uint64(n), i)
			}
			if salt == nil {
				salt = bytes.Clone(n[8:])
			} else if !bytes.Equal(n[8:], salt) {
				t.Fatal("salt changed between nonces")
			}
			if seen[string(n)] {
				t.Fatalf("nonce repeated at %d", i)
			}
			seen[string(n)] = true
		}
		// The last counter value is handed out, then the generator stops instead of wrapping.
		g.counter = 1<<64 - 1
		if n, err := g.Next(nil); err != nil || binary.LittleEndian.Uint64(n) != 1<<64-1 {
			t.Fatalf("last nonce: %x %v", n, err)
		}
		for range 2 {
			if n, err := g.Next([]byte("keep")); !errors.Is(err, ErrNonceExhausted) || string(n) != "keep" {
				t.Fatalf("after exhaustion: %q %v", n, err)
			}
		}
	}
	for _, size := range []int{0, 8, 10, 13, 16} {
		if _, err := NewNonceGenerator(size); err == nil {
			t.Errorf("NewNonceGenerator(%d) succeeded", size)
		}
		if _, err := RandomNonce(nil, size); err == nil {
			t.Errorf("RandomNonce(%d) succeeded", size)
		}
	}
	a, err := RandomNonce([]byte{1}, NonceSizeGCM)
	b, err2 := RandomNonce(nil, NonceSizeGCM)
	if err != nil || err2 != nil || len(a) != 13 || a[0] != 1 || len(b) != 12 || bytes.Equal(a[1:], b) {
		t.Errorf("RandomNonce: %x %x %v %v", a, b, err, err2)
	}
}

// TestTransformAllocs: with buffers of sufficient capacity, sealing and opening allocate
// nothing, for every cipher (AES-GCM from the standard library included).
func TestTransformAllocs(t *testing.T) {
	for _, id := range allCiphers {
		c := testCipher(t, id, 0x44)
		pt := testMessage(4096, wire.CmdWrite, 0, 1)
		nonce := testNonce(c, 1)
		buf := make([]byte, 0, TransformHeaderSize+len(pt)+TagSize)
		out := make([]byte, 0, len(pt)+TagSize)
		msg, _ := SealMessage(buf, c, nonce, 1, pt)
		if n := testing.AllocsPerRun(50, func() { _, _ = SealMessage(buf, c, nonce, 1, pt) }); n != 0 {
			t.Errorf("cipher %d: SealMessage allocates %v times", id, n)
		}
		msg = bytes.Clone(msg)
		if n := testing.AllocsPerRun(50, func() { _, _ = OpenMessage(c, msg, out) }); n != 0 {
			t.Errorf("cipher %d: OpenMessage allocates %v times", id, n)
		}
	}
}
