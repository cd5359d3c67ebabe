// Package probes speaks SMB to one host through a transport.Conn: an ordered pipeline of
// stages, each func(ctx, *Session, *Result) error, sharing one SMB2 connection where the
// protocol allows. A stage failure is recorded in the Result; stages that need it are skipped
// with a reason.
package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/transport/smb1conn"
)

// Target is one host to probe.
type Target struct {
	Addr netip.Addr
	Port uint16
	Host string // the name as given, "" for a literal address
}

// String returns addr:port ([v6]:port).
func (t Target) String() string {
	return netip.AddrPortFrom(t.Addr, t.Port).String()
}

// Dialer opens TCP connections. scanner.Dialer (rate limit, connect retries) satisfies it.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Options configures what the stages do. One Options is shared, read-only, by every host.
type Options struct {
	Dialer Dialer
	// Shares are tree-connected by the tree stage in addition to IPC$.
	Shares []string
	// StatShare and StatPath select what the stat stage opens ("" path = share root).
	StatShare string
	StatPath  string
	// CheckWrite lets the access stage test write access by creating and removing a uniquely
	// named empty directory (intrusive; off by default).
	CheckWrite bool
	// SessionTimeout is the session stages' own deadline (failed logons may be delayed by the
	// server); 0 uses the host deadline alone.
	SessionTimeout time.Duration
	// Trace, when set, sees every SMB message of every connection (debug and golden capture),
	// the credentialed connection of auth, ls and read included (conn "auth"): its NTLM
	// AUTHENTICATE can be cracked offline, and on a signed (not encrypted) session the listings
	// and file content are in clear. Treat a trace of a credentialed scan like the password.
	Trace func(t Target, conn string, dir transport.Direction, msg []byte)
	// MaxFrame caps frames accepted from servers (0: transport.DefaultMaxFrame).
	MaxFrame int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	// Credentials, when set, are used by the auth stage for a credentialed logon (and then by
	// ls and read). Never printed: client.Credentials redacts its secret.
	Credentials *client.Credentials
	// Encrypt asks the auth stage to encrypt the credentialed session even when the server
	// does not require it.
	Encrypt bool
	// ListDepth and ListMaxEntries bound the ls stage (0 entries: 1000); ReadMaxBytes bounds
	// the read stage (0: 64 KiB). Both work on -path of the first -share (StatShare, StatPath).
	ListDepth      int
	ListMaxEntries int
	ReadMaxBytes   int64

	// ProbeShares are the share names the shareprobe stage tree-connects when SRVSVC gives no
	// share list (nil: DefaultProbeShares; at most MaxProbeShares are used).
	ProbeShares []string

	// EnumUsers lets stage lsa enumerate accounts by RID cycling (LsarLookupSids of the
	// account domain SID plus each RID of RIDFirst..RIDLast; 0, 0 means DefaultRIDFirst and
	// DefaultRIDLast). Off by default: account names are sensitive.
	EnumUsers         bool
	RIDFirst, RIDLast uint32
	// NBStat is the sweep's UDP socket for the nbstat stage's queries (one per sweep: sweep.Run
	// opens it); nil gives each host a socket of its own.
	NBStat *NBStatSocket
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// StageFunc is the one probe signature every stage has.
type StageFunc func(ctx context.Context, s *Session, r *Result) error

// Stage is one named step of a pipeline.
type Stage struct {
	Name StageName
	// Needs lists stages that must have finished "ok" for this one to run.
	Needs []StageName
	// Gate, when set, decides from what earlier stages learned whether to run; a non-empty
	// reason skips the stage.
	Gate func(s *Session, r *Result) (skipReason string)
	// Timeout is the stage's own deadline inside the host's (0: the host deadline only).
	Timeout time.Duration
	Run     StageFunc
	// Begin, when set, runs when the host's probe starts, before the first stage: a stage that
	// waits on the network in the background (nbstat's UDP query) starts there.
	Begin func(ctx context.Context, s *Session)

	// conn names the connection the stage works on (connSMB2, connSMB1, connDialects,
	// connAuth): stages of one connection share its session state, so a recheck runs them
	// together.
	conn string
	// uses lists the stages whose state or results the stage works with (the registry's needs
	// and uses), beyond Needs: a stage skipped because one of them got no answer is missing too.
	uses []StageName
	// smb1 marks a stage of the shared SMB2 connection that has an SMB1 path: on a host that
	// speaks SMB1 only (Session.smb1Only) it runs over the shared SMB1 connection instead, and
	// then belongs to connection group connSMB1 (connIn).
	smb1 bool
}

// connIn returns the connection group st worked on for record r: connSMB1 for a stage with an
// SMB1 path on a host that speaks SMB1 only (smb1.only), else st.conn.
func (st *Stage) connIn(r *Result) string {
	if st.smb1 && r.SMB1 != nil && r.SMB1.Only {
		return connSMB1
	}
	return st.conn
}

// Connections of the stages (Stage.conn).
const (
	connSMB2     = "smb2"     // negotiate's connection: sessions, trees, shares, access, stat
	connSMB1     = "smb1"     // the SMB1 NEGOTIATE's own connection
	connDialects = "dialects" // one connection per dialect and cipher offered
	connAuth     = "auth"     // the credentialed client's connection: auth, ls, read
	connNBStat   = "nbstat"   // the UDP socket of the NBSTAT query
)

// Pipeline runs stages in order against one host at a time; it is safe for concurrent use by
// many workers (all per-host state lives in the Session).
type Pipeline struct {
	Stages []Stage
	Opts   *Options
}

// Run probes t and returns its result. ctx carries the host deadline. Run never panics: a
// panic in a stage becomes an "error" result naming the stage.
func (p *Pipeline) Run(ctx context.Context, t Target) (r *Result) {
	start := p.Opts.now()
	r = &Result{
		Schema:    SchemaVersion,
		Type:      "host",
		IP:        t.Addr.String(),
		Host:      t.Host,
		Port:      t.Port,
		Timestamp: start.UTC(),
		Stages:    make(map[StageName]*StageResult, len(p.Stages)),
		Shares:    []Share{},
		Findings:  []Finding{},
	}
	s := &Session{Target: t, Opts: p.Opts, host: ctx}
	s.ms17Later, s.smb1PathLater = p.speaksSMB1Later()
	defer s.close()
	defer func() {
		if v := recover(); v != nil {
			r.Status = StatusError
			r.Error = fmt.Sprintf("internal error (panic) probing %s: %v", t, v)
			if p.Opts.Trace != nil {
				r.Error += "\n" + string(debug.Stack())
			}
		}
		r.DurationSeconds = p.Opts.now().Sub(start).Seconds()
	}()
	for i := range p.Stages {
		if b := p.Stages[i].Begin; b != nil {
			b(ctx, s)
		}
	}
	for i := range p.Stages {
		p.runStage(ctx, &p.Stages[i], s, r)
	}
	p.finish(s, r)
	return r
}

// runStage runs one stage, or records why it was skipped.
func (p *Pipeline) runStage(ctx context.Context, st *Stage, s *Session, r *Result) {
	sr := &StageResult{}
	r.Stages[st.Name] = sr
	if reason, class := p.skipReason(st, s, r); reason != "" {
		sr.Status, sr.Reason, sr.class = StageSkipped, reason, class
		return
	}
	// A stage that began with the host (Begin: its request left then) only collects what came
	// back, without a packet: it runs after the host deadline too, so that an answer that
	// arrived in time is not lost, and says itself when none came.
	if err := ctx.Err(); err != nil && (st.Begin == nil || !errors.Is(err, context.DeadlineExceeded)) {
		sr.Status, sr.Reason, sr.class = StageSkipped, "host deadline (-timeout) reached before this stage", StatusIOTimeout
		if errors.Is(err, context.Canceled) {
			sr.Reason, sr.class = "scan interrupted before this stage", StatusInterrupted
		}
		return
	}
	sctx, cancel := ctx, context.CancelFunc(func() {})
	if st.Timeout > 0 {
		sctx, cancel = context.WithTimeout(ctx, st.Timeout)
	}
	defer cancel()
	if st.smb1 && s.smb1Only {
		sr.Protocol = ProtocolSMB1
	}
	t0 := p.Opts.now()
	err := s.prepare(sctx, st)
	if err == nil {
		err = st.Run(sctx, s, r)
	}
	sr.DurationSeconds = p.Opts.now().Sub(t0).Seconds()
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		err = &interruptedError{err: err} // the abort, not the server, ended it
	}
	s.record(st.Name, sr, err)
	if sr.Status == StageSkipped && sr.class == "" {
		sr.class = waitedFor(r, st) // it found nothing to do because a stage it uses got no answer
	}
}

