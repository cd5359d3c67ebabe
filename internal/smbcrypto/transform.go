package smbcrypto

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// TRANSFORM_HEADER layout (MS-SMB2 2.2.41).
const (
	// TransformHeaderSize is the size of the SMB2 TRANSFORM_HEADER.
	TransformHeaderSize = 52

	tfOffSignature = 4
	tfOffNonce     = 20
	tfOffSize      = 36
	tfOffFlags     = 42
	tfOffSessionID = 44

	// transformFlagEncrypted is the Flags value of 3.1.1 (SMB2_TRANSFORM_HEADER_FLAG_ENCRYPTED)
	// and, in the same field, the EncryptionAlgorithm value of 3.0 and 3.0.2
	// (SMB2_ENCRYPTION_AES128_CCM): 0x0001 either way.
	transformFlagEncrypted = 0x0001
)

// MaxTransformMessageSize caps OriginalMessageSize: nothing larger fits in a NetBIOS frame
// (24-bit length), so nothing larger is encrypted or decrypted.
const MaxTransformMessageSize = 1 << 24

// MinTransformMessageSize is the smallest OriginalMessageSize accepted. It is not the size of
// an SMB2 header because a message compressed before encryption starts with a 16-byte
// COMPRESSION_TRANSFORM_HEADER and may be shorter.
const MinTransformMessageSize = 16

// TransformHeader is a received encrypted message: an SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41)
// and the ciphertext after it. It is a view: Validate it once, then use the accessors, for
// example SessionID to find the session whose key decrypts it.
type TransformHeader []byte

