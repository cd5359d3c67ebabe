package probes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/smbsweep/smbsweep/transport/smb1conn"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// The SMB1 path of the session stages (issue 13 item 2). A host that closes the connection in
// answer to the SMB2 NEGOTIATE but accepts NT LM 0.12 on the smb1 stage's SMB1 NEGOTIATE speaks
// SMB1 only: session, guest, tree, shares and access then run over one shared SMB1 connection
// (transport/smb1conn) with the null and guest sessions as two UIDs on it, and record
// stages.<name>.protocol = "smb1". The stages keep their SMB2 code; the SMB-specific steps
// (logon, TREE_CONNECT, the pipe, the read and write checks) branch here. The DCE/RPC client
// (rpc.go) is the same: smb1Pipe carries its PDUs in TRANSACTION TransactNmPipe and READ_ANDX.

// markSMB1Only is called by the smb1 stage when the server accepted NT LM 0.12. If negotiate's
// SMB2 NEGOTIATE was answered by the server closing the connection, one more SMB2 NEGOTIATE on
// a new connection tells a host that speaks SMB1 only (closed again) from one whose first
// connection was cut by something else (answered: negotiate's record becomes that answer, and
// the session stages use that connection over SMB2). For an SMB1-only host, negotiate's record
// says "no SMB2" and is no longer a missing answer (it is the answer); no SMB2 connection is
// kept, so that no stage reopens one.
func (s *Session) markSMB1Only(ctx context.Context, r *Result) {
	neg := r.Stages[StageNegotiate]
	if !s.noSMB2 || r.Negotiate != nil || neg == nil || neg.Status != StageErrored {
		return
	}
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	s.noSMB2 = false
	var again Result
	err := stageNegotiate(ctx, s, &again)
	switch {
	case err == nil:
		r.Negotiate, r.ClockSkewSeconds, r.ClockSkewSource = again.Negotiate, again.ClockSkewSeconds, again.ClockSkewSource
		neg.Status, neg.Error, neg.NTStatus, neg.class = StageOK, "", "", ""
		return
	case !s.noSMB2:
		// No answer of either kind this time: negotiate stays the missing answer it was.
		if s.conn != nil {
			_ = s.conn.Close()
			s.conn = nil
		}
		return
	}
	_ = s.conn.Close()
	s.conn = nil
	s.smb1Only = true
	r.SMB1.Only = true
	r.SMB1.Evidence += "; the server closed the connection in answer to the SMB2 NEGOTIATE (twice, on two connections): SMB1 only"
	neg.Reason = "no SMB2: the server closed the connection in answer to the SMB2 NEGOTIATE (twice) and accepts SMB1 (NT LM 0.12) only"
	neg.Error = (&StageError{Stage: string(StageNegotiate), Host: s.Target.String(), Err: errors.New(neg.Reason)}).Error()
	neg.class = ""
}

// dialSMB1 opens a connection for transport/smb1conn (the NetBIOS session first on port 139),
// traced as conn. The caller sends the NEGOTIATE. ms17010 and the SMB1 path share it.
func (s *Session) dialSMB1(ctx context.Context, conn string) (*smb1conn.Conn, error) {
	nc, bind, trace, err := s.connectTraced(ctx, conn)
	if err != nil {
		return nil, err
	}
	opts := s.smb1Options()
	opts.Trace = trace // a credentialed logon is traced too: see Options.Trace
	return smb1conn.New(bind, nc, opts), nil
}

// smb1Options are the smb1conn options of the host's SMB1 connections (Trace aside).
func (s *Session) smb1Options() smb1conn.Options {
	opts := smb1conn.Options{MaxFrame: s.Opts.MaxFrame, Now: s.Opts.Now}
	if s.Target.Host != "" {
		opts.ServerName = s.Target.Host
	}
	return opts
}

// smb1Shared returns the SMB1 path's shared connection, connecting and negotiating it on first
// use. A connection that failed once is not reopened: the stages after it record the failure.
func (s *Session) smb1Shared(ctx context.Context) (*smb1conn.Conn, error) {
	if s.smb1c != nil {
		return s.smb1c, nil
	}
	if s.smb1Idle != nil {
		s.smb1c, s.smb1Idle = s.smb1Idle, nil
		return s.smb1c, nil
	}
	c, err := s.dialSMB1(ctx, "smb1-session")
	if err != nil {
		return nil, fmt.Errorf("connecting for the SMB1 session: %w", err)
	}
	if _, err := c.Negotiate(ctx); err != nil {
		_ = c.Close()
		return nil, smb1Refusal(err, "SMB1 NEGOTIATE")
	}
	s.smb1c = c
	return c, nil
}

