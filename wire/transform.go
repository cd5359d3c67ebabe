package wire

import (
	"encoding/binary"
	"fmt"
)

// ProtocolSMB2Compressed is the SMB2 COMPRESSION_TRANSFORM_HEADER ProtocolId, 0xFC 'S' 'M' 'B',
// read little-endian (MS-SMB2 2.2.42).
const ProtocolSMB2Compressed uint32 = 0x424d53fc

// TransformHeaderSize is the size of the SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
const TransformHeaderSize = 52

// TransformFlagEncrypted is the TRANSFORM_HEADER Flags value (3.1.1) meaning the message is
// encrypted; in 3.0 and 3.0.2 the same field is EncryptionAlgorithm, whose only value
// SMB2_ENCRYPTION_AES128_CCM is also 0x0001.
const TransformFlagEncrypted uint16 = 0x0001

// Nonce sizes used from the TRANSFORM_HEADER's 16-byte Nonce field: AES-CCM uses the first 11
// bytes, AES-GCM the first 12; the rest is zero.
const (
	TransformNonceSizeCCM = 11
	TransformNonceSizeGCM = 12
)

// MaxTransformMessageSize caps the OriginalMessageSize of a TRANSFORM_HEADER and the
// OriginalCompressedSegmentSize of a COMPRESSION_TRANSFORM_HEADER: nothing larger fits in a
// NetBIOS frame (MaxNetBIOSLength), so nothing larger is ever sized by those fields.
const MaxTransformMessageSize = 1 << 24

// MinTransformMessageSize is the smallest OriginalMessageSize accepted. It is not the 64 bytes
// of an SMB2 header: a message compressed before encryption starts with a 16-byte
// COMPRESSION_TRANSFORM_HEADER and may be shorter than 64 bytes.
const MinTransformMessageSize = compressionTransformHeaderSize

// Transform holds the fields of an SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41) to encode ahead of
// an encrypted message. Flags is always TransformFlagEncrypted, the only defined value.
//
// To encrypt: append the header with a zero Signature, take its AAD (TransformHeader.AAD: the
// 32 bytes from Nonce to the end), seal the plaintext with the nonce and that AAD, append the
// ciphertext, and write the 16-byte tag into the header's Signature (bytes 4..20).
type Transform struct {
	Signature           [16]byte
	Nonce               [16]byte // 11 bytes used for AES-CCM, 12 for AES-GCM, the rest zero
	OriginalMessageSize uint32   // size of the plaintext message
	SessionID           uint64
}

// Size returns the encoded size of the header.
func (t *Transform) Size() int { return TransformHeaderSize }

// AppendTo appends the 52-byte header to dst.
func (t *Transform) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, ProtocolSMB2Transform)
	dst = append(dst, t.Signature[:]...)
	dst = append(dst, t.Nonce[:]...)
	dst = le.AppendUint32(dst, t.OriginalMessageSize)
	dst = le.AppendUint16(dst, 0) // Reserved
	dst = le.AppendUint16(dst, TransformFlagEncrypted)
	return le.AppendUint64(dst, t.SessionID)
}

// TransformHeader is an SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41) followed by the encrypted
// message: a view over a whole received frame.
type TransformHeader []byte

