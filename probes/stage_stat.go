package probes

import (
	"context"
	"fmt"
	"strings"

	"github.com/smbsweep/smbsweep/client"
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
	s.useIdentity(IdentityAnonymous)
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
	out, err := s.queryFileInfo(ctx, tid, &q, st, "FileBasicInformation")
	if err != nil {
		return err
	}
	basic := wire.FileBasicInformation(out)
	if err := basic.Validate(); err != nil {
		return &transport.ProtocolError{Op: "FileBasicInformation", Err: err}
	}
	fi := client.FileInfoAt(s.Opts.StatPath)
	fi.SetBasic(basic)
	st.fill(fi, false)

	q.FileInfoClass = wire.FileStandardInformationClass
	if out, err = s.queryFileInfo(ctx, tid, &q, st, "FileStandardInformation"); err != nil {
		return err
	}
	std := wire.FileStandardInformation(out)
	if err := std.Validate(); err != nil {
		return &transport.ProtocolError{Op: "FileStandardInformation", Err: err}
	}
	fi.SetStandard(std)
	st.fill(fi, true)
	return nil
}

// fill renders fi into the record: its attributes and times (FileBasicInformation), and with
// standard (FileStandardInformation read too) its sizes and directory flag. The record keeps
// fi for the API's seed responses (Stat.Info).
func (st *Stat) fill(fi client.FileInfo, standard bool) {
	st.info = fi
	st.Attributes = fi.AttributeNames()
	attrs := Hex32(fi.Attributes)
	st.AttributesRaw = &attrs
	st.CreationTime, st.LastAccessTime = client.TimeOrNil(fi.CreationTime), client.TimeOrNil(fi.LastAccessTime)
	st.LastWriteTime, st.ChangeTime = client.TimeOrNil(fi.LastWriteTime), client.TimeOrNil(fi.ChangeTime)
	if standard {
		size, alloc := uint64(fi.Size), uint64(fi.AllocationSize)
		st.Size, st.AllocationSize, st.IsDirectory = &size, &alloc, Bool(fi.IsDir)
	}
}

// queryFileInfo sends one QUERY_INFO and returns its output buffer (a view valid until the
// connection's next use); a refusal is recorded in st and returned as a refusal naming class.
func (s *Session) queryFileInfo(ctx context.Context, tid uint32, q *wire.QueryInfoRequest, st *Stat, class string) ([]byte, error) {
	resp, err := s.conn.Call(ctx, wire.CmdQueryInfo, tid, q)
	if err != nil {
		return nil, err
	}
	if resp.Header.Status != wire.StatusSuccess {
		st.Status = String(resp.Header.Status.String())
		return nil, refusal(resp.Header.Status, "QUERY_INFO "+class)
	}
	qr := wire.QueryInfoResponse(resp.Msg)
	if err := qr.Validate(); err != nil {
		return nil, &transport.ProtocolError{Op: "QUERY_INFO response", Err: err}
	}
	return qr.OutputBuffer(), nil
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
