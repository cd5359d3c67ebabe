package client

import (
	"context"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// Pipe is a named pipe opened on an IPC$ share of a logged-on Client: the byte transport of a
// DCE/RPC association (MS-SMB2 3.2.4.20.1, FSCTL_PIPE_TRANSCEIVE; 3.2.4.6, READ). It moves
// bytes only; the DCE/RPC client that speaks over it is the caller's.
type Pipe struct {
	s    *Share
	name string
	h    handle
}

// PipeAccess is the access RPC pipes are opened with: read/write data and attributes, EAs,
// READ_CONTROL and SYNCHRONIZE (what Windows clients ask for RPC pipes).
const PipeAccess = wire.AccessReadData | wire.AccessWriteData | wire.AccessAppendData | wire.AccessReadEA |
	wire.AccessWriteEA | wire.AccessReadAttributes | wire.AccessWriteAttributes | wire.AccessReadControl | wire.AccessSynchronize

// OpenPipe opens the named pipe name ("spoolss", "DAV RPC SERVICE", ...) on the share, which
// should be IPC$. A refusal (STATUS_OBJECT_NAME_NOT_FOUND: no such pipe, the service is not
// running; STATUS_ACCESS_DENIED) is an *Error carrying the NT status.
func (s *Share) OpenPipe(ctx context.Context, name string) (*Pipe, error) {
	h, err := s.open(ctx, "open pipe", name, wire.CreateRequest{
		DesiredAccess:     PipeAccess,
		ShareAccess:       wire.FileShareRead | wire.FileShareWrite,
		CreateDisposition: wire.DispositionOpen,
	})
	if err != nil {
		return nil, err
	}
	return &Pipe{s: s, name: name, h: h}, nil
}

// Transceive writes in to the pipe and returns the first part of the reply, at most maxOut
// bytes (one FSCTL_PIPE_TRANSCEIVE). more is true when the server answered
// STATUS_BUFFER_OVERFLOW: the reply goes on, to be fetched with Read. Any other status than
// STATUS_SUCCESS is an *Error carrying it. The bytes are valid until the client's next request.
func (p *Pipe) Transceive(ctx context.Context, in []byte, maxOut uint32) (out []byte, more bool, err error) {
	req := wire.IoctlRequest{CtlCode: wire.FsctlPipeTransceive, FileID: p.h.id, MaxOutputResponse: maxOut, Flags: wire.IoctlIsFSCTL, Input: in}
	resp, err := p.call(ctx, "pipe transceive", wire.CmdIoctl, &req)
	if err != nil {
		return nil, false, err
	}
	ir := wire.IoctlResponse(resp.Msg)
	if err := ir.Validate(); err != nil {
		return nil, false, failed("pipe transceive", p.s.target(p.name), &transport.ProtocolError{Op: "IOCTL response", Err: err})
	}
	return ir.Output(), resp.Header.Status == wire.StatusBufferOverflow, nil
}

// Read reads the next part of a reply, at most n bytes; more is as for Transceive. A status
// that says the pipe has nothing more (STATUS_PIPE_EMPTY, STATUS_END_OF_FILE, ...) is an *Error
// carrying it, for the caller to judge.
func (p *Pipe) Read(ctx context.Context, n uint32) (data []byte, more bool, err error) {
	req := wire.ReadRequest{Length: n, FileID: p.h.id}
	resp, err := p.call(ctx, "pipe read", wire.CmdRead, &req)
	if err != nil {
		return nil, false, err
	}
	rr := wire.ReadResponse(resp.Msg)
	if err := rr.Validate(); err != nil {
		return nil, false, failed("pipe read", p.s.target(p.name), &transport.ProtocolError{Op: "READ response", Err: err})
	}
	return rr.Data(), resp.Header.Status == wire.StatusBufferOverflow, nil
}

// call sends one request on the pipe's handle; a status other than STATUS_SUCCESS and
// STATUS_BUFFER_OVERFLOW is an *Error naming op.
func (p *Pipe) call(ctx context.Context, op string, cmd wire.Command, req transport.Body) (transport.Response, error) {
	p.s.c.conn.Use(p.s.c.sess.smb2)
	resp, err := p.s.c.conn.Call(ctx, cmd, p.s.tid, req)
	if err != nil {
		return resp, failed(op, p.s.target(p.name), err)
	}
	if st := resp.Header.Status; st != wire.StatusSuccess && st != wire.StatusBufferOverflow {
		return resp, refused(op, p.s.target(p.name), st)
	}
	return resp, nil
}

// Close closes the pipe's handle.
func (p *Pipe) Close(ctx context.Context) error { return p.s.close(ctx, "close pipe", p.name, p.h) }