// useIdentitySMB1 points the shared SMB1 connection at the UID of identity.
func (s *Session) useIdentitySMB1(identity string) {
	if s.smb1c == nil {
		return
	}
	switch identity {
	case IdentityAnonymous:
		_ = s.smb1c.UseUID(s.nullUID) // null and guest sessions are never signed
	case IdentityGuest:
		_ = s.smb1c.UseUID(s.guestUID)
	}
}

// ntStatusIn returns the NT status a server refused with, from an smb1conn error chain.
func ntStatusIn(err error) (wire.NTStatus, bool) {
	var st wire.NTStatus
	if errors.As(err, &st) {
		return st, true
	}
	return 0, false
}

// smb1Refusal turns an NT status refusal in an smb1conn error into an *ntRefusal (the stage
// "failed" with it); other errors are returned as they are.
func smb1Refusal(err error, what string) error {
	if st, ok := ntStatusIn(err); ok {
		return refusal(st, what)
	}
	return err
}

// smb1Logon logs on over the shared SMB1 connection as id and records what every logon shows:
// the NTLM CHALLENGE (first one only, as over SMB2) and the reply's NativeOS, NativeLanMan and
// PrimaryDomain (in smb1, when not yet known).
func (s *Session) smb1Logon(ctx context.Context, r *Result, id smb1conn.Identity) (smb1conn.Session, error) {
	c, err := s.smb1Shared(ctx)
	if err != nil {
		return smb1conn.Session{}, err
	}
	sess, err := c.SessionSetup(ctx, id)
	if r.NTLM == nil && sess.Challenge != nil {
		r.NTLM = decodeChallenge(sess.Challenge, sess.ChallengeTime)
		if r.ClockSkewSeconds == nil && r.NTLM.ClockSkewSeconds != nil {
			skew := *r.NTLM.ClockSkewSeconds
			r.ClockSkewSeconds, r.ClockSkewSource = &skew, ClockSkewNTLM
		}
	}
	if err == nil && r.SMB1 != nil && r.SMB1.NativeOS == "" && r.SMB1.NativeLanManager == "" {
		r.SMB1.NativeOS, r.SMB1.NativeLanManager, r.SMB1.PrimaryDomain = sess.NativeOS, sess.NativeLanMan, sess.PrimaryDomain
	}
	return sess, err
}

// smb1SessionFlags names the SESSION_SETUP_ANDX Action bits in the words of SMB2's
// SessionFlags: SMB_SETUP_GUEST is IS_GUEST (MS-CIFS 2.2.4.53.2).
func smb1SessionFlags(sess smb1conn.Session) []string {
	if sess.Guest {
		return []string{"IS_GUEST"}
	}
	return []string{}
}

// stageNullSessionSMB1 is stageNullSession over SMB1: an anonymous SESSION_SETUP_ANDX
// (extended security: anonymous NTLMSSP; else the NT LM 0.12 form with empty passwords).
func stageNullSessionSMB1(ctx context.Context, s *Session, r *Result) error {
	info := &SessionInfo{Flags: []string{}}
	r.Sessions.Null = info
	sess, err := s.smb1Logon(ctx, r, smb1conn.Identity{Kind: smb1conn.Anonymous})
	if err != nil {
		if st, ok := ntStatusIn(err); ok {
			info.Status = String(st.String())
			info.SetupOK, info.Allowed = Bool(false), Bool(false)
			info.Evidence = "server refused the anonymous SMB1 SESSION_SETUP_ANDX with " + st.String()
			return refusal(st, "anonymous SMB1 SESSION_SETUP_ANDX")
		}
		info.Evidence = "anonymous SMB1 SESSION_SETUP_ANDX did not complete: " + err.Error()
		return err
	}
	info.Status = String(wire.StatusSuccess.String())
	info.SetupOK = Bool(true)
	info.Flags = smb1SessionFlags(sess)
	s.nullSession, s.nullUID = true, sess.UID
	info.Evidence = "anonymous SMB1 SESSION_SETUP_ANDX succeeded; IPC$ access decided by the tree stage"
	return nil
}

// stageGuestSMB1 is stageGuest over SMB1: a logon as a random non-existent user with a random
// password (NTLMv2), as a second UID on the shared connection.
func stageGuestSMB1(ctx context.Context, s *Session, r *Result) error {
	info := &SessionInfo{Flags: []string{}}
	r.Sessions.Guest = info
	sess, err := s.smb1Logon(ctx, r, smb1conn.Identity{Kind: smb1conn.Guest})
	if err != nil {
		if st, ok := ntStatusIn(err); ok {
			info.Status = String(st.String())
			info.SetupOK, info.Allowed = Bool(false), Bool(false)
			info.Evidence = "server refused an SMB1 logon as a random non-existent user with a random password: " + st.String()
			return refusal(st, "guest SMB1 SESSION_SETUP_ANDX")
		}
		info.Evidence = "guest SMB1 logon did not complete: " + err.Error()
		return err
	}
	info.Status = String(wire.StatusSuccess.String())
	info.SetupOK, info.Allowed = Bool(true), Bool(true)
	info.Flags = smb1SessionFlags(sess)
	s.guestSession, s.guestUID = true, sess.UID
	if sess.Guest {
		info.Evidence = "SMB1 logon as a random non-existent user with a random password was granted a guest session (SMB_SETUP_GUEST)"
	} else {
		info.Evidence = "server accepted a random non-existent user with a random password over SMB1 as a full logon (no SMB_SETUP_GUEST)"
	}
	return nil
}

