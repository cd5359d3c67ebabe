package spnego

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smbsweep/smbsweep/wire"
)

// DER identifier octets used by SPNEGO (RFC 4178 section 4.2, RFC 2743 section 3.1).
const (
	tagOctetString   = 0x04
	tagOID           = 0x06
	tagEnumerated    = 0x0a
	tagGeneralString = 0x1b
	tagBitString     = 0x03
	tagSequence      = 0x30
	tagApplication0  = 0x60 // [APPLICATION 0] IMPLICIT SEQUENCE: GSS-API InitialContextToken
	tagContext0      = 0xa0 // [0] constructed
	tagContext1      = 0xa1
	tagContext2      = 0xa2
	tagContext3      = 0xa3
	tagContext4      = 0xa4
)

// MaxTokenSize caps what the encoder is asked to wrap and what the decoder accepts: SPNEGO
// tokens travel in SMB2 security buffers, whose length field is 16 bits.
const MaxTokenSize = 0xffff

// --- encoding ---

// lenSize returns how many octets the DER length n takes (X.690 10.1: minimal, definite).
func lenSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffff:
		return 4
	}
	return 5
}

// tlvSize returns the size of a DER element whose contents are n octets.
func tlvSize(n int) int { return 1 + lenSize(n) + n }

// appendHeader appends the identifier and length octets of an element of n contents octets.
func appendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch lenSize(n) {
	case 1:
		return append(dst, byte(n))
	case 2:
		return append(dst, 0x81, byte(n))
	case 3:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case 4:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendTLV appends a primitive element.
func appendTLV(dst []byte, tag byte, contents []byte) []byte {
	return append(appendHeader(dst, tag, len(contents)), contents...)
}

// explicitSize is the size of [n] EXPLICIT wrapping a primitive of k contents octets.
func explicitSize(k int) int { return tlvSize(tlvSize(k)) }

// appendExplicit appends [ctx] { tag contents }.
func appendExplicit(dst []byte, ctx, tag byte, contents []byte) []byte {
	dst = appendHeader(dst, ctx, tlvSize(len(contents)))
	return appendTLV(dst, tag, contents)
}

// --- decoding ---

// derError explains why cryptobyte refused to read an element with tag from s: missing,
// wrong tag, indefinite or non-minimal length, or a length running past the end.
func derError(s []byte, tag asn1.Tag, what string) error {
	switch {
	case len(s) == 0:
		return fmt.Errorf("%s: missing: %w", what, wire.ErrShort)
	case s[0]&0x1f == 0x1f:
		return fmt.Errorf("%s: high-tag-number identifier 0x%02x: %w", what, s[0], wire.ErrMalformed)
	case s[0] != byte(tag):
		return fmt.Errorf("%s: tag 0x%02x, want 0x%02x: %w", what, s[0], byte(tag), wire.ErrMalformed)
	case len(s) < 2:
		return fmt.Errorf("%s: no length octet: %w", what, wire.ErrShort)
	}
	l := s[1]
	if l == 0x80 {
		return fmt.Errorf("%s: indefinite length (BER, not DER): %w", what, wire.ErrMalformed)
	}
	if l < 0x80 {
		return fmt.Errorf("%s: length %d past the end (%d bytes left): %w", what, l, len(s)-2, wire.ErrBadOffset)
	}
	k := int(l & 0x7f)
	if k > 4 {
		return fmt.Errorf("%s: %d length octets: %w", what, k, wire.ErrTooLarge)
	}
	if len(s) < 2+k {
		return fmt.Errorf("%s: length octets cut short: %w", what, wire.ErrShort)
	}
	var n uint64
	for _, c := range s[2 : 2+k] {
		n = n<<8 | uint64(c)
	}
	if n < 0x80 || s[2] == 0 {
		return fmt.Errorf("%s: non-minimal length encoding: %w", what, wire.ErrMalformed)
	}
	if n > uint64(len(s)-2-k) {
		return fmt.Errorf("%s: length %d past the end (%d bytes left): %w", what, n, len(s)-2-k, wire.ErrBadOffset)
	}
	return fmt.Errorf("%s: %w", what, wire.ErrMalformed)
}

// read reads the next element, which must carry tag, and returns its contents.
// On failure s is left as it was (cryptobyte consumes an element whose tag does not match).
func read(s *cryptobyte.String, tag byte, what string) (cryptobyte.String, error) {
	var out cryptobyte.String
	orig := *s
	if !s.ReadASN1(&out, asn1.Tag(tag)) {
		*s = orig
		return nil, derError(orig, asn1.Tag(tag), what)
	}
	return out, nil
}

// readOptional reads the next element if it carries tag.
func readOptional(s *cryptobyte.String, tag byte, what string) (out cryptobyte.String, ok bool, err error) {
	if !s.PeekASN1Tag(asn1.Tag(tag)) {
		return nil, false, nil
	}
	out, err = read(s, tag, what)
	return out, err == nil, err
}

// readExplicit reads [ctx] EXPLICIT wrapping exactly one element with tag, and returns that
// element's contents.
func readExplicit(s *cryptobyte.String, ctx, tag byte, what string) (cryptobyte.String, bool, error) {
	outer, ok, err := readOptional(s, ctx, what)
	if !ok {
		return nil, false, err
	}
	inner, err := read(&outer, tag, what)
	if err != nil {
		return nil, false, err
	}
	if !outer.Empty() {
		return nil, false, trailing(what, len(outer))
	}
	return inner, true, nil
}

func trailing(what string, n int) error {
	return fmt.Errorf("%s: %d trailing bytes: %w", what, n, wire.ErrMalformed)
}

// readOID reads an OBJECT IDENTIFIER and checks its encoding.
func readOID(s *cryptobyte.String, what string) (OID, error) {
	b, err := read(s, tagOID, what)
	if err != nil {
		return nil, err
	}
	o := OID(b)
	if !o.valid() {
		return nil, fmt.Errorf("%s: invalid object identifier encoding: %w", what, wire.ErrMalformed)
	}
	return o[:len(o):len(o)], nil
}

// view returns b with its capacity cut to its length, so appending to it cannot overwrite the
// bytes that follow in the token.
func view(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}
