package sweep

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/wire"
)

// startNmbd runs Samba's nmbd answering NBSTAT on addr (a loopback address of the fleet, so
// it is on an interface), with the given names, until the test ends.
func startNmbd(t *testing.T, addr, netbiosName, workgroup string) {
	t.Helper()
	startNmbdOn(t, []string{addr}, netbiosName, workgroup)
}

// startNmbdOn runs nmbd on several addresses (one interface each); it is ready when the first
// answers.
func startNmbdOn(t *testing.T, addrs []string, netbiosName, workgroup string) {
	t.Helper()
	addr := addrs[0]
	ifaces := make([]string, len(addrs))
	for i, a := range addrs {
		ifaces[i] = a + "/8"
	}
	bin := "/usr/sbin/nmbd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(sambatest.EnvRequire) == "1" {
			t.Fatalf("nmbd: %v", err)
		}
		t.Skipf("nmbd: %v", err)
	}
	dir := t.TempDir()
	for _, d := range []string{"lock", "state", "cache", "private"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`[global]
  netbios name = %s
  workgroup = %s
  interfaces = %s
  bind interfaces only = yes
  lock directory = %[4]s/lock
  state directory = %[4]s/state
  cache directory = %[4]s/cache
  private dir = %[4]s/private
  pid directory = %[4]s
  log file = %[4]s/nmbd.log
  local master = yes
  domain master = no
  disable netbios = no
`, netbiosName, workgroup, strings.Join(ifaces, " "), dir)
	confPath := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-F", "--no-process-group", "-s", confPath)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// Ready once it answers a NODE STATUS query.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp4", net.JoinHostPort(addr, "137"))
		if err == nil {
			_, _ = c.Write(wire.AppendNBStatRequest(nil, 1))
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			var b [2048]byte
			n, err := c.Read(b[:])
			c.Close()
			if err == nil && wire.NBStatResponse(b[:n]).Validate() == nil {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "nmbd.log"))
	t.Fatalf("nmbd did not answer NBSTAT on %s:137 within 15s; log:\n%s", addr, log)
}