// interruptedError is a stage failure caused by the scan being interrupted (the host context
// cancelled): it says nothing about the server.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string { return "interrupted: " + e.err.Error() }
func (e *interruptedError) Unwrap() error { return e.err }

// skipReason says why st is not run (and the class of what it waited for, when that got no
// answer), or "" to run it.
func (p *Pipeline) skipReason(st *Stage, s *Session, r *Result) (string, Status) {
	if s.smb1Only && st.conn == connSMB2 && !st.smb1 && st.Name != StageNegotiate {
		return "the host speaks SMB1 only (negotiate: no SMB2), and this stage works over SMB2 only", ""
	}
	for _, need := range st.Needs {
		if need == StageNegotiate && st.smb1 && s.smb1Only {
			continue // the stage runs over SMB1 (stage_smb1path.go)
		}
		prev, ok := r.Stages[need]
		switch {
		case !ok:
			return "needs stage " + string(need) + ", which is not in the pipeline", ""
		case prev.Status != StageOK:
			return "needs " + string(need) + ", which " + outcome(prev), waitedFor(r, st)
		}
	}
	if st.Gate != nil {
		if reason := st.Gate(s, r); reason != "" {
			return reason, waitedFor(r, st)
		}
	}
	return "", ""
}

// waitedFor returns the class of the first stage st needs or uses that got no answer, "" when
// every one of them was answered (st is then skipped by the server's answer or by choice).
func waitedFor(r *Result, st *Stage) Status {
	for _, list := range [][]StageName{st.Needs, st.uses} {
		for _, name := range list {
			if prev, ok := r.Stages[name]; ok && prev.missing() {
				return prev.class
			}
		}
	}
	return ""
}

