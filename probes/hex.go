package probes

import (
	"fmt"
	"strconv"
	"strings"
)

// Hex16 is a 16-bit protocol value (a dialect revision) kept as the number the server sent.
// Records render it as "0x" and four hex digits; nothing parses it back from text but JSON
// decoding of a record.
type Hex16 uint16

// Hex32 is a 32-bit protocol value (capability bits, an access mask, file attributes) kept
// as the number the server sent, rendered as "0x" and eight hex digits.
type Hex32 uint32

// String renders the value as the records show it ("0x0311").
func (h Hex16) String() string { return string(h.AppendHex(nil)) }

// String renders the value as the records show it ("0x001f01ff").
func (h Hex32) String() string { return string(h.AppendHex(nil)) }

// AppendHex appends "0x" and four lower-case hex digits.
func (h Hex16) AppendHex(dst []byte) []byte { return appendHex(dst, uint64(h), 4) }

// AppendHex appends "0x" and eight lower-case hex digits.
func (h Hex32) AppendHex(dst []byte) []byte { return appendHex(dst, uint64(h), 8) }

func appendHex(dst []byte, v uint64, digits int) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '0', 'x')
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*i))&0xf])
	}
	return dst
}

// MarshalText renders the value for JSON.
func (h Hex16) MarshalText() ([]byte, error) { return h.AppendHex(nil), nil }

// MarshalText renders the value for JSON.
func (h Hex32) MarshalText() ([]byte, error) { return h.AppendHex(nil), nil }

// UnmarshalText reads a record's "0x0311" back.
func (h *Hex16) UnmarshalText(b []byte) error {
	v, err := parseHex(b, 16)
	*h = Hex16(v)
	return err
}

// UnmarshalText reads a record's "0x001f01ff" back.
func (h *Hex32) UnmarshalText(b []byte) error {
	v, err := parseHex(b, 32)
	*h = Hex32(v)
	return err
}

func parseHex(b []byte, bits int) (uint64, error) {
	s := string(b)
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok || digits == "" {
		return 0, fmt.Errorf("%q is not a 0x-prefixed hexadecimal number", s)
	}
	v, err := strconv.ParseUint(digits, 16, bits)
	if err != nil {
		return 0, fmt.Errorf("%q is not a %d-bit hexadecimal number", s, bits)
	}
	return v, nil
}
