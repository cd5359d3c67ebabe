package probes

import (
	"context"
	"fmt"
	"strings"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// stageStat opens -path on -share with the null session: one CREATE asking only for
// READ_ATTRIBUTES|SYNCHRONIZE with FILE_OPEN and no file/directory option (so one attempt serves
// files and directories alike and nothing is ever created), then QUERY_INFO
// FileBasicInformation and FileStandardInformation, then CLOSE.
func stageStat(ctx context.Context, s *Session, r *Result) error {
	share := s.Opts.StatShare
	tid, ok := s.tree(share)
	if !ok {
		return fmt.Errorf("%w: share %s was not tree-connected", errNotApplicable, share)
	}
	s.useIdentity(identityAnonymous)
	st := &Stat{Path: s.Opts.StatPath, Attributes: []string{}}
	attachStat(r, share, "anonymous", st)
	name := NormalizePath(s.Opts.StatPath)
	create := wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition:  wire.DispositionOpen,
		Name:               name,
	}
	cr, status, err := s.open(ctx, tid, &create)
	if err != nil {
		return err
	}
	st.Status = String(status.String())
	if status != wire.StatusSuccess {
		return refusal(status, "CREATE of "+s.Opts.StatPath)
	}
	fid := cr.FileID()
	defer func() { _ = s.closeFile(ctx, tid, fid) }()

	q := wire.QueryInfoRequest{InfoType: wire.InfoFile, FileInfoClass: wire.FileBasicInformationClass, OutputBufferLength: 256, FileID: fid}
	resp, err := s.conn.Call(ctx, wire.CmdQueryInfo, tid, &q)
	if err != nil {
		return err
	}
	if resp.Header.Status != wire.StatusSuccess {
		st.Status = String(resp.Header.Status.String())
		return refusal(resp.Header.Status, "QUERY_INFO FileBasicInformation")
	}
	qr := wire.QueryInfoResponse(resp.Msg)
	if err := qr.Validate(); err != nil {
		return &transport.ProtocolError{Op: "QUERY_INFO response", Err: err}
	}
	basic := wire.FileBasicInformation(qr.OutputBuffer())
	if err := basic.Validate(); err != nil {
		return &transport.ProtocolError{Op: "FileBasicInformation", Err: err}
	}
	st.CreationTime = filetime(basic.CreationTime())
	st.LastAccessTime = filetime(basic.LastAccessTime())
	st.LastWriteTime = filetime(basic.LastWriteTime())
	st.ChangeTime = filetime(basic.ChangeTime())
	st.Attributes = wire.FileAttributeNames(st.Attributes, basic.FileAttributes())
	attrs := Hex32(basic.FileAttributes())
	st.AttributesRaw = &attrs

	q.FileInfoClass = wire.FileStandardInformationClass
	resp, err = s.conn.Call(ctx, wire.CmdQueryInfo, tid, &q)
	if err != nil {
		return err
	}
	if resp.Header.Status != wire.StatusSuccess {
		st.Status = String(resp.Header.Status.String())
		return refusal(resp.Header.Status, "QUERY_INFO FileStandardInformation")
	}
	qr = wire.QueryInfoResponse(resp.Msg)
	if err := qr.Validate(); err != nil {
		return &transport.ProtocolError{Op: "QUERY_INFO response", Err: err}
	}
	std := wire.FileStandardInformation(qr.OutputBuffer())
	if err := std.Validate(); err != nil {
		return &transport.ProtocolError{Op: "FileStandardInformation", Err: err}
	}
	size, alloc := uint64(std.EndOfFile()), uint64(std.AllocationSize())
	st.Size, st.AllocationSize = &size, &alloc
	st.IsDirectory = Bool(std.Directory())
	return nil
}

// NormalizePath turns a user path (slashes or backslashes, leading separators optional) into
// the share-relative form CREATE wants: backslash-separated, no leading backslash.
func NormalizePath(p string) string {
	p = strings.ReplaceAll(p, "/", `\`)
	return strings.Trim(p, `\`)
}

// attachStat files a stat record under the share's access entry for identity.
func attachStat(r *Result, share, identity string, st *Stat) {
	for i := range r.Shares {
		if r.Shares[i].Name != share {
			continue
		}
		for j := range r.Shares[i].Access {
			if r.Shares[i].Access[j].Identity == identity {
				r.Shares[i].Access[j].Stat = st
				return
			}
		}
	}
}
