package probes

import (
	"context"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// coercionTarget is one pipe of the coercion surface and the interface bound on it.
type coercionTarget struct {
	pipe  string
	iface rpcInterface
}

// coercionTargets are the pipes and interfaces whose methods can make a server authenticate to
// a host of the caller's choosing (issue 12 item 4). Only a BIND is sent to them: the
// allowlist (rpc_allowlist.go) holds none of their opnums.
var coercionTargets = []coercionTarget{
	{"spoolss", ifRPRN},        // MS-RPRN: the Print Spooler ("PrinterBug")
	{"efsrpc", ifEFSR},         // MS-EFSR on its own pipe ("PetitPotam")
	{"lsarpc", ifEFSRLsarpc},   // MS-EFSR on the lsass endpoints (MS-EFSR 3.1.4.2)
	{"samr", ifEFSRLsarpc},     //
	{"netlogon", ifEFSRLsarpc}, //
	{"lsass", ifEFSRLsarpc},    //
	{"netdfs", ifDFSNM},        // MS-DFSNM ("DFSCoerce")
	{"FssagentRpc", ifFSRVP},   // MS-FSRVP 1.0 ("ShadowCoerce")
	{"eventlog", ifEVEN},       // MS-EVEN ("CheeseOunce")
}

// webClientPipe exists while the WebClient service runs (it serves DAV RPC for the redirector).
const webClientPipe = "DAV RPC SERVICE"

// stageCoercion maps the coercion surface for each identity that holds a session (anonymous,
// then guest, on the shared connection; then the -u account on the auth stage's connection,
// when that logon succeeded): every pipe of coercionTargets is opened on IPC$ and sent one BIND
// of its interface, then closed; the WebClient pipe is only opened. Answers the server gave
// are recorded whatever they are; a transport failure ends that identity's probing (its
// connection is unusable), a malformed BIND reply is recorded for its pipe and, once the rest
// was probed, makes the stage an error that names it.
func stageCoercion(ctx context.Context, s *Session, r *Result) error {
	r.RPC = &RPCSurface{Interfaces: []RPCInterface{}, WebClient: []ServiceState{}, Spooler: []ServiceState{}}
	var firstErr error
	note := func(id string, err error) {
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", id, err)
		}
	}
	probed := 0
	for _, id := range []string{IdentityAnonymous, IdentityGuest} {
		if !s.hasSession(id) {
			continue
		}
		probed++
		err := s.coercionAs(ctx, r, id, s.sharedPipes(id))
		note(id, err)
		if err != nil && !errors.As(err, new(*transport.ProtocolError)) {
			break // the connection failed: another identity would not get further on it
		}
	}
	if s.authLoggedOn(r) {
		probed++
		note(IdentityUser, s.coercionAs(ctx, r, IdentityUser, s.authPipes()))
	}
	if probed == 0 {
		return fmt.Errorf("%w: no anonymous, guest or credentialed session to open pipes with", errNotApplicable)
	}
	return firstErr
}

// pipeOpener opens the pipes of one identity: ipc tree-connects IPC$ (a refusal is an
// *ntRefusal), open opens a pipe on it (a refused CREATE is its status with a nil pipe and a
// nil error), alive says whether the identity's connection is still usable after an error.
type pipeOpener struct {
	ipc   func(ctx context.Context, r *Result) error
	open  func(ctx context.Context, name string) (pipeTransport, wire.NTStatus, error)
	alive func() bool
}

// sharedPipes opens pipes as identity (anonymous or guest) on the shared SMB2 connection.
func (s *Session) sharedPipes(identity string) pipeOpener {
	var tid uint32
	return pipeOpener{
		ipc: func(ctx context.Context, r *Result) (err error) {
			tid, err = s.ipcTreeFor(ctx, r, identity)
			return err
		},
		open: func(ctx context.Context, name string) (pipeTransport, wire.NTStatus, error) {
			s.useIdentity(identity)
			p, st, err := s.openPipeOn(ctx, tid, name)
			if p == nil {
				return nil, st, err // a nil interface, not a typed nil *smb2Pipe
			}
			return p, st, err
		},
		alive: func() bool { return s.conn != nil && s.conn.Err() == nil },
	}
}

