package probes

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/wire"
)

// nbstatCapture is a real nmbd's NODE STATUS RESPONSE (Samba 4.17), with the transaction id
// to be patched.
func nbstatCapture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../wire/testdata/nmbd-4.17-nbstat-response.bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.NBStatResponse(b).Validate(); err != nil {
		t.Fatal(err)
	}
	return b
}

// withID returns a copy of resp answering transaction id.
func withID(resp []byte, id uint16) []byte {
	out := slices.Clone(resp)
	binary.BigEndian.PutUint16(out, id)
	return out
}

// countingObserver counts an NBStatSocket's events.
type countingObserver struct {
	mu       sync.Mutex
	first    int
	retries  int
	outcomes map[NBStatOutcome]int
}

func (o *countingObserver) NBStatQuery(retry bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if retry {
		o.retries++
	} else {
		o.first++
	}
}

func (o *countingObserver) NBStatDatagram(out NBStatOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.outcomes == nil {
		o.outcomes = map[NBStatOutcome]int{}
	}
	o.outcomes[out]++
}

func (o *countingObserver) snapshot() (int, int, map[NBStatOutcome]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[NBStatOutcome]int{}
	for k, v := range o.outcomes {
		m[k] = v
	}
	return o.first, o.retries, m
}

// responder is a scripted NetBIOS name service on a loopback address and a test-chosen port
// (137 needs root and may be nmbd's): handle sees each query with its arrival time.
type responder struct {
	pc *net.UDPConn
}