// record files a stage's outcome: ok, failed (the server refused with an NT status) or error.
func (s *Session) record(name StageName, sr *StageResult, err error) {
	stage := string(name)
	if err == nil {
		sr.Status = StageOK
		return
	}
	if errors.Is(err, errNotApplicable) {
		sr.Status, sr.Reason = StageSkipped, err.Error()
		return
	}
	var ref *ntRefusal
	if errors.As(err, &ref) {
		sr.Status, sr.NTStatus = StageFailed, ref.status.String()
		sr.Error = (&StageError{Stage: stage, Host: s.Target.String(), NTStatus: ref.status, HasNT: true, Err: errors.New(ref.what + " refused")}).Error()
		return
	}
	sr.Status = StageErrored
	sr.Error = (&StageError{Stage: stage, Host: s.Target.String(), Err: err}).Error()
	sr.class = Classify(err)
	if errors.As(err, new(*interruptedError)) {
		sr.class = StatusInterrupted
		s.interrupted = true
		return // not the host's answer: it decides nothing about the host status
	}
	if s.firstErr == nil {
		s.firstErr, s.firstErrStage = err, stage
	}
}

// outcome says briefly how a stage that did not succeed ended, for skip reasons.
func outcome(prev *StageResult) string {
	switch prev.Status {
	case StageFailed:
		return "failed with " + prev.NTStatus
	case StageErrored:
		if prev.class == "" && prev.Reason != "" {
			return "ended in error: " + prev.Reason
		}
		return "ended in error (" + string(prev.class) + ")"
	case StageSkipped:
		return "was skipped"
	}
	return string(prev.Status)
}

