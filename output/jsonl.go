package output

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/smbsweep/smbsweep/probes"
)

// JSONL writes one JSON object per line (docs/schema.md): a {"type":"host"} record per target and
// a final {"type":"summary"} line. Fields are exactly the struct tags of probes.Result and
// probes.Summary; HTML characters are not escaped; times are RFC 3339 (UTC once they went through
// a Writer).
type JSONL struct {
	name string
	out  recordBuffer
	line bytes.Buffer // reused per record
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
	return j.out.add(j.line.Bytes())
}
