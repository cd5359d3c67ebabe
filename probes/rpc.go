package probes

import (
	"context"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// The one DCE/RPC-over-named-pipe client of the probes (issue 15 item 4): open a pipe of IPC$,
// BIND one or more interfaces, call an opnum the allowlist permits (rpc_allowlist.go), reassemble
// the reply, close. The SMB side is a pipeTransport, so that an SMB1 TRANSACTION transport
// (TransactNmPipe, then READ_ANDX) can carry the same PDUs later without a second copy of the
// BIND, request and reassembly logic.

const (
	// maxPipeReads caps the READs that fetch the rest of a long pipe response.
	maxPipeReads = 256
	// pipeChunk is the output asked for per IOCTL/READ on the pipe.
	pipeChunk = 64 << 10
)

// pipeAccess is what RPC pipes are opened with (the access Windows clients use for them).
const pipeAccess = client.PipeAccess

// pipeTransport moves DCE/RPC bytes through one open named pipe. A pipe is a byte stream: a
// reply may come in any number of chunks, which need not follow fragment boundaries.
type pipeTransport interface {
	// transceive writes in to the pipe and returns the first chunk of the reply (the output of
	// FSCTL_PIPE_TRANSCEIVE on SMB2, of TransactNmPipe on SMB1). The bytes are a view valid
	// until the next call. A refusal is an *ntRefusal.
	transceive(ctx context.Context, in []byte) ([]byte, error)
	// read returns the next chunk of the reply; an empty chunk or a "pipe ran dry" refusal
	// (pipeRanDry) means there is nothing more.
	read(ctx context.Context) ([]byte, error)
	// release gives the pipe back to the server (now or at the connection's next use).
	release()
}

// smb2Pipe is a pipeTransport over the probe session's shared SMB2 connection.
type smb2Pipe struct {
	s   *Session
	tid uint32
	fid wire.FileID
}

func (p *smb2Pipe) transceive(ctx context.Context, in []byte) ([]byte, error) {
	return p.s.transceive(ctx, p.tid, p.fid, in)
}

func (p *smb2Pipe) read(ctx context.Context) ([]byte, error) { return p.s.pipeRead(ctx, p.tid, p.fid) }

// release leaves the CLOSE for the connection's next use (closeLater): the default profile's
// last stage then costs no extra round trip.
func (p *smb2Pipe) release() { p.s.closeLater(p.tid, p.fid) }

// authPipe is a pipeTransport over the auth stage's credentialed connection (package client:
// signed, or encrypted when the server requires it).
type authPipe struct {
	ctx   context.Context // for the CLOSE of release
	p     *client.Pipe
	chunk uint32
}

func (a *authPipe) transceive(ctx context.Context, in []byte) ([]byte, error) {
	out, _, err := a.p.Transceive(ctx, in, a.chunk)
	return out, clientRefusal(err, "FSCTL_PIPE_TRANSCEIVE")
}

func (a *authPipe) read(ctx context.Context) ([]byte, error) {
	data, _, err := a.p.Read(ctx, a.chunk)
	return data, clientRefusal(err, "READ of the pipe")
}

func (a *authPipe) release() { _ = a.p.Close(a.ctx) }

// openRPCPipe opens the named pipe of IPC$ as identity (tree-connecting IPC$ when needed) over
// the protocol the host speaks (openPipeFor). A CREATE the server refuses returns its NT status
// with a nil pipe and a nil error; a refused TREE_CONNECT is an *ntRefusal; transport and
// protocol failures are errors.
func (s *Session) openRPCPipe(ctx context.Context, r *Result, identity, name string) (pipeTransport, wire.NTStatus, error) {
	tid, err := s.ipcTreeFor(ctx, r, identity)
	if err != nil {
		return nil, 0, err
	}
	return s.openPipeFor(ctx, r, identity, tid, name)
}

// openPipeOn opens the named pipe on the IPC$ tree tid of the identity the connection points at
// (useIdentity), as openRPCPipe does.
func (s *Session) openPipeOn(ctx context.Context, tid uint32, name string) (*smb2Pipe, wire.NTStatus, error) {
	create := wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      pipeAccess,
		ShareAccess:        wire.FileShareRead | wire.FileShareWrite,
		CreateDisposition:  wire.DispositionOpen,
		Name:               name,
	}
	cr, st, err := s.open(ctx, tid, &create)
	if err != nil || st != wire.StatusSuccess {
		return nil, st, err
	}
	return &smb2Pipe{s: s, tid: tid, fid: cr.FileID()}, st, nil
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

// rpcClient is a DCE/RPC association over one pipe: the presentation contexts its BIND
// negotiated and the next call_id. It is per pipe and per host, never shared.
type rpcClient struct {
	pipe   pipeTransport
	callID uint32
	bound  []rpcInterface // presentation context i carries bound[i]
	ok     []bool         // whether the server accepted context i
	buf    [512]byte      // BIND and small requests are built here
}

// newRPCClient starts an association on an open pipe.
func newRPCClient(p pipeTransport) *rpcClient { return &rpcClient{pipe: p, callID: 1} }

// bindOutcome is the server's answer to a BIND: a BIND_ACK with one result per context
// offered, or a BIND_NAK with its reason.
type bindOutcome struct {
	Nak       bool
	NakReason uint16
	Results   []dcerpc.ContextResult // per interface offered, in order (BIND_ACK only)
}

// accepted reports whether the i-th interface offered was accepted.
func (o *bindOutcome) accepted(i int) bool {
	return !o.Nak && i < len(o.Results) && o.Results[i].Accepted()
}

// describe words the outcome for the i-th interface: "acceptance",
// "provider_rejection (abstract_syntax_not_supported)", "bind_nak (reason_not_specified)".
func (o *bindOutcome) describe(i int) string {
	switch {
	case o.Nak:
		return "bind_nak (" + dcerpc.RejectReasonName(o.NakReason) + ")"
	case i >= len(o.Results):
		return "no result for the context in the bind_ack"
	case o.Results[i].Accepted():
		return dcerpc.ResultName(o.Results[i].Result)
	}
	return dcerpc.ResultName(o.Results[i].Result) + " (" + dcerpc.ProviderReasonName(o.Results[i].Reason) + ")"
}

// bind sends one BIND offering each interface in its own presentation context (IDs 0, 1, ...;
// at most dcerpc.MaxBindContexts) with the NDR 2.0 transfer syntax, and returns the server's
// answer. A BIND_NAK or a rejected context is an outcome, not an error; a reply that is
// neither a BIND_ACK nor a BIND_NAK is a *transport.ProtocolError. A BIND sends no opnum, so
// binding is never restricted by the allowlist.
func (c *rpcClient) bind(ctx context.Context, ifaces ...rpcInterface) (bindOutcome, error) {
	if len(ifaces) == 0 || len(ifaces) > dcerpc.MaxBindContexts {
		return bindOutcome{}, fmt.Errorf("bind of %d interfaces: between 1 and %d per BIND", len(ifaces), dcerpc.MaxBindContexts)
	}
	what := ifaces[0].Name
	b := dcerpc.NewBind(c.nextCallID(), ifaces[0].Syntax)
	for i, f := range ifaces {
		b.Contexts[i] = dcerpc.PresentationContext{ID: uint16(i), Abstract: f.Syntax, Transfer: dcerpc.NDRSyntax}
	}
	b.NumContexts = len(ifaces)
	out, err := c.pipe.transceive(ctx, b.AppendTo(c.buf[:0]))
	if err != nil {
		return bindOutcome{}, fmt.Errorf("%s bind: %w", what, err)
	}
	o, err := decodeBindReply(out, len(ifaces))
	if err != nil {
		return bindOutcome{}, &transport.ProtocolError{Op: what + " BIND_ACK", Err: err}
	}
	c.bound, c.ok = append(c.bound[:0], ifaces...), c.ok[:0]
	for i := range ifaces {
		c.ok = append(c.ok, o.accepted(i))
	}
	return o, nil
}

// decodeBindReply reads the answer to a BIND of n contexts: a BIND_ACK (its results, at most n
// of them kept) or a BIND_NAK. Anything else is an error that says what was wrong with it.
func decodeBindReply(out []byte, n int) (bindOutcome, error) {
	ack := dcerpc.BindAck(out)
	err := ack.Validate()
	if err != nil {
		if nak := dcerpc.BindNak(out); nak.Validate() == nil {
			return bindOutcome{Nak: true, NakReason: nak.RejectReason()}, nil
		}
		return bindOutcome{}, err
	}
	o := bindOutcome{Results: make([]dcerpc.ContextResult, 0, n)}
	for i := range min(n, ack.NumResults()) {
		res, _ := ack.Result(i)
		o.Results = append(o.Results, res)
	}
	return o, nil
}

func (c *rpcClient) nextCallID() uint32 {
	id := c.callID
	c.callID++
	return id
}

// contextOf returns the presentation context ID the BIND accepted for iface.
func (c *rpcClient) contextOf(iface rpcInterface) (uint16, bool) {
	for i, b := range c.bound {
		if b.Syntax == iface.Syntax && c.ok[i] {
			return uint16(i), true
		}
	}
	return 0, false
}

// call sends the REQUEST of op (an entry of the allowlist, looked up with allowed) with the
// NDR stub, and returns the reply's stub, reassembled into dst (appended to dst[:0]) from the
// transceive output and as many READs as it takes, within limit bytes of stub and
// 2*limit bytes taken from the pipe. A FAULT is a *dcerpc.FaultError.
func (c *rpcClient) call(ctx context.Context, op rpcOp, stub, dst []byte, limit int) ([]byte, error) {
	ctxID, ok := c.contextOf(op.Interface)
	if !ok {
		return nil, fmt.Errorf("%s: interface %s not bound on this pipe", op.Name, op.Interface.Name)
	}
	pdu, err := buildRequest(c.buf[:0], op.Interface, op.Opnum, c.callID, ctxID, stub)
	if err != nil {
		return nil, err // nothing sent
	}
	callID := c.nextCallID()
	var ra dcerpc.Reassembler
	ra.Reset(dst, callID, limit)
	out, err := c.pipe.transceive(ctx, pdu)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.Name, err)
	}
	if err := c.reassemble(ctx, op.Name, &ra, out, 2*int64(limit)); err != nil {
		return nil, err
	}
	return ra.Stub(), nil
}

