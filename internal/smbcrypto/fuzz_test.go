package smbcrypto

import (
	"bytes"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// Keys the fuzz targets use: published decryption keys, so that the published messages in
// the seed corpus (testdata/fuzz) decrypt and the fuzzer starts from valid ciphertexts.
const (
	fuzzGCMKey = "748C50868C90F302962A5C35F5F9A8BF" // [ENC311] A.1 DecryptionKey
	fuzzCCMKey = "8FE2B57EC34D2DB5B1A9727F526BBDB5" // [ENC30] DecryptionKey
)

// FuzzOpenMessage feeds arbitrary frames to OpenMessage under an AES-128-GCM and an
// AES-128-CCM key. It must never panic; a failure must return dst unchanged in length; a
// success must return exactly OriginalMessageSize bytes, and re-encrypting them under the
// frame's nonce and AAD must reproduce the frame's ciphertext and tag.
func FuzzOpenMessage(f *testing.F) {
	for _, v := range publishedTransforms {
		f.Add(unhex(f, v.transformed))
	}
	f.Add([]byte{})
	f.Add(transformHeaderBytes(16, 1, 16))
	f.Add(transformHeaderBytes(0xFFFFFFFF, 1, 64))
	ciphers := []AEAD{}
	for _, k := range []struct {
		id  uint16
		key string
	}{{wire.CipherAES128GCM, fuzzGCMKey}, {wire.CipherAES128CCM, fuzzCCMKey}} {
		c, err := NewCipher(k.id, unhex(f, k.key))
		if err != nil {
			f.Fatal(err)
		}
		ciphers = append(ciphers, c)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		for _, c := range ciphers {
			dst := []byte("dst")
			out, err := OpenMessage(c, msg, dst)
			if !bytes.Equal(msg, orig) {
				t.Fatal("OpenMessage modified its input")
			}
			if err != nil {
				if string(out) != "dst" {
					t.Fatalf("failed open returned %q", out)
				}
				continue
			}
			th := TransformHeader(msg)
			pt := out[3:]
			if len(pt) != int(th.OriginalMessageSize()) {
				t.Fatalf("plaintext %d bytes, OriginalMessageSize %d", len(pt), th.OriginalMessageSize())
			}
			nonce := th.Nonce()
			ct, tag, err := c.Encrypt(nil, th.AAD(), nonce[:c.NonceSize()], pt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ct, th.Ciphertext()) || tag != th.Signature() {
				t.Fatal("re-encryption does not reproduce the frame")
			}
		}
	})
}

// FuzzVerify feeds arbitrary messages to Verify for each signing algorithm. It must never
// panic or modify the message, must accept a message exactly when its Signature field holds
// what Sign computes, and must accept every message Sign produced.
func FuzzVerify(f *testing.F) {
	for _, v := range publishedSigned {
		f.Add(unhex(f, v.msg), byte(wire.SigningAESCMAC))
	}
	f.Add(unhex(f, anatomySessionSetupResponse2), byte(wire.SigningAESGMAC))
	f.Add(unhex(f, anatomySessionSetupResponse2), byte(wire.SigningHMACSHA256))
	f.Add([]byte{0xFE, 'S', 'M', 'B'}, byte(0))
	f.Add(make([]byte, 64), byte(1))
	key := unhex(f, anatomySigningKey)
	signers := map[uint16]*Signer{}
	for _, alg := range allSigning {
		s, err := NewSigner(alg, key)
		if err != nil {
			f.Fatal(err)
		}
		signers[alg] = s
	}
	f.Fuzz(func(t *testing.T, msg []byte, algByte byte) {
		s := signers[uint16(algByte%3)]
		orig := bytes.Clone(msg)
		ok := s.Verify(msg)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Verify modified the message")
		}
		signed := bytes.Clone(msg)
		if err := s.Sign(signed); err != nil {
			if ok {
				t.Fatalf("Verify accepted a message Sign refuses: %v", err)
			}
			return
		}
		if want := bytes.Equal(signed, msg); ok != want {
			t.Fatalf("Verify = %v, but the signature field equals Sign's: %v", ok, want)
		}
		if !s.Verify(signed) {
			t.Fatal("a message signed by Sign does not verify")
		}
	})
}

// FuzzSealOpen round-trips arbitrary plaintexts through every cipher and checks that a flip
// of one chosen bit of the sealed frame is refused.
func FuzzSealOpen(f *testing.F) {
	f.Add(unhex(f, publishedTransforms[0].plaintext), uint64(0x8e40014000011), byte(0), uint16(0))
	f.Add(make([]byte, 16), uint64(1), byte(3), uint16(400))
	f.Fuzz(func(t *testing.T, pt []byte, sessionID uint64, nonceByte byte, flip uint16) {
		for _, id := range allCiphers {
			c := testCipher(t, id, 0x6b)
			msg, err := SealMessage(nil, c, testNonce(c, nonceByte), sessionID, pt)
			if len(pt) < MinTransformMessageSize {
				if err == nil {
					t.Fatalf("sealed a %d-byte message", len(pt))
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := OpenMessage(c, msg, nil)
			if err != nil || !bytes.Equal(out, pt) {
				t.Fatalf("cipher %d: round trip: %v", id, err)
			}
			i := int(flip) % (8 * len(msg))
			msg[i/8] ^= 1 << (i % 8)
			if _, err := OpenMessage(c, msg, nil); err == nil {
				t.Fatalf("cipher %d: opened with bit %d flipped", id, i)
			}
		}
	})
}