// treeConnectSMB1 is treeConnect over SMB1 (TREE_CONNECT_ANDX with the extended response).
func (s *Session) treeConnectSMB1(ctx context.Context, share, identity string) (ShareAccess, wire.NTStatus, uint32, error) {
	acc := ShareAccess{Identity: identity}
	c, err := s.smb1Shared(ctx)
	if err != nil {
		return acc, 0, 0, err
	}
	s.useIdentitySMB1(identity)
	t, err := c.TreeConnect(ctx, share)
	if err != nil {
		if st, ok := ntStatusIn(err); ok {
			acc.TreeConnect = String(st.String())
			return acc, st, 0, nil
		}
		return acc, 0, 0, err
	}
	acc.TreeConnect = String(wire.StatusSuccess.String())
	acc.ShareType = smb1ServiceType(t.Service)
	if t.HasMaximalAccess {
		ma := Hex32(t.MaximalAccess)
		acc.MaximalAccess = &ma
	}
	acc.raw = TreeRaw{TreeID: uint32(t.TID)}
	return acc, wire.StatusSuccess, uint32(t.TID), nil
}

// smb1ServiceType names a TREE_CONNECT_ANDX Service (MS-CIFS 2.2.4.55.2) as the SMB2 ShareType
// is named: "A:" disk, "IPC" pipe, "LPT1:" print, "COMM" device.
func smb1ServiceType(service string) string {
	switch strings.ToUpper(service) {
	case "A:":
		return "disk"
	case "IPC":
		return "pipe"
	case "LPT1:":
		return "print"
	case "COMM":
		return "device"
	}
	return ""
}

// disconnectTree releases a tree of the connection in use (SMB1 on hosts that speak SMB1
// only), best effort.
func (s *Session) disconnectTree(ctx context.Context, tid uint32) {
	if s.smb1Only {
		if s.smb1c != nil {
			_ = s.smb1c.TreeDisconnect(ctx, uint16(tid))
		}
		return
	}
	s.treeDisconnect(ctx, tid)
}

// smb1Pipe is a pipeTransport over the shared SMB1 connection: TRANSACTION TransactNmPipe
// writes a PDU and reads the first chunk of the reply (MS-CIFS 2.2.5.6), READ_ANDX the rest.
// The bounds of the reply are the rpcClient's (maxPipeReads, its byte limit) and smb1conn's
// (MaxTransactionReply, MaxTransactionFragments per TRANSACTION).
type smb1Pipe struct {
	c        *smb1conn.Conn
	tid, fid uint16
	ctx      context.Context // the stage's, for the CLOSE of release
	buf      []byte
}

// smb1PipeChunk is the reply data asked for per TRANSACTION or READ_ANDX on the pipe
// (TRANSACTION's MaxDataCount is 16 bits).
const smb1PipeChunk = 0xffff

func (p *smb1Pipe) transceive(ctx context.Context, in []byte) ([]byte, error) {
	n, err := p.c.TransactNamedPipe(ctx, p.tid, p.fid, in, p.buf)
	return p.chunk(n, err, "TRANSACTION TransactNmPipe")
}

func (p *smb1Pipe) read(ctx context.Context) ([]byte, error) {
	n, err := p.c.ReadPipe(ctx, p.tid, p.fid, p.buf)
	return p.chunk(n, err, "READ_ANDX of the pipe")
}

// chunk maps an exchange's outcome: data (STATUS_BUFFER_OVERFLOW: more to read), a refusal as
// an *ntRefusal, or the error.
func (p *smb1Pipe) chunk(n int, err error, what string) ([]byte, error) {
	if err == nil {
		return p.buf[:n], nil
	}
	st, ok := ntStatusIn(err)
	switch {
	case ok && st == wire.StatusBufferOverflow:
		return p.buf[:n], nil
	case ok:
		return nil, refusal(st, what)
	}
	return nil, err
}

func (p *smb1Pipe) release() { _ = p.c.CloseFile(p.ctx, p.tid, p.fid) }

