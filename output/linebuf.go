package output

import "io"

// recordBuffer batches complete records (whole lines, or a host's whole block of lines) for one
// io.Writer. Every Write call on the underlying writer carries only complete records, so an
// interrupted run leaves no partial line behind; bufio.Writer cannot promise that because it
// splits a record that straddles its buffer boundary.
type recordBuffer struct {
	w   io.Writer
	buf []byte
	err error // sticky: after a failed write nothing more is written
}

// recordBufferSize is how many bytes of whole records are collected before they are written.
const recordBufferSize = 32 << 10

func newRecordBuffer(w io.Writer) recordBuffer {
	return recordBuffer{w: w, buf: make([]byte, 0, recordBufferSize)}
}

// add queues one complete record. It writes the queued records first when rec would not fit, and
// writes rec on its own when it alone exceeds the buffer.
func (b *recordBuffer) add(rec []byte) error {
	if b.err != nil {
		return b.err
	}
	if len(b.buf)+len(rec) > cap(b.buf) {
		if err := b.flush(); err != nil {
			return err
		}
		if len(rec) > cap(b.buf) {
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
