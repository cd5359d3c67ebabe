package probes

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/smbsweep/smbsweep/transport/smb1conn"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// statusInsuffServerResources is STATUS_INSUFF_SERVER_RESOURCES (MS-ERREF 2.3.1), the answer of
// an unpatched SMB1 server to TRANS_PEEK_NMPIPE on FID 0 (MS17-010).
const statusInsuffServerResources wire.NTStatus = 0xc0000205

// ntText prints an NT status with its name and number, "STATUS_INVALID_HANDLE (0xC0000008)".
func ntText(st wire.NTStatus) string {
	num := fmt.Sprintf("0x%08X", uint32(st))
	switch name := st.String(); {
	case st == statusInsuffServerResources:
		return "STATUS_INSUFF_SERVER_RESOURCES (" + num + ")"
	case name != num:
		return name + " (" + num + ")"
	}
	return num
}

// needSMB1 runs ms17010 only on hosts whose smb1 stage saw NT LM 0.12 accepted.
func needSMB1(_ *Session, r *Result) string {
	switch {
	case r.SMB1 == nil || r.SMB1.Enabled == nil:
		return "SMB1 support unknown (smb1 stage decided nothing): the MS17-010 check needs an SMB1 session"
	case !*r.SMB1.Enabled:
		return "SMB1 disabled: MS17-010 is an SMB1 flaw"
	}
	return ""
}

// stageMS17010 checks for MS17-010 (CVE-2017-0143 to 0148, "EternalBlue") as nmap's
// smb-vuln-ms17-010 and the public write-ups do: an SMB1 logon (anonymous, or the configured
// credentials), TREE_CONNECT_ANDX to IPC$, and one SMB_COM_TRANSACTION TRANS_PEEK_NMPIPE on FID
// 0. An unpatched server answers STATUS_INSUFF_SERVER_RESOURCES; a patched one
// STATUS_ACCESS_DENIED or STATUS_INVALID_HANDLE. Only when it is vulnerable is the DoublePulsar
// implant pinged (TRANS2_SESSION_SETUP, MID 65; the implant answers with MID 81). Nothing else
// is sent: the check changes nothing on the server. A refused logon or tree connect leaves the
// verdict unknown with the refusal, never "not vulnerable". The session's NativeOS,
// NativeLanMan and PrimaryDomain go to r.SMB1.
//
// The check costs as few round trips as the host allows (ms17Conn, anonymousPeek): on an
// SMB1-only host it uses the SMB1 path's null session and IPC$ tree (one exchange: the peek);
// elsewhere the smb1 stage's negotiated connection, the logon carrying the tree connect and the
// peek as AndX follow-ons (two exchanges with extended security, one without).
func stageMS17010(ctx context.Context, s *Session, r *Result) error {
	who := "anonymous"
	if s.Opts.Credentials != nil {
		who = "credentialed"
	}
	c, kind, err := s.ms17Conn(ctx)
	if err != nil {
		ms17Unknown(r, "could not connect for the SMB1 session: "+err.Error(), "")
		return err
	}
	if kind == ms17Shared {
		// The SMB1 path's connection: the check uses the null session's UID (anonymousPeek),
		// then gives the connection back as it was.
		prev := c.UID()
		defer func() { _ = c.UseUID(prev) }()
	}
	p, err := s.ms17Peek(ctx, c, kind == ms17Shared, r)
	if kind == ms17Kept && p.Exchanges <= 1 && Classify(err) == StatusConnectionReset {
		// The smb1 stage's connection was closed while it waited: once more on a new one.
		_ = c.Close()
		if c, err = s.dialNegotiatedSMB1(ctx); err != nil {
			ms17Unknown(r, "could not connect for the SMB1 session: "+err.Error(), "")
			return err
		}
		kind = ms17Own
		p, err = s.ms17Peek(ctx, c, false, r)
	}
	if kind != ms17Shared {
		defer c.Close()
	}
	if p.Session.Guest && s.Opts.Credentials != nil {
		who = "guest (the server mapped the credentials to guest)"
	}
	if err != nil {
		return ms17Failed(s, r, p, who, err)
	}
	return ms17Verdict(ctx, c, r, p, who)
}

// How the check got its connection (ms17Conn).
const (
	ms17Shared = iota // the SMB1 path's, with its null session
	ms17Kept          // the smb1 stage's, negotiated
	ms17Own           // a new one
)

