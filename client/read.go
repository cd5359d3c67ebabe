package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// DefaultMaxBytes is the read limit of the get subcommand and the read stage: 64 KiB.
const DefaultMaxBytes = 64 << 10

// ReadResult describes one read of a file.
type ReadResult struct {
	// Path is the share-relative path.
	Path string
	// Size is the file's EndOfFile when it was opened.
	Size int64
	// BytesRead is how many bytes were read and returned (all of them).
	BytesRead int64
	// SHA256 is the digest of the bytes returned.
	SHA256 [sha256.Size]byte
	// Truncated is true only when the file is longer than what was returned (the limit
	// stopped the read).
	Truncated bool
	// IsText is true when the bytes are UTF-8 text (see IsText).
	IsText bool
	// Data holds the bytes for ReadFile (nil for ReadFileTo).
	Data []byte
}

// ReadFile reads up to maxBytes of the file at path (maxBytes <= 0: DefaultMaxBytes) and
// returns them all. See ReadFileTo.
func (s *Share) ReadFile(ctx context.Context, path string, maxBytes int64) (ReadResult, error) {
	return readAll(ctx, s.ReadFileTo, path, maxBytes)
}

// readAll is ReadFile over a back end's ReadFileTo: the bytes collected in memory, Data never
// nil on success.
func readAll(ctx context.Context, readTo func(context.Context, string, io.Writer, int64) (ReadResult, error), path string, maxBytes int64) (ReadResult, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	var buf bytes.Buffer
	res, err := readTo(ctx, path, &buf, maxBytes)
	if err != nil {
		return res, err
	}
	res.Data = buf.Bytes()
	if res.Data == nil {
		res.Data = []byte{}
	}
	return res, nil
}

// ReadFileTo copies up to maxBytes of the file at path to w (maxBytes <= 0: DefaultMaxBytes):
// CREATE (FILE_OPEN, READ_DATA, not a directory), READ requests of up to the negotiated
// MaxReadSize (multi-credit), from offset 0 until the limit, the end of file or the size the
// file had when opened, then CLOSE.
func (s *Share) ReadFileTo(ctx context.Context, path string, w io.Writer, maxBytes int64) (ReadResult, error) {
	const op = "read"
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	res := ReadResult{Path: CleanPath(path)}
	h, err := s.open(ctx, op, path, wire.CreateRequest{
		DesiredAccess:     wire.AccessReadData | wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:       wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition: wire.DispositionOpen,
		CreateOptions:     wire.CreateOptNonDirectoryFile,
	})
	if err != nil {
		return res, err
	}
	defer func() { _ = s.close(ctx, op, path, h) }()
	res.Size = h.endOfFile
	sum := sha256.New()
	var text TextDetector
	for res.BytesRead < maxBytes && res.BytesRead < res.Size {
		n, charge := s.c.chunk(s.c.neg.MaxReadSize, maxBytes-res.BytesRead)
		req := wire.ReadRequest{Length: uint32(n), Offset: uint64(res.BytesRead), FileID: h.id}
		resp, err := s.c.conn.CallCharge(ctx, wire.CmdRead, s.tid, charge, &req)
		if err != nil {
			return res, failed(op, s.target(path), err)
		}
		if resp.Header.Status == wire.StatusEndOfFile {
			break
		}
		if resp.Header.Status != wire.StatusSuccess {
			return res, &Error{Op: op, Target: s.target(path), Status: resp.Header.Status, Err: fmt.Errorf("READ at offset %d", res.BytesRead)}
		}
		rr := wire.ReadResponse(resp.Msg)
		if err := rr.Validate(); err != nil {
			return res, failed(op, s.target(path), &transport.ProtocolError{Op: "READ response", Err: err})
		}
		data := rr.Data()
		if len(data) > n {
			return res, failed(op, s.target(path), &transport.ProtocolError{Op: "READ response", Err: fmt.Errorf("%d bytes for a %d-byte read: %w", len(data), n, wire.ErrMalformed)})
		}
		if len(data) == 0 {
			break
		}
		writeAll(sum, data)
		text.Write(data)
		if _, err := w.Write(data); err != nil {
			return res, &Error{Op: op, Target: s.target(path), Err: fmt.Errorf("writing the data read: %w", err)}
		}
		res.BytesRead += int64(len(data))
	}
	copy(res.SHA256[:], sum.Sum(nil))
	res.Truncated = res.Size > res.BytesRead
	res.IsText = text.IsText(res.Truncated)
	return res, nil
}

func writeAll(h hash.Hash, b []byte) { _, _ = h.Write(b) }

// TextDetector decides, over data written to it in pieces, whether the data is text: valid
// UTF-8 without NUL or control characters other than TAB, LF, VT, FF, CR and ESC (ANSI
// colours in logs are text). Empty data is text. The zero value is ready to use.
type TextDetector struct {
	binary bool
	carry  [utf8.UTFMax]byte
	nc     int
}

// Write feeds the next bytes.
func (d *TextDetector) Write(b []byte) {
	if d.binary {
		return
	}
	for d.nc > 0 && len(b) > 0 {
		// Complete the rune split across writes.
		d.carry[d.nc] = b[0]
		d.nc++
		b = b[1:]
		if utf8.FullRune(d.carry[:d.nc]) {
			if r, _ := utf8.DecodeRune(d.carry[:d.nc]); r == utf8.RuneError {
				d.binary = true
				return
			}
			d.nc = 0
		}
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && !(c >= '\t' && c <= '\r') && c != 0x1b {
				d.binary = true
				return
			}
			i++
			continue
		}
		if !utf8.FullRune(b[i:]) {
			d.nc = copy(d.carry[:], b[i:])
			return
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			d.binary = true
			return
		}
		i += size
	}
}

// IsText reports the verdict. A rune cut off at the end counts as text when truncated is
// true (the limit split it) and as binary otherwise.
func (d *TextDetector) IsText(truncated bool) bool {
	if d.binary {
		return false
	}
	return d.nc == 0 || truncated
}

// IsText reports whether b is text by the rules of TextDetector.
func IsText(b []byte, truncated bool) bool {
	var d TextDetector
	d.Write(b)
	return d.IsText(truncated)
}
