package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// ErrAuthentication means a decrypted message's tag (the TRANSFORM_HEADER Signature) did not
// match: the message was altered, or the key or nonce is wrong. Nothing of the plaintext is
// returned.
var ErrAuthentication = errors.New("smbcrypto: message authentication failed")

// TagSize is the size of the AEAD tag SMB carries in the TRANSFORM_HEADER's Signature field.
const TagSize = 16

// Nonce sizes of the SMB ciphers: the leading bytes of the TRANSFORM_HEADER's 16-byte Nonce
// field that the cipher uses (MS-SMB2 2.2.41: AES_CCM_Nonce, AES_GCM_Nonce).
const (
	NonceSizeCCM = 11
	NonceSizeGCM = 12
)

// AEAD is one SMB encryption key with its cipher (MS-SMB2 3.1.4.3): AES-128-CCM,
// AES-128-GCM, AES-256-CCM or AES-256-GCM. Unlike crypto/cipher.AEAD it returns and takes the
// 16-byte tag separately from the ciphertext, as the TRANSFORM_HEADER carries it ahead of the
// ciphertext in its Signature field.
//
// Implementations are safe for concurrent use (they hold no per-message state) and print as
// [redacted] with any fmt verb.
type AEAD interface {
	// CipherID returns the cipher's id (wire.Cipher*).
	CipherID() uint16
	// NonceSize returns the nonce size: NonceSizeCCM or NonceSizeGCM.
	NonceSize() int
	// Encrypt encrypts plaintext, authenticating aad and the nonce, appends the ciphertext
	// (as long as plaintext) to dst and returns the extended slice and the tag. plaintext may
	// be exactly dst[len(dst):len(dst)+len(plaintext)] (in place); aad must not overlap the
	// appended bytes. Up to 16 bytes of dst's capacity after the returned slice may be
	// overwritten.
	Encrypt(dst, aad, nonce, plaintext []byte) ([]byte, [TagSize]byte, error)
	// Decrypt checks tag against ciphertext, aad and the nonce, and appends the plaintext to
	// dst. On failure it returns dst unchanged in length, with ErrAuthentication; the bytes
	// it wrote past len(dst) are zeroed. The same aliasing rules as Encrypt apply.
	Decrypt(dst, aad, nonce, ciphertext []byte, tag [TagSize]byte) ([]byte, error)
}

// NewCipher returns the AEAD for cipherID (wire.CipherAES128CCM, wire.CipherAES128GCM,
// wire.CipherAES256CCM, wire.CipherAES256GCM) with key, which must be 16 bytes for the
// AES-128 ciphers and 32 for the AES-256 ones (Keys.Encryption or Keys.Decryption).
func NewCipher(cipherID uint16, key []byte) (AEAD, error) {
	var want int
	switch cipherID {
	case wire.CipherAES128CCM, wire.CipherAES128GCM:
		want = 16
	case wire.CipherAES256CCM, wire.CipherAES256GCM:
		want = 32
	default:
		return nil, fmt.Errorf("smbcrypto: unknown cipher id %#04x", cipherID)
	}
	if len(key) != want {
		return nil, fmt.Errorf("smbcrypto: cipher %#04x key is %d bytes, want %d", cipherID, len(key), want)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("smbcrypto: cipher %#04x: %w", cipherID, err)
	}
	switch cipherID {
	case wire.CipherAES128CCM, wire.CipherAES256CCM:
		c, err := newCCM(b, NonceSizeCCM, TagSize)
		if err != nil {
			return nil, err
		}
		return &ccmAEAD{id: cipherID, c: c}, nil
	default:
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("smbcrypto: cipher %#04x: %w", cipherID, err)
		}
		return &gcmAEAD{id: cipherID, g: g}, nil
	}
}

