package wire

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// SMB carries names as UTF-16LE (MS-SMB2 2.2.13: "Unicode"; MS-NLMP 2.2: UNICODE strings).
// These helpers encode surrogate pairs for characters above U+FFFF and decode invalid or
// unpaired surrogates as U+FFFD, so every name round-trips or degrades visibly.

// UTF16Len returns the number of bytes s occupies in UTF-16LE.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 && r <= utf8.MaxRune {
			n += 4
		} else {
			n += 2
		}
	}
	return n
}

// AppendUTF16LE appends s encoded as UTF-16LE (no terminator). Invalid UTF-8 becomes U+FFFD.
func AppendUTF16LE(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = binary.LittleEndian.AppendUint16(dst, uint16(r1))
			dst = binary.LittleEndian.AppendUint16(dst, uint16(r2))
			continue
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(r))
	}
	return dst
}

// AppendUTF8FromUTF16LE appends the UTF-8 form of the UTF-16LE bytes b. An odd trailing byte
// and unpaired surrogates decode as U+FFFD.
func AppendUTF8FromUTF16LE(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		if i+1 >= len(b) {
			dst = utf8.AppendRune(dst, utf8.RuneError)
			break
		}
		u := rune(binary.LittleEndian.Uint16(b[i:]))
		i += 2
		switch {
		case u < 0xd800 || u > 0xdfff:
			dst = utf8.AppendRune(dst, u)
		case u <= 0xdbff && i+1 < len(b):
			u2 := rune(binary.LittleEndian.Uint16(b[i:]))
			if u2 >= 0xdc00 && u2 <= 0xdfff {
				dst = utf8.AppendRune(dst, utf16.DecodeRune(u, u2))
				i += 2
			} else {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			}
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
	}
	return dst
}

// DecodeUTF16LE returns b decoded from UTF-16LE as a string (one allocation for the result).
func DecodeUTF16LE(b []byte) string {
	var stack [128]byte
	return string(AppendUTF8FromUTF16LE(stack[:0], b))
}
