package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smbsweep/smbsweep/scanner"
)

// silentHosts listens on n loopback addresses (127.0.3.1 upwards) sharing one port, accepts and
// never answers; each connection is closed when its peer closes it, so the test's descriptors
// follow the daemon's. It returns the targets "127.0.3.i:port".
func silentHosts(t *testing.T, n int) []string {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		first, err := net.Listen("tcp4", "127.0.3.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		for i := 2; i <= n; i++ {
			ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.3.%d:%d", i, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < n {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		var wg sync.WaitGroup
		targets := make([]string, n)
		for i, ln := range lns {
			targets[i] = ln.Addr().String()
			wg.Go(func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					wg.Go(func() {
						_, _ = io.Copy(io.Discard, c)
						c.Close()
					})
				}
			})
		}
		t.Cleanup(func() {
			for _, ln := range lns {
				ln.Close()
			}
			wg.Wait()
		})
		return targets
	}
	t.Fatalf("no port free on 127.0.3.1-%d", n)
	return nil
}

func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ",")
}

func TestSlotPool(t *testing.T) {
	var p slotPool
	p.setLimit(2)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "w"})
	ctx := context.Background()
	for i := range 2 {
		if !p.acquire(ctx, g) {
			t.Fatalf("slot %d of two", i+1)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if p.acquire(short, g) {
		t.Fatal("a third slot of two")
	}
	// Waiters are served in order.
	order := make(chan int, 2)
	for i := 1; i <= 2; i++ {
		go func() {
			p.acquire(ctx, g)
			order <- i
		}()
		for testutil.ToFloat64(g) != float64(i) {
			time.Sleep(time.Millisecond)
		}
	}
	p.release()
	if first := <-order; first != 1 {
		t.Errorf("waiter %d served first", first)
	}
	// A smaller limit holds back the slots given back until the pool is under it.
	p.setLimit(1)
	p.release() // 2 in use of 1: not handed on
	select {
	case i := <-order:
		t.Fatalf("waiter %d served over the limit", i)
	case <-time.After(20 * time.Millisecond):
	}
	p.release() // 1 in use of 1: handed on, 1 in use
	if i := <-order; i != 2 || p.inUse() != 1 {
		t.Errorf("at the limit: waiter %d, %d in use", i, p.inUse())
	}
	// A larger limit serves a waiter at once.
	go func() {
		p.acquire(ctx, g)
		order <- 3
	}()
	for testutil.ToFloat64(g) != 1 {
		time.Sleep(time.Millisecond)
	}
	p.setLimit(2)
	if i := <-order; i != 3 || p.inUse() != 2 {
		t.Errorf("after growing: waiter %d, %d in use", i, p.inUse())
	}
}

// holdRoute adds a probe-like route whose handler blocks until release is closed.
func holdRoute(td *testDaemon) (entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 64), make(chan struct{})
	td.d.api.routes["/test/hold"] = &route{endpoint: "/test/hold", method: http.MethodGet, auth: true, limited: true,
		handler: func(w http.ResponseWriter, _ *http.Request) {
			entered <- struct{}{}
			<-release
			writeJSON(w, 200, map[string]any{"success": true})
		}}
	return entered, release
}

// serveFrom calls the API handler directly, as a connection from remote would.
func serveFrom(td *testDaemon, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/test/hold", nil)
	req.RemoteAddr = remote
	req.Host = DefaultListen
	rec := httptest.NewRecorder()
	td.d.api.ServeHTTP(rec, req)
	return rec
}

