package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// dirBuffer is the QUERY_DIRECTORY output buffer asked for (then bounded by MaxTransactSize,
// the frame cap and the credits in hand): 256 KiB holds ~2000 typical entries.
const dirBuffer = 256 << 10

// ErrStop, returned by a ReadDir or Walk callback, ends the listing early without an error.
var ErrStop = errors.New("stop listing")

// ReadDir lists the directory at path, calling fn for each entry (not "." and ".."), in the
// server's order: CREATE of the directory, QUERY_DIRECTORY with FileIdBothDirectoryInformation
// repeated until STATUS_NO_MORE_FILES (MS-SMB2 3.2.4.17), so no entry is ever cut off, then
// CLOSE. An error from fn ends the listing and is returned (ErrStop: nil is returned).
func (s *Share) ReadDir(ctx context.Context, dir string, fn func(FileInfo) error) error {
	const op = "list"
	dir = CleanPath(dir)
	h, err := s.open(ctx, op, dir, wire.CreateRequest{
		DesiredAccess:     wire.AccessListDirectory | wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:       wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition: wire.DispositionOpen,
		CreateOptions:     wire.CreateOptDirectoryFile,
	})
	if err != nil {
		return err
	}
	defer func() { _ = s.close(ctx, op, dir, h) }()
	const class = wire.FileIDBothDirectoryInformationClass
	for first := true; ; first = false {
		n, charge := s.c.chunk(s.c.neg.MaxTransactSize, dirBuffer)
		q := wire.QueryDirectoryRequest{FileInformationClass: class, FileID: h.id, FileName: "*", OutputBufferLength: uint32(n)}
		if first {
			q.Flags = wire.QueryDirRestartScans
		}
		resp, err := s.c.conn.CallCharge(ctx, wire.CmdQueryDirectory, s.tid, charge, &q)
		if err != nil {
			return failed(op, s.target(dir), err)
		}
		switch resp.Header.Status {
		case wire.StatusSuccess:
		case wire.StatusNoMoreFiles:
			return nil
		default:
			return refused(op, s.target(dir), resp.Header.Status)
		}
		qr := wire.QueryDirectoryResponse(resp.Msg)
		if err := qr.Validate(); err != nil {
			return failed(op, s.target(dir), &transport.ProtocolError{Op: "QUERY_DIRECTORY response", Err: err})
		}
		buf := qr.OutputBuffer()
		if len(buf) == 0 {
			return failed(op, s.target(dir), &transport.ProtocolError{Op: "QUERY_DIRECTORY response", Err: fmt.Errorf("success with no entries: %w", wire.ErrMalformed)})
		}
		// fn may send requests of its own, which reuse the connection's buffer: decode the
		// whole batch before calling it.
		batch, err := decodeEntries(buf, class, dir)
		if err != nil {
			return failed(op, s.target(dir), &transport.ProtocolError{Op: "QUERY_DIRECTORY entries", Err: err})
		}
		for _, fi := range batch {
			if err := fn(fi); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
	}
}

// decodeEntries decodes one QUERY_DIRECTORY output buffer into FileInfos under dir, dropping
// "." and "..". Names are UTF-16 with surrogate pairs decoded (characters beyond the BMP
// intact); an unpaired surrogate becomes U+FFFD.
func decodeEntries(buf []byte, class uint8, dir string) ([]FileInfo, error) {
	it := wire.NewDirectoryIterator(buf, class)
	var e wire.DirectoryEntry
	var out []FileInfo
	for it.Next(&e) {
		name := wire.DecodeUTF16LE(e.FileName)
		if name == "." || name == ".." {
			continue
		}
		fi := entryIn(dir, name)
		fi.Size, fi.AllocationSize, fi.Attributes = e.EndOfFile, e.AllocationSize, e.FileAttributes
		fi.IsDir = e.FileAttributes&wire.FileAttributeDirectory != 0
		fi.setTimes(e.CreationTime, e.LastAccessTime, e.LastWriteTime, e.ChangeTime)
		out = append(out, fi)
	}
	return out, it.Err()
}

// WalkOptions bound a recursive listing.
type WalkOptions struct {
	// MaxDepth is how many directory levels below the start are listed: 0 lists the start
	// directory only.
	MaxDepth int
	// MaxEntries stops the walk after this many entries (0: no limit).
	MaxEntries int
	// Deadline stops the walk when reached (zero: none besides ctx).
	Deadline time.Time
}

// WalkResult says how a walk ended.
type WalkResult struct {
	Entries     int
	Directories int // directories listed
	// NotEntered counts the subdirectories below MaxDepth, listed but not entered.
	NotEntered int
	// Truncated is true when a cap stopped the walk before it was complete; Reason says
	// which ("max-entries" or "time").
	Truncated bool
	Reason    string
	// Errors are the subdirectories that could not be listed (capped at 20), each an *Error
	// text; the walk goes on without them.
	Errors []string
}

const maxWalkErrors = 20

// Walk lists dir and, depth first, its subdirectories down to MaxDepth levels, calling fn for
// every entry. Subdirectories that are reparse points are listed but not entered. A
// subdirectory that cannot be listed is recorded in the result and skipped; the start
// directory failing is an error.
func (s *Share) Walk(ctx context.Context, dir string, opts WalkOptions, fn func(FileInfo) error) (WalkResult, error) {
	return walk(ctx, s.ReadDir, dir, opts, fn)
}

// walk is Walk over any protocol's ReadDir.
func walk(ctx context.Context, readDir func(context.Context, string, func(FileInfo) error) error, dir string, opts WalkOptions, fn func(FileInfo) error) (WalkResult, error) {
	var res WalkResult
	errCap := errors.New("cap")
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if !opts.Deadline.IsZero() && !time.Now().Before(opts.Deadline) {
			res.Truncated, res.Reason = true, "time"
			return errCap
		}
		var subdirs []string
		res.Directories++
		err := readDir(ctx, dir, func(fi FileInfo) error {
			if opts.MaxEntries > 0 && res.Entries >= opts.MaxEntries {
				res.Truncated, res.Reason = true, "max-entries"
				return errCap
			}
			res.Entries++
			if fi.IsDir && fi.Attributes&wire.FileAttributeReparsePoint == 0 {
				if depth < opts.MaxDepth {
					subdirs = append(subdirs, fi.Path)
				} else {
					res.NotEntered++
				}
			}
			return fn(fi)
		})
		if err != nil {
			return err
		}
		for _, sd := range subdirs {
			err := walk(sd, depth+1)
			var e *Error
			switch {
			case err == nil:
			case errors.As(err, &e) && e.Status != 0:
				if len(res.Errors) < maxWalkErrors {
					res.Errors = append(res.Errors, e.Error())
				}
			default:
				return err
			}
		}
		return nil
	}
	err := walk(CleanPath(dir), 0)
	if errors.Is(err, errCap) || errors.Is(err, ErrStop) {
		err = nil
	}
	return res, err
}