// Validate checks that t holds a whole header with the TRANSFORM ProtocolId (0xFD 'S' 'M'
// 'B') and the Flags value 0x0001, and that OriginalMessageSize lies between
// MinTransformMessageSize and MaxTransformMessageSize and is no more than the bytes that
// follow the header. Bytes beyond OriginalMessageSize are not part of the message.
func (t TransformHeader) Validate() error {
	const what = "smbcrypto: transform header"
	if len(t) < TransformHeaderSize {
		return fmt.Errorf("%s: %d bytes: %w", what, len(t), wire.ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(t); p != wire.ProtocolSMB2Transform {
		return fmt.Errorf("%s: protocol id %08x: %w", what, p, wire.ErrBadProtocol)
	}
	if f := le.Uint16(t[tfOffFlags:]); f != transformFlagEncrypted {
		return fmt.Errorf("%s: flags %#04x: %w", what, f, wire.ErrMalformed)
	}
	n := le.Uint32(t[tfOffSize:])
	if n > MaxTransformMessageSize {
		return fmt.Errorf("%s: original message size %d: %w", what, n, wire.ErrTooLarge)
	}
	if n < MinTransformMessageSize {
		return fmt.Errorf("%s: original message size %d: %w", what, n, wire.ErrMalformed)
	}
	if int(n) > len(t)-TransformHeaderSize {
		return fmt.Errorf("%s: original message size %d, %d bytes follow: %w", what, n, len(t)-TransformHeaderSize, wire.ErrShort)
	}
	return nil
}

// Signature returns the header's Signature field, the AEAD tag.
func (t TransformHeader) Signature() [TagSize]byte {
	return [TagSize]byte(t[tfOffSignature:tfOffNonce])
}

// Nonce returns the whole 16-byte Nonce field; the cipher uses its first NonceSize bytes.
func (t TransformHeader) Nonce() [16]byte { return [16]byte(t[tfOffNonce:tfOffSize]) }

// OriginalMessageSize returns the size of the encrypted message.
func (t TransformHeader) OriginalMessageSize() uint32 {
	return binary.LittleEndian.Uint32(t[tfOffSize:])
}

// SessionID returns the session whose keys protect the message.
func (t TransformHeader) SessionID() uint64 { return binary.LittleEndian.Uint64(t[tfOffSessionID:]) }

// AAD returns the AEAD's additional authenticated data: the 32 header bytes from Nonce to the
// end (MS-SMB2 3.1.4.3: the header without ProtocolId and Signature).
func (t TransformHeader) AAD() []byte { return t[tfOffNonce:TransformHeaderSize:TransformHeaderSize] }

// Ciphertext returns the OriginalMessageSize bytes after the header.
func (t TransformHeader) Ciphertext() []byte {
	end := TransformHeaderSize + int(t.OriginalMessageSize())
	return t[TransformHeaderSize:end:end]
}

// SealMessage encrypts plaintext, one SMB2 message (or compounded chain, or compressed
// message), for sessionID with c and nonce (c.NonceSize() bytes, never used before with this
// key; see NonceGenerator), and appends the TRANSFORM_HEADER and the ciphertext to dst
// (MS-SMB2 3.1.4.3). The header's Nonce field holds nonce followed by zero bytes,
// OriginalMessageSize is len(plaintext), Flags 0x0001, and Signature the tag.
//
// plaintext must not overlap the bytes appended. When dst has capacity for
// TransformHeaderSize+len(plaintext)+16 more bytes, nothing is allocated.
func SealMessage(dst []byte, c AEAD, nonce []byte, sessionID uint64, plaintext []byte) ([]byte, error) {
	if len(nonce) != c.NonceSize() {
		return dst, fmt.Errorf("smbcrypto: seal: nonce is %d bytes, want %d", len(nonce), c.NonceSize())
	}
	if len(plaintext) > MaxTransformMessageSize {
		return dst, fmt.Errorf("smbcrypto: seal: %d-byte message: %w", len(plaintext), wire.ErrTooLarge)
	}
	if len(plaintext) < MinTransformMessageSize {
		return dst, fmt.Errorf("smbcrypto: seal: %d-byte message: %w", len(plaintext), wire.ErrShort)
	}
	start := len(dst)
	// Grow once, up front, so that the header (whose tail is the AAD) does not move while
	// the ciphertext is appended after it; the extra TagSize is the scratch space GCM uses.
	head, _ := sliceForAppend(dst, TransformHeaderSize+len(plaintext)+TagSize)
	out := head[:start]
	le := binary.LittleEndian
	out = le.AppendUint32(out, wire.ProtocolSMB2Transform)
	out = append(out, zeroSignature[:]...)
	out = append(out, nonce...)
	out = append(out, zeroSignature[:16-len(nonce)]...)
	out = le.AppendUint32(out, uint32(len(plaintext)))
	out = le.AppendUint16(out, 0) // Reserved
	out = le.AppendUint16(out, transformFlagEncrypted)
	out = le.AppendUint64(out, sessionID)
	hdr := out[start:]
	out, tag, err := c.Encrypt(out, hdr[tfOffNonce:TransformHeaderSize], nonce, plaintext)
	if err != nil {
		return dst, err
	}
	copy(hdr[tfOffSignature:tfOffNonce], tag[:])
	return out, nil
}

// OpenMessage validates msg, a received TRANSFORM_HEADER and ciphertext (see
// TransformHeader.Validate), decrypts it with c (the session's decryption key, found through
// TransformHeader.SessionID), checks its tag in constant time, and appends the plaintext to
// dst. The cipher uses the first c.NonceSize() bytes of the Nonce field; the rest of the
// field is authenticated as part of the AAD but not otherwise checked (Windows servers leave
// non-zero bytes there).
//
// dst must not overlap msg, with one exception: msg[TransformHeaderSize:TransformHeaderSize]
// decrypts in place, the plaintext replacing the ciphertext. With AES-GCM the decryption needs
// 16 bytes of room after the ciphertext (in dst's capacity, or in msg's for the in-place
// form); without them it allocates. On error dst is returned unchanged in length: errors wrap
// wire.ErrShort, wire.ErrBadProtocol, wire.ErrMalformed or wire.ErrTooLarge for a bad header,
// and are ErrAuthentication when the tag does not match.
func OpenMessage(c AEAD, msg []byte, dst []byte) ([]byte, error) {
	t := TransformHeader(msg)
	if err := t.Validate(); err != nil {
		return dst, err
	}
	return c.Decrypt(dst, t.AAD(), msg[tfOffNonce:tfOffNonce+c.NonceSize()], t.Ciphertext(), t.Signature())
}

// NonceGenerator hands out the nonces of one encryption key (MS-SMB2 2.2.41: a nonce MUST NOT
// be reused within a session). Each nonce is a 64-bit little-endian counter followed by
// random bytes drawn once per generator (3 for CCM's 11-byte nonce, 4 for GCM's 12): the
// counter makes every nonce of the generator distinct, and the random tail keeps two
// generators that were started for the same key (a programming error) from colliding on
// their first nonces. Next fails rather than wrap when the counter is exhausted.
//
// Use exactly one generator per key (per session and direction); it is not safe for
// concurrent use. For AES-GCM this is the deterministic construction of NIST SP800-38D
// 8.2.1; random 96-bit nonces (8.2.2) would limit a key to 2^32 messages (8.3).
type NonceGenerator struct {
	size    int
	counter uint64
	done    bool
	salt    [4]byte
}

// ErrNonceExhausted means a NonceGenerator has handed out 2^64 nonces.
var ErrNonceExhausted = errors.New("smbcrypto: nonce counter exhausted")

// NewNonceGenerator returns a generator of size-byte nonces (NonceSizeCCM or NonceSizeGCM,
// i.e. AEAD.NonceSize()). The counter starts at 1.
func NewNonceGenerator(size int) (*NonceGenerator, error) {
	if size != NonceSizeCCM && size != NonceSizeGCM {
		return nil, fmt.Errorf("smbcrypto: nonce size %d, want %d or %d", size, NonceSizeCCM, NonceSizeGCM)
	}
	g := &NonceGenerator{size: size, counter: 1}
	if _, err := rand.Read(g.salt[:size-8]); err != nil {
		return nil, fmt.Errorf("smbcrypto: nonce salt: %w", err)
	}
	return g, nil
}

// Next appends the next nonce to dst.
func (g *NonceGenerator) Next(dst []byte) ([]byte, error) {
	if g.done {
		return dst, ErrNonceExhausted
	}
	dst = binary.LittleEndian.AppendUint64(dst, g.counter)
	dst = append(dst, g.salt[:g.size-8]...)
	g.counter++
	if g.counter == 0 {
		g.done = true
	}
	return dst, nil
}

// RandomNonce appends size random bytes (NonceSizeCCM or NonceSizeGCM) to dst. Random nonces
// are unique only with high probability; prefer a NonceGenerator for a long-lived key.
func RandomNonce(dst []byte, size int) ([]byte, error) {
	if size != NonceSizeCCM && size != NonceSizeGCM {
		return dst, fmt.Errorf("smbcrypto: nonce size %d, want %d or %d", size, NonceSizeCCM, NonceSizeGCM)
	}
	head, tail := sliceForAppend(dst, size)
	if _, err := rand.Read(tail); err != nil {
		return dst, fmt.Errorf("smbcrypto: random nonce: %w", err)
	}
	return head, nil
}
