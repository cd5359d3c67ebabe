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
	Name string
	// Needs lists stages that must have finished "ok" for this one to run.
	Needs []string
	// Gate, when set, decides from what earlier stages learned whether to run; a non-empty
	// reason skips the stage.
	Gate func(s *Session, r *Result) (skipReason string)
	// Timeout is the stage's own deadline inside the host's (0: the host deadline only).
	Timeout time.Duration
	Run     StageFunc
}

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
		Stages:    make(map[string]*StageResult, len(p.Stages)),
		Shares:    []Share{},
		Findings:  []Finding{},
	}
	s := &Session{Target: t, Opts: p.Opts}
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
		st := &p.Stages[i]
		sr := &StageResult{}
		r.Stages[st.Name] = sr
		if reason := p.skipReason(st, s, r); reason != "" {
			sr.Status, sr.Reason = StageSkipped, reason
			continue
		}
		if ctx.Err() != nil {
			sr.Status, sr.Reason = StageSkipped, "host deadline (-timeout) reached before this stage"
			if errors.Is(ctx.Err(), context.Canceled) {
				sr.Reason = "scan aborted before this stage"
			}
			continue
		}
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if st.Timeout > 0 {
			sctx, cancel = context.WithTimeout(ctx, st.Timeout)
		}
		t0 := p.Opts.now()
		s.flushCloses(sctx)
		err := st.Run(sctx, s, r)
		cancel()
		sr.DurationSeconds = p.Opts.now().Sub(t0).Seconds()
		s.record(st.Name, sr, err)
	}
	p.finish(s, r)
	return r
}

func (p *Pipeline) skipReason(st *Stage, s *Session, r *Result) string {
	for _, need := range st.Needs {
		prev, ok := r.Stages[need]
		switch {
		case !ok:
			return "needs stage " + need + ", which is not in the pipeline"
		case prev.Status != StageOK:
			return "needs " + need + ", which " + outcome(prev, s.errClass[need])
		}
	}
	if st.Gate != nil {
		return st.Gate(s, r)
	}
	return ""
}

// record files a stage's outcome: ok, failed (the server refused with an NT status) or error.
func (s *Session) record(stage string, sr *StageResult, err error) {
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
	if s.errClass == nil {
		s.errClass = make(map[string]Status, 2)
	}
	s.errClass[stage] = Classify(err)
	if s.firstErr == nil {
		s.firstErr, s.firstErrStage = err, stage
	}
}

// outcome says briefly how a stage that did not succeed ended, for skip reasons.
func outcome(prev *StageResult, class Status) string {
	switch prev.Status {
	case StageFailed:
		return "failed with " + prev.NTStatus
	case StageErrored:
		return "ended in error (" + string(class) + ")"
	case StageSkipped:
		return "was skipped"
	}
	return string(prev.Status)
}

// finish derives the host status and the findings from what the stages recorded.
func (p *Pipeline) finish(s *Session, r *Result) {
	switch {
	case s.spokeSMB:
		r.Status = StatusSMB
	case s.firstErr != nil:
		r.Status = Classify(s.firstErr)
		r.Error = s.firstErrStage + ": " + briefError(s.firstErr)
	default:
		r.Status = StatusError
		r.Error = "no stage reached the host"
	}
	evaluateFindings(r, p.Opts)
}

// Session is the per-host state stages share: connections and what earlier stages learned.
// Nothing in it outlives the host.
type Session struct {
	Target Target
	Opts   *Options

	conn          *transport.Conn   // the SMB2 connection shared by negotiate, session, tree, stat
	closes        []pendingClose    // handles to CLOSE before the connection's next use (closeLater)
	spokeSMB      bool              // some stage received a valid SMB reply
	firstErr      error             // first transport/protocol error, for the host status
	errClass      map[string]Status // status class of each stage that ended in error
	firstErrStage string

	// What negotiate learned.
	dialect      uint16
	securityMode uint16
	capabilities uint32
	maxRead      uint32
	maxWrite     uint32
	maxTransact  uint32

	// What the null session stage left.
	nullSession    bool   // SESSION_SETUP succeeded anonymously
	nullSessionID  uint64 // of the null session
	guestSession   bool   // SESSION_SETUP succeeded for a random user
	guestSessionID uint64
	guestIPC       uint32 // IPC$ tree of the guest session, 0 until connected
	ipcTree        uint32
	hasIPC         bool
	trees          map[string]uint32 // other shares tree-connected anonymously, by upper-case name

	// What the auth stage left: the credentialed client (own connection) and its share.
	auth      *client.Client
	authShare *client.Share
}

// dial opens a new connection to the target through the configured dialer.
func (s *Session) dial(ctx context.Context, name string) (*transport.Conn, error) {
	addr := net.JoinHostPort(s.Target.Addr.String(), strconv.Itoa(int(s.Target.Port)))
	nc, err := s.Opts.Dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	opts := transport.Options{MaxFrame: s.Opts.MaxFrame, NoSigning: true} // null and guest sessions are never signed; auth has its own connection
	if tr := s.Opts.Trace; tr != nil {
		t := s.Target
		opts.Trace = func(dir transport.Direction, msg []byte) { tr(t, name, dir, msg) }
	}
	return transport.New(ctx, nc, opts), nil
}

func (s *Session) close() {
	if s.auth != nil {
		_ = s.auth.Close() // TREE_DISCONNECT and LOGOFF, best effort
		s.auth = nil
	}
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
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

// Identities a share access record is filed under.
const (
	identityAnonymous = "anonymous"
	identityGuest     = "guest"
)

// useIdentity points the shared connection at the session of identity for the next requests.
func (s *Session) useIdentity(identity string) {
	switch identity {
	case identityAnonymous:
		s.conn.SessionID = s.nullSessionID
	case identityGuest:
		s.conn.SessionID = s.guestSessionID
	}
}
