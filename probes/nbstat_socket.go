package probes

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/wire"
)

// NBStatSocket is the one UDP socket of a sweep's NBSTAT queries (RFC 1002 4.2.17): every
// host's NODE STATUS REQUEST leaves from it, paced by a rate limiter, and one reader goroutine
// hands each answer to the query it belongs to. An answer is accepted only when both its
// transaction id (random, unique among the queries in flight) and its source (the queried
// address and port) match; anything else is dropped and counted. Each query is sent once more
// halfway through its window when no answer came. On Linux the socket asks for ICMP errors
// (IP_RECVERR), so a host without a name service (ICMP port unreachable) ends its wait at once
// although the socket is not connected.
//
// A sweep (scan, daemon job, API scan) opens one with NewNBStatSocket, puts it in the
// Options of its pipeline and closes it when the sweep ends; Close stops the reader and every
// timer. A pipeline run without one opens its own for the host.
type NBStatSocket struct {
	conn     *net.UDPConn
	port     uint16
	limiter  *rate.Limiter
	window   time.Duration
	observer NBStatObserver
	recvErr  bool // ICMP errors are read from the socket's error queue

	mu      sync.Mutex
	pending map[uint16]*nbstatQuery       // by transaction id
	early   map[netip.Addr][]*nbstatQuery // sent by Prequery, not yet claimed by a probe
	closed  bool

	readerDone chan struct{}
}

// NBStatConfig configures an NBStatSocket.
type NBStatConfig struct {
	// Port is the destination port of the queries (0: 137, the name service; tests use
	// another).
	Port uint16
	// Limiter paces the queries (retries included); nil sends at once. A sweep passes a
	// limiter of -rl's rate, its own: the queries do not take the TCP connections' tokens.
	Limiter *rate.Limiter
	// Window is how long after its query a host's answer is awaited (0: NBStatWindow); the
	// query is sent again once, halfway.
	Window time.Duration
	// Observer, when set, is told of every query sent and every datagram received.
	Observer NBStatObserver
}

// NBStatWindow is how long after its query the nbstat stage waits for the answer. The query
// goes out when the host's probe starts, so the TCP stages' time counts towards it.
const NBStatWindow = time.Second

// NBStatObserver counts what an NBStatSocket does (the scan metrics implement it). Its methods
// must be safe for concurrent use and must not block.
type NBStatObserver interface {
	// NBStatQuery is called for each query sent: retry is false for a host's first query.
	NBStatQuery(retry bool)
	// NBStatDatagram is called for each datagram or ICMP error received, with what became of it.
	NBStatDatagram(outcome NBStatOutcome)
}

// NBStatOutcome is what became of a datagram the NBSTAT socket received (a closed set, used as
// a metric label).
type NBStatOutcome string

// The outcomes of a received datagram.
const (
	NBStatAnswer      NBStatOutcome = "answer"       // accepted as a host's answer
	NBStatDuplicate   NBStatOutcome = "duplicate"    // a second answer (to the retry) of a host already answered
	NBStatUnreachable NBStatOutcome = "unreachable"  // ICMP destination unreachable for a query in flight
	NBStatWrongSource NBStatOutcome = "wrong_source" // the transaction id of a query in flight, from another address or port: dropped
	NBStatUnmatched   NBStatOutcome = "unmatched"    // no query in flight has its transaction id (forged, or too late): dropped
)

// NBStatOutcomes lists every outcome, for metric series that start at zero.
var NBStatOutcomes = []NBStatOutcome{NBStatAnswer, NBStatDuplicate, NBStatUnreachable, NBStatWrongSource, NBStatUnmatched}

// NewNBStatSocket opens the UDP socket (an ephemeral port on every IPv4 address) and starts
// its reader.
func NewNBStatSocket(cfg NBStatConfig) (*NBStatSocket, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return nil, fmt.Errorf("nbstat: open the UDP socket for NetBIOS name queries: %w", err)
	}
	s := &NBStatSocket{
		conn: conn, port: cfg.Port, limiter: cfg.Limiter, window: cfg.Window, observer: cfg.Observer,
		pending: make(map[uint16]*nbstatQuery), early: make(map[netip.Addr][]*nbstatQuery), readerDone: make(chan struct{}),
	}
	if s.port == 0 {
		s.port = wire.NBStatPort
	}
	if s.window <= 0 {
		s.window = NBStatWindow
	}
	s.recvErr = enableRecvErr(conn)
	go s.read()
	return s, nil
}

// Close closes the socket, waits for its reader to end and stops every pending query's timers.
func (s *NBStatSocket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, q := range s.pending {
		q.stopTimers()
	}
	s.mu.Unlock()
	err := s.conn.Close()
	<-s.readerDone
	return err
}