// openPipeSMB1 opens the named pipe of IPC$ over SMB1 as identity, as openPipe does over SMB2.
func (s *Session) openPipeSMB1(ctx context.Context, r *Result, identity, name string) (*smb1Pipe, wire.NTStatus, error) {
	tid, err := s.ipcTreeFor(ctx, r, identity)
	if err != nil {
		return nil, 0, err
	}
	s.useIdentitySMB1(identity)
	f, err := s.smb1c.Open(ctx, uint16(tid), name, smb1conn.OpenOptions{DesiredAccess: uint32(pipeAccess), ShareAccess: smb1.ShareRead | smb1.ShareWrite})
	if err != nil {
		if st, ok := ntStatusIn(err); ok {
			return nil, st, nil
		}
		return nil, 0, err
	}
	return &smb1Pipe{c: s.smb1c, tid: uint16(tid), fid: f.FID, ctx: ctx, buf: make([]byte, smb1PipeChunk)}, wire.StatusSuccess, nil
}

// checkShareSMB1 is the read check, and with -check-write the write check, of checkShare over
// SMB1 on the tree tid.
func (s *Session) checkShareSMB1(ctx context.Context, tid uint16, share string, acc *ShareAccess) error {
	if err := s.readCheckSMB1(ctx, tid, acc); err != nil {
		return err
	}
	if s.Opts.CheckWrite {
		return s.writeCheckSMB1(ctx, tid, share, acc)
	}
	return nil
}

// readCheckSMB1 opens the share root as a directory (NT_CREATE_ANDX) and asks for its first
// entries with TRANS2 FIND_FIRST2, as the SMB2 check does with CREATE and QUERY_DIRECTORY.
func (s *Session) readCheckSMB1(ctx context.Context, tid uint16, acc *ShareAccess) error {
	c := s.smb1c
	f, err := c.Open(ctx, tid, "", smb1conn.OpenOptions{
		DesiredAccess: smb1conn.AccessListDirectory | smb1conn.AccessReadAttributes | smb1conn.AccessSynchronize,
		CreateOptions: smb1.CreateDirectoryFile,
	})
	if err != nil {
		st, ok := ntStatusIn(err)
		if !ok {
			return err
		}
		acc.Read, acc.ReadStatus = Bool(false), "NT_CREATE_ANDX "+st.String()
		return nil
	}
	_ = c.CloseFile(ctx, tid, f.FID)
	err = c.List(ctx, tid, `\*`, func(*smb1conn.Entry) error { return smb1conn.ErrStop })
	if err == nil {
		acc.Read, acc.ReadStatus = Bool(true), "FIND_FIRST2 "+wire.StatusSuccess.String()
		return nil
	}
	st, ok := ntStatusIn(err)
	switch {
	case !ok:
		return err
	case st == wire.StatusNoSuchFile || st == wire.StatusNoMoreFiles:
		acc.Read = Bool(true) // an empty directory was listed
	default:
		acc.Read = Bool(false)
	}
	acc.ReadStatus = "FIND_FIRST2 " + st.String()
	return nil
}

// writeCheckSMB1 is writeCheck over SMB1: NT_CREATE_ANDX of a uniquely named directory with
// FILE_DELETE_ON_CLOSE, CLOSE, and an open that must find it gone.
func (s *Session) writeCheckSMB1(ctx context.Context, tid uint16, share string, acc *ShareAccess) error {
	c := s.smb1c
	name := writeCheckName()
	f, err := c.Open(ctx, tid, name, smb1conn.OpenOptions{
		DesiredAccess:     smb1conn.AccessReadAttributes | smb1conn.AccessDelete | smb1conn.AccessSynchronize,
		CreateDisposition: smb1.FileCreate,
		CreateOptions:     smb1.CreateDirectoryFile | smb1conn.CreateDeleteOnClose,
	})
	if err != nil {
		st, ok := ntStatusIn(err)
		if !ok {
			return err
		}
		acc.Write, acc.WriteStatus = Bool(false), "NT_CREATE_ANDX "+st.String()
		return nil
	}
	if err := c.CloseFile(ctx, tid, f.FID); err != nil {
		return fmt.Errorf("write check created %s but closing it failed: %w", name, err)
	}
	acc.Write, acc.WriteStatus = Bool(true), "NT_CREATE_ANDX STATUS_SUCCESS (directory created and removed)"
	f, err = c.Open(ctx, tid, name, smb1conn.OpenOptions{DesiredAccess: smb1conn.AccessReadAttributes | smb1conn.AccessSynchronize})
	if err == nil {
		_ = c.CloseFile(ctx, tid, f.FID)
		return fmt.Errorf(`write check left directory \%s\%s behind: the server did not honour FILE_DELETE_ON_CLOSE; remove it by hand`, share, name)
	}
	if _, ok := ntStatusIn(err); !ok {
		return fmt.Errorf("write check could not verify that %s was removed: %w", name, err)
	}
	return nil
}
