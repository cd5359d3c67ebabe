package output

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// countingWriter records the size of every Write.
type countingWriter struct {
	bytes.Buffer
	sizes []int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestRecordBufferPipeWritesAtomic: on a pipe every Write carries whole records and, unless one
// record alone is longer, at most PIPE_BUF bytes, so a process killed while its reader lags leaves
// no partial record in the pipe; on a file the batches stay large.
func TestRecordBufferPipeWritesAtomic(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if b := newRecordBuffer(w); b.limit != pipeAtomic {
		t.Errorf("pipe: limit %d, want %d", b.limit, pipeAtomic)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b := newRecordBuffer(f); b.limit != recordBufferSize {
		t.Errorf("file: limit %d, want %d", b.limit, recordBufferSize)
	}

	cw := &countingWriter{}
	b := newRecordBuffer(cw)
	b.limit = pipeAtomic
	rec := func(n int) []byte { return append(bytes.Repeat([]byte("x"), n-1), '\n') }
	var want bytes.Buffer
	for _, n := range []int{1000, 1500, 1200, 900, 5000, 300, 4096, 10, 4000} {
		want.Write(rec(n))
		if err := b.add(rec(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cw.Bytes(), want.Bytes()) {
		t.Fatal("bytes differ from the records added")
	}
	for i, n := range cw.sizes {
		if n > pipeAtomic && n != 5000 {
			t.Errorf("write %d carries %d bytes, over PIPE_BUF and not one long record", i, n)
		}
	}
	if len(cw.sizes) < 4 {
		t.Errorf("writes %v: records were not batched up to the limit", cw.sizes)
	}
}
