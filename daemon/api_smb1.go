package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/transport/smb1conn"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// The anonymous endpoints over SMB1 (/api/smb/connect, session, tree, stat and the anonymous
// /api/cifs/stat): when the request says "smb1": true, or the SMB2 NEGOTIATE of the probe was
// answered by a closed or reset connection (the server does not speak SMB2), the endpoint's
// answer comes from an SMB1 connection of its own (client.SMB1Client: NT LM 0.12 NEGOTIATE,
// null session, TREE_CONNECT_ANDX, TRANS2 QUERY_PATH_INFORMATION) within the rest of the
// request's budget. The responses keep their fields and say "protocol": "smb1".

// smb1Wanted reports whether an anonymous endpoint answers over SMB1: the request asked for
// it, or the SMB2 NEGOTIATE got no SMB2 answer while the host did answer something (the
// connection was reset or closed, an SMB1 reply came, or a stage found SMB1). A refused,
// silent or non-SMB port is not tried again.
func smb1Wanted(pr *probeRun) bool {
	if pr.req.SMB1 != nil && *pr.req.SMB1 {
		return true
	}
	if pr.res.Negotiate != nil {
		return false
	}
	st, ok := pr.res.Stages[probes.StageNegotiate]
	if !ok || st.Status == probes.StageOK {
		return false
	}
	switch pr.res.Status {
	case probes.StatusConnectionReset, probes.StatusProtocolError, probes.StatusSMB:
		return true
	}
	return false
}

// smb1Anon is one anonymous SMB1 connection of a request.
type smb1Anon struct {
	ctx    context.Context
	cancel context.CancelFunc
	c      *client.SMB1Client
	// negErr is the failure of the connection or the SMB1 NEGOTIATE (the server does not speak
	// SMB1 either); sessErr that of the null session.
	negErr, sessErr error
	sess            smb1conn.Session
	release         func()
}

// openSMB1Anon connects, negotiates SMB1 and, when logon is set, opens the null session, all
// within the request's budget (and a slot of the hosts budget). The caller must call close.
func (s *apiServer) openSMB1Anon(r *http.Request, pr *probeRun, logon bool) *smb1Anon {
	a := &smb1Anon{}
	a.ctx, a.cancel = context.WithDeadline(r.Context(), pr.deadline)
	stop := context.AfterFunc(s.d.shutdown, a.cancel)
	prev := a.cancel
	a.cancel = func() { stop(); prev() }
	release, e := s.hostSlot(a.ctx)
	if e != nil {
		a.negErr = errors.New(e.msg)
		return a
	}
	a.release = release
	addr := net.JoinHostPort(pr.target.Addr.String(), strconv.Itoa(int(pr.target.Port)))
	d := &scanner.Dialer{ConnectTimeout: time.Until(pr.deadline)}
	a.c, a.negErr = client.DialSMB1(a.ctx, d, addr, client.Options{})
	if a.negErr == nil && logon {
		a.sess, a.sessErr = a.c.LoginAnonymous(a.ctx)
	}
	return a
}

func (a *smb1Anon) close() {
	if a.c != nil {
		_ = a.c.Close()
	}
	if a.release != nil {
		a.release()
	}
	a.cancel()
}

// answer reports whether the SMB1 NEGOTIATE succeeded. When it did, c becomes the answer of
// the SMB1 exchange — the host spoke SMB (200), over SMB1 — with the text of a refused or
// failed null session as its error; otherwise the endpoint keeps its SMB2 answer.
func (a *smb1Anon) answer(pr *probeRun, c *common, start time.Time) bool {
	if a.negErr != nil {
		return false
	}
	c.Status, c.Protocol, c.Error = string(probes.StatusSMB), string(client.ProtocolSMB1), ""
	c.LatencyMs = time.Since(start).Milliseconds()
	pr.httpCode = http.StatusOK
	if a.sessErr != nil {
		c.Error = a.sessionFailure()
	}
	return true
}

// sessionFailure is the error text of a refused or failed null session.
func (a *smb1Anon) sessionFailure() string {
	var ce *client.Error
	if errors.As(a.sessErr, &ce) && ce.Status != 0 {
		return "anonymous session rejected: " + ce.Status.String()
	}
	return "anonymous session failed: " + a.sessErr.Error()
}