// finish derives the host status, the findings and the missing stages from what the stages
// recorded. A host whose probe an interrupt cut short is "interrupted" (what it answered before
// is kept), never a network status: it was not the host that stopped answering.
func (p *Pipeline) finish(s *Session, r *Result) {
	switch {
	case s.interrupted || cutShort(r):
		r.Status = StatusInterrupted
		r.Error = "scan interrupted before the probe of this host finished"
	case s.spokeSMB:
		r.Status = StatusSMB
	case s.firstErr != nil:
		r.Status = Classify(s.firstErr)
		r.Error = s.firstErrStage + ": " + briefError(s.firstErr)
	default:
		r.Status = StatusError
		r.Error = "no stage reached the host"
	}
	if nb := s.netbios; nb != nil {
		r.NetBIOSSession = &NetBIOSSessionInfo{Refused: nb.Refused, Retarget: nb.Retarget}
		if nb.Called != "" {
			r.NetBIOSSession.CalledName = &nb.Called
		}
	}
	p.conclude(r)
}

// cutShort reports whether an interrupt kept some stage from running or finishing.
func cutShort(r *Result) bool {
	for _, sr := range r.Stages {
		if sr.class == StatusInterrupted {
			return true
		}
	}
	return false
}

// conclude evaluates the findings and lists the missing stages of a record whose status is set.
func (p *Pipeline) conclude(r *Result) {
	r.Findings = r.Findings[:0]
	evaluateFindings(r, p.Opts)
	r.Incomplete = nil
	if r.Status != StatusSMB && r.Status != StatusInterrupted {
		return // the status itself says what is missing
	}
	for i := range p.Stages {
		if sr, ok := r.Stages[p.Stages[i].Name]; ok && sr.missing() {
			r.Incomplete = append(r.Incomplete, p.Stages[i].Name)
		}
	}
}

// Session is the per-host state stages share: connections and what earlier stages learned.
// Nothing in it outlives the host.
type Session struct {
	Target Target
	Opts   *Options

	conn          *transport.Conn           // the SMB2 connection shared by negotiate, session, tree, stat
	closes        []pendingClose            // handles to CLOSE before the connection's next use (closeLater)
	host          context.Context           // the host's context: connections are bound to it, not to a stage's
	reopens       int                       // times the shared connection was reopened (prepare)
	netbios       *transport.NetBIOSSession // port 139: the host's first NetBIOS session exchange
	nbstat        *nbstatProbe              // the NBSTAT query sent when the probe began
	netbiosCalled string                    // port 139: the called name the server accepted
	spokeSMB      bool                      // some stage received a valid SMB reply
	interrupted   bool                      // some stage was cut short by an interrupt (the host context cancelled)
	firstErr      error                     // first transport/protocol error, for the host status
	firstErrStage string

	// The SMB1 path (stage_smb1path.go): negotiate's SMB2 NEGOTIATE was answered by the server
	// closing the connection (noSMB2), and smb1 then found NT LM 0.12 accepted (smb1Only). The
	// session stages then share smb1c, one SMB1 connection, with the sessions' UIDs.
	noSMB2   bool
	smb1Only bool
	smb1c    *smb1conn.Conn
	nullUID  uint16
	guestUID uint16
	// smb1Idle is the smb1 stage's connection, negotiated (NT LM 0.12) and kept for the first
	// later stage that speaks SMB1 (ms17010; the SMB1 path on an SMB1-only host) when the
	// pipeline has one: it then costs no second TCP connection and NEGOTIATE.
	smb1Idle                 *smb1conn.Conn
	ms17Later, smb1PathLater bool

	// What negotiate learned.
	dialect      uint16
	securityMode uint16
	capabilities uint32
	maxRead      uint32
	maxWrite     uint32
	maxTransact  uint32

	// What the null session stage left.
	nullSession  bool               // SESSION_SETUP succeeded anonymously
	nullSMB2     *transport.Session // the null session on the shared SMB2 connection
	guestSession bool               // SESSION_SETUP succeeded for a random user
	guestSMB2    *transport.Session
	guestIPC     uint32 // IPC$ tree of the guest session, 0 until connected
	ipcTree      uint32
	hasIPC       bool
	trees        map[string]uint32 // other shares tree-connected anonymously, by upper-case name

	// What the auth stage left: the credentialed client (own connection) and its share.
	auth      *client.Client
	authShare *client.Share
}

