package probes

import (
	"context"
	"strings"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// treeConnect sends TREE_CONNECT for \\host\share on the session's connection. It returns the
// access record (always filled, with the NT status as evidence), the status, and the tree id.
func (s *Session) treeConnect(ctx context.Context, share, identity string) (ShareAccess, wire.NTStatus, uint32, error) {
	if s.smb1Only {
		return s.treeConnectSMB1(ctx, share, identity)
	}
	acc := ShareAccess{Identity: identity}
	s.useIdentity(identity)
	host := s.Target.Host
	if host == "" {
		host = s.Target.Addr.String()
	}
	req := wire.TreeConnectRequest{Path: `\\` + host + `\` + share}
	resp, err := s.conn.Call(ctx, wire.CmdTreeConnect, 0, &req)
	if err != nil {
		return acc, 0, 0, err
	}
	st := resp.Header.Status
	acc.TreeConnect = String(st.String())
	if st != wire.StatusSuccess {
		return acc, st, 0, nil
	}
	tr := wire.TreeConnectResponse(resp.Msg)
	if err := tr.Validate(); err != nil {
		return acc, st, 0, &transport.ProtocolError{Op: "TREE_CONNECT response", Err: err}
	}
	acc.ShareType = wire.ShareTypeName(tr.ShareType())
	acc.ShareFlags = wire.ShareFlagNames(nil, tr.ShareFlags())
	acc.Capabilities = wire.ShareCapabilityNames(nil, tr.Capabilities())
	ma := Hex32(tr.MaximalAccess())
	acc.MaximalAccess = &ma
	acc.raw = TreeRaw{TreeID: resp.Header.TreeID, ShareType: tr.ShareType(), ShareFlags: tr.ShareFlags(), Capabilities: tr.Capabilities()}
	return acc, st, resp.Header.TreeID, nil
}

// stageTree tree-connects IPC$ with the null session, which decides sessions.null.allowed
// (Samba's "restrict anonymous = 2" accepts the anonymous SESSION_SETUP and refuses every tree
// connect: that is not an exposure), then each share named with -share.
func stageTree(ctx context.Context, s *Session, r *Result) error {
	null := r.Sessions.Null
	acc, ipcStatus, tid, err := s.treeConnect(ctx, "IPC$", IdentityAnonymous)
	if err != nil {
		null.Evidence = "anonymous session set up, but the IPC$ TREE_CONNECT did not complete: " + err.Error()
		return err
	}
	if ipcStatus == wire.StatusSuccess {
		s.ipcTree, s.hasIPC = tid, true
		null.Allowed = Bool(true)
		null.Evidence = "anonymous session tree-connected IPC$ (maximal access " + acc.MaximalAccess.String() + ")"
	} else {
		null.Allowed = Bool(false)
		null.Evidence = "anonymous SESSION_SETUP succeeded but TREE_CONNECT to IPC$ was refused with " + ipcStatus.String()
	}
	addShareAccess(r, "IPC$", acc)

	for _, share := range s.Opts.Shares {
		if share == "IPC$" {
			continue
		}
		acc, st, tid, err := s.treeConnect(ctx, share, IdentityAnonymous)
		if err != nil {
			return err
		}
		if st == wire.StatusSuccess {
			s.setTree(share, tid)
		}
		addShareAccess(r, share, acc)
	}
	if ipcStatus != wire.StatusSuccess {
		return refusal(ipcStatus, "TREE_CONNECT to IPC$")
	}
	return nil
}

// TreeConnected finds the share (by name, case-insensitively) that identity tree-connected
// with STATUS_SUCCESS, and returns that access record.
func (r *Result) TreeConnected(share, identity string) (*ShareAccess, bool) {
	for i := range r.Shares {
		if !strings.EqualFold(r.Shares[i].Name, share) {
			continue
		}
		for j := range r.Shares[i].Access {
			a := &r.Shares[i].Access[j]
			if a.Identity == identity && a.TreeConnect != nil && *a.TreeConnect == wire.StatusSuccess.String() {
				return a, true
			}
		}
	}
	return nil, false
}

// addShareAccess files an access record under its share, creating the share entry if needed.
func addShareAccess(r *Result, share string, acc ShareAccess) {
	for i := range r.Shares {
		if r.Shares[i].Name == share {
			r.Shares[i].Access = append(r.Shares[i].Access, acc)
			if r.Shares[i].Type == "" {
				r.Shares[i].Type = acc.ShareType
			}
			return
		}
	}
	r.Shares = append(r.Shares, Share{Name: share, Type: acc.ShareType, Access: []ShareAccess{acc}})
}
