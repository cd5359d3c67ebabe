package output

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/probes"
)

// JSONL writes one JSON object per line (docs/schema.md): a {"type":"host"} record per target and
// a final {"type":"summary"} line. Fields are exactly the struct tags of probes.Result and
// probes.Summary; HTML characters are not escaped; times are RFC 3339 (UTC once they went through
// a Writer).
//
// encoding/json escapes C0 control characters but writes C1 controls (U+0080..U+009F, e.g. the
// 8-bit CSI U+009B) and bidirectional overrides as raw UTF-8; JSONL also escapes those (and the
// other characters SanitizeTerminal escapes) as \uXXXX, so that a record viewed with cat or tail
// cannot act on a terminal. The escape is lossless: the decoded strings are unchanged.
type JSONL struct {
	name string
	out  recordBuffer
	line bytes.Buffer // reused per record
	esc  []byte       // reused when a line needs extra escapes
	enc  *json.Encoder
}

// NewJSONL returns a JSONL sink writing to w; name identifies it in errors ("out.jsonl", "stdout").
func NewJSONL(w io.Writer, name string) *JSONL {
	j := &JSONL{name: name, out: newRecordBuffer(w)}
	j.enc = json.NewEncoder(&j.line)
	j.enc.SetEscapeHTML(false)
	return j
}

// Name implements Sink.
func (j *JSONL) Name() string { return j.name }

// WriteResult implements Sink.
func (j *JSONL) WriteResult(r *probes.Result) error { return j.encode(r) }

// WriteSummary implements Sink.
func (j *JSONL) WriteSummary(s *probes.Summary) error { return j.encode(s) }

// Flush implements Sink.
func (j *JSONL) Flush() error { return j.out.flush() }

func (j *JSONL) encode(v any) error {
	j.line.Reset()
	if err := j.enc.Encode(v); err != nil { // Encode appends the newline
		return err
	}
	line := j.line.Bytes()
	if i := firstTerminalUnsafe(line); i >= 0 {
		j.esc = appendJSONEscaped(append(j.esc[:0], line[:i]...), line[i:])
		line = j.esc
	}
	return j.out.add(line)
}

// firstTerminalUnsafe returns the offset of the first rune in the encoded JSON line b that
// terminalUnsafe reports, or -1. Lines are usually ASCII, which is checked byte by byte.
func firstTerminalUnsafe(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if terminalUnsafe(r) {
			return i
		}
		i += size
	}
	return -1
}

// appendJSONEscaped appends b to dst with every terminalUnsafe rune written as a JSON \uXXXX
// escape. encoding/json emits valid UTF-8 and non-ASCII only inside strings, so the result is
// valid JSON for the same values.
func appendJSONEscaped(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if terminalUnsafe(r) {
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return dst
}