// authLoggedOn reports whether the auth stage's credentialed logon succeeded (its connection
// then serves the "user" identity).
func (s *Session) authLoggedOn(r *Result) bool {
	return s.auth != nil && r.Auth != nil && r.Auth.Success != nil && *r.Auth.Success
}

// authPipes opens pipes as the -u account on the auth stage's connection. Its IPC$ tree is
// disconnected with the connection when the host is done.
func (s *Session) authPipes() pipeOpener {
	var ipc *client.Share
	chunk := uint32(pipeChunk)
	if m := s.auth.Negotiated().MaxTransactSize; m != 0 && m < chunk {
		chunk = m
	}
	return pipeOpener{
		ipc: func(ctx context.Context, r *Result) (err error) {
			ipc, err = s.auth.TreeConnect(ctx, "IPC$")
			return clientRefusal(err, "TREE_CONNECT to IPC$")
		},
		open: func(ctx context.Context, name string) (pipeTransport, wire.NTStatus, error) {
			p, err := ipc.OpenPipe(ctx, name)
			var ce *client.Error
			switch {
			case errors.As(err, &ce) && ce.Status != 0:
				return nil, ce.Status, nil
			case err != nil:
				return nil, 0, unwrapClient(err)
			}
			return &authPipe{ctx: ctx, p: p, chunk: chunk}, wire.StatusSuccess, nil
		},
		// The client does not expose its connection's state: after a protocol error the next
		// pipe is tried; on a connection that broke, each remaining request fails at once,
		// without traffic, and its record says so.
		alive: func() bool { return true },
	}
}

// coercionAs probes every pipe as identity on one IPC$ tree. It returns the first protocol
// error after probing the rest, or a transport error at once. When IPC$ refuses the identity,
// no pipe is reachable by it: every record says so without further requests.
func (s *Session) coercionAs(ctx context.Context, r *Result, identity string, po pipeOpener) error {
	err := po.ipc(ctx, r)
	var ref *ntRefusal
	switch {
	case errors.As(err, &ref):
		s.ipcRefused(r, identity, ref)
		return nil
	case err != nil:
		return err
	}
	var protoErr error
	for _, tg := range coercionTargets {
		rec, err := bindOnly(ctx, identity, po, tg)
		r.RPC.Interfaces = append(r.RPC.Interfaces, rec)
		if tg.pipe == "spoolss" {
			r.RPC.Spooler = append(r.RPC.Spooler, spoolerState(&rec))
		}
		switch {
		case err == nil:
		case errors.As(err, new(*transport.ProtocolError)) && po.alive():
			if protoErr == nil {
				protoErr = err
			}
		default:
			return err
		}
	}
	st, err := webClient(ctx, identity, po)
	r.RPC.WebClient = append(r.RPC.WebClient, st)
	if err != nil {
		return err
	}
	return protoErr
}

// ipcRefused records every pipe as not reachable by identity, whose IPC$ TREE_CONNECT was
// refused, and WebClient as unknown to it.
func (s *Session) ipcRefused(r *Result, identity string, ref *ntRefusal) {
	for _, tg := range coercionTargets {
		rec := RPCInterface{Identity: identity, Pipe: tg.pipe, Interface: tg.iface.Spec, Syntax: tg.iface.Syntax.String()}
		rec.Open = String(ref.status.String())
		rec.Outcome, rec.Reachable = refusedOutcome(ref.status), Bool(false)
		rec.Evidence = ref.what + " refused with " + ref.status.String() + ": no pipe is reachable as " + identity
		r.RPC.Interfaces = append(r.RPC.Interfaces, rec)
		if tg.pipe == "spoolss" {
			r.RPC.Spooler = append(r.RPC.Spooler, spoolerState(&rec))
		}
	}
	r.RPC.WebClient = append(r.RPC.WebClient, ServiceState{Identity: identity, Evidence: "unknown: " + ref.Error()})
}