// Prequery sends the query of addr before its probe starts (a sweep calls it when the host's
// first TCP connection attempt starts, scanner.Config.Attempting), so that the window runs
// while the connection is awaited: a host whose SYN goes unanswered for seconds then costs its
// probe slot no NBSTAT wait. The host's probe claims the query (FIFO per address).
func (s *NBStatSocket) Prequery(addr netip.Addr) {
	addr = addr.Unmap()
	if !addr.Is4() {
		return
	}
	q, err := s.query(addr)
	if err != nil {
		return // the probe sends its own
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.early[addr] = append(s.early[addr], q)
}

// claim returns the oldest query Prequery sent to addr, or nil.
func (s *NBStatSocket) claim(addr netip.Addr) *nbstatQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.early[addr]
	if len(list) == 0 {
		return nil
	}
	q := list[0]
	if len(list) == 1 {
		delete(s.early, addr)
	} else {
		s.early[addr] = list[1:]
	}
	return q
}

// nbstatQuery is one host's NBSTAT query in flight.
type nbstatQuery struct {
	sock  *NBStatSocket
	addr  netip.Addr
	id    uint16
	until time.Time // end of the window: the first send's time plus the window

	// Guarded by sock.mu.
	sendRes  *rate.Reservation // the first send's, until it is made
	sendT    *time.Timer       // the first send, when the limiter delayed it
	retryT   *time.Timer
	sent     bool
	finished bool
	answer   []byte // the accepted answer (a copy)
	icmp     string // why the host is unreachable (ICMP), "" when not
	sendErr  error  // why no query could be sent
	done     chan struct{}
}

// query registers a query for addr and sends it (now, or when the limiter allows).
func (s *NBStatSocket) query(addr netip.Addr) (*nbstatQuery, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("nbstat: the sweep's UDP socket is closed")
	}
	if len(s.pending) >= 1<<15 {
		return nil, fmt.Errorf("nbstat: %d queries in flight, no free transaction id (lower -c)", len(s.pending))
	}
	q := &nbstatQuery{sock: s, addr: addr, done: make(chan struct{})}
	for {
		var b [2]byte
		_, _ = rand.Read(b[:])
		q.id = binary.BigEndian.Uint16(b[:])
		if _, taken := s.pending[q.id]; !taken {
			break
		}
	}
	s.pending[q.id] = q
	delay := time.Duration(0)
	if s.limiter != nil {
		q.sendRes = s.limiter.ReserveN(now, 1)
		if !q.sendRes.OK() {
			q.sendRes = nil // burst 0: no pacing possible, send at once
		} else {
			delay = q.sendRes.DelayFrom(now)
		}
	}
	q.until = now.Add(delay + s.window)
	if delay <= 0 {
		q.sendRes = nil
		s.sendLocked(q, false)
		return q, nil
	}
	q.sendT = time.AfterFunc(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !q.finished && !s.closed {
			q.sendRes = nil
			s.sendLocked(q, false)
		}
	})
	return q, nil
}

// sendLocked sends q's query (s.mu held) and, after the first, arms the retry halfway through
// the window.
func (s *NBStatSocket) sendLocked(q *nbstatQuery, retry bool) {
	var buf [wire.NBStatRequestSize]byte
	msg := wire.AppendNBStatRequest(buf[:0], q.id)
	to := netip.AddrPortFrom(q.addr, s.port)
	var err error
	// A socket with IP_RECVERR reports a pending ICMP error (of any earlier destination) on the
	// next send too, which then sends nothing: try again.
	for range 4 {
		if _, err = s.conn.WriteToUDPAddrPort(msg, to); err == nil || !asyncICMPError(err) {
			break
		}
	}
	if err != nil {
		if !retry && !q.finished {
			q.sendErr = err
			q.finishLocked()
		}
		return
	}
	if s.observer != nil {
		s.observer.NBStatQuery(retry)
	}
	if retry {
		return
	}
	q.sent = true
	q.retryT = time.AfterFunc(s.window/2, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if q.finished || s.closed {
			return
		}
		delay := time.Duration(0)
		if s.limiter != nil {
			if r := s.limiter.Reserve(); r.OK() {
				delay = r.Delay()
			}
		}
		if delay <= 0 {
			s.sendLocked(q, true)
			return
		}
		if time.Now().Add(delay).After(q.until) {
			return // the retry could not leave before the window ends
		}
		q.retryT = time.AfterFunc(delay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !q.finished && !s.closed {
				s.sendLocked(q, true)
			}
		})
	})
}

