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

// stageMS17010 checks for MS17-010 (CVE-2017-0143 to 0148, "EternalBlue") on its own SMB1
// connection, as nmap's smb-vuln-ms17-010 and the public write-ups do: NEGOTIATE NT LM 0.12,
// SESSION_SETUP_ANDX (anonymous, or the configured credentials), TREE_CONNECT_ANDX to IPC$, and
// one SMB_COM_TRANSACTION TRANS_PEEK_NMPIPE on FID 0. An unpatched server answers
// STATUS_INSUFF_SERVER_RESOURCES; a patched one STATUS_ACCESS_DENIED or STATUS_INVALID_HANDLE.
// Only when it is vulnerable is the DoublePulsar implant pinged (TRANS2_SESSION_SETUP, MID 65;
// the implant answers with MID 81). Nothing else is sent: the check changes nothing on the
// server. A refused logon or tree connect leaves the verdict unknown with the refusal, never
// "not vulnerable". The session's NativeOS, NativeLanMan and PrimaryDomain go to r.SMB1.
func stageMS17010(ctx context.Context, s *Session, r *Result) error {
	unknown := func(reason, evidence string) {
		r.ms17010 = &verdict{state: StateUnknown, reason: "unknown: " + reason, evidence: evidence}
	}
	c, err := s.dialSMB1(ctx, string(StageMS17010))
	if err != nil {
		unknown("could not connect for the SMB1 session: "+err.Error(), "")
		return err
	}
	defer c.Close()
	if _, err := c.Negotiate(ctx); err != nil {
		unknown("the SMB1 NEGOTIATE of the check failed: "+err.Error(), "")
		return ms17Refusal(err, "SMB1 NEGOTIATE")
	}
	id, who := smb1conn.Identity{Kind: smb1conn.Anonymous}, "anonymous"
	if cred := s.Opts.Credentials; cred != nil {
		id = smb1conn.Identity{Kind: smb1conn.User, User: cred.User, Domain: cred.Domain, Password: cred.Password, NTHash: cred.NTHash}
		who = "credentialed"
	}
	sess, err := c.SessionSetup(ctx, id)
	if err != nil {
		hint := ""
		if s.Opts.Credentials == nil {
			hint = " (give credentials, -u, to run the check with a logon)"
		}
		unknown("the "+who+" SMB1 SESSION_SETUP_ANDX was refused or failed, so TRANS_PEEK_NMPIPE could not be sent: "+err.Error()+hint, statusOf(err))
		return ms17Refusal(err, who+" SMB1 SESSION_SETUP_ANDX")
	}
	if sess.Guest && s.Opts.Credentials != nil {
		who = "guest (the server mapped the credentials to guest)"
	}
	if info := r.SMB1; info != nil {
		info.NativeOS, info.NativeLanManager, info.PrimaryDomain = sess.NativeOS, sess.NativeLanMan, sess.PrimaryDomain
	}
	tree, err := c.TreeConnect(ctx, "IPC$")
	if err != nil {
		hint := ""
		if s.Opts.Credentials == nil {
			hint = " (give credentials, -u, to run the check with a logon)"
		}
		unknown("the SMB1 TREE_CONNECT_ANDX to IPC$ ("+who+" session) was refused or failed, so TRANS_PEEK_NMPIPE could not be sent: "+err.Error()+hint, statusOf(err))
		return ms17Refusal(err, "SMB1 TREE_CONNECT_ANDX to IPC$")
	}
	raw, isNT, err := c.PeekNamedPipe(ctx, tree.TID, 0)
	if err != nil {
		unknown("TRANS_PEEK_NMPIPE on FID 0 got no usable answer: "+err.Error(), "")
		return err
	}
	if !isNT {
		unknown("TRANS_PEEK_NMPIPE on FID 0 was answered with a DOS error, not an NT status", string(raw.AppendText(nil, false)))
		return nil
	}
	st := raw.NTStatus()
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
		unknown("TRANS_PEEK_NMPIPE on FID 0 answered "+ntText(st)+", neither STATUS_INSUFF_SERVER_RESOURCES (vulnerable) nor STATUS_ACCESS_DENIED / STATUS_INVALID_HANDLE (patched)", evidence)
		return nil
	}
	ping, err := c.DoublePulsarPing(ctx, tree.TID)
	if err != nil {
		r.doublePulsar = &verdict{state: StateUnknown, reason: "unknown: the DoublePulsar ping (TRANS2_SESSION_SETUP, MID 65) got no usable answer: " + err.Error()}
		return fmt.Errorf("DoublePulsar ping: %w", err)
	}
	evidence = fmt.Sprintf("TRANS2_SESSION_SETUP ping with MID %d answered with MID %d and %s", smb1conn.DoublePulsarPingMID, ping.MID, ping.Status.AppendText(nil, ping.NTStatus))
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
