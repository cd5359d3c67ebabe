package probes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/smbsweep/smbsweep/wire"
)

// maxAccessShares bounds how many shares the access stage checks per host.
const maxAccessShares = 64

// WriteCheckPrefix starts the name of the directory -check-write creates and removes.
const WriteCheckPrefix = "smbsweep-write-check-"

// stageAccess checks, for every known share (enumerated or named with -share) and every
// identity holding a session (anonymous, guest), what that identity can do: TREE_CONNECT (share
// type, flags, maximal access), then on disk shares a read check — CREATE of the share root for
// listing and one QUERY_DIRECTORY entry — and, only with Options.CheckWrite, a write check that
// creates a uniquely named empty directory with delete-on-close and verifies it is gone.
// Read-only by default.
func stageAccess(ctx context.Context, s *Session, r *Result) error {
	checked := 0
	for _, id := range []string{IdentityAnonymous, IdentityGuest} {
		if !s.hasSession(id) {
			continue
		}
		for i := 0; i < len(r.Shares) && i < maxAccessShares; i++ {
			name := r.Shares[i].Name
			if strings.EqualFold(name, "IPC$") || strings.HasPrefix(r.Shares[i].Type, "pipe") || strings.HasPrefix(r.Shares[i].Type, "print") {
				continue
			}
			if err := s.checkShare(ctx, r, i, id); err != nil {
				return fmt.Errorf("share %s as %s: %w", name, id, err)
			}
			checked++
		}
	}
	if checked == 0 {
		return fmt.Errorf("%w: no disk share known (enumerate with the shares stage or name one with -share) or no session", errNotApplicable)
	}
	return nil
}

// checkShare fills (or adds) the access record of identity on r.Shares[i].
func (s *Session) checkShare(ctx context.Context, r *Result, i int, identity string) error {
	name := r.Shares[i].Name
	acc := accessRecord(&r.Shares[i], identity)
	var tid uint32
	reuse := false
	if identity == IdentityAnonymous {
		tid, reuse = s.tree(name)
	}
	if !reuse {
		a, st, t, err := s.treeConnect(ctx, name, identity)
		if err != nil {
			return err
		}
		stat := acc.Stat
		*acc = a
		acc.Stat = stat
		if st != wire.StatusSuccess {
			acc.Read, acc.Write = Bool(false), Bool(false)
			acc.ReadStatus, acc.WriteStatus = st.String(), st.String()
			return nil
		}
		tid = t
		defer s.disconnectTree(ctx, tid)
	}
	s.useIdentity(identity)
	if r.Shares[i].Type == "" {
		r.Shares[i].Type = acc.ShareType
	}
	if acc.ShareType != "" && acc.ShareType != "disk" {
		return nil
	}
	if s.smb1Only {
		return s.checkShareSMB1(ctx, uint16(tid), name, acc)
	}
	if err := s.readCheck(ctx, tid, acc); err != nil {
		return err
	}
	if s.Opts.CheckWrite {
		return s.writeCheck(ctx, tid, name, acc)
	}
	return nil
}

// accessRecord returns the share's record for identity, adding an empty one.
func accessRecord(sh *Share, identity string) *ShareAccess {
	for j := range sh.Access {
		if sh.Access[j].Identity == identity {
			return &sh.Access[j]
		}
	}
	sh.Access = append(sh.Access, ShareAccess{Identity: identity})
	return &sh.Access[len(sh.Access)-1]
}

// readCheck opens the share root for listing and asks for one directory entry.
func (s *Session) readCheck(ctx context.Context, tid uint32, acc *ShareAccess) error {
	create := wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.AccessListDirectory | wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition:  wire.DispositionOpen,
		CreateOptions:      wire.CreateOptDirectoryFile,
	}
	cr, st, err := s.open(ctx, tid, &create)
	if err != nil {
		return err
	}
	if st != wire.StatusSuccess {
		acc.Read, acc.ReadStatus = Bool(false), "CREATE "+st.String()
		return nil
	}
	fid := cr.FileID()
	defer func() { _ = s.closeFile(ctx, tid, fid) }()
	q := wire.QueryDirectoryRequest{
		FileInformationClass: wire.FileNamesInformationClass,
		Flags:                wire.QueryDirReturnSingleEntry | wire.QueryDirRestartScans,
		FileID:               fid,
		FileName:             "*",
		OutputBufferLength:   4096,
	}
	resp, err := s.conn.Call(ctx, wire.CmdQueryDirectory, tid, &q)
	if err != nil {
		return err
	}
	switch st := resp.Header.Status; st {
	case wire.StatusSuccess, wire.StatusNoMoreFiles:
		acc.Read, acc.ReadStatus = Bool(true), "QUERY_DIRECTORY "+st.String()
	default:
		acc.Read, acc.ReadStatus = Bool(false), "QUERY_DIRECTORY "+st.String()
	}
	return nil
}

// writeCheckName returns a new unique name for the directory of a write check.
func writeCheckName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return WriteCheckPrefix + hex.EncodeToString(b[:])
}

// writeCheck creates a uniquely named empty directory in the share root with DELETE_ON_CLOSE,
// closes it, and verifies it is gone. A share that lets a directory be created but not deleted
// reports write=false rather than leave anything behind.
func (s *Session) writeCheck(ctx context.Context, tid uint32, share string, acc *ShareAccess) error {
	name := writeCheckName()
	create := wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.AccessReadAttributes | wire.AccessDelete | wire.AccessSynchronize,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition:  wire.DispositionCreate,
		CreateOptions:      wire.CreateOptDirectoryFile | wire.CreateOptDeleteOnClose,
		Name:               name,
	}
	cr, st, err := s.open(ctx, tid, &create)
	if err != nil {
		return err
	}
	if st != wire.StatusSuccess {
		acc.Write, acc.WriteStatus = Bool(false), "CREATE "+st.String()
		return nil
	}
	if err := s.closeFile(ctx, tid, cr.FileID()); err != nil {
		return fmt.Errorf("write check created %s but closing it failed: %w", name, err)
	}
	acc.Write, acc.WriteStatus = Bool(true), "CREATE STATUS_SUCCESS (directory created and removed)"
	// Verify nothing is left behind.
	open := wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.AccessReadAttributes | wire.AccessSynchronize,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
		CreateDisposition:  wire.DispositionOpen,
		Name:               name,
	}
	cr, st, err = s.open(ctx, tid, &open)
	if err != nil {
		return fmt.Errorf("write check could not verify that %s was removed: %w", name, err)
	}
	if st == wire.StatusSuccess {
		_ = s.closeFile(ctx, tid, cr.FileID())
		return fmt.Errorf(`write check left directory \%s\%s behind: the server did not honour DELETE_ON_CLOSE; remove it by hand`, share, name)
	}
	return nil
}
