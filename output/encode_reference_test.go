package output

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/probes"
)

// referenceJSONL is the JSONL sink as it was before jsonEncoder (commit 2a1a9d4): encoding/json
// reflection over the record with HTML escaping off, then appendJSONEscaped over the line. It is
// kept, unchanged, as the reference the encoder is proven against (encode_test.go) and as the
// "before" of BenchmarkJSONLResult.
type referenceJSONL struct {
	name string
	out  recordBuffer
	line bytes.Buffer // reused per record
	esc  []byte       // reused when a line needs extra escapes
	enc  *json.Encoder
}

func newReferenceJSONL(w io.Writer, name string) *referenceJSONL {
	j := &referenceJSONL{name: name, out: newRecordBuffer(w)}
	j.enc = json.NewEncoder(&j.line)
	j.enc.SetEscapeHTML(false)
	return j
}

func (j *referenceJSONL) Name() string                         { return j.name }
func (j *referenceJSONL) WriteResult(r *probes.Result) error   { return j.encode(r) }
func (j *referenceJSONL) WriteSummary(s *probes.Summary) error { return j.encode(s) }
func (j *referenceJSONL) Flush() error                         { return j.out.flush() }

func (j *referenceJSONL) encode(v any) error {
	line, err := j.render(v)
	if err != nil {
		return err
	}
	return j.out.add(line)
}

// render returns the line (newline included) the old sink queued for v.
func (j *referenceJSONL) render(v any) ([]byte, error) {
	j.line.Reset()
	if err := j.enc.Encode(v); err != nil { // Encode appends the newline
		return nil, err
	}
	line := j.line.Bytes()
	if i := firstTerminalUnsafe(line); i >= 0 {
		j.esc = appendJSONEscaped(append(j.esc[:0], line[:i]...), line[i:])
		line = j.esc
	}
	return line, nil
}

// referenceLine is the old sink's line for v (a *probes.Result or *probes.Summary).
func referenceLine(v any) ([]byte, error) {
	line, err := newReferenceJSONL(io.Discard, "reference").render(v)
	return bytes.Clone(line), err
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