// ms17Conn returns the connection the check runs on: the SMB1 path's (when it holds the null
// session an anonymous check can use), the smb1 stage's negotiated one, or a new one.
func (s *Session) ms17Conn(ctx context.Context) (*smb1conn.Conn, int, error) {
	if s.smb1c != nil && s.nullSession && s.Opts.Credentials == nil {
		return s.smb1c, ms17Shared, nil
	}
	if c := s.smb1Idle; c != nil {
		s.smb1Idle = nil
		return c, ms17Kept, nil
	}
	c, err := s.dialNegotiatedSMB1(ctx)
	return c, ms17Own, err
}

// dialNegotiatedSMB1 opens the check's own SMB1 connection and negotiates NT LM 0.12.
func (s *Session) dialNegotiatedSMB1(ctx context.Context) (*smb1conn.Conn, error) {
	c, err := s.dialSMB1(ctx, string(StageMS17010))
	if err != nil {
		return nil, err
	}
	if _, err := c.Negotiate(ctx); err != nil {
		_ = c.Close()
		return nil, ms17Refusal(err, "SMB1 NEGOTIATE")
	}
	return c, nil
}

// ms17Peek runs the check's requests on c: with the configured credentials, or anonymously
// (shared: on the SMB1 path's connection, with the null session).
func (s *Session) ms17Peek(ctx context.Context, c *smb1conn.Conn, shared bool, r *Result) (smb1conn.IPCPeek, error) {
	if s.Opts.Credentials != nil {
		return s.credentialedPeek(ctx, c, r)
	}
	return s.anonymousPeek(ctx, c, shared, r)
}

// anonymousPeek peeks as anonymous: on the shared connection with the null session's UID (and
// its IPC$ tree when the tree stage connected one), else logging on in the same chain.
func (s *Session) anonymousPeek(ctx context.Context, c *smb1conn.Conn, shared bool, r *Result) (smb1conn.IPCPeek, error) {
	if !shared {
		p, err := c.PeekIPC(ctx, true)
		recordSMB1Logon(r, p.Session)
		return p, err
	}
	if err := c.UseUID(s.nullUID); err != nil {
		return smb1conn.IPCPeek{}, err
	}
	if !s.hasIPC {
		return c.PeekIPC(ctx, false)
	}
	p := smb1conn.IPCPeek{TID: uint16(s.ipcTree), Exchanges: 1}
	var err error
	p.Status, p.NTStatus, err = c.PeekNamedPipe(ctx, p.TID, 0)
	return p, err
}

// credentialedPeek logs on with the configured credentials, connects IPC$ and peeks, one
// request each (a signed session's replies are verified one by one).
func (s *Session) credentialedPeek(ctx context.Context, c *smb1conn.Conn, r *Result) (smb1conn.IPCPeek, error) {
	cred := s.Opts.Credentials
	id := smb1conn.Identity{Kind: smb1conn.User, User: cred.User, Domain: cred.Domain, Password: cred.Password, NTHash: cred.NTHash}
	var p smb1conn.IPCPeek
	var err error
	if p.Session, err = c.SessionSetup(ctx, id); err != nil {
		p.Failed = smb1.CommandSessionSetupAndX
		return p, err
	}
	recordSMB1Logon(r, p.Session)
	tree, err := c.TreeConnect(ctx, "IPC$")
	if err != nil {
		p.Failed = smb1.CommandTreeConnectAndX
		return p, err
	}
	p.TID = tree.TID
	p.Status, p.NTStatus, err = c.PeekNamedPipe(ctx, p.TID, 0)
	return p, err
}

// recordSMB1Logon keeps an SMB1 logon's strings in r.SMB1.
func recordSMB1Logon(r *Result, sess smb1conn.Session) {
	if info := r.SMB1; info != nil && (sess.NativeOS != "" || sess.NativeLanMan != "") {
		info.NativeOS, info.NativeLanManager, info.PrimaryDomain = sess.NativeOS, sess.NativeLanMan, sess.PrimaryDomain
	}
}

// ms17Unknown records an unknown MS17-010 verdict.
func ms17Unknown(r *Result, reason, evidence string) {
	r.ms17010 = &verdict{state: StateUnknown, reason: "unknown: " + reason, evidence: evidence}
}