// bindOnly opens tg's pipe as identity and sends one BIND of its interface. The record says
// what came back; the error is a transport or protocol failure (the record then says "error").
func bindOnly(ctx context.Context, identity string, po pipeOpener, tg coercionTarget) (RPCInterface, error) {
	rec := RPCInterface{Identity: identity, Pipe: tg.pipe, Interface: tg.iface.Spec, Syntax: tg.iface.Syntax.String()}
	pipe, st, err := po.open(ctx, tg.pipe)
	if err != nil {
		rec.Outcome, rec.Evidence = RPCError, "CREATE of pipe \\"+tg.pipe+": "+briefError(err)
		return rec, err
	}
	rec.Open = String(st.String())
	if st != wire.StatusSuccess {
		rec.Outcome, rec.Reachable = refusedOutcome(st), Bool(false)
		rec.Evidence = "CREATE of pipe \\" + tg.pipe + " refused with " + st.String()
		if st == wire.StatusObjectNameNotFound {
			rec.Evidence += ": service absent"
		}
		return rec, nil
	}
	rpc := newRPCClient(pipe)
	defer rpc.close()
	o, err := rpc.bind(ctx, tg.iface)
	if err != nil {
		rec.Outcome, rec.Evidence = RPCError, tg.iface.Spec+" BIND on \\"+tg.pipe+": "+briefError(err)
		var ref *ntRefusal
		if errors.As(err, &ref) { // the pipe refused the write: the server answered, decided
			rec.Outcome, rec.Reachable = refusedOutcome(ref.status), Bool(false)
			return rec, nil
		}
		return rec, err
	}
	rec.Bind = String(o.describe(0))
	if o.accepted(0) {
		rec.Outcome, rec.Reachable = RPCReachable, Bool(true)
		rec.Evidence = "coercible interface reachable by " + identity + ": bind_ack accepted " + tg.iface.Spec + " on \\" + tg.pipe
		return rec, nil
	}
	rec.Outcome, rec.Reachable = RPCRejected, Bool(false)
	rec.Evidence = tg.iface.Spec + " not reachable by " + identity + " on \\" + tg.pipe + ": " + *rec.Bind
	return rec, nil
}

// refusedOutcome names the outcome of a refused CREATE or TREE_CONNECT.
func refusedOutcome(st wire.NTStatus) string {
	switch st {
	case wire.StatusObjectNameNotFound:
		return RPCAbsent
	case wire.StatusAccessDenied:
		return RPCAccessDenied
	}
	return RPCRefused
}

// spoolerState decides "Print Spooler running" from the spoolss record: an accepted MS-RPRN
// BIND means running, an absent pipe means not running; anything else cannot tell.
func spoolerState(rec *RPCInterface) ServiceState {
	st := ServiceState{Identity: rec.Identity, Evidence: rec.Evidence}
	switch rec.Outcome {
	case RPCReachable:
		st.Running = Bool(true)
	case RPCAbsent:
		st.Running = Bool(false)
	default:
		st.Evidence = "unknown: " + rec.Evidence
	}
	return st
}

// webClient decides "WebClient running" as identity from a CREATE of the DAV RPC SERVICE
// pipe: success means running, OBJECT_NAME_NOT_FOUND not running, ACCESS_DENIED (or any other
// refusal) cannot tell. The pipe is released at once; nothing is written.
func webClient(ctx context.Context, identity string, po pipeOpener) (ServiceState, error) {
	st := ServiceState{Identity: identity}
	pipe, status, err := po.open(ctx, webClientPipe)
	if err != nil {
		st.Evidence = "unknown: CREATE of pipe \\" + webClientPipe + ": " + briefError(err)
		return st, err
	}
	what := "CREATE of pipe \\" + webClientPipe + " as " + identity + ": " + status.String()
	switch status {
	case wire.StatusSuccess:
		pipe.release()
		st.Running, st.Evidence = Bool(true), what
	case wire.StatusObjectNameNotFound:
		st.Running, st.Evidence = Bool(false), what
	default:
		st.Evidence = "unknown: " + what
	}
	return st, nil
}