// TestNBStatAgainstNmbd: the nbstat stage reads a real nmbd's names (the fleet's default
// server's address) and derives the computer name and workgroup; a loopback address without
// a name service answers "unreachable" at once, never a failure or an incomplete record.
func TestNBStatAgainstNmbd(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("default")
	p, err := probes.NewPipeline([]string{"negotiate", "nbstat"}, &probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Before nmbd runs (it binds 0.0.0.0:137), a loopback address has no name service: ICMP
	// port unreachable, decided at once.
	if pc, err := net.ListenPacket("udp4", "0.0.0.0:137"); err == nil {
		pc.Close()
		start := time.Now()
		r := p.Run(ctx, probes.Target{Addr: fleet.Closed.Addr(), Port: fleet.Closed.Port()})
		if nb := r.NBStat; nb == nil || nb.Answered == nil || *nb.Answered || time.Since(start) > 900*time.Millisecond {
			t.Errorf("no name service: nbstat %+v after %s", nb, time.Since(start))
		}
	}

	startNmbd(t, srv.Addr.String(), "NBSTATTEST", "SWEEPWG")
	r := p.Run(ctx, probes.Target{Addr: srv.Addr, Port: srv.Port})
	nb := r.NBStat
	if nb == nil || nb.Answered == nil || !*nb.Answered {
		t.Fatalf("nbstat %+v, stages %+v", nb, r.Stages)
	}
	if nb.ComputerName == nil || *nb.ComputerName != "NBSTATTEST" || nb.Workgroup == nil || *nb.Workgroup != "SWEEPWG" {
		t.Errorf("computer %v, workgroup %v; names %+v", nb.ComputerName, nb.Workgroup, nb.Names)
	}
	if nb.DomainController == nil || *nb.DomainController || len(nb.Names) < 4 || nb.MAC == nil {
		t.Errorf("dc %v, %d names, mac %v", nb.DomainController, len(nb.Names), nb.MAC)
	}
	if st := r.Stages["nbstat"]; st.Status != probes.StageOK || len(r.Incomplete) != 0 {
		t.Errorf("stage %+v, incomplete %v", st, r.Incomplete)
	}

}

// nbstatSweep runs the quick profile over targets with the given dialer and NBSTAT port and
// returns the records by address and the metrics (the sweep socket's observer).
func nbstatSweep(t *testing.T, targets []string, dialer *scanner.Dialer, port uint16) (map[string]*probes.Result, *prometheus.Registry, time.Duration) {
	t.Helper()
	b := scanner.NewTargetBuilder(445)
	for _, tg := range targets {
		if err := b.Add(tg); err != nil {
			t.Fatal(err)
		}
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := probes.NewPipeline(configs.BuiltinProfiles()["quick"].Stages, &probes.Options{Dialer: dialer})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := output.NewScanMetrics(reg)
	var mu sync.Mutex
	recs := map[string]*probes.Result{}
	start := time.Now()
	_, err = Run(context.Background(), nil, Config{Targets: set, Pipeline: p, NoRecheck: true, NBStatPort: port, Metrics: m,
		Writer:  output.NewWriter(collectSink{mu: &mu, recs: recs}, m),
		Scanner: scanner.Config{Concurrency: 8, HostTimeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(targets) {
		t.Fatalf("%d records for %d targets", len(recs), len(targets))
	}
	if p.Opts.NBStat != nil {
		t.Error("the sweep changed the caller's pipeline options")
	}
	return recs, reg, time.Since(start)
}

// collectSink keeps the records by address.
type collectSink struct {
	mu   *sync.Mutex
	recs map[string]*probes.Result
}

func (c collectSink) Name() string { return "collect" }
func (c collectSink) WriteResult(r *probes.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs[r.IP] = r
	return nil
}
func (c collectSink) WriteSummary(*probes.Summary) error { return nil }
func (c collectSink) Flush() error                       { return nil }

func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

// TestNBStatSweepAgainstNmbd: a quick-profile sweep over several loopback hosts sends every
// NBSTAT query from the sweep's one socket (the sweep's metrics see them all) and reads each
// host's names from a real nmbd; a host refusing TCP is still queried, and nmbd's reply to it
// from another address is dropped.
func TestNBStatSweepAgainstNmbd(t *testing.T) {
	fleet := sambatest.Require(t)
	if fleet.HighPorts || len(fleet.Servers) < 3 {
		t.Skip("needs three servers on addresses of their own")
	}
	var addrs, targets []string
	for _, srv := range fleet.Servers[:3] {
		addrs = append(addrs, srv.Addr.String())
		targets = append(targets, srv.Target())
	}
	startNmbdOn(t, addrs, "NBSWEEP", "SWEEPWG")
	targets = append(targets, fleet.Closed.String())
	recs, reg, _ := nbstatSweep(t, targets, &scanner.Dialer{ConnectTimeout: 2 * time.Second}, 0)
	for _, a := range addrs {
		r := recs[a]
		nb := r.NBStat
		if nb == nil || nb.Answered == nil || !*nb.Answered || nb.ComputerName == nil || *nb.ComputerName != "NBSWEEP" ||
			nb.Workgroup == nil || *nb.Workgroup != "SWEEPWG" {
			t.Errorf("%s: status %s, nbstat %+v", a, r.Status, nb)
		}
		if r.Status != probes.StatusSMB || len(r.Incomplete) != 0 {
			t.Errorf("%s: status %s, incomplete %v", a, r.Status, r.Incomplete)
		}
		if dc := r.DomainController; dc == nil || dc.Value == nil || *dc.Value {
			t.Errorf("%s: a workgroup nmbd without <1C>: domain_controller %+v", a, dc)
		}
	}
	closed := recs[fleet.Closed.Addr().String()]
	// nmbd (bound to 0.0.0.0:137 too) answers the closed address's query from one of its own
	// addresses: that reply is not the closed host's and must not give it nmbd's names.
	if closed.Status != probes.StatusConnectionRefused || closed.NBStat == nil || (closed.NBStat.Answered != nil && *closed.NBStat.Answered) {
		t.Errorf("closed host: status %s, nbstat %+v", closed.Status, closed.NBStat)
	}
	if q := metricValue(t, reg, "smbsweep_nbstat_queries_total", "attempt", "first"); q != float64(len(targets)) {
		t.Errorf("%v first queries through the sweep's socket, want %d (one per host)", q, len(targets))
	}
	if a := metricValue(t, reg, "smbsweep_nbstat_hosts_total", "answered", "true"); a < 3 {
		t.Errorf("%v hosts answered, want at least 3", a)
	}
	t.Logf("closed host: nbstat %+v; datagrams dropped: %v wrong source, %v unmatched", closed.NBStat,
		metricValue(t, reg, "smbsweep_nbstat_datagrams_total", "outcome", "wrong_source"),
		metricValue(t, reg, "smbsweep_nbstat_datagrams_total", "outcome", "unmatched"))
}

// TestNBStatSweepPacedAndUDPOnly: with -rl the sweep's NBSTAT queries leave at that rate (a
// scripted name service on loopback addresses and a test port records when they arrive), and
// hosts that refuse TCP but answer on UDP are reported: status connection-refused, their names
// in the record and in the text view.
func TestNBStatSweepPacedAndUDPOnly(t *testing.T) {
	resp, err := os.ReadFile("../wire/testdata/nmbd-4.17-nbstat-response.bin")
	if err != nil {
		t.Fatal(err)
	}
	const hosts, perSecond = 4, 10
	var mu sync.Mutex
	var arrivals []time.Time
	var port uint16
	var targets []string
	for i := range hosts {
		addr := netip.AddrFrom4([4]byte{127, 0, 92, byte(1 + i)})
		pc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, port)))
		if err != nil {
			t.Skipf("bind %s: %v", addr, err)
		}
		t.Cleanup(func() { pc.Close() })
		port = uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		go func() {
			buf := make([]byte, 512)
			for {
				n, from, err := pc.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				mu.Unlock()
				if n >= 2 {
					answer := append([]byte(nil), resp...)
					copy(answer, buf[:2])
					_, _ = pc.WriteToUDPAddrPort(answer, from)
				}
			}
		}()
		targets = append(targets, addr.String()+":1") // nothing listens on TCP port 1
	}
	dialer := &scanner.Dialer{ConnectTimeout: 2 * time.Second, Limiter: rate.NewLimiter(perSecond, 1)}
	start := time.Now()
	recs, _, took := nbstatSweep(t, targets, dialer, port)
	var text bytes.Buffer
	tx := output.NewText(&text, "text", false)
	for _, tg := range targets {
		ip, _, _ := strings.Cut(tg, ":")
		r := recs[ip]
		if r.Status != probes.StatusConnectionRefused {
			t.Errorf("%s: status %s, want connection-refused (the status is about TCP)", ip, r.Status)
		}
		if nb := r.NBStat; nb == nil || nb.Answered == nil || !*nb.Answered || nb.ComputerName == nil {
			t.Errorf("%s: nbstat %+v", ip, nb)
		}
		_ = tx.WriteResult(r)
	}
	_ = tx.Flush()
	if n := strings.Count(text.String(), "  netbios: name:"); n != hosts {
		t.Errorf("text view shows %d NetBIOS lines for %d UDP-only hosts:\n%s", n, hosts, text.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != hosts {
		t.Fatalf("%d queries arrived, want %d", len(arrivals), hosts)
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	// The limiter never lets a query leave early: the i-th arrives at least i/rate after the
	// sweep started.
	for i := 1; i < len(arrivals); i++ {
		if at, want := arrivals[i].Sub(start), time.Duration(i)*time.Second/perSecond-5*time.Millisecond; at < want {
			t.Errorf("query %d arrived %s after the start, want at least %s at -rl %d", i, at, want, perSecond)
		}
	}
	t.Logf("%d hosts in %s", hosts, took)
}