// TestGlobalRequestCap: max_concurrent_requests bounds the requests of all clients together,
// whatever their addresses (503, counted); per-client limits count an IPv6 client by its /64.
func TestGlobalRequestCap(t *testing.T) {
	td := newTestDaemon(t, "api:\n  max_concurrent_requests: 4\n  max_concurrent_per_client: 1\n", nil)
	entered, release := holdRoute(td)
	var wg sync.WaitGroup
	hold := func(remote string) {
		wg.Go(func() {
			if rec := serveFrom(td, remote); rec.Code != 200 {
				t.Errorf("%s: %d %s", remote, rec.Code, rec.Body)
			}
		})
		<-entered
	}
	for _, remote := range []string{"127.0.0.1:1000", "127.0.0.2:1000", "[2001:db8::1]:1000"} {
		hold(remote)
	}
	// The same /64 is the same client.
	rec := serveFrom(td, "[2001:db8::ffff:1]:2000")
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "too many concurrent requests from 2001:db8::/64 (api.max_concurrent_per_client is 1)") {
		t.Errorf("same /64: %d %s", rec.Code, rec.Body)
	}
	hold("127.0.0.3:1000")
	// A fifth client: over the global cap.
	rec = serveFrom(td, "127.0.0.9:1000")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
		!strings.Contains(rec.Body.String(), "the daemon is serving its limit of 4 probe and scan requests (api.max_concurrent_requests)") {
		t.Errorf("fifth client: %d %s", rec.Code, rec.Body)
	}
	close(release)
	wg.Wait()
	// Another /64 of the same /48 is another client.
	entered2, release2 := holdRoute(td)
	wg.Go(func() { serveFrom(td, "[2001:db8::1]:1000") })
	<-entered2
	wg.Go(func() {
		if rec := serveFrom(td, "[2001:db8:0:1::1]:1000"); rec.Code != 200 {
			t.Errorf("another /64: %d %s", rec.Code, rec.Body)
		}
	})
	<-entered2
	close(release2)
	wg.Wait()
	if n := testutil.ToFloat64(td.d.metrics.apiRejected.WithLabelValues(rejectServerBusy)); n != 1 {
		t.Errorf("server_busy %v", n)
	}
	if n := testutil.ToFloat64(td.d.metrics.apiRejected.WithLabelValues(rejectClientBusy)); n != 1 {
		t.Errorf("client_busy %v", n)
	}
}

// budgetUse is what budgetPeak saw: the most slots in use at once (read under the pool's lock),
// the most hosts each source had in flight, and whether any host waited for a slot.
type budgetUse struct {
	peak      int
	bySource  map[string]float64
	someWaits bool
}

