package output

import (
	"io"

	"github.com/smbsweep/smbsweep/probes"
)

// JSONL writes one JSON object per line (docs/schema.md): a {"type":"host"} record per target and
// a final {"type":"summary"} line. Fields are exactly the struct tags of probes.Result and
// probes.Summary; HTML characters are not escaped; times are RFC 3339 (UTC once they went through
// a Writer).
//
// The records are written by jsonEncoder (encode.go), without reflection and without allocating
// per record, byte for byte as encoding/json wrote them before. Like encoding/json it escapes C0
// control characters; unlike it, it also escapes C1 controls (U+0080..U+009F, e.g. the 8-bit CSI
// U+009B) and bidirectional overrides (and the other characters SanitizeTerminal escapes) as
// \uXXXX, so that a record viewed with cat or tail cannot act on a terminal. The escape is
// lossless: the decoded strings are unchanged.
type JSONL struct {
	name string
	out  recordBuffer
	enc  jsonEncoder // its buffer is reused per record
}

// NewJSONL returns a JSONL sink writing to w; name identifies it in errors ("out.jsonl", "stdout").
func NewJSONL(w io.Writer, name string) *JSONL {
	return &JSONL{name: name, out: newRecordBuffer(w), enc: jsonEncoder{buf: make([]byte, 0, 4<<10)}}
}

// Name implements Sink.
func (j *JSONL) Name() string { return j.name }

// WriteResult implements Sink.
func (j *JSONL) WriteResult(r *probes.Result) error {
	j.enc.buf, j.enc.err = j.enc.buf[:0], nil
	j.enc.result(r)
	return j.emit()
}

// WriteSummary implements Sink.
func (j *JSONL) WriteSummary(s *probes.Summary) error {
	j.enc.buf, j.enc.err = j.enc.buf[:0], nil
	j.enc.summary(s)
	return j.emit()
}

// Flush implements Sink.
func (j *JSONL) Flush() error { return j.out.flush() }

// emit queues the encoded record as one line; a record that failed to encode (a NaN duration, a
// time outside years 0..9999) is not written at all.
func (j *JSONL) emit() error {
	line := append(j.enc.buf, '\n')
	j.enc.buf = line
	if cap(line) > maxKeptLine { // one huge record (a long listing) does not pin its buffer
		j.enc.buf = nil
	}
	if err := j.enc.err; err != nil {
		return err
	}
	return j.out.add(line)
}

// maxKeptLine is the largest line buffer kept for the next record.
const maxKeptLine = 1 << 20