func listenUDP(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("cannot bind %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func startResponder(t *testing.T, addr string, handle func(pc *net.UDPConn, from netip.AddrPort, id uint16, n int)) *responder {
	t.Helper()
	return serveResponder(t, listenUDP(t, addr), handle)
}

func serveResponder(t *testing.T, pc *net.UDPConn, handle func(pc *net.UDPConn, from netip.AddrPort, id uint16, n int)) *responder {
	go func() {
		buf := make([]byte, 1500)
		for n := 1; ; n++ {
			k, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if k != wire.NBStatRequestSize {
				t.Errorf("query of %d bytes, want %d", k, wire.NBStatRequestSize)
				continue
			}
			handle(pc, from, binary.BigEndian.Uint16(buf), n)
		}
	}()
	return &responder{pc: pc}
}

func (r *responder) port() uint16 { return uint16(r.pc.LocalAddr().(*net.UDPAddr).Port) }

// nbstatOnly runs the nbstat stage alone for addr with the given socket.
func nbstatOnly(t *testing.T, sock *NBStatSocket, addr string) *Result {
	t.Helper()
	p, err := NewPipeline([]string{"nbstat"}, &Options{NBStat: sock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Run(ctx, Target{Addr: netip.MustParseAddr(addr), Port: 445})
}

func newTestSocket(t *testing.T, cfg NBStatConfig) *NBStatSocket {
	t.Helper()
	s, err := NewNBStatSocket(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestNBStatSocketMatchesIDAndSource: replies with another transaction id, or with the right
// id from another address or another port, are dropped and counted; the host's own answer that
// follows them is taken. A host that gets only such replies stays unanswered (null), never
// credited with another's names.
func TestNBStatSocketMatchesIDAndSource(t *testing.T) {
	resp := nbstatCapture(t)
	const good, silent, other = "127.0.0.61", "127.0.0.62", "127.0.0.63"
	var port uint16
	var forger, otherPort *net.UDPConn
	hostile := func(pc *net.UDPConn, from netip.AddrPort, id uint16, _ int) {
		_, _ = pc.WriteToUDPAddrPort(withID(resp, id^0x5a5a), from) // unknown id
		_, _ = forger.WriteToUDPAddrPort(withID(resp, id), from)    // right id, wrong address
		_, _ = otherPort.WriteToUDPAddrPort(withID(resp, id), from) // right id, wrong port
	}
	goodPC := listenUDP(t, good+":0")
	port = uint16(goodPC.LocalAddr().(*net.UDPAddr).Port)
	forger = listenUDP(t, netip.AddrPortFrom(netip.MustParseAddr(other), port).String())
	otherPort = listenUDP(t, good+":0")
	serveResponder(t, goodPC, func(pc *net.UDPConn, from netip.AddrPort, id uint16, n int) {
		hostile(pc, from, id, n)
		time.Sleep(20 * time.Millisecond) // the forgeries first
		_, _ = pc.WriteToUDPAddrPort(withID(resp, id), from)
	})
	startResponder(t, netip.AddrPortFrom(netip.MustParseAddr(silent), port).String(), hostile)

	obs := &countingObserver{}
	sock := newTestSocket(t, NBStatConfig{Port: port, Window: 400 * time.Millisecond, Observer: obs})
	var wg sync.WaitGroup
	var rGood, rSilent *Result
	wg.Go(func() { rGood = nbstatOnly(t, sock, good) })
	wg.Go(func() { rSilent = nbstatOnly(t, sock, silent) })
	wg.Wait()

	if nb := rGood.NBStat; nb == nil || nb.Answered == nil || !*nb.Answered || nb.ComputerName == nil || len(nb.Names) == 0 {
		t.Errorf("host with an answer: %+v", nb)
	}
	if nb := rSilent.NBStat; nb == nil || nb.Answered != nil || len(nb.Names) != 0 || !strings.Contains(nb.Evidence, "no NBSTAT answer") {
		t.Errorf("host with forged replies only: %+v", nb)
	}
	if st := rSilent.Stages["nbstat"]; st.Status != StageOK {
		t.Errorf("silent host's stage %+v, want ok (silence is no failure)", st)
	}
	first, retries, out := obs.snapshot()
	// good: one query, 1 unknown id + 2 wrong source, then the answer. silent: two queries
	// (the retry), each drawing 1 unknown id + 2 wrong source.
	if first != 2 || retries != 1 {
		t.Errorf("queries: %d first, %d retries; want 2 and 1", first, retries)
	}
	if out[NBStatAnswer] != 1 || out[NBStatUnmatched] != 3 || out[NBStatWrongSource] != 6 {
		t.Errorf("outcomes %v, want 1 answer, 3 unmatched, 6 wrong_source", out)
	}
	sock.mu.Lock()
	left := len(sock.pending)
	sock.mu.Unlock()
	if left != 0 {
		t.Errorf("%d queries still pending after the hosts ended", left)
	}
}

// TestNBStatSocketRetry: a query that goes unanswered is sent again halfway through the window,
// and the answer to the second is taken.
func TestNBStatSocketRetry(t *testing.T) {
	resp := nbstatCapture(t)
	var ids []uint16
	var mu sync.Mutex
	r := startResponder(t, "127.0.0.64:0", func(pc *net.UDPConn, from netip.AddrPort, id uint16, n int) {
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		if n >= 2 {
			_, _ = pc.WriteToUDPAddrPort(withID(resp, id), from)
		}
	})
	obs := &countingObserver{}
	sock := newTestSocket(t, NBStatConfig{Port: r.port(), Window: 400 * time.Millisecond, Observer: obs})
	start := time.Now()
	res := nbstatOnly(t, sock, "127.0.0.64")
	took := time.Since(start)
	if nb := res.NBStat; nb == nil || nb.Answered == nil || !*nb.Answered {
		t.Fatalf("nbstat %+v", nb)
	}
	if took < 190*time.Millisecond || took > 400*time.Millisecond {
		t.Errorf("answered after %s, want about 200 ms (the retry at half the window)", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("queries with ids %v, want the same id twice", ids)
	}
	if first, retries, _ := obs.snapshot(); first != 1 || retries != 1 {
		t.Errorf("%d first, %d retries", first, retries)
	}
}

// TestNBStatSocketUnreachable: on Linux the unconnected socket learns of the ICMP port
// unreachable of a host without a name service and ends its wait at once: answered false.
func TestNBStatSocketUnreachable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("IP_RECVERR is Linux's")
	}
	pc := listenUDP(t, "127.0.0.65:0")
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	pc.Close() // nothing listens there now
	obs := &countingObserver{}
	sock := newTestSocket(t, NBStatConfig{Port: port, Observer: obs})
	// Several hosts at once: each ICMP error reaches its own query.
	var wg sync.WaitGroup
	results := make([]*Result, 4)
	start := time.Now()
	for i := range results {
		wg.Go(func() { results[i] = nbstatOnly(t, sock, netip.AddrFrom4([4]byte{127, 0, 0, byte(66 + i)}).String()) })
	}
	wg.Wait()
	took := time.Since(start)
	for i, r := range results {
		if nb := r.NBStat; nb == nil || nb.Answered == nil || *nb.Answered || !strings.Contains(nb.Evidence, "unreachable") {
			t.Errorf("host %d: %+v", i, nb)
		}
	}
	if took > 300*time.Millisecond {
		t.Errorf("took %s: the ICMP errors did not end the waits (window %s)", took, NBStatWindow)
	}
	if _, _, out := obs.snapshot(); out[NBStatUnreachable] != len(results) {
		t.Errorf("outcomes %v", out)
	}
}

// TestNBStatSocketPacing: with a limiter (-rl), the queries of hosts started together leave
// one per 1/rate, and each host's window starts with its own query, so every one is answered.
func TestNBStatSocketPacing(t *testing.T) {
	resp := nbstatCapture(t)
	const hosts, perSecond = 6, 20
	var mu sync.Mutex
	var arrivals []time.Time
	handle := func(pc *net.UDPConn, from netip.AddrPort, id uint16, _ int) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		_, _ = pc.WriteToUDPAddrPort(withID(resp, id), from)
	}
	first := startResponder(t, "127.0.0.71:0", handle)
	port := first.port()
	for i := 2; i <= hosts; i++ {
		startResponder(t, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(70 + i)}), port).String(), handle)
	}
	sock := newTestSocket(t, NBStatConfig{Port: port, Window: 300 * time.Millisecond, Limiter: rate.NewLimiter(perSecond, 1)})
	var wg sync.WaitGroup
	var answered atomic.Int32
	start := time.Now()
	for i := 1; i <= hosts; i++ {
		wg.Go(func() {
			r := nbstatOnly(t, sock, netip.AddrFrom4([4]byte{127, 0, 0, byte(70 + i)}).String())
			if nb := r.NBStat; nb != nil && nb.Answered != nil && *nb.Answered {
				answered.Add(1)
			}
		})
	}
	wg.Wait()
	if answered.Load() != hosts {
		t.Errorf("%d of %d hosts answered: a query delayed by the limiter must get its whole window", answered.Load(), hosts)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	if len(arrivals) != hosts {
		t.Fatalf("%d queries arrived, want %d (no retry needed)", len(arrivals), hosts)
	}
	// The limiter never lets a query leave early (a late timer only delays it): the i-th
	// arrives at least i/rate after the hosts started.
	for i := 1; i < len(arrivals); i++ {
		if at, want := arrivals[i].Sub(start), time.Duration(i)*time.Second/perSecond-5*time.Millisecond; at < want {
			t.Errorf("query %d arrived %s after the start, want at least %s at %d/s", i, at, want, perSecond)
		}
	}
}

// TestNBStatSocketClose: Close ends the reader and the timers of queries in flight; a query
// after Close is refused, and a host's own socket (no sweep socket) goes with the host.
func TestNBStatSocketClose(t *testing.T) {
	base := runtime.NumGoroutine()
	sock, err := NewNBStatSocket(NBStatConfig{Port: 9, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sock.query(netip.MustParseAddr("127.0.0.79")); err != nil {
		t.Fatal(err)
	}
	if err := sock.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sock.query(netip.MustParseAddr("127.0.0.79")); err == nil {
		t.Error("query after Close accepted")
	}
	// A pipeline without a sweep socket: the host's own socket is closed with the host.
	r := nbstatOnly(t, nil, "127.0.0.80")
	if r.NBStat == nil {
		t.Fatal("no nbstat record")
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines, %d before:\n%s", g, base, buf[:runtime.Stack(buf, true)])
	}
}

// TestRecheckKeepsNBStat: the recheck of a host whose TCP port timed out (or reset) does not
// query UDP 137 again when the first look finished its nbstat stage (a silent host would cost
// the whole window again, in the recheck's few slots); it keeps that look, and derives the
// findings from it. A first look without a finished nbstat stage is asked again.
func TestRecheckKeepsNBStat(t *testing.T) {
	var queries atomic.Int32
	r := startResponder(t, "127.0.0.81:0", func(*net.UDPConn, netip.AddrPort, uint16, int) { queries.Add(1) })
	sock := newTestSocket(t, NBStatConfig{Port: r.port(), Window: 200 * time.Millisecond})
	var d net.Dialer
	p, err := NewPipeline([]string{"negotiate", "nbstat"}, &Options{NBStat: sock, Dialer: &d})
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Addr: netip.MustParseAddr("127.0.0.81"), Port: 1} // TCP refused
	ctx := context.Background()
	first := p.Run(ctx, target)
	if queries.Load() == 0 || first.NBStat == nil || first.Stages["nbstat"].Status != StageOK {
		t.Fatalf("first look: %d queries, nbstat %+v", queries.Load(), first.NBStat)
	}
	first.NBStat.Evidence = "kept from the first look"
	first.NBStat.Answered = Bool(true)
	first.NBStat.Names = []NBStatName{{Name: "CORP", Suffix: "0x1c", Group: true}}
	before := queries.Load()
	again := p.Recheck(ctx, target, first)
	if n := queries.Load() - before; n != 0 {
		t.Errorf("the recheck sent %d NBSTAT queries, want 0", n)
	}
	if again.NBStat == nil || again.NBStat.Evidence != "kept from the first look" || again.Stages["nbstat"] == nil {
		t.Errorf("recheck record: nbstat %+v, stages %v", again.NBStat, again.Stages)
	}
	if dc := again.DomainController; dc == nil || dc.Value == nil || !*dc.Value {
		t.Errorf("findings not derived from the kept look: domain_controller %+v", dc)
	}
	if again.Status != StatusConnectionRefused || again.Stages["negotiate"] == nil {
		t.Errorf("recheck: status %s, stages %v", again.Status, again.Stages)
	}
	// Without a finished nbstat look, the recheck asks.
	delete(first.Stages, "nbstat")
	before = queries.Load()
	p.Recheck(ctx, target, first)
	if queries.Load() == before {
		t.Error("a recheck without an earlier nbstat look sent no query")
	}
}

// TestNBStatPrequery: a query sent by Prequery (when the host's connection is first
// attempted) is the one the host's probe waits for: no second query, and an answer that came
// before the probe started is there at once.
func TestNBStatPrequery(t *testing.T) {
	resp := nbstatCapture(t)
	var queries atomic.Int32
	r := startResponder(t, "127.0.0.82:0", func(pc *net.UDPConn, from netip.AddrPort, id uint16, _ int) {
		queries.Add(1)
		_, _ = pc.WriteToUDPAddrPort(withID(resp, id), from)
	})
	sock := newTestSocket(t, NBStatConfig{Port: r.port(), Window: 300 * time.Millisecond})
	sock.Prequery(netip.MustParseAddr("127.0.0.82"))
	time.Sleep(400 * time.Millisecond) // the probe starts after the window (a slow connect)
	start := time.Now()
	res := nbstatOnly(t, sock, "127.0.0.82")
	if nb := res.NBStat; nb == nil || nb.Answered == nil || !*nb.Answered {
		t.Fatalf("nbstat %+v", nb)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("the probe waited %s for an answer already there", took)
	}
	if n := queries.Load(); n != 1 {
		t.Errorf("%d queries, want 1 (the probe claims the early one)", n)
	}
	sock.mu.Lock()
	defer sock.mu.Unlock()
	if len(sock.early) != 0 || len(sock.pending) != 0 {
		t.Errorf("early %v, pending %d after the host ended", sock.early, len(sock.pending))
	}
}

// TestNBStatAnswerKeptAfterDeadline: a host whose TCP port accepts and never answers uses its
// whole deadline on negotiate; the NBSTAT answer that came meanwhile is still recorded (the
// stage only collects, so the deadline does not skip it), not reported as "host deadline
// reached before this stage".
func TestNBStatAnswerKeptAfterDeadline(t *testing.T) {
	resp := nbstatCapture(t)
	const host = "127.0.0.84"
	r := startResponder(t, host+":0", func(pc *net.UDPConn, from netip.AddrPort, id uint16, _ int) {
		_, _ = pc.WriteToUDPAddrPort(withID(resp, id), from)
	})
	silent, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	sock := newTestSocket(t, NBStatConfig{Port: r.port(), Window: time.Second})
	var d net.Dialer
	p, err := NewPipeline([]string{"negotiate", "nbstat"}, &Options{NBStat: sock, Dialer: &d})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := p.Run(ctx, Target{Addr: netip.MustParseAddr(host), Port: uint16(silent.Addr().(*net.TCPAddr).Port)})
	if res.Status != StatusIOTimeout {
		t.Errorf("status %s, want io-timeout", res.Status)
	}
	if st := res.Stages["nbstat"]; st == nil || st.Status != StageOK {
		t.Fatalf("nbstat stage %+v, want ok", st)
	}
	if nb := res.NBStat; nb == nil || nb.Answered == nil || !*nb.Answered || len(nb.Names) == 0 {
		t.Errorf("the answer that came before the deadline was lost: %+v", nb)
	}
}