// budgetPeak samples the hosts budget until stop is closed.
func budgetPeak(b *hostBudget, m *daemonMetrics, stop <-chan struct{}) budgetUse {
	u := budgetUse{bySource: map[string]float64{}}
	for {
		u.peak = max(u.peak, b.pool.inUse())
		for _, src := range hostSources {
			u.bySource[src] = max(u.bySource[src], testutil.ToFloat64(m.hostsInFlight.WithLabelValues(src)))
			if testutil.ToFloat64(m.hostsWaiting.WithLabelValues(src)) > 0 {
				u.someWaits = true
			}
		}
		select {
		case <-stop:
			return u
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestHostBudgetSharedByScansAndJobs: an API scan and a job run at once take their hosts from one
// budget (max_hosts_in_flight 3, 8 silent hosts); every host still gets its result.
func TestHostBudgetSharedByScansAndJobs(t *testing.T) {
	hosts := silentHosts(t, 8)
	dir := t.TempDir()
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\noutput_dir: %s\nmax_hosts_in_flight: 3\njobs:\n  - name: slow\n    targets: [%s]\n    schedule: \"@yearly\"\n    timeout: 400ms\n",
		dir, quoted(hosts[:4]))
	td := newTestDaemon(t, cfg, nil)
	job := td.d.config().Jobs[0]
	stop := make(chan struct{})
	var use budgetUse
	sampled := make(chan struct{})
	go func() {
		use = budgetPeak(td.d.budget, td.d.metrics, stop)
		close(sampled)
	}()
	var wg sync.WaitGroup
	var rep runReport
	wg.Go(func() {
		rep = td.d.runJob(context.Background(), context.Background(), job, td.d.metrics.addJob(job.Name, time.Hour))
	})
	var scan apiResult
	wg.Go(func() { scan = td.post(t, "/api/v1/scans", `{"targets":[`+quoted(hosts[4:])+`],"timeout":400}`) })
	wg.Wait()
	close(stop)
	<-sampled
	// Both sources took their hosts from the one budget, which was full and made hosts wait.
	if use.peak != 3 || !use.someWaits || use.bySource[sourceAPI] < 1 || use.bySource[sourceJobs] < 1 ||
		use.bySource[sourceAPI] > 3 || use.bySource[sourceJobs] > 3 {
		t.Errorf("budget of 3: %d slots in use at most, by source %v, waits %v", use.peak, use.bySource, use.someWaits)
	}
	if rep.Result != runSuccess || rep.Summary.Statuses["io-timeout"] != 4 {
		t.Errorf("job: %s %v %v", rep.Result, rep.Err, rep.Summary)
	}
	if scan.code != 200 || strings.Count(scan.body, `"status":"io-timeout"`) != 4 || !strings.Contains(scan.body, `"scanned":4`) {
		t.Errorf("scan: %d %s", scan.code, scan.body)
	}
	for _, src := range hostSources {
		if n := testutil.ToFloat64(td.d.metrics.hostsInFlight.WithLabelValues(src)); n != 0 {
			t.Errorf("%s hosts in flight after the end: %v", src, n)
		}
	}
}

// TestWriteTimeout: the server bounds writing a response (a client that does not read cannot hold
// a connection forever), while a scan stream that outlives that bound is not cut.
func TestWriteTimeout(t *testing.T) {
	hosts := silentHosts(t, 1)
	td := newTestDaemon(t, "listen: 127.0.0.1:0\n", nil)
	d := td.d
	d.writeTimeout = 400 * time.Millisecond
	addr, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		if d.srv.WriteTimeout != 400*time.Millisecond {
			t.Errorf("WriteTimeout %v", d.srv.WriteTimeout)
		}
	}()
	url := "http://" + addr.String()
	host, port, _ := net.SplitHostPort(hosts[0])
	post := func(path, body string) (int, string, error) {
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	// A single-host request answering after the write timeout: cut.
	code, body, err := post("/api/smb/negotiate", fmt.Sprintf(`{"host":%q,"port":%s,"timeout":900}`, host, port))
	if err == nil {
		t.Errorf("a response due after WriteTimeout was written: %d %s", code, body)
	}
	// A scan streaming for longer: whole, summary included.
	code, body, err = post("/api/v1/scans", fmt.Sprintf(`{"targets":[%q],"timeout":600}`, hosts[0]))
	if err != nil || code != 200 || !strings.Contains(body, `"type":"summary"`) || !strings.Contains(body, `"status":"io-timeout"`) {
		t.Errorf("scan stream: %d %v %s", code, err, body)
	}
	if httpWriteTimeout <= maxRequestTimeout {
		t.Errorf("default WriteTimeout %v cuts requests of the longest timeout %v", httpWriteTimeout, maxRequestTimeout)
	}
}

// fdCount is the number of open descriptors of this process.
func fdCount(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// rssBytes is this process's resident set size.
func rssBytes(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// loadRSSBudget is how much the resident set may grow under the load test: 100 streams, 1 600
// hosts queued, 16 in flight take about 15 MiB (87 MiB under the race detector, which multiplies
// memory); without the hosts budget, 1 600 hosts in flight took 72 MiB.
func loadRSSBudget() int64 {
	if raceEnabled {
		return 192 << 20
	}
	return 40 << 20
}

// TestLoadManyClients: 100 concurrent API scans from 100 loopback source addresses, each of 16
// silent hosts (1 600 hosts). The per-client limit does not bound them (one request each); the
// process-wide budget does: at most max_hosts_in_flight hosts in flight, descriptors within what
// that budget allows, RSS within loadRSSBudget, a 101st request refused, and /-/healthy
// answering throughout. Everything is released when the clients go.
func TestLoadManyClients(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	const (
		clients = 100
		budget  = 16
	)
	hosts := silentHosts(t, 16)
	dir := t.TempDir()
	path := filepath.Join(dir, "smbsweep.yml")
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\noutput_dir: %s\nmax_hosts_in_flight: %d\napi:\n  max_concurrent_requests: %d\n", dir, budget, clients)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{ConfigFile: path, Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopDaemon := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		stopDaemon()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := "http://" + addr.String()
	clientFrom := func(ip string) *http.Client {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	}
	runtime.GC()
	fd0, rss0 := fdCount(t), rssBytes(t)

	body := `{"targets":[` + quoted(hosts) + `],"timeout":1000}`
	reqCtx, cancelClients := context.WithCancel(context.Background())
	defer cancelClients()
	var wg sync.WaitGroup
	for i := range clients {
		c := clientFrom(fmt.Sprintf("127.0.1.%d", i+1))
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(reqCtx, http.MethodPost, url+"/api/v1/scans", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("client %d: %v", i, err)
				}
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("client %d: %d %s", i, resp.StatusCode, b)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		})
	}
	deadline := time.Now().Add(15 * time.Second)
	for testutil.ToFloat64(d.metrics.apiInFlight) < clients {
		if time.Now().After(deadline) {
			t.Fatalf("only %v of %d scans started", testutil.ToFloat64(d.metrics.apiInFlight), clients)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the scans parse, resolve and dispatch
	// The 101st concurrent request, from yet another address: over max_concurrent_requests.
	resp, err := clientFrom("127.0.2.1").Post(url+"/api/v1/scans", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("request %d: %d, want 503", clients+1, resp.StatusCode)
	}

	// Watch for 2 s while the hosts time out and the next ones take their slots.
	health := clientFrom("127.0.2.2")
	var maxFD int
	var maxRSS int64
	var maxHosts, maxWaiting, slowest float64
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		maxFD = max(maxFD, fdCount(t))
		maxRSS = max(maxRSS, rssBytes(t))
		maxHosts = max(maxHosts, testutil.ToFloat64(d.metrics.hostsInFlight.WithLabelValues(sourceAPI)))
		maxWaiting = max(maxWaiting, testutil.ToFloat64(d.metrics.hostsWaiting.WithLabelValues(sourceAPI)))
		start := time.Now()
		resp, err := health.Get(url + "/-/healthy")
		if err != nil {
			t.Fatalf("/-/healthy under load: %v", err)
		}
		resp.Body.Close()
		slowest = max(slowest, time.Since(start).Seconds())
		if resp.StatusCode != 200 {
			t.Errorf("/-/healthy under load: %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Per scan request: its connection on both sides and its sweep's NBSTAT socket (the default
	// profile has nbstat; one UDP socket per sweep). Per host in flight: FDsPerHost sockets of
	// the daemon and as many of the silent listener. Then the health check and a margin.
	fdBudget := 3*clients + 2*scanner.FDsPerHost*budget + 2 + 16
	t.Logf("under load: +%d descriptors (budget %d), +%.1f MiB RSS, %v hosts in flight at most, /-/healthy within %.3fs",
		maxFD-fd0, fdBudget, float64(maxRSS-rss0)/(1<<20), maxHosts, slowest)
	if maxHosts != budget || maxWaiting < clients*16/2 {
		t.Errorf("%v hosts in flight (budget %d), %v waiting at most", maxHosts, budget, maxWaiting)
	}
	if maxFD-fd0 > fdBudget {
		t.Errorf("descriptors grew by %d, budget %d", maxFD-fd0, fdBudget)
	}
	if maxRSS-rss0 > loadRSSBudget() {
		t.Errorf("RSS grew by %d MiB, budget %d MiB", (maxRSS-rss0)>>20, loadRSSBudget()>>20)
	}
	if slowest > 2 {
		t.Errorf("/-/healthy took %.1fs under load", slowest)
	}

	// The clients go: every scan ends and gives its slots back.
	cancelClients()
	wg.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(d.metrics.hostsInFlight.WithLabelValues(sourceAPI)) > 0 || testutil.ToFloat64(d.metrics.hostsWaiting.WithLabelValues(sourceAPI)) > 0 ||
		testutil.ToFloat64(d.metrics.apiInFlight) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not released: %v hosts in flight, %v waiting, %v requests",
				testutil.ToFloat64(d.metrics.hostsInFlight.WithLabelValues(sourceAPI)), testutil.ToFloat64(d.metrics.hostsWaiting.WithLabelValues(sourceAPI)),
				testutil.ToFloat64(d.metrics.apiInFlight))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
