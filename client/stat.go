package client

import (
	"context"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

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
		info = fileInfoFromAll(all, p)
		break
	}
	return info, nil
}

// fileInfoFromAll fills a FileInfo from a validated FILE_ALL_INFORMATION. The name comes from
// the path asked for, not from the server.
func fileInfoFromAll(all wire.FileAllInformation, p string) FileInfo {
	info := FileInfoAt(p)
	info.SetBasic(all.Basic())
	info.SetStandard(all.Standard())
	info.IsDir = dirByEither(info.IsDir, info.Attributes)
	return info
}
