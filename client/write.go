package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// WriteMode says what a write does to an existing file.
type WriteMode int

// Write modes.
const (
	// CreateOnly creates the file and refuses (ErrExists, STATUS_OBJECT_NAME_COLLISION) when
	// it exists: FILE_CREATE.
	CreateOnly WriteMode = iota
	// Overwrite replaces the file's contents, creating it when missing: FILE_OVERWRITE_IF.
	Overwrite
	// Append writes after the file's current end, creating it when missing: FILE_OPEN_IF,
	// then WRITE at the EndOfFile the CREATE response reports.
	Append
)

// String returns the mode's name.
func (m WriteMode) String() string {
	switch m {
	case CreateOnly:
		return "create"
	case Overwrite:
		return "overwrite"
	case Append:
		return "append"
	}
	return fmt.Sprintf("WriteMode(%d)", int(m))
}

// WriteResult describes one write.
type WriteResult struct {
	Path string
	Mode WriteMode
	// Created is true when the file did not exist before.
	Created bool
	// Offset is where the data was written (the old size for Append, else 0).
	Offset int64
	// BytesWritten is how many bytes the server acknowledged.
	BytesWritten int64
}

// WriteFile writes everything r yields to the file at path: one CREATE per mode (see
// WriteMode), WRITE requests of up to the negotiated MaxWriteSize (multi-credit), then CLOSE,
// whose failure is reported too. It never truncates or replaces an existing file unless mode
// is Overwrite.
func (s *Share) WriteFile(ctx context.Context, path string, r io.Reader, mode WriteMode) (WriteResult, error) {
	return writeFile(ctx, s.target, s.openWrite, path, r, mode)
}

// writable is a file open for writing, on either protocol.
type writable interface {
	// bufferSize is how many bytes of the input to read for one write call.
	bufferSize() int
	// write writes all of data at off, in as many requests as the server needs; n is how
	// many bytes the server acknowledged, also on error.
	write(ctx context.Context, data []byte, off int64) (n int64, err error)
	// close closes the file, reporting a failure as the write's *Error.
	close(ctx context.Context) error
}

// openForWrite opens or creates path the way mode says (a CreateOnly, Overwrite or Append
// mode, already checked): the file, whether it was created, and its size.
type openForWrite func(ctx context.Context, path string, mode WriteMode) (f writable, created bool, size int64, err error)

// writeFile is WriteFile over either protocol: the checks, the open for mode, the input
// copied in bufferSize reads, then CLOSE.
func writeFile(ctx context.Context, target func(string) string, open openForWrite, path string, r io.Reader, mode WriteMode) (WriteResult, error) {
	const op = "write"
	res := WriteResult{Path: CleanPath(path), Mode: mode}
	if res.Path == "" {
		return res, &Error{Op: op, Target: target(path), Err: errors.New("no file name")}
	}
	if mode != CreateOnly && mode != Overwrite && mode != Append {
		return res, &Error{Op: op, Target: target(path), Err: fmt.Errorf("unknown write mode %d", int(mode))}
	}
	f, created, size, err := open(ctx, path, mode)
	if err != nil {
		var e *Error
		if mode == CreateOnly && errors.As(err, &e) && e.Status == wire.StatusObjectNameCollision {
			e.Err = ErrExists
		}
		return res, err
	}
	res.Created = created
	if mode == Append {
		res.Offset = size
	}
	werr := copyInto(ctx, f, r, &res, target(path))
	cerr := f.close(ctx)
	if werr != nil {
		return res, werr
	}
	return res, cerr
}

// copyInto writes everything r yields to f from res.Offset on, counting in res.BytesWritten.
func copyInto(ctx context.Context, f writable, r io.Reader, res *WriteResult, target string) error {
	buf := make([]byte, f.bufferSize())
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			m, err := f.write(ctx, buf[:n], res.Offset+res.BytesWritten)
			res.BytesWritten += m
			if err != nil {
				return err
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF), errors.Is(rerr, io.ErrUnexpectedEOF):
			return nil
		default:
			return &Error{Op: "write", Target: target, Err: fmt.Errorf("reading the data to write: %w", rerr)}
		}
	}
}

// smb2Dispositions are the SMB2 CREATE dispositions of the write modes.
var smb2Dispositions = [...]uint32{CreateOnly: wire.DispositionCreate, Overwrite: wire.DispositionOverwriteIf, Append: wire.DispositionOpenIf}

// openWrite is the SMB2 openForWrite: one CREATE.
func (s *Share) openWrite(ctx context.Context, path string, mode WriteMode) (writable, bool, int64, error) {
	h, err := s.open(ctx, "write", path, wire.CreateRequest{
		DesiredAccess:     wire.AccessWriteData | wire.AccessAppendData | wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:       wire.FileShareRead,
		CreateOptions:     wire.CreateOptNonDirectoryFile,
		FileAttributes:    wire.FileAttributeNormal,
		CreateDisposition: smb2Dispositions[mode],
	})
	if err != nil {
		return nil, false, 0, err
	}
	return &smb2File{s: s, path: path, h: h}, h.action == wire.CreateActionCreated, h.endOfFile, nil
}

// smb2File is an SMB2 file open for writing.
type smb2File struct {
	s    *Share
	path string
	h    handle
}

// bufferSize is the largest WRITE the server and the credits allow, at most 1 MiB.
func (f *smb2File) bufferSize() int {
	size, _ := f.s.c.chunk(f.s.c.neg.MaxWriteSize, 1<<30)
	return min(size, 1<<20)
}

func (f *smb2File) close(ctx context.Context) error { return f.s.close(ctx, "write", f.path, f.h) }

// write writes data at off with as many WRITE requests as the server's MaxWriteSize and the
// credits need.
func (f *smb2File) write(ctx context.Context, data []byte, off int64) (int64, error) {
	const op = "write"
	s, done := f.s, int64(0)
	for len(data) > 0 {
		n, charge := s.c.chunk(s.c.neg.MaxWriteSize, int64(len(data)))
		at := off + done
		req := wire.WriteRequest{Offset: uint64(at), FileID: f.h.id, Data: data[:n]}
		resp, err := s.c.conn.CallCharge(ctx, wire.CmdWrite, s.tid, charge, &req)
		if err != nil {
			return done, failed(op, s.target(f.path), err)
		}
		if resp.Header.Status != wire.StatusSuccess {
			return done, &Error{Op: op, Target: s.target(f.path), Status: resp.Header.Status, Err: fmt.Errorf("WRITE at offset %d", at)}
		}
		wr := wire.WriteResponse(resp.Msg)
		if err := wr.Validate(); err != nil {
			return done, failed(op, s.target(f.path), &transport.ProtocolError{Op: "WRITE response", Err: err})
		}
		got := int(wr.Count())
		if got == 0 || got > n {
			return done, failed(op, s.target(f.path), &transport.ProtocolError{Op: "WRITE response", Err: fmt.Errorf("%d bytes acknowledged of %d: %w", got, n, wire.ErrMalformed)})
		}
		done += int64(got)
		data = data[got:]
	}
	return done, nil
}