// share tree-connects name; on failure it returns the error text of the seed's form.
func (a *smb1Anon) share(name string) (*client.SMB1Share, string) {
	sh, err := a.c.TreeConnect(a.ctx, name)
	if err == nil {
		return sh, ""
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status != 0 {
		return nil, "TREE_CONNECT failed: " + ce.Status.String()
	}
	return nil, err.Error()
}

// smb1ShareType is the seed's share type of an SMB1 tree's Service.
func smb1ShareType(service string) string {
	switch service {
	case "A:":
		return "DISK"
	case "IPC":
		return "PIPE"
	case "LPT1:":
		return "PRINT"
	}
	return fmt.Sprintf("Unknown (%s)", service)
}

// smb1SessionFlags are the SMB2 SessionFlags bits the seed's sessionFlags field reports, for
// an SMB1 null session: IS_NULL, or IS_GUEST when the server made it a guest.
func smb1SessionFlags(s smb1conn.Session) uint16 {
	if s.Guest {
		return wire.SessionFlagIsGuest
	}
	return wire.SessionFlagIsNull
}

// smb1Connect answers /api/smb/connect over SMB1.
func (s *apiServer) smb1Connect(r *http.Request, pr *probeRun, resp *connectResponse, start time.Time) {
	a := s.openSMB1Anon(r, pr, false)
	defer a.close()
	if !a.answer(pr, &resp.common, start) {
		return
	}
	resp.Success, resp.Message = true, "SMB connection successful"
	resp.Dialect = seedSMB1Dialect
	resp.ServerResponse = "SMB1 negotiate successful — dialect: NT LM 0.12 (the server does not speak SMB2)"
}

// smb1Session answers /api/smb/session over SMB1.
func (s *apiServer) smb1Session(r *http.Request, pr *probeRun, resp *sessionResponse, start time.Time) {
	a := s.openSMB1Anon(r, pr, true)
	defer a.close()
	if !a.answer(pr, &resp.common, start) || a.sessErr != nil {
		return
	}
	resp.Success, resp.SessionID, resp.SessionFlags = true, sessionID(a.sess.UID), smb1SessionFlags(a.sess)
	resp.Anonymous, resp.Guest, resp.Encrypted = true, a.sess.Guest, false
}

// smb1Tree answers /api/smb/tree over SMB1.
func (s *apiServer) smb1Tree(r *http.Request, pr *probeRun, resp *treeResponse, start time.Time) {
	a := s.openSMB1Anon(r, pr, true)
	defer a.close()
	if !a.answer(pr, &resp.common, start) || a.sessErr != nil {
		return
	}
	resp.SessionID = sessionID(a.sess.UID)
	_, msg := a.share("IPC$")
	allowed := msg == ""
	resp.NullSessionAllowed = &allowed
	sh, msg := a.share(pr.share)
	if sh == nil {
		resp.Error = msg
		return
	}
	t := sh.Tree()
	resp.Success, resp.TreeID, resp.ShareType = true, uint32(t.TID), smb1ShareType(t.Service)
	resp.ShareFlags, resp.Capabilities = 0, 0
	if t.HasMaximalAccess {
		resp.MaximalAccess = fmt.Sprintf("0x%08x", t.MaximalAccess)
	}
}

// smb1Stat stats pr.path on pr.share over SMB1 (TRANS2 QUERY_PATH_INFORMATION); it returns the
// session and tree ids and fills the stat fields, or the error text.
func (s *apiServer) smb1Stat(r *http.Request, pr *probeRun, c *common, start time.Time) (sid sessionID, tid uint32, st *statFields, raw uint32, errMsg string, ok bool) {
	a := s.openSMB1Anon(r, pr, true)
	defer a.close()
	if !a.answer(pr, c, start) {
		return 0, 0, nil, 0, "", false
	}
	if a.sessErr != nil {
		return 0, 0, nil, 0, c.Error, true
	}
	sid = sessionID(a.sess.UID)
	sh, msg := a.share(pr.share)
	if sh == nil {
		return sid, 0, nil, 0, msg, true
	}
	tid = uint32(sh.Tree().TID)
	fi, err := sh.Stat(a.ctx, pr.path)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status != 0 {
			return sid, tid, nil, 0, "QUERY_PATH_INFORMATION failed: " + ce.Status.String(), true
		}
		return sid, tid, nil, 0, err.Error(), true
	}
	f := statFieldsOf(fi)
	return sid, tid, &f, fi.Attributes, "", true
}

// smb1CIFSNegotiate answers /api/cifs/negotiate over SMB1: the SMB1 NEGOTIATE's server GUID,
// capability names (CAP_*), system time, and the largest READ_ANDX/WRITE_ANDX as the sizes.
func (s *apiServer) smb1CIFSNegotiate(r *http.Request, pr *probeRun, resp *cifsNegotiateResponse, start time.Time) {
	t0 := time.Now()
	a := s.openSMB1Anon(r, pr, false)
	defer a.close()
	if !a.answer(pr, &resp.common, start) {
		return
	}
	neg := a.c.Negotiated()
	resp.Success, resp.Dialect = true, seedSMB1Dialect
	resp.TCPLatency = time.Since(t0).Milliseconds()
	resp.ServerGUID = wire.GUID(neg.ServerGUID).String()
	resp.Capabilities = smb1.AppendCapabilityNames([]string{}, neg.Capabilities)
	resp.MaxTransactSize = neg.MaxBufferSize
	resp.MaxReadSize, resp.MaxWriteSize = smb1IOSize(neg, smb1.CapLargeReadX), smb1IOSize(neg, smb1.CapLargeWriteX)
	if t, ok := wire.FiletimeToTime(neg.SystemTime); ok {
		u := t.UTC()
		resp.ServerTime = &u
	}
}