// asyncICMPError reports whether err is an ICMP error of an earlier datagram that a socket
// with IP_RECVERR reports on a later call.
func asyncICMPError(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTDOWN)
}

// finishLocked ends q's wait (s.mu held).
func (q *nbstatQuery) finishLocked() {
	if q.finished {
		return
	}
	q.finished = true
	q.stopTimers()
	close(q.done)
}

func (q *nbstatQuery) stopTimers() {
	if q.sendT != nil {
		q.sendT.Stop()
	}
	if q.retryT != nil {
		q.retryT.Stop()
	}
	if q.sendRes != nil {
		q.sendRes.Cancel() // the query never left: give its token back
		q.sendRes = nil
	}
}

// cancel forgets q (the host's probe ended): its id is free again and its timers stop.
func (q *nbstatQuery) cancel() {
	s := q.sock
	s.mu.Lock()
	defer s.mu.Unlock()
	q.finishLocked()
	if s.pending[q.id] == q {
		delete(s.pending, q.id)
	}
}

// nbstatOutcome is how a query's wait ended.
type nbstatOutcome struct {
	answer  []byte
	icmp    string
	sendErr error
	timeout bool // the window (or the host deadline) ended first
	sent    bool
}

// wait waits for q's answer until the end of its window or ctx.
func (q *nbstatQuery) wait(ctx context.Context) nbstatOutcome {
	t := time.NewTimer(time.Until(q.until))
	defer t.Stop()
	timeout := false
	select {
	case <-q.done:
	case <-t.C:
		timeout = true
	case <-ctx.Done():
		timeout = true
	}
	s := q.sock
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.answer != nil || q.icmp != "" || q.sendErr != nil {
		timeout = false
	}
	return nbstatOutcome{answer: q.answer, icmp: q.icmp, sendErr: q.sendErr, timeout: timeout, sent: q.sent}
}

// deliver hands a datagram from src to the query it answers, or drops it.
func (s *NBStatSocket) deliver(src netip.AddrPort, b []byte) {
	if len(b) < 2 {
		s.observe(NBStatUnmatched)
		return
	}
	id := binary.BigEndian.Uint16(b)
	s.mu.Lock()
	q := s.pending[id]
	outcome := NBStatUnmatched
	switch {
	case q == nil:
	case q.addr != src.Addr().Unmap() || src.Port() != s.port:
		outcome = NBStatWrongSource
	case q.answer != nil || q.finished:
		outcome = NBStatDuplicate
	default:
		outcome = NBStatAnswer
		q.answer = append([]byte(nil), b...)
		q.finishLocked()
	}
	s.mu.Unlock()
	s.observe(outcome)
}

// unreachable files an ICMP destination unreachable about the query with id sent to dst.
func (s *NBStatSocket) unreachable(dst netip.AddrPort, id uint16, why string) {
	s.mu.Lock()
	q := s.pending[id]
	outcome := NBStatUnmatched
	if q != nil && q.addr == dst.Addr().Unmap() && dst.Port() == s.port && !q.finished {
		outcome = NBStatUnreachable
		q.icmp = why
		q.finishLocked()
	}
	s.mu.Unlock()
	s.observe(outcome)
}

func (s *NBStatSocket) observe(o NBStatOutcome) {
	if s.observer != nil {
		s.observer.NBStatDatagram(o)
	}
}

// icmpUnreachableWhy words an ICMP destination unreachable code (RFC 792, RFC 1122).
func icmpUnreachableWhy(code uint8) string {
	switch code {
	case 0:
		return "network unreachable"
	case 1:
		return "host unreachable"
	case 3:
		return "port unreachable"
	case 9, 10, 13:
		return "administratively prohibited"
	}
	return fmt.Sprintf("destination unreachable (code %d)", code)
}

// WithNBStatSocket returns, when p has the nbstat stage, a copy of p whose hosts all send their
// queries from one new socket (cfg), and the function that closes it when the sweep ends;
// otherwise p itself and a no-op. p and its Options are not changed, so one pipeline can serve
// several sweeps, each with its own socket.
func (p *Pipeline) WithNBStatSocket(cfg NBStatConfig) (*Pipeline, func() error, error) {
	if p.stage(StageNBStat) == nil || p.Opts.NBStat != nil {
		return p, func() error { return nil }, nil
	}
	sock, err := NewNBStatSocket(cfg)
	if err != nil {
		return p, func() error { return nil }, err
	}
	opts := *p.Opts
	opts.NBStat = sock
	return &Pipeline{Stages: p.Stages, Opts: &opts}, sock.Close, nil
}