// dial opens a new connection to the target through the configured dialer.
func (s *Session) dial(ctx context.Context, name string) (*transport.Conn, error) {
	nc, bind, trace, err := s.connectTraced(ctx, name)
	if err != nil {
		return nil, err
	}
	// Null and guest sessions are never signed; auth has its own connection.
	return transport.New(bind, nc, transport.Options{MaxFrame: s.Opts.MaxFrame, NoSigning: true, Trace: trace}), nil
}

// connectTraced connects to the target for a connection traced as name, and returns the context the
// connection is to be bound to (the host's: a stage's own deadline must not reach into later
// stages' use of the connection) and its tracer (nil without Options.Trace).
func (s *Session) connectTraced(ctx context.Context, name string) (net.Conn, context.Context, transport.Tracer, error) {
	nc, err := s.connect(ctx, net.JoinHostPort(s.Target.Addr.String(), strconv.Itoa(int(s.Target.Port))))
	if err != nil {
		return nil, nil, nil, err
	}
	var trace transport.Tracer
	if tr := s.Opts.Trace; tr != nil {
		t := s.Target
		trace = func(dir transport.Direction, msg []byte) { tr(t, name, dir, msg) }
	}
	bind := ctx
	if s.host != nil {
		bind = s.host
	}
	return nc, bind, trace, nil
}

// connect opens a TCP connection to addr; on the NetBIOS session service port (139) it
// establishes the NetBIOS session first, with the called name the server accepted before, or
// the target's name, *SMBSERVER and the address as a name (transport.DialNetBIOS). The first
// such exchange of the host is kept for the record.
func (s *Session) connect(ctx context.Context, addr string) (net.Conn, error) {
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		nc, err := s.Opts.Dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, &dialError{err: err}
		}
		return nc, nil
	}
	if s.Target.Port != transport.NetBIOSPort {
		return dial(ctx, addr)
	}
	known := s.netbiosCalled
	if known == "" && s.Target.Host != "" {
		if label, _, _ := strings.Cut(s.Target.Host, "."); len(label) <= 15 {
			known = label
		}
	}
	nc, info, err := transport.DialNetBIOS(ctx, dial, addr, transport.NetBIOSCalledNames(known, s.Target.Addr))
	if s.netbios == nil && (err == nil || len(info.Refused) > 0 || info.Retarget != "") {
		s.netbios = &info
	}
	if err == nil {
		s.netbiosCalled = info.Called
	}
	return nc, err
}

func (s *Session) close() {
	if s.nbstat != nil {
		s.nbstat.close()
	}
	if s.auth != nil {
		_ = s.auth.Close() // TREE_DISCONNECT and LOGOFF, best effort
		s.auth = nil
	}
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	if s.smb1c != nil {
		_ = s.smb1c.Close()
		s.smb1c = nil
	}
	if s.smb1Idle != nil {
		_ = s.smb1Idle.Close()
		s.smb1Idle = nil
	}
}

// speaksSMB1Later reports which stages after smb1 may speak SMB1: ms17010, and the stages
// with an SMB1 path.
func (p *Pipeline) speaksSMB1Later() (ms17, path bool) {
	for i := range p.Stages {
		ms17 = ms17 || p.Stages[i].Name == StageMS17010
		path = path || p.Stages[i].smb1
	}
	return ms17, path
}

func (s *Session) setTree(share string, tid uint32) {
	if s.trees == nil {
		s.trees = make(map[string]uint32, 2)
	}
	s.trees[strings.ToUpper(share)] = tid
}

func (s *Session) tree(share string) (uint32, bool) {
	if strings.EqualFold(share, "IPC$") && s.hasIPC {
		return s.ipcTree, true
	}
	tid, ok := s.trees[strings.ToUpper(share)]
	return tid, ok
}

// Identities a share access or RPC record is filed under: the null session, the guest
// mapping, the -u account (the auth stage's logon).
const (
	IdentityAnonymous = "anonymous"
	IdentityGuest     = "guest"
	IdentityUser      = "user"
)

// useIdentity points the shared connection at the session of identity for the next requests.
func (s *Session) useIdentity(identity string) {
	if s.smb1Only {
		s.useIdentitySMB1(identity)
		return
	}
	switch identity {
	case IdentityAnonymous:
		s.conn.Use(s.nullSMB2)
	case IdentityGuest:
		s.conn.Use(s.guestSMB2)
	}
}
