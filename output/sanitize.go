package output

import (
	"strings"
	"unicode/utf8"
)

// Server-controlled strings (NetBIOS and DNS names, share names and comments, OS strings, error
// texts that quote a reply) reach terminals and spreadsheets. The sanitizers below make them inert
// there; the JSONL sink needs none of this because its encoder (encode.go) escapes control,
// C1 and bidirectional characters itself.

// SanitizeTerminal returns s made safe to print on a terminal: C0 control characters (including
// ESC, CR, LF, TAB and BS), DEL, C1 control characters (U+0080..U+009F, e.g. the 8-bit CSI U+009B),
// bidirectional overrides and line/paragraph separators are replaced by visible escapes such as
// `\x1b` or `\u009b`, and bytes that are not valid UTF-8 become `\xNN`. A hostile name therefore
// cannot move the cursor, clear the screen, recolour text or start a fake line. A string that
// needs no change is returned as is, without allocating.
func SanitizeTerminal(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if c < utf8.RuneSelf || (r == utf8.RuneError && size == 1) || terminalUnsafe(r) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		if c < utf8.RuneSelf { // C0 or DEL
			writeByteEscape(&b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeByteEscape(&b, c)
		case terminalUnsafe(r):
			writeRuneEscape(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// terminalUnsafe reports whether the non-ASCII rune r must not reach a terminal verbatim.
func terminalUnsafe(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls (CSI, OSC, NEL, ...)
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional embeddings, overrides, isolates and marks
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case r == 0xfeff: // zero-width no-break space / BOM
		return true
	}
	return false
}

const hexDigits = "0123456789abcdef"

func writeByteEscape(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

func writeRuneEscape(b *strings.Builder, r rune) {
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>uint(shift))&0xf])
	}
}

// SanitizeCSVCell returns s made safe as a spreadsheet cell (OWASP "CSV injection"): control
// characters (C0, DEL, C1) are removed, invalid UTF-8 is replaced by U+FFFD, and a cell that starts
// with `=`, `+`, `-`, `@`, TAB or CR — also after leading spaces or after control characters were
// removed — gets a leading `'` so that spreadsheet software treats it as text, not a formula.
// Quoting for the CSV syntax itself is left to encoding/csv.
func SanitizeCSVCell(s string) string {
	guard := formulaStart(s)
	clean := s
	if needsCSVClean(s) {
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				continue
			}
			b.WriteRune(r)
		}
		clean = b.String()
	}
	if guard || formulaStart(clean) {
		return "'" + clean
	}
	return clean
}

// formulaStart reports whether a spreadsheet could read s as a formula: its first character, or
// its first character after leading spaces, is one of = + - @ TAB CR.
func formulaStart(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '\t', '\r':
		return true
	}
	t := strings.TrimLeft(s, " ")
	if t == "" {
		return false
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

func needsCSVClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			// Non-ASCII is usually fine; check it rune by rune only when present.
			if c < 0x20 || c == 0x7f {
				return true
			}
			if !utf8.ValidString(s[i:]) {
				return true
			}
			for _, r := range s[i:] {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
					return true
				}
			}
			return false
		}
	}
	return false
}
