package probes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// maxShareEnumBytes caps the reassembled NetrShareEnum response (about 10 000 shares); the
// client takes at most twice that from the pipe (the stub and the fragment headers and any auth
// verifiers around it). What is held at once is less: the stub and at most one partial fragment
// (dcerpc.Reassembler.Write).
const maxShareEnumBytes = 2 << 20

// stageShares lists the server's shares over SMB2 — no SMB1 needed, except on hosts that speak
// SMB1 only (stage_smb1path.go) — by DCE/RPC on the srvsvc named pipe of IPC$: BIND to SRVSVC, then NetrShareEnum at level 1 (MS-SRVS 3.1.4.8), for each
// identity that holds a session (anonymous, then guest). Share names and comments are the
// server's strings, kept as received in JSON and neutralised by the CSV and terminal sinks.
func stageShares(ctx context.Context, s *Session, r *Result) error {
	var firstErr error
	listed := 0
	for _, id := range []string{IdentityAnonymous, IdentityGuest} {
		if !s.hasSession(id) {
			continue
		}
		err := s.enumShares(ctx, r, id)
		if err == nil {
			listed++
			continue
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", id, err)
		}
		if !errors.As(err, new(*ntRefusal)) {
			break // a transport failure will not get better with another identity
		}
	}
	if listed > 0 {
		return nil
	}
	if firstErr == nil {
		return fmt.Errorf("%w: no anonymous or guest session to enumerate shares with", errNotApplicable)
	}
	var ref *ntRefusal
	if errors.As(firstErr, &ref) {
		return refusal(ref.status, "share enumeration ("+firstErr.Error()+")")
	}
	return firstErr
}

// enumShares runs NetrShareEnum as identity over the srvsvc pipe and merges the shares into r.
func (s *Session) enumShares(ctx context.Context, r *Result, identity string) error {
	pipe, st, err := s.openRPCPipe(ctx, r, identity, "srvsvc")
	if err != nil {
		return err
	}
	if st != wire.StatusSuccess {
		return refusal(st, `CREATE of pipe \srvsvc`)
	}
	rpc := newRPCClient(pipe)
	defer rpc.close()
	bound, err := rpc.bind(ctx, ifSRVSVC)
	if err != nil {
		return err
	}
	if bound.Nak {
		return fmt.Errorf("SRVSVC bind rejected: %s", dcerpc.RejectReasonName(bound.NakReason))
	}
	if !bound.accepted(0) {
		reason := dcerpc.ReasonNotSpecified
		if len(bound.Results) > 0 {
			reason = bound.Results[0].Reason
		}
		return fmt.Errorf("SRVSVC bind: presentation context refused (%s)", dcerpc.ProviderReasonName(reason))
	}

	host := s.Target.Host
	if host == "" {
		host = s.Target.Addr.String()
	}
	req := dcerpc.NetShareEnumRequest{ServerName: `\\` + host}
	var stubBuf [512]byte
	// Samba's reply for a handful of shares is about 400 bytes; more grows it.
	out, err := rpc.call(ctx, opNetrShareEnum, req.AppendTo(stubBuf[:0]), make([]byte, 0, 512), maxShareEnumBytes)
	if err != nil {
		return err
	}
	return mergeShareEnum(r, identity, out)
}

// mergeShareEnum decodes a NetrShareEnum response stub and merges its shares into r.
func mergeShareEnum(r *Result, identity string, stub []byte) error {
	var enum dcerpc.ShareEnum
	if err := dcerpc.NetShareEnumResponse(stub).Decode(&enum); err != nil {
		return &transport.ProtocolError{Op: "NetrShareEnum response", Err: err}
	}
	switch enum.WError {
	case 0:
	case 5: // ERROR_ACCESS_DENIED
		return refusal(wire.StatusAccessDenied, "NetrShareEnum (WERROR "+dcerpc.WErrorName(enum.WError)+")")
	default:
		return fmt.Errorf("NetrShareEnum returned %s", dcerpc.WErrorName(enum.WError))
	}
	var info dcerpc.ShareInfo1
	for enum.Next(&info) {
		name := wire.DecodeUTF16LE(info.Name)
		sh := shareEntry(r, name)
		sh.Type = srvsvcTypeName(info.Type)
		if sh.Comment == "" {
			sh.Comment = wire.DecodeUTF16LE(info.Remark)
		}
		if !contains(sh.ListedBy, identity) {
			sh.ListedBy = append(sh.ListedBy, identity)
		}
	}
	return nil
}

// ipcTreeFor returns a tree id of IPC$ for identity, connecting it when needed.
func (s *Session) ipcTreeFor(ctx context.Context, r *Result, identity string) (uint32, error) {
	if identity == IdentityAnonymous && s.hasIPC {
		s.useIdentity(identity)
		return s.ipcTree, nil
	}
	if identity == IdentityGuest && s.guestIPC != 0 {
		s.useIdentity(identity)
		return s.guestIPC, nil
	}
	acc, st, tid, err := s.treeConnect(ctx, "IPC$", identity)
	if err != nil {
		return 0, err
	}
	if !hasAccess(r, "IPC$", identity) {
		addShareAccess(r, "IPC$", acc)
	}
	if st != wire.StatusSuccess {
		return 0, refusal(st, "TREE_CONNECT to IPC$")
	}
	if identity == IdentityGuest {
		s.guestIPC = tid
	}
	return tid, nil
}

// srvsvcTypeName names a SHARE_INFO_1 type (MS-SRVS 2.2.2.4) in the words the tree connect
// uses: disk, print, device, pipe (STYPE_IPC), plus ",special" (administrative, e.g. C$, IPC$)
// and ",temporary".
func srvsvcTypeName(t uint32) string {
	var base string
	switch t & 0x0fffffff {
	case 0:
		base = "disk"
	case 1:
		base = "print"
	case 2:
		base = "device"
	case 3:
		base = "pipe"
	default:
		base = fmt.Sprintf("0x%08x", t&0x0fffffff)
	}
	parts := []string{base}
	if t&0x80000000 != 0 {
		parts = append(parts, "special")
	}
	if t&0x40000000 != 0 {
		parts = append(parts, "temporary")
	}
	return strings.Join(parts, ",")
}

// shareEntry returns r's entry for the share, creating it. Share names compare case-insensitively.
func shareEntry(r *Result, name string) *Share {
	for i := range r.Shares {
		if strings.EqualFold(r.Shares[i].Name, name) {
			return &r.Shares[i]
		}
	}
	r.Shares = append(r.Shares, Share{Name: name, Access: []ShareAccess{}})
	return &r.Shares[len(r.Shares)-1]
}

func hasAccess(r *Result, share, identity string) bool {
	for _, sh := range r.Shares {
		if strings.EqualFold(sh.Name, share) {
			for _, a := range sh.Access {
				if a.Identity == identity {
					return true
				}
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// hasSession reports whether identity holds a session on the shared connection.
func (s *Session) hasSession(identity string) bool {
	switch identity {
	case IdentityAnonymous:
		return s.nullSession
	case IdentityGuest:
		return s.guestSession
	}
	return false
}
