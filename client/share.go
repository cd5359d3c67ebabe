package client

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// Share is a tree-connected share of a logged-on Client. Its methods take paths relative to
// the share root, with / or \ separators ("" or "/" is the root).
type Share struct {
	c    *Client
	name string
	tid  uint32
	// Type is the ShareType (wire.ShareType*).
	Type uint8
	// Flags are the ShareFlags (wire.ShareFlag*); ShareFlagEncryptData makes every request on
	// the share encrypted.
	Flags uint32
	// Capabilities are the share capabilities (wire.ShareCap*).
	Capabilities uint32
	// MaximalAccess is the access mask the session has on the share.
	MaximalAccess uint32
}

// Name returns the share name as given to TreeConnect.
func (s *Share) Name() string { return s.name }

// Encrypted reports whether requests on the share are encrypted (by the session or the share).
func (s *Share) Encrypted() bool {
	return s.c.sess.Encrypted() || s.Flags&wire.ShareFlagEncryptData != 0 && s.c.sess.Security.Cipher != wire.CipherNone
}

// TreeConnect connects to the share named name (MS-SMB2 3.2.4.2: path \\host\share).
func (c *Client) TreeConnect(ctx context.Context, name string) (*Share, error) {
	const op = "tree connect"
	target := c.unc(name, "")
	if c.sess == nil {
		return nil, &Error{Op: op, Target: target, Err: errors.New("not logged on")}
	}
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, &Error{Op: op, Target: target, Err: errors.New("give the share name only")}
	}
	c.conn.Use(c.sess.smb2)
	req := wire.TreeConnectRequest{Path: `\\` + c.host + `\` + name}
	resp, err := c.conn.Call(ctx, wire.CmdTreeConnect, 0, &req)
	if err != nil {
		return nil, failed(op, target, err)
	}
	if resp.Header.Status != wire.StatusSuccess {
		return nil, refused(op, target, resp.Header.Status)
	}
	tr := wire.TreeConnectResponse(resp.Msg)
	if err := tr.Validate(); err != nil {
		return nil, failed(op, target, &transport.ProtocolError{Op: "TREE_CONNECT response", Err: err})
	}
	s := &Share{c: c, name: name, tid: resp.Header.TreeID, Type: tr.ShareType(), Flags: tr.ShareFlags(),
		Capabilities: tr.Capabilities(), MaximalAccess: tr.MaximalAccess()}
	if s.Flags&wire.ShareFlagEncryptData != 0 && c.sess.Security.Cipher == wire.CipherNone {
		_, _ = c.conn.Call(ctx, wire.CmdTreeDisconnect, s.tid, wire.TreeDisconnectRequest{})
		return nil, &Error{Op: op, Target: target, Err: errors.New("the share requires encryption, which this session cannot do (no SMB 3.x cipher)")}
	}
	c.shares = append(c.shares, s)
	return s, nil
}

// Disconnect sends TREE_DISCONNECT. Client.Close does it for every share still connected.
func (s *Share) Disconnect(ctx context.Context) error {
	if s.tid == 0 {
		return nil
	}
	resp, err := s.c.conn.Call(ctx, wire.CmdTreeDisconnect, s.tid, wire.TreeDisconnectRequest{})
	s.tid = 0
	for i, o := range s.c.shares {
		if o == s {
			s.c.shares = append(s.c.shares[:i], s.c.shares[i+1:]...)
			break
		}
	}
	if err != nil {
		return failed("tree disconnect", s.c.unc(s.name, ""), err)
	}
	if resp.Header.Status != wire.StatusSuccess {
		return refused("tree disconnect", s.c.unc(s.name, ""), resp.Header.Status)
	}
	return nil
}

// target is the display form of path on this share.
func (s *Share) target(path string) string { return s.c.unc(s.name, CleanPath(path)) }

// CleanPath turns a user path (slashes or backslashes, leading and trailing separators and
// empty or "." elements optional) into the canonical display form: elements joined by "/",
// no leading or trailing separator; "" is the share root.
func CleanPath(p string) string {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' })
	out := parts[:0]
	for _, e := range parts {
		if e != "." {
			out = append(out, e)
		}
	}
	return strings.Join(out, "/")
}

// wirePath is CleanPath with backslashes, the form CREATE wants.
func wirePath(p string) string { return strings.ReplaceAll(CleanPath(p), "/", `\`) }

// handle is an open file or directory.
type handle struct {
	id         wire.FileID
	endOfFile  int64
	attributes uint32
	action     uint32
}

// open sends one CREATE and returns the handle, or the Error op names.
func (s *Share) open(ctx context.Context, op, path string, req wire.CreateRequest) (handle, error) {
	s.c.conn.Use(s.c.sess.smb2)
	if req.ImpersonationLevel == 0 {
		req.ImpersonationLevel = wire.ImpersonationImpersonation
	}
	req.Name = wirePath(path)
	resp, err := s.c.conn.Call(ctx, wire.CmdCreate, s.tid, &req)
	if err != nil {
		return handle{}, failed(op, s.target(path), err)
	}
	if resp.Header.Status != wire.StatusSuccess {
		return handle{}, refused(op, s.target(path), resp.Header.Status)
	}
	cr := wire.CreateResponse(resp.Msg)
	if err := cr.Validate(); err != nil {
		return handle{}, failed(op, s.target(path), &transport.ProtocolError{Op: "CREATE response", Err: err})
	}
	return handle{id: cr.FileID(), endOfFile: int64(cr.EndOfFile()), attributes: cr.FileAttributes(), action: cr.CreateAction()}, nil
}

// close sends CLOSE for h. Errors are returned for callers that care (writes); the others
// ignore them: the handle is gone with the session anyway.
func (s *Share) close(ctx context.Context, op, path string, h handle) error {
	req := wire.CloseRequest{FileID: h.id}
	resp, err := s.c.conn.Call(ctx, wire.CmdClose, s.tid, &req)
	if err != nil {
		return failed(op, s.target(path), err)
	}
	if resp.Header.Status != wire.StatusSuccess {
		return &Error{Op: op, Target: s.target(path), Status: resp.Header.Status, Err: errors.New("CLOSE refused")}
	}
	return nil
}

// timeOf converts a FILETIME; 0 and out-of-range values are the zero time.
func timeOf(ft uint64) time.Time {
	t, _ := wire.FiletimeToTime(ft)
	return t
}
