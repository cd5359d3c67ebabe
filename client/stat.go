package client

import (
	"context"
	"path"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// FileInfo describes a file or directory, from a directory listing or a stat.
type FileInfo struct {
	// Name is the last path element ("" for the share root).
	Name string
	// Path is the share-relative path, elements joined by "/".
	Path string
	// Size is EndOfFile in bytes, all 64 bits.
	Size int64
	// AllocationSize is the bytes allocated on disk (smaller than Size for a sparse file).
	AllocationSize int64
	// Attributes are the FileAttribute* bits (MS-FSCC 2.6).
	Attributes uint32
	IsDir      bool
	// The four timestamps; the zero time when the server sent 0.
	CreationTime   time.Time
	LastAccessTime time.Time
	LastWriteTime  time.Time
	ChangeTime     time.Time
}

// fileAllInfoSmall is the first QUERY_INFO output buffer for FileAllInformation: the fixed
// 100 bytes and a name of up to ~2000 characters. A longer name gets a second, larger query.
const fileAllInfoSmall = 4096

// Stat returns the metadata of path with one CREATE (FILE_OPEN, READ_ATTRIBUTES, no file or
// directory option, so the same request serves both and nothing is ever created) and one
// QUERY_INFO FileAllInformation (MS-FSCC 2.4.2), then CLOSE.
func (s *Share) Stat(ctx context.Context, p string) (FileInfo, error) {
	const op = "stat"
	h, err := s.open(ctx, op, p, wire.CreateRequest{
		DesiredAccess:     wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:       wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition: wire.DispositionOpen,
	})
	if err != nil {
		return FileInfo{}, err
	}
	defer func() { _ = s.close(ctx, op, p, h) }()
	var info FileInfo
	for _, size := range []int{fileAllInfoSmall, 100 + wire.MaxFileNameBytes} {
		q := wire.QueryInfoRequest{InfoType: wire.InfoFile, FileInfoClass: wire.FileAllInformationClass, OutputBufferLength: uint32(size), FileID: h.id}
		resp, err := s.c.conn.CallCharge(ctx, wire.CmdQueryInfo, s.tid, creditCharge(size), &q)
		if err != nil {
			return FileInfo{}, failed(op, s.target(p), err)
		}
		if resp.Header.Status == wire.StatusBufferOverflow && size == fileAllInfoSmall {
			continue
		}
		if resp.Header.Status != wire.StatusSuccess {
			return FileInfo{}, refused(op, s.target(p), resp.Header.Status)
		}
		qr := wire.QueryInfoResponse(resp.Msg)
		if err := qr.Validate(); err != nil {
			return FileInfo{}, failed(op, s.target(p), &transport.ProtocolError{Op: "QUERY_INFO response", Err: err})
		}
		all := wire.FileAllInformation(qr.OutputBuffer())
		if err := all.Validate(); err != nil {
			return FileInfo{}, failed(op, s.target(p), &transport.ProtocolError{Op: "FileAllInformation", Err: err})
		}
		info = fileInfoFromAll(all, CleanPath(p))
		break
	}
	return info, nil
}

// fileInfoFromAll fills a FileInfo from a validated FILE_ALL_INFORMATION. The name comes from
// the path asked for, not from the server.
func fileInfoFromAll(all wire.FileAllInformation, p string) FileInfo {
	b, st := all.Basic(), all.Standard()
	info := FileInfo{
		Path: p, Size: st.EndOfFile(), AllocationSize: st.AllocationSize(),
		Attributes: b.FileAttributes(), IsDir: st.Directory() || b.FileAttributes()&wire.FileAttributeDirectory != 0,
		CreationTime: timeOf(b.CreationTime()), LastAccessTime: timeOf(b.LastAccessTime()),
		LastWriteTime: timeOf(b.LastWriteTime()), ChangeTime: timeOf(b.ChangeTime()),
	}
	if p != "" {
		info.Name = path.Base(p)
	}
	return info
}