// Validate checks the ProtocolId, the Flags, that OriginalMessageSize lies between
// MinTransformMessageSize and MaxTransformMessageSize, and that that many bytes of encrypted
// message follow the header. Bytes after them are ignored.
func (t TransformHeader) Validate() error {
	const what = "transform header"
	if len(t) < TransformHeaderSize {
		return fmt.Errorf("%s: %d bytes: %w", what, len(t), ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(t); p != ProtocolSMB2Transform {
		return fmt.Errorf("%s: protocol id %08x: %w", what, p, ErrBadProtocol)
	}
	if f := le.Uint16(t[42:]); f != TransformFlagEncrypted {
		return fmt.Errorf("%s: flags %#04x: %w", what, f, ErrMalformed)
	}
	n := le.Uint32(t[36:])
	if n > MaxTransformMessageSize {
		return fmt.Errorf("%s: original message size %d: %w", what, n, ErrTooLarge)
	}
	if n < MinTransformMessageSize {
		return fmt.Errorf("%s: original message size %d: %w", what, n, ErrMalformed)
	}
	if int(n) > len(t)-TransformHeaderSize {
		return fmt.Errorf("%s: original message size %d, %d bytes follow: %w", what, n, len(t)-TransformHeaderSize, ErrShort)
	}
	return nil
}

// Signature returns the AEAD tag of the encrypted message.
func (t TransformHeader) Signature() [16]byte { return [16]byte(t[4:20]) }

// Nonce returns the whole 16-byte Nonce field.
func (t TransformHeader) Nonce() [16]byte { return [16]byte(t[20:36]) }

// OriginalMessageSize returns the size of the plaintext message.
func (t TransformHeader) OriginalMessageSize() uint32 { return binary.LittleEndian.Uint32(t[36:]) }

// Flags returns the Flags (EncryptionAlgorithm before 3.1.1) field.
func (t TransformHeader) Flags() uint16 { return binary.LittleEndian.Uint16(t[42:]) }

// SessionID returns the session whose keys encrypted the message.
func (t TransformHeader) SessionID() uint64 { return binary.LittleEndian.Uint64(t[44:]) }

// AAD returns the additional authenticated data of the AEAD: the 32 header bytes from Nonce
// to the end (bytes 20..52). It is a view into t, and also works on the bytes just appended
// by Transform.AppendTo before Validate could succeed.
func (t TransformHeader) AAD() []byte { return t[20:TransformHeaderSize:TransformHeaderSize] }

// Ciphertext returns the OriginalMessageSize encrypted bytes that follow the header.
func (t TransformHeader) Ciphertext() []byte {
	end := TransformHeaderSize + int(binary.LittleEndian.Uint32(t[36:]))
	return t[TransformHeaderSize:end:end]
}

// COMPRESSION_TRANSFORM_HEADER flags (MS-SMB2 2.2.42; the payload header's Flags, 2.2.42.2.1).
const (
	CompressionTransformFlagNone    uint16 = 0x0000 // SMB2_COMPRESSION_FLAG_NONE: unchained
	CompressionTransformFlagChained uint16 = 0x0001 // SMB2_COMPRESSION_FLAG_CHAINED
)

// compressionTransformHeaderSize is the size of the unchained header, and the smallest chained
// one (8 bytes of header and one 8-byte payload header).
const compressionTransformHeaderSize = 16

// compressionPayloadHeaderSize is the size of a chained payload header without its optional
// OriginalPayloadSize.
const compressionPayloadHeaderSize = 8

// CompressionTransformHeader is an SMB2 COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42) and the
// compressed message after it: a view over a whole received frame. smbsweep never asks for
// compression and does not decompress; this view exists to recognise and report a compressed
// message instead of misparsing it.
//
// The unchained form (2.2.42.1, Flags 0) has one algorithm, an Offset and an uncompressed
// prefix of that many bytes before the compressed data. The chained form (2.2.42.2, first
// payload Flags SMB2_COMPRESSION_FLAG_CHAINED) is a sequence of payload headers, each followed
// by its data; walk it with Payloads.
type CompressionTransformHeader []byte

// Validate checks the ProtocolId and the OriginalCompressedSegmentSize cap, then for the
// unchained form that Offset lies inside the message, and for the chained form walks every
// payload (MS-SMB2 3.1.5.3): each has a known algorithm and a Length inside the message (at
// least 4 when it includes OriginalPayloadSize, exactly 8 for Pattern_V1), the last ends at
// the end of the message, and the payloads' decompressed sizes add up to
// OriginalCompressedSegmentSize.
func (c CompressionTransformHeader) Validate() error {
	const what = "compression transform header"
	if len(c) < compressionTransformHeaderSize {
		return fmt.Errorf("%s: %d bytes: %w", what, len(c), ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(c); p != ProtocolSMB2Compressed {
		return fmt.Errorf("%s: protocol id %08x: %w", what, p, ErrBadProtocol)
	}
	orig := le.Uint32(c[4:])
	if orig > MaxTransformMessageSize {
		return fmt.Errorf("%s: original compressed segment size %d: %w", what, orig, ErrTooLarge)
	}
	switch f := le.Uint16(c[10:]); f {
	case CompressionTransformFlagNone:
		// OriginalCompressedSegmentSize counts only the compressed part, not the prefix.
		if off := le.Uint32(c[12:]); uint64(off) > uint64(len(c)-compressionTransformHeaderSize) {
			return fmt.Errorf("%s: offset %d in %d bytes: %w", what, off, len(c)-compressionTransformHeaderSize, ErrBadOffset)
		}
		return nil
	case CompressionTransformFlagChained:
		var total uint64
		for off, i := 8, 0; off < len(c); i++ {
			p, n, err := decodeCompressionPayload(c[off:])
			if err != nil {
				return fmt.Errorf("%s: payload %d at %d: %w", what, i, off, err)
			}
			total += uint64(p.DecompressedSize)
			off += n
		}
		if total != uint64(orig) {
			return fmt.Errorf("%s: payloads decompress to %d bytes, original compressed segment size %d: %w", what, total, orig, ErrMalformed)
		}
		return nil
	default:
		return fmt.Errorf("%s: flags %#04x: %w", what, f, ErrMalformed)
	}
}

// decodeCompressionPayload decodes the chained payload at the start of b (MS-SMB2 2.2.42.2.1)
// and returns it with the bytes it occupies.
func decodeCompressionPayload(b []byte) (p CompressionPayload, n int, err error) {
	if len(b) < compressionPayloadHeaderSize {
		return p, 0, fmt.Errorf("%d bytes: %w", len(b), ErrShort)
	}
	le := binary.LittleEndian
	alg, length := le.Uint16(b), le.Uint32(b[4:])
	if uint64(length) > uint64(len(b)-compressionPayloadHeaderSize) {
		return p, 0, fmt.Errorf("length %d, %d bytes left: %w", length, len(b)-compressionPayloadHeaderSize, ErrBadOffset)
	}
	end := compressionPayloadHeaderSize + int(length)
	p = CompressionPayload{Algorithm: alg, Flags: le.Uint16(b[2:])}
	data := b[compressionPayloadHeaderSize:end:end]
	switch alg {
	case CompressionNone:
		p.DecompressedSize = length
	case CompressionPatternV1:
		if length != compressionPatternPayloadSize {
			return p, 0, fmt.Errorf("pattern payload length %d: %w", length, ErrMalformed)
		}
		p.DecompressedSize = le.Uint32(data[4:]) // Repetitions
	case CompressionLZNT1, CompressionLZ77, CompressionLZ77Huffman, CompressionLZ4:
		if length < 4 {
			return p, 0, fmt.Errorf("length %d without its original payload size: %w", length, ErrMalformed)
		}
		p.HasOriginalPayloadSize = true
		p.DecompressedSize = le.Uint32(data)
		data = data[4:]
	default:
		return p, 0, fmt.Errorf("algorithm %#04x: %w", alg, ErrMalformed)
	}
	p.Data = data
	return p, end, nil
}

// compressionPatternPayloadSize is the size of SMB2_COMPRESSION_PATTERN_PAYLOAD_V1
// (MS-SMB2 2.2.42.2.2): Pattern, two reserved fields, Repetitions.
const compressionPatternPayloadSize = 8

// OriginalCompressedSegmentSize returns the size of the whole message once decompressed.
func (c CompressionTransformHeader) OriginalCompressedSegmentSize() uint32 {
	return binary.LittleEndian.Uint32(c[4:])
}

// Chained reports whether the message uses the chained form.
func (c CompressionTransformHeader) Chained() bool {
	return binary.LittleEndian.Uint16(c[10:]) == CompressionTransformFlagChained
}

// CompressionAlgorithm returns the algorithm (Compression*) of the unchained form, or of the
// first payload of the chained form (see CompressionAlgorithmName).
func (c CompressionTransformHeader) CompressionAlgorithm() uint16 {
	return binary.LittleEndian.Uint16(c[8:])
}

// Offset returns, for the unchained form, the size of the uncompressed prefix that precedes
// the compressed data.
func (c CompressionTransformHeader) Offset() uint32 {
	if c.Chained() {
		return 0
	}
	return binary.LittleEndian.Uint32(c[12:])
}

// UncompressedPrefix returns, for the unchained form, the bytes sent as they are before the
// compressed data (the start of the original message); nil for the chained form.
func (c CompressionTransformHeader) UncompressedPrefix() []byte {
	if c.Chained() {
		return nil
	}
	end := compressionTransformHeaderSize + int(c.Offset())
	return c[compressionTransformHeaderSize:end:end]
}

// CompressedData returns, for the unchained form, the compressed bytes after the uncompressed
// prefix; nil for the chained form.
func (c CompressionTransformHeader) CompressedData() []byte {
	if c.Chained() {
		return nil
	}
	return c[compressionTransformHeaderSize+int(c.Offset()):]
}

// Payloads returns an iterator over the chained form's payloads; it yields nothing for the
// unchained form.
func (c CompressionTransformHeader) Payloads() CompressionPayloadIterator {
	if !c.Chained() {
		return CompressionPayloadIterator{}
	}
	return CompressionPayloadIterator{buf: c, off: 8}
}

// CompressionPayload is one payload of a chained compressed message (MS-SMB2 2.2.42.2.1).
type CompressionPayload struct {
	Algorithm uint16 // Compression*
	Flags     uint16 // CompressionTransformFlagChained on the first payload
	// DecompressedSize is the payload's size once decompressed: its Length for NONE, the
	// Repetitions for Pattern_V1, and the OriginalPayloadSize field (HasOriginalPayloadSize)
	// for LZNT1, LZ77, LZ77+Huffman and LZ4.
	DecompressedSize       uint32
	HasOriginalPayloadSize bool
	// Data is the payload after its header and OriginalPayloadSize; for Pattern_V1 it is the
	// 8-byte SMB2_COMPRESSION_PATTERN_PAYLOAD_V1 (2.2.42.2.2).
	Data []byte
}

// CompressionPayloadIterator walks the payloads of a validated chained
// CompressionTransformHeader without allocating.
type CompressionPayloadIterator struct {
	buf []byte
	off int
}

// Next fills p with the next payload and reports whether there was one. On a message that did
// not pass Validate it stops at the first payload that does not decode.
func (it *CompressionPayloadIterator) Next(p *CompressionPayload) bool {
	if it.off >= len(it.buf) {
		return false
	}
	q, n, err := decodeCompressionPayload(it.buf[it.off:])
	if err != nil {
		it.off = len(it.buf)
		return false
	}
	*p = q
	it.off += n
	return true
}