// sliceForAppend extends in by n bytes, reusing its capacity when it suffices, and returns
// the whole slice and the n new bytes.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// checkArgs validates the nonce and length shared by every Encrypt and Decrypt.
func checkArgs(id uint16, nonceSize int, nonce []byte, n int) error {
	if len(nonce) != nonceSize {
		return fmt.Errorf("smbcrypto: cipher %#04x: nonce is %d bytes, want %d", id, len(nonce), nonceSize)
	}
	if n > MaxTransformMessageSize {
		return fmt.Errorf("smbcrypto: cipher %#04x: %d-byte message: %w", id, n, wire.ErrTooLarge)
	}
	return nil
}

// gcmAEAD is AES-GCM from the standard library with a 12-byte nonce and a 16-byte tag.
type gcmAEAD struct {
	id uint16
	g  cipher.AEAD
}

// CipherID implements AEAD.
func (a *gcmAEAD) CipherID() uint16 { return a.id }

// NonceSize implements AEAD.
func (a *gcmAEAD) NonceSize() int { return NonceSizeGCM }

// Format prints the cipher as [redacted] whatever the verb.
func (a *gcmAEAD) Format(f fmt.State, _ rune) { redact(f) }

// Encrypt implements AEAD.
func (a *gcmAEAD) Encrypt(dst, aad, nonce, plaintext []byte) ([]byte, [TagSize]byte, error) {
	var tag [TagSize]byte
	if err := checkArgs(a.id, NonceSizeGCM, nonce, len(plaintext)); err != nil {
		return dst, tag, err
	}
	n := len(plaintext)
	head, tail := sliceForAppend(dst, n+TagSize)
	// Move the plaintext into place first (copy is a memmove), so that Seal always works
	// exactly in place and never sees the inexact overlap it would panic on.
	copy(tail, plaintext)
	a.g.Seal(tail[:0], nonce, tail[:n], aad)
	copy(tag[:], tail[n:])
	return head[:len(dst)+n], tag, nil
}

// Decrypt implements AEAD.
func (a *gcmAEAD) Decrypt(dst, aad, nonce, ciphertext []byte, tag [TagSize]byte) ([]byte, error) {
	if err := checkArgs(a.id, NonceSizeGCM, nonce, len(ciphertext)); err != nil {
		return dst, err
	}
	n := len(ciphertext)
	head, tail := sliceForAppend(dst, n+TagSize)
	// The standard library wants the tag right after the ciphertext.
	copy(tail, ciphertext)
	copy(tail[n:], tag[:])
	if _, err := a.g.Open(tail[:0], nonce, tail, aad); err != nil {
		clear(tail)
		return dst, ErrAuthentication
	}
	clear(tail[n:])
	return head[:len(dst)+n], nil
}

// ccmAEAD is AES-CCM (ccm.go) with an 11-byte nonce and a 16-byte tag.
type ccmAEAD struct {
	id uint16
	c  *ccm
}

// CipherID implements AEAD.
func (a *ccmAEAD) CipherID() uint16 { return a.id }

// NonceSize implements AEAD.
func (a *ccmAEAD) NonceSize() int { return NonceSizeCCM }

// Format prints the cipher as [redacted] whatever the verb.
func (a *ccmAEAD) Format(f fmt.State, _ rune) { redact(f) }

// Encrypt implements AEAD.
func (a *ccmAEAD) Encrypt(dst, aad, nonce, plaintext []byte) ([]byte, [TagSize]byte, error) {
	var tag [TagSize]byte
	if err := checkArgs(a.id, NonceSizeCCM, nonce, len(plaintext)); err != nil {
		return dst, tag, err
	}
	head, tail := sliceForAppend(dst, len(plaintext))
	copy(tail, plaintext)
	a.c.seal(tail, nonce, aad, tag[:])
	return head, tag, nil
}

// Decrypt implements AEAD.
func (a *ccmAEAD) Decrypt(dst, aad, nonce, ciphertext []byte, tag [TagSize]byte) ([]byte, error) {
	if err := checkArgs(a.id, NonceSizeCCM, nonce, len(ciphertext)); err != nil {
		return dst, err
	}
	head, tail := sliceForAppend(dst, len(ciphertext))
	copy(tail, ciphertext)
	if !a.c.open(tail, nonce, aad, tag[:]) {
		return dst, ErrAuthentication
	}
	return head, nil
}
