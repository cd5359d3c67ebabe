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

const (
	// maxShareEnumBytes caps the reassembled NetrShareEnum response (about 10 000 shares).
	maxShareEnumBytes = 2 << 20
	// maxPipeReplyBytes caps the bytes taken from the pipe for that response: its stub and the
	// fragment headers (and any auth verifiers) around it. What is held at once is less: the
	// stub and at most one partial fragment (dcerpc.Reassembler.Write).
	maxPipeReplyBytes = 2 * maxShareEnumBytes
	// maxPipeReads caps the READs that fetch the rest of a long pipe response.
	maxPipeReads = 256
	// pipeChunk is the output asked for per IOCTL/READ on the pipe.
	pipeChunk = 64 << 10
)

// srvsvcPipeAccess is what the srvsvc pipe is opened with: read/write data and attributes,
// EAs, READ_CONTROL and SYNCHRONIZE (the access Windows clients use for RPC pipes).
const srvsvcPipeAccess = wire.AccessReadData | wire.AccessWriteData | wire.AccessAppendData | wire.AccessReadEA |
	wire.AccessWriteEA | wire.AccessReadAttributes | wire.AccessWriteAttributes | wire.AccessReadControl | wire.AccessSynchronize

// stageShares lists the server's shares over SMB2 — no SMB1 needed — by DCE/RPC on the srvsvc
// named pipe of IPC$: BIND to SRVSVC, then NetrShareEnum at level 1 (MS-SRVS 3.1.4.8), for each
// identity that holds a session (anonymous, then guest). Share names and comments are the
// server's strings, kept as received in JSON and neutralised by the CSV and terminal sinks.
func stageShares(ctx context.Context, s *Session, r *Result) error {
	var firstErr error
	listed := 0
	for _, id := range []string{identityAnonymous, identityGuest} {
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

// enumShares runs NetrShareEnum as identity and merges the shares into r.
func (s *Session) enumShares(ctx context.Context, r *Result, identity string) error {
	tid, err := s.ipcTreeFor(ctx, r, identity)
	if err != nil {
		return err
	}
	create := wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      srvsvcPipeAccess,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite,
		CreateDisposition:  wire.DispositionOpen,
		Name:               "srvsvc",
	}
	cr, st, err := s.open(ctx, tid, &create)
	if err != nil {
		return err
	}
	if st != wire.StatusSuccess {
		return refusal(st, `CREATE of pipe \srvsvc`)
	}
	pipe := cr.FileID()
	defer s.closeLater(tid, pipe)

	var buf [512]byte
	bind := dcerpc.NewBind(1, dcerpc.SRVSVCSyntax)
	out, err := s.transceive(ctx, tid, pipe, bind.AppendTo(buf[:0]))
	if err != nil {
		return fmt.Errorf("SRVSVC bind: %w", err)
	}
	ack := dcerpc.BindAck(out)
	if err := ack.Validate(); err != nil {
		if nak := dcerpc.BindNak(out); nak.Validate() == nil {
			return fmt.Errorf("SRVSVC bind rejected: %s", dcerpc.RejectReasonName(nak.RejectReason()))
		}
		return &transport.ProtocolError{Op: "SRVSVC BIND_ACK", Err: err}
	}
	if ok, reason := ack.Accepted(0); !ok {
		return fmt.Errorf("SRVSVC bind: presentation context refused (%s)", dcerpc.ProviderReasonName(reason))
	}

	host := s.Target.Host
	if host == "" {
		host = s.Target.Addr.String()
	}
	req := dcerpc.NetShareEnumRequest{ServerName: `\\` + host}
	stub := make([]byte, 0, 512) // Samba's reply for a handful of shares is about 400 bytes; more grows it
	var ra dcerpc.Reassembler
	ra.Reset(stub, 2, maxShareEnumBytes)
	out, err = s.transceive(ctx, tid, pipe, req.AppendPDU(buf[:0], 2, 0))
	if err != nil {
		return fmt.Errorf("NetrShareEnum: %w", err)
	}
	// The reply is a byte stream: the IOCTL output, then READs of the rest until the last
	// fragment. A server need not keep a fragment within one IOCTL or READ (the pipe may be in
	// byte mode), so the chunks go to the reassembler as a stream, not fragment by fragment.
	for reads := 0; ; reads++ {
		if ra.Written()+int64(len(out)) > maxPipeReplyBytes {
			return &transport.ProtocolError{Op: "NetrShareEnum response", Err: fmt.Errorf("more than %d bytes from the pipe: %w", maxPipeReplyBytes, wire.ErrTooLarge)}
		}
		if _, err := ra.Write(out); err != nil {
			return fmt.Errorf("NetrShareEnum response: %w", err)
		}
		if ra.Done() {
			break
		}
		if reads >= maxPipeReads {
			return &transport.ProtocolError{Op: "NetrShareEnum", Err: fmt.Errorf("response still incomplete after %d reads: %w", reads, wire.ErrTooLarge)}
		}
		out, err = s.pipeRead(ctx, tid, pipe)
		var ref *ntRefusal
		switch {
		case errors.As(err, &ref) && pipeRanDry(ref.status):
			return &transport.ProtocolError{Op: "NetrShareEnum response", Err: fmt.Errorf("READ of the pipe answered %s before the last fragment: %w", ref.status, ra.End())}
		case err != nil:
			return fmt.Errorf("NetrShareEnum: %w", err)
		case len(out) == 0:
			return &transport.ProtocolError{Op: "NetrShareEnum response", Err: fmt.Errorf("READ of the pipe returned no data before the last fragment: %w", ra.End())}
		}
	}
	var enum dcerpc.ShareEnum
	if err := dcerpc.NetShareEnumResponse(ra.Stub()).Decode(&enum); err != nil {
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

// transceive writes in to the pipe and reads the reply with one FSCTL_PIPE_TRANSCEIVE. A reply
// that did not fit comes with STATUS_BUFFER_OVERFLOW; the caller reads the rest with pipeRead
// until the DCE/RPC fragments say the call is complete. The returned bytes are a view valid
// until the next request.
func (s *Session) transceive(ctx context.Context, tid uint32, pipe wire.FileID, in []byte) ([]byte, error) {
	req := wire.IoctlRequest{CtlCode: wire.FsctlPipeTransceive, FileID: pipe, MaxOutputResponse: s.pipeChunk(), Flags: wire.IoctlIsFSCTL, Input: in}
	resp, err := s.conn.Call(ctx, wire.CmdIoctl, tid, &req)
	if err != nil {
		return nil, err
	}
	st := resp.Header.Status
	if st != wire.StatusSuccess && st != wire.StatusBufferOverflow {
		return nil, refusal(st, "FSCTL_PIPE_TRANSCEIVE")
	}
	ir := wire.IoctlResponse(resp.Msg)
	if err := ir.Validate(); err != nil {
		return nil, &transport.ProtocolError{Op: "IOCTL response", Err: err}
	}
	return ir.Output(), nil
}

// pipeRead reads the next chunk of a pipe reply.
func (s *Session) pipeRead(ctx context.Context, tid uint32, pipe wire.FileID) ([]byte, error) {
	req := wire.ReadRequest{Length: s.pipeChunk(), FileID: pipe}
	resp, err := s.conn.Call(ctx, wire.CmdRead, tid, &req)
	if err != nil {
		return nil, err
	}
	st := resp.Header.Status
	if st != wire.StatusSuccess && st != wire.StatusBufferOverflow {
		return nil, refusal(st, "READ of the pipe")
	}
	rr := wire.ReadResponse(resp.Msg)
	if err := rr.Validate(); err != nil {
		return nil, &transport.ProtocolError{Op: "READ response", Err: err}
	}
	return rr.Data(), nil
}

// pipeRanDry reports whether a READ status says the pipe has nothing more to give: in the
// middle of a reply that is a truncated reply, not a refusal.
func pipeRanDry(st wire.NTStatus) bool {
	switch st {
	case wire.StatusEndOfFile, wire.StatusPipeEmpty, wire.StatusPipeDisconnected, wire.StatusPipeClosing:
		return true
	}
	return false
}

func (s *Session) pipeChunk() uint32 {
	n := uint32(pipeChunk)
	if s.maxTransact != 0 && s.maxTransact < n {
		n = s.maxTransact
	}
	return n
}

// ipcTreeFor returns a tree id of IPC$ for identity, connecting it when needed.
func (s *Session) ipcTreeFor(ctx context.Context, r *Result, identity string) (uint32, error) {
	if identity == identityAnonymous && s.hasIPC {
		s.useIdentity(identity)
		return s.ipcTree, nil
	}
	if identity == identityGuest && s.guestIPC != 0 {
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
	if identity == identityGuest {
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
	case identityAnonymous:
		return s.nullSession
	case identityGuest:
		return s.guestSession
	}
	return false
}
