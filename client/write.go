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
	const op = "write"
	res := WriteResult{Path: CleanPath(path), Mode: mode}
	if res.Path == "" {
		return res, &Error{Op: op, Target: s.target(path), Err: errors.New("no file name")}
	}
	req := wire.CreateRequest{
		DesiredAccess:  wire.AccessWriteData | wire.AccessAppendData | wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:    wire.FileShareRead,
		CreateOptions:  wire.CreateOptNonDirectoryFile,
		FileAttributes: wire.FileAttributeNormal,
	}
	switch mode {
	case CreateOnly:
		req.CreateDisposition = wire.DispositionCreate
	case Overwrite:
		req.CreateDisposition = wire.DispositionOverwriteIf
	case Append:
		req.CreateDisposition = wire.DispositionOpenIf
	default:
		return res, &Error{Op: op, Target: s.target(path), Err: fmt.Errorf("unknown write mode %d", int(mode))}
	}
	h, err := s.open(ctx, op, path, req)
	if err != nil {
		var e *Error
		if mode == CreateOnly && errors.As(err, &e) && e.Status == wire.StatusObjectNameCollision {
			e.Err = ErrExists
		}
		return res, err
	}
	res.Created = h.action == wire.CreateActionCreated
	if mode == Append {
		res.Offset = h.endOfFile
	}
	werr := s.writeAll(ctx, op, path, h, r, &res)
	cerr := s.close(ctx, op, path, h)
	if werr != nil {
		return res, werr
	}
	return res, cerr
}

func (s *Share) writeAll(ctx context.Context, op, path string, h handle, r io.Reader, res *WriteResult) error {
	size, _ := s.c.chunk(s.c.neg.MaxWriteSize, 1<<30)
	buf := make([]byte, min(size, 1<<20))
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := s.writeChunk(ctx, op, path, h, buf[:n], res); err != nil {
				return err
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF), errors.Is(rerr, io.ErrUnexpectedEOF):
			return nil
		default:
			return &Error{Op: op, Target: s.target(path), Err: fmt.Errorf("reading the data to write: %w", rerr)}
		}
	}
}

// writeChunk writes data at the current offset with as many WRITE requests as the server's
// MaxWriteSize and the credits need.
func (s *Share) writeChunk(ctx context.Context, op, path string, h handle, data []byte, res *WriteResult) error {
	for len(data) > 0 {
		n, charge := s.c.chunk(s.c.neg.MaxWriteSize, int64(len(data)))
		off := res.Offset + res.BytesWritten
		req := wire.WriteRequest{Offset: uint64(off), FileID: h.id, Data: data[:n]}
		resp, err := s.c.conn.CallCharge(ctx, wire.CmdWrite, s.tid, charge, &req)
		if err != nil {
			return failed(op, s.target(path), err)
		}
		if resp.Header.Status != wire.StatusSuccess {
			return &Error{Op: op, Target: s.target(path), Status: resp.Header.Status, Err: fmt.Errorf("WRITE at offset %d", off)}
		}
		wr := wire.WriteResponse(resp.Msg)
		if err := wr.Validate(); err != nil {
			return failed(op, s.target(path), &transport.ProtocolError{Op: "WRITE response", Err: err})
		}
		got := int(wr.Count())
		if got == 0 || got > n {
			return failed(op, s.target(path), &transport.ProtocolError{Op: "WRITE response", Err: fmt.Errorf("%d bytes acknowledged of %d: %w", got, n, wire.ErrMalformed)})
		}
		res.BytesWritten += int64(got)
		data = data[got:]
	}
	return nil
}