// ms17Failed records why the check could not decide: a refused logon or tree connect, or a
// peek without a usable answer.
func ms17Failed(s *Session, r *Result, p smb1conn.IPCPeek, who string, err error) error {
	hint := ""
	if s.Opts.Credentials == nil {
		hint = " (give credentials, -u, to run the check with a logon)"
	}
	switch p.Failed {
	case smb1.CommandSessionSetupAndX:
		ms17Unknown(r, "the "+who+" SMB1 SESSION_SETUP_ANDX was refused or failed, so TRANS_PEEK_NMPIPE could not be sent: "+err.Error()+hint, statusOf(err))
		return ms17Refusal(err, who+" SMB1 SESSION_SETUP_ANDX")
	case smb1.CommandTreeConnectAndX:
		ms17Unknown(r, "the SMB1 TREE_CONNECT_ANDX to IPC$ ("+who+" session) was refused or failed, so TRANS_PEEK_NMPIPE could not be sent: "+err.Error()+hint, statusOf(err))
		return ms17Refusal(err, "SMB1 TREE_CONNECT_ANDX to IPC$")
	}
	ms17Unknown(r, "TRANS_PEEK_NMPIPE on FID 0 got no usable answer: "+err.Error(), "")
	return err
}

// ms17Verdict decides from the peek's status, and pings DoublePulsar on a vulnerable host.
func ms17Verdict(ctx context.Context, c *smb1conn.Conn, r *Result, p smb1conn.IPCPeek, who string) error {
	if !p.NTStatus {
		ms17Unknown(r, "TRANS_PEEK_NMPIPE on FID 0 was answered with a DOS error, not an NT status", string(p.Status.AppendText(nil, false)))
		return nil
	}
	st := p.Status.NTStatus()
	evidence := "TRANS_PEEK_NMPIPE on FID 0 (" + who + " session, IPC$) answered " + ntText(st)
	switch st {
	case statusInsuffServerResources:
		r.ms17010 = &verdict{state: StateVulnerable, confidence: "high", evidence: evidence,
			reason: "the server answered TRANS_PEEK_NMPIPE on FID 0 with STATUS_INSUFF_SERVER_RESOURCES, as SMB1 servers without the MS17-010 fix (KB4013389) do: remote code execution (EternalBlue)"}
	case wire.StatusAccessDenied, wire.StatusInvalidHandle:
		r.ms17010 = &verdict{state: StateNotVulnerable, confidence: "high", evidence: evidence,
			reason: "the server answered TRANS_PEEK_NMPIPE on FID 0 with " + st.String() + ", as SMB1 servers with the MS17-010 fix (or never affected) do"}
		return nil
	default:
		ms17Unknown(r, "TRANS_PEEK_NMPIPE on FID 0 answered "+ntText(st)+", neither STATUS_INSUFF_SERVER_RESOURCES (vulnerable) nor STATUS_ACCESS_DENIED / STATUS_INVALID_HANDLE (patched)", evidence)
		return nil
	}
	return pingDoublePulsar(ctx, c, r, p.TID)
}

// pingDoublePulsar sends the implant's ping on the IPC$ tree of a vulnerable host.
func pingDoublePulsar(ctx context.Context, c *smb1conn.Conn, r *Result, tid uint16) error {
	ping, err := c.DoublePulsarPing(ctx, tid)
	if err != nil {
		r.doublePulsar = &verdict{state: StateUnknown, reason: "unknown: the DoublePulsar ping (TRANS2_SESSION_SETUP, MID 65) got no usable answer: " + err.Error()}
		return fmt.Errorf("DoublePulsar ping: %w", err)
	}
	evidence := fmt.Sprintf("TRANS2_SESSION_SETUP ping with MID %d answered with MID %d and %s", smb1conn.DoublePulsarPingMID, ping.MID, ping.Status.AppendText(nil, ping.NTStatus))
	if ping.MID == smb1conn.DoublePulsarPingMID+16 {
		r.doublePulsar = &verdict{state: StateVulnerable, confidence: "high", evidence: evidence,
			reason: "the DoublePulsar implant answered its ping (reply MID 81 to MID 65): the host is compromised"}
	} else {
		r.doublePulsar = &verdict{state: StateNotVulnerable, confidence: "high", evidence: evidence,
			reason: "no DoublePulsar implant: the ping's reply kept MID " + strconv.Itoa(int(ping.MID)) + " (the implant answers with MID 81)"}
	}
	return nil
}

// statusOf returns the NT status in err's chain as text, "" without one.
func statusOf(err error) string {
	var st wire.NTStatus
	if errors.As(err, &st) {
		return ntText(st)
	}
	var dos smb1.DOSError
	if errors.As(err, &dos) {
		return dos.Error()
	}
	return ""
}

// ms17Refusal records a server's NT refusal as the stage's failure (stages.ms17010 says which
// status), other errors as they are.
func ms17Refusal(err error, what string) error {
	var st wire.NTStatus
	if errors.As(err, &st) {
		return refusal(st, what)
	}
	return err
}