// reassemble feeds the reply to ra: first the transceive output, then READs of the rest until
// the last fragment. A server need not keep a fragment within one IOCTL or READ (the pipe may
// be in byte mode), so the chunks go to the reassembler as a stream, not fragment by fragment.
// At most maxBytes come from the pipe and at most maxPipeReads READs are sent.
func (c *rpcClient) reassemble(ctx context.Context, name string, ra *dcerpc.Reassembler, out []byte, maxBytes int64) error {
	for reads := 0; ; reads++ {
		if ra.Written()+int64(len(out)) > maxBytes {
			return &transport.ProtocolError{Op: name + " response", Err: fmt.Errorf("more than %d bytes from the pipe: %w", maxBytes, wire.ErrTooLarge)}
		}
		if _, err := ra.Write(out); err != nil {
			return fmt.Errorf("%s response: %w", name, err)
		}
		if ra.Done() {
			return nil
		}
		if reads >= maxPipeReads {
			return &transport.ProtocolError{Op: name, Err: fmt.Errorf("response still incomplete after %d reads: %w", reads, wire.ErrTooLarge)}
		}
		var err error
		out, err = c.pipe.read(ctx)
		var ref *ntRefusal
		switch {
		case errors.As(err, &ref) && pipeRanDry(ref.status):
			return &transport.ProtocolError{Op: name + " response", Err: fmt.Errorf("READ of the pipe answered %s before the last fragment: %w", ref.status, ra.End())}
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		case len(out) == 0:
			return &transport.ProtocolError{Op: name + " response", Err: fmt.Errorf("READ of the pipe returned no data before the last fragment: %w", ra.End())}
		}
	}
}

// close releases the pipe.
func (c *rpcClient) close() { c.pipe.release() }
