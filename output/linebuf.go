package output

import (
	"io"
	"os"
)

// recordBuffer batches complete records (whole lines, or a host's whole block of lines) for one
// io.Writer. Every Write call on the underlying writer carries only complete records, so an
// interrupted run leaves no partial line behind; bufio.Writer cannot promise that because it
// splits a record that straddles its buffer boundary.
type recordBuffer struct {
	w     io.Writer
	buf   []byte
	limit int   // most bytes one Write carries (pipeAtomic on a pipe), unless one record is longer
	err   error // sticky: after a failed write nothing more is written
}

// pipeAtomic is PIPE_BUF on Linux (POSIX requires at least 512): a write to a pipe of at most
// this many bytes is atomic — wholly in the pipe or not at all — so a process killed while the
// reader lags (SIGKILL, OOM) leaves no partial record in the pipe. A longer write may be cut
// where the pipe was full.
const pipeAtomic = 4096

// recordBufferSize is how many bytes of whole records are collected before they are written.
const recordBufferSize = 32 << 10

func newRecordBuffer(w io.Writer) recordBuffer {
	b := recordBuffer{w: w, buf: make([]byte, 0, recordBufferSize), limit: recordBufferSize}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			b.limit = pipeAtomic
		}
	}
	return b
}

// add queues one complete record. It writes the queued records first when rec would not fit, and
// writes rec on its own when it alone exceeds the buffer.
func (b *recordBuffer) add(rec []byte) error {
	if b.err != nil {
		return b.err
	}
	if len(b.buf)+len(rec) > b.limit {
		if err := b.flush(); err != nil {
			return err
		}
		if len(rec) > b.limit {
			return b.write(rec)
		}
	}
	b.buf = append(b.buf, rec...)
	return nil
}

// flush writes the queued records with one Write call.
func (b *recordBuffer) flush() error {
	if b.err != nil {
		return b.err
	}
	if len(b.buf) == 0 {
		return nil
	}
	err := b.write(b.buf)
	b.buf = b.buf[:0]
	return err
}

func (b *recordBuffer) write(p []byte) error {
	n, err := b.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		b.err = err
	}
	return err
}
