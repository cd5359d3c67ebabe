// Command benchsweep is the end-to-end sweep benchmark of smbsweep (issue 6, docs/BENCHMARKS.md).
//
//	go run ./tools/benchsweep -target smbd,replay -n 256,4096,65536 -c 256
//	go run ./tools/benchsweep -target mixed
//
// It builds cmd/smbsweep, creates a network namespace of its own (only the loopback interface,
// so nothing it starts is reachable from outside, and smbd or the replay responder can listen on
// the wildcard address there to answer all of 127.0.0.0/8), starts the server in it, and runs
// smbsweep in it as a child process over N addresses with the default profile. It reports wall
// time, hosts/s, the CPU time (user+sys) and peak RSS of the smbsweep process alone (its rusage),
// and the Go allocations of that process per host. Each invocation prints one table and appends
// one JSON object per run to the results file.
//
// Targets:
//
//	smbd    one Samba smbd (fork per connection) on every address of 127.77.0.0/16
//	replay  internal/testing/replay (captured Samba replies, one goroutine per connection)
//	mixed   127.77.0.0/16: 1 280 addresses live (smbd, or -mixed-server replay), 5 376 whose
//	        SYNs are dropped and 58 880 that refuse (iptables rules in the namespace, added
//	        before and removed after the run)
//
// Needs root (ip netns, iptables) and, for smbd, Samba.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/replay"
)

// The mixed /16: live, dropped and refusing blocks of 127.77.0.0/16.
const (
	benchBase   = "127.77.0.0"
	mixedLive   = "127.77.0.0-127.77.4.255"    // 1 280
	mixedDrop   = "127.77.5.0-127.77.25.255"   // 5 376
	mixedRefuse = "127.77.26.0-127.77.255.255" // 58 880
	mixedNLive  = 1280
	mixedNDrop  = 5376
)

type options struct {
	targets     []string
	ns          []int
	conc        []int
	port        int
	profile     string
	scanArgs    []string
	results     string
	pprofDir    string
	mixedServer string
	dropUDP     bool // the mixed /16's dropped block drops UDP too (a firewall silent on 137)
	smbsweep    string
	keep        bool
	heapAt      time.Duration
	replace     map[string]string
}

// Result is one run, as appended to the results file.
type Result struct {
	Time          time.Time      `json:"time"`
	Target        string         `json:"target"`
	Hosts         int            `json:"hosts"`
	Concurrency   int            `json:"concurrency"`
	Profile       string         `json:"profile"`
	Args          []string       `json:"args"`
	DropUDP       bool           `json:"drop_udp,omitempty"` // -mixed-drop-udp
	WallSeconds   float64        `json:"wall_seconds"`
	HostsPerSec   float64        `json:"hosts_per_second"`
	LiveExpected  int            `json:"live_expected"`
	LiveFound     int            `json:"live_found"`
	Complete      int            `json:"complete"`            // live hosts with every stage of the profile answered (see readOutput)
	Incomplete    int            `json:"incomplete_reported"` // records smbsweep itself marked incomplete
	LivePerSec    float64        `json:"live_hosts_per_second"`
	Statuses      map[string]int `json:"statuses"`
	Misclassified int            `json:"misclassified"` // mixed: hosts whose status does not match their block
	UserSeconds   float64        `json:"cpu_user_seconds"`
	SysSeconds    float64        `json:"cpu_sys_seconds"`
	CPUPer1000    float64        `json:"cpu_seconds_per_1000_hosts"`
	CPUmsPerLive  float64        `json:"cpu_ms_per_live_host"`
	MaxRSSMiB     float64        `json:"max_rss_mib"`
	MallocsPer    float64        `json:"mallocs_per_host,omitempty"`
	AllocBytesPer float64        `json:"alloc_bytes_per_host,omitempty"`
	NumGC         uint64         `json:"num_gc,omitempty"`
	HeapSysMiB    float64        `json:"heap_sys_mib,omitempty"`  // Go heap obtained from the OS (at exit)
	StackSysMiB   float64        `json:"stack_sys_mib,omitempty"` // goroutine stacks obtained from the OS (at exit)
	Bound         float64        `json:"bound_seconds,omitempty"` // mixed: filtered × timeout / concurrency
	ExitCode      int            `json:"exit_code"`
	LoadAvg       [2]string      `json:"load_avg_1m"` // /proc/loadavg before and after: other work on the machine
	GoVersion     string         `json:"go"`
	CPUs          int            `json:"cpus"`
	NoFile        uint64         `json:"nofile_hard_limit,omitempty"` // RLIMIT_NOFILE hard limit smbsweep started with (it raises its soft limit to it)
	Commit        string         `json:"commit,omitempty"`
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-serve-replay" {
		os.Exit(serveReplay(os.Args[2]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// serveReplay is the child mode that runs the replay responder inside the namespace.
func serveReplay(addr string) int {
	s := replay.New(replay.Options{})
	if _, err := s.Listen(addr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	s.Close()
	return 0
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// run parses the command line, runs the benchmark and prints its table. It returns 2 for a bad
// command line, 1 when a run failed and 0 otherwise.
func run(args []string, stdout, stderr io.Writer) int {
	o, ok := parseOptions(args, stderr)
	if !ok {
		return 2
	}
	results, err := bench(o, stderr)
	if len(results) > 0 {
		printTable(stdout, results)
	}
	if err != nil {
		fmt.Fprintln(stderr, "benchsweep:", err)
		return 1
	}
	return 0
}

// listFlags are the flags given as text that parseOptions turns into the lists of options.
type listFlags struct{ ns, conc, targets, scanArgs string }

// parseOptions parses and checks the command line; on a bad one it says why on stderr and
// returns false.
func parseOptions(args []string, stderr io.Writer) (*options, bool) {
	fs := flag.NewFlagSet("benchsweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{replace: map[string]string{}}
	var lists listFlags
	defineFlags(fs, o, &lists)
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	if err := o.setLists(lists); err != nil {
		fmt.Fprintln(stderr, "benchsweep:", err)
		return nil, false
	}
	return o, true
}

// defineFlags defines benchsweep's flags on fs, into o and lists.
func defineFlags(fs *flag.FlagSet, o *options, lists *listFlags) {
	fs.StringVar(&lists.targets, "target", "replay", "what to sweep: smbd, replay, mixed (comma-separated for several)")
	fs.StringVar(&lists.ns, "n", "256,4096", "numbers of addresses to sweep (smbd and replay)")
	fs.StringVar(&lists.conc, "c", "256", "smbsweep -c values (comma-separated for several)")
	fs.IntVar(&o.port, "port", 44445, "server port inside the namespace")
	fs.StringVar(&o.profile, "profile", "default", "smbsweep -profile")
	fs.StringVar(&lists.scanArgs, "scan-args", "", "extra smbsweep scan flags, space-separated")
	fs.StringVar(&o.results, "results", "bench-results.jsonl", "append one JSON object per run to `FILE`")
	fs.StringVar(&o.pprofDir, "pprof", "", "write smbsweep CPU and allocation profiles of each run under `DIR`")
	fs.DurationVar(&o.heapAt, "heap-at", 0, "with -pprof, also write an in-use heap profile this long into each run")
	fs.StringVar(&o.mixedServer, "mixed-server", "smbd", "server of the live block of the mixed /16: smbd or replay")
	fs.BoolVar(&o.dropUDP, "mixed-drop-udp", false, "in the mixed /16, drop UDP to the dropped block too (a firewall silent on NetBIOS port 137: NBSTAT gets no ICMP there)")
	fs.StringVar(&o.smbsweep, "smbsweep", "", "use this smbsweep binary instead of building one (no allocation counts)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (outputs, smb.conf, logs)")
	fs.Func("replace", "build smbsweep with `PATH=FILE`: FILE stands in for the repository file PATH (what-if experiments; repeatable)", func(v string) error {
		from, to, ok := strings.Cut(v, "=")
		if !ok || from == "" || to == "" {
			return errors.New("want PATH=FILE")
		}
		o.replace[from] = to
		return nil
	})
}

// setLists checks the list flags and the server of the mixed /16 and sets them in o.
func (o *options) setLists(lists listFlags) error {
	var err error
	if o.ns, err = ints(lists.ns); err != nil {
		return err
	}
	if o.conc, err = ints(lists.conc); err != nil {
		return err
	}
	o.targets = strings.Split(lists.targets, ",")
	for _, t := range o.targets {
		if t != "smbd" && t != "replay" && t != "mixed" {
			return fmt.Errorf("-target %q: want smbd, replay or mixed", t)
		}
	}
	if o.mixedServer != "smbd" && o.mixedServer != "replay" {
		return fmt.Errorf("-mixed-server %q: want smbd or replay", o.mixedServer)
	}
	o.scanArgs = strings.Fields(lists.scanArgs)
	return nil
}

// benchRun is what the sweeps of one invocation share: the options, the namespace, the work
// directory and the smbsweep binary under test.
type benchRun struct {
	o      *options
	ns     *netns
	work   string
	bin    string
	hooked bool // bin reports its Go allocation counters (see buildSmbsweep)
	commit string
	log    io.Writer
}

// bench prepares the work directory, the smbsweep binary and the namespace, then sweeps every
// target at every size and concurrency, appending each run to the results file as it ends.
func bench(o *options, log io.Writer) ([]Result, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "smbsweep-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintf(log, "benchsweep: work directory %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin, hooked, err := smbsweepBinary(o, root, work, log)
	if err != nil {
		return nil, err
	}
	raiseOpenFiles(1 << 18)
	ns, err := newNetns()
	if err != nil {
		return nil, err
	}
	defer ns.remove()
	ctx, stop := interruptible()
	defer stop()
	b := &benchRun{o: o, ns: ns, work: work, bin: bin, hooked: hooked, commit: gitCommit(root), log: log}
	var all []Result
	for _, target := range o.targets {
		rs, err := b.sweepTarget(ctx, target)
		all = append(all, rs...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// smbsweepBinary returns -smbsweep's binary, or builds cmd/smbsweep (with the allocation hook
// when main allows it) into work.
func smbsweepBinary(o *options, root, work string, log io.Writer) (bin string, hooked bool, err error) {
	if o.smbsweep != "" {
		return o.smbsweep, false, nil
	}
	fmt.Fprintln(log, "benchsweep: building cmd/smbsweep")
	return buildSmbsweep(root, work, o.replace)
}

// interruptible returns a context that a Ctrl-C or SIGTERM cancels, so that the deferred
// clean-up still removes the namespace, its processes and its rules; stop releases the signals.
func interruptible() (ctx context.Context, stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		if _, ok := <-sig; ok {
			cancel()
		}
	}()
	return ctx, func() {
		cancel()
		signal.Stop(sig)
	}
}

// gitCommit returns the short commit of the module at root, or "" outside a git checkout.
func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// sweepTarget starts target's server, runs smbsweep against it at every size and concurrency
// and stops the server. It returns the runs that completed, with the error that ended it.
func (b *benchRun) sweepTarget(ctx context.Context, target string) ([]Result, error) {
	server, sizes := target, b.o.ns
	if target == "mixed" {
		server, sizes = b.o.mixedServer, []int{65536}
	}
	stop, err := startServer(ctx, b.ns, server, b.o.port, b.work, b.log)
	if err != nil {
		return nil, err
	}
	defer stop()
	var all []Result
	for _, n := range sizes {
		for _, c := range b.o.conc {
			if ctx.Err() != nil {
				return all, ctx.Err()
			}
			r, err := b.sweep(ctx, target, n, c)
			if err != nil {
				return all, err
			}
			r.Commit = b.commit
			all = append(all, r)
			if err := appendResult(b.o.results, r); err != nil {
				return all, err
			}
		}
	}
	return all, nil
}

// server is smbd or the replay responder running in the namespace.
type server struct {
	kind   string
	ns     *netns
	cmd    *exec.Cmd
	logf   *os.File
	exited chan struct{} // closed when cmd has exited
}

// startServer starts smbd or the replay responder in the namespace, waits until it listens on
// port and returns its stop function.
func startServer(ctx context.Context, ns *netns, kind string, port int, work string, log io.Writer) (func(), error) {
	cmd, err := serverCommand(kind, port, work)
	if err != nil {
		return nil, err
	}
	s := &server{kind: kind, ns: ns, cmd: cmd, exited: make(chan struct{})}
	if err := s.start(work); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ns.waitListening(wctx, port, s.hasExited); err != nil {
		s.stop()
		tail, _ := os.ReadFile(s.logf.Name())
		return nil, fmt.Errorf("%s: %w\n%s", kind, err, tail)
	}
	fmt.Fprintf(log, "benchsweep: %s listening on 0.0.0.0:%d inside namespace %s\n", kind, port, ns.name)
	return s.stop, nil
}

// serverCommand returns the command line of smbd (writing its smb.conf under work) or of this
// program in its replay-responder mode.
func serverCommand(kind string, port int, work string) (*exec.Cmd, error) {
	switch kind {
	case "smbd":
		conf, err := writeSmbConf(filepath.Join(work, "smbd"), port)
		if err != nil {
			return nil, err
		}
		smbd, err := exec.LookPath("smbd")
		if err != nil {
			smbd = "/usr/sbin/smbd"
		}
		return exec.Command(smbd, "--foreground", "--no-process-group", "--configfile="+conf), nil
	case "replay":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return exec.Command(self, "-serve-replay", "0.0.0.0:"+strconv.Itoa(port)), nil
	}
	return nil, fmt.Errorf("server %q: want smbd or replay", kind)
}

// start starts the server in the namespace with its output in work/KIND.log.
func (s *server) start(work string) error {
	logf, err := os.Create(filepath.Join(work, s.kind+".log"))
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// A process group of its own: smbd signals its process group when it shuts down, which
	// would otherwise take benchsweep and the shell that started it along.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.ns.start(s.cmd); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.kind, err)
	}
	s.logf = logf
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	return nil
}

func (s *server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// stop asks the server to exit, kills it after 5 s, and kills whatever it left in the namespace.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.ns.killAll() // smbd's children and samba-dcerpcd
	s.logf.Close()
}

// writeSmbConf writes a minimal standalone smb.conf under dir. smbd binds the wildcard address,
// which is harmless in a namespace whose only interface is lo.
func writeSmbConf(dir string, port int) (string, error) {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("[global]")
	w("\tserver role = standalone server")
	w("\tworkgroup = SMBSWEEP")
	w("\tnetbios name = SWEEP-BENCH")
	w("\tbind interfaces only = no")
	w("\tsmb ports = %d", port)
	w("\tdisable netbios = yes")
	w("\tload printers = no")
	w("\tprinting = bsd")
	w("\tprintcap name = /dev/null")
	w("\tdisable spoolss = yes")
	w("\tmap to guest = Bad User")
	w("\tlog level = 0")
	w("\tmax log size = 0")
	for _, d := range []struct{ key, sub string }{
		{"private dir", "private"}, {"lock directory", "lock"}, {"state directory", "state"},
		{"cache directory", "cache"}, {"pid directory", "pid"}, {"ncalrpc dir", "ncalrpc"},
		{"binddns dir", "binddns"}, {"usershare path", "usershares"},
		{"winbindd socket directory", "winbindd"}, {"ntp signd socket directory", "ntp_signd"},
	} {
		p := filepath.Join(dir, d.sub)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
		w("\t%s = %s", d.key, p)
	}
	w("\tlog file = %s", filepath.Join(dir, "log.smbd"))
	w("\tpassdb backend = tdbsam:%s", filepath.Join(dir, "private", "passdb.tdb"))
	conf := filepath.Join(dir, "smb.conf")
	return conf, os.WriteFile(conf, []byte(b.String()), 0o644)
}

// lastAddr returns benchBase + n - 1.
func lastAddr(n int) string {
	a := netip.MustParseAddr(benchBase).As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(n - 1)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

func iptables(ns *netns, op string, port int, dropUDP bool) error {
	rules := [][]string{
		{"-p", "tcp", "--dport", strconv.Itoa(port), "-m", "iprange", "--dst-range", mixedDrop, "-j", "DROP"},
		{"-p", "tcp", "--dport", strconv.Itoa(port), "-m", "iprange", "--dst-range", mixedRefuse, "-j", "REJECT", "--reject-with", "tcp-reset"},
	}
	if dropUDP {
		rules = append(rules, []string{"-p", "udp", "-m", "iprange", "--dst-range", mixedDrop, "-j", "DROP"})
	}
	for _, r := range rules {
		if err := ns.exec(append([]string{"iptables", op, "INPUT", "-i", "lo"}, r...)...); err != nil {
			if op == "-A" {
				return fmt.Errorf("iptables (apt-get install -y iptables): %w", err)
			}
			return err
		}
	}
	return nil
}

// sweep runs smbsweep once and measures it.
func (b *benchRun) sweep(ctx context.Context, target string, n, c int) (r Result, err error) {
	r = Result{Time: time.Now().UTC(), Target: target, Hosts: n, Concurrency: c, Profile: b.o.profile,
		LiveExpected: n, GoVersion: runtime.Version(), CPUs: runtime.NumCPU()}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		r.NoFile = lim.Max
	}
	spec := benchBase + "-" + lastAddr(n)
	if target == "mixed" {
		spec, r.LiveExpected, r.DropUDP = "127.77.0.0/16", mixedNLive, b.o.dropUDP
		if err := iptables(b.ns, "-A", b.o.port, b.o.dropUDP); err != nil {
			return r, err
		}
		defer b.removeMixedRules()
	}
	r.LoadAvg[0] = loadAvg()
	defer func() { r.LoadAvg[1] = loadAvg() }()
	name := fmt.Sprintf("%s-%d-c%d", target, n, c)
	out, stats := filepath.Join(b.work, name+".jsonl"), filepath.Join(b.work, "stats.json")
	os.Remove(stats)
	r.Args = b.scanArgs(out, c, spec)
	ps, err := b.runSmbsweep(ctx, target, name, r.Args, stats, &r)
	if err != nil {
		return r, err
	}
	r.recordUsage(ps)
	if b.hooked {
		r.recordAllocs(stats)
	}
	if err := readOutput(out, target, &r); err != nil {
		return r, err
	}
	r.recordLive()
	if target == "mixed" {
		r.Bound = float64(mixedNDrop) * scanTimeout(r.Args) / float64(c)
	}
	return r, nil
}

// removeMixedRules removes the mixed /16's iptables rules, saying so when that fails.
func (b *benchRun) removeMixedRules() {
	if err := iptables(b.ns, "-D", b.o.port, b.o.dropUDP); err != nil {
		fmt.Fprintf(b.log, "benchsweep: removing iptables rules: %v\n", err)
	}
}

// scanArgs is smbsweep's command line: a silent JSONL scan of spec into out at concurrency c.
func (b *benchRun) scanArgs(out string, c int, spec string) []string {
	args := []string{"scan", "-silent", "-jsonl", "-o", out, "-port", strconv.Itoa(b.o.port), "-c", strconv.Itoa(c), "-profile", b.o.profile}
	args = append(args, b.o.scanArgs...)
	return append(args, spec)
}

// runSmbsweep runs smbsweep with args in the namespace, records its wall time and exit code in
// r, and returns its process state; a non-zero exit is an error carrying smbsweep's stderr.
func (b *benchRun) runSmbsweep(ctx context.Context, target, name string, args []string, stats string, r *Result) (*os.ProcessState, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	env, err := b.smbsweepEnv(name, stats)
	if err != nil {
		return nil, err
	}
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	fmt.Fprintf(b.log, "benchsweep: %s: smbsweep %s\n", target, strings.Join(args, " "))
	start := time.Now()
	if err := b.ns.start(cmd); err != nil {
		return nil, err
	}
	err = cmd.Wait()
	r.WallSeconds = time.Since(start).Seconds()
	r.ExitCode = cmd.ProcessState.ExitCode()
	if err != nil && r.ExitCode != 0 {
		return nil, fmt.Errorf("smbsweep: %v\n%s", err, stderr.String())
	}
	return cmd.ProcessState, nil
}

// smbsweepEnv is smbsweep's environment: ours, plus where the hook writes its allocation
// counters and, with -pprof, its profiles (named after the run).
func (b *benchRun) smbsweepEnv(name, stats string) ([]string, error) {
	env := append(os.Environ(), envStats+"="+stats)
	if b.o.pprofDir == "" {
		return env, nil
	}
	if err := os.MkdirAll(b.o.pprofDir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(b.o.pprofDir, name)
	env = append(env, envCPUProfile+"="+base+".cpu.pprof", envMemProfile+"="+base+".allocs.pprof")
	if b.o.heapAt > 0 {
		env = append(env, envHeapAt+"="+b.o.heapAt.String())
	}
	return env, nil
}

// cpuSeconds is smbsweep's user and system CPU time.
func (r *Result) cpuSeconds() float64 { return r.UserSeconds + r.SysSeconds }

// recordUsage records smbsweep's rusage (CPU, peak RSS) and the rates per address swept.
func (r *Result) recordUsage(ps *os.ProcessState) {
	if ru := rusageOf(ps); ru != nil {
		r.UserSeconds = time.Duration(ru.Utime.Nano()).Seconds()
		r.SysSeconds = time.Duration(ru.Stime.Nano()).Seconds()
		r.MaxRSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	r.HostsPerSec = float64(r.Hosts) / r.WallSeconds
	r.CPUPer1000 = r.cpuSeconds() / float64(r.Hosts) * 1000
}

// recordAllocs records the Go allocation counters the hooked smbsweep wrote to path at exit;
// it leaves them zero when the file is missing or unreadable.
func (r *Result) recordAllocs(path string) {
	var ms map[string]uint64
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &ms) != nil {
		return
	}
	n := float64(r.Hosts)
	r.MallocsPer = float64(ms["mallocs"]) / n
	r.AllocBytesPer = float64(ms["total_alloc"]) / n
	r.NumGC = ms["num_gc"]
	r.HeapSysMiB = float64(ms["heap_sys"]) / (1 << 20)
	r.StackSysMiB = float64(ms["stack_sys"]) / (1 << 20)
}

// recordLive records the rates per live host found (readOutput has counted them).
func (r *Result) recordLive() {
	r.LivePerSec = float64(r.LiveFound) / r.WallSeconds
	if r.LiveFound > 0 {
		r.CPUmsPerLive = r.cpuSeconds() / float64(r.LiveFound) * 1000
	}
}

// scanTimeout is smbsweep's per-host -timeout among args in seconds (the last one that
// parses), or its default of 10 s.
func scanTimeout(args []string) float64 {
	timeout := 10.0
	for i, a := range args {
		if a == "-timeout" && i+1 < len(args) {
			if d, err := time.ParseDuration(args[i+1]); err == nil {
				timeout = d.Seconds()
			}
		}
	}
	return timeout
}

// parseRange parses "first-last".
func parseRange(r string) (netip.Addr, netip.Addr) {
	a, b, _ := strings.Cut(r, "-")
	return netip.MustParseAddr(a), netip.MustParseAddr(b)
}

// outputRecord is what readOutput needs of one line of smbsweep's JSONL output.
type outputRecord struct {
	Type, IP, Status string
	Statuses         map[string]int
	Negotiate        json.RawMessage
	SMB1             json.RawMessage
	Incomplete       json.RawMessage // an array in host records, a number in the summary
	Stages           map[string]stageRecord
}

// stageRecord is one entry of a host record's "stages".
type stageRecord struct{ Status, Reason string }

// readOutput reads the statuses from smbsweep's JSONL output; for the mixed /16 it also counts
// hosts whose status does not match their block.
func readOutput(path, target string, r *Result) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	blocks := newMixedBlocks()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	r.Statuses = map[string]int{}
	sawSummary := false
	for sc.Scan() {
		var rec outputRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if rec.Type == "summary" {
			sawSummary = true
			continue
		}
		r.count(&rec)
		if target != "mixed" {
			continue
		}
		if err := r.checkBlock(&rec, blocks); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !sawSummary {
		return errors.New(path + ": no summary line")
	}
	r.LiveFound = r.Statuses["smb"]
	return nil
}

// count adds a host record to the status, incomplete and complete counts.
func (r *Result) count(rec *outputRecord) {
	r.Statuses[rec.Status]++
	if len(rec.Incomplete) > 0 && rec.Incomplete[0] == '[' {
		r.Incomplete++
	}
	if complete(rec.Status, rec.Negotiate, rec.SMB1, rec.Stages) {
		r.Complete++
	}
}

// checkBlock counts a host record of the mixed /16 whose status does not match its block.
func (r *Result) checkBlock(rec *outputRecord, blocks mixedBlocks) error {
	a, err := netip.ParseAddr(rec.IP)
	if err != nil {
		return err
	}
	if rec.Status != blocks.want(a) {
		r.Misclassified++
	}
	return nil
}

// mixedBlocks are the live and dropped blocks of the mixed /16 (the rest refuses).
type mixedBlocks struct{ liveLo, liveHi, dropLo, dropHi netip.Addr }

func newMixedBlocks() mixedBlocks {
	var b mixedBlocks
	b.liveLo, b.liveHi = parseRange(mixedLive)
	b.dropLo, b.dropHi = parseRange(mixedDrop)
	return b
}

// want is the status a host at a should have: smb in the live block, connection-timeout in the
// dropped one, connection-refused elsewhere.
func (b mixedBlocks) want(a netip.Addr) string {
	switch {
	case a.Compare(b.liveLo) >= 0 && a.Compare(b.liveHi) <= 0:
		return "smb"
	case a.Compare(b.dropLo) >= 0 && a.Compare(b.dropHi) <= 0:
		return "connection-timeout"
	}
	return "connection-refused"
}

// complete decides, from the record alone and independently of smbsweep's own "incomplete" key,
// whether a host's record is complete: it answered SMB, its NEGOTIATE and SMB1 answers are
// there, and no stage ended in a transport error or was skipped for want of one (a stage the
// server refused with an NT status is an answer).
func complete(status string, negotiate, smb1 json.RawMessage, stages map[string]stageRecord) bool {
	if status != "smb" || isNull(negotiate) || isNull(smb1) {
		return false
	}
	for _, st := range stages {
		switch {
		case st.Status == "error":
			return false
		case st.Status == "skipped" && (strings.Contains(st.Reason, "ended in error") ||
			strings.Contains(st.Reason, "deadline") || strings.Contains(st.Reason, "interrupted")):
			return false
		}
	}
	return true
}

func isNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Fields(string(data))[0]
}

func appendResult(path string, r Result) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(r)
}

func printTable(w io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\thosts\t-c\twall s\thosts/s\tlive found\tcomplete\tlive/s\tCPU s\tCPU s/1000 hosts\tCPU ms/live host\tpeak RSS MiB\tallocs/host\tKiB/host\tbound s\t")
	for _, r := range rs {
		bound := "-"
		if r.Bound > 0 {
			bound = fmt.Sprintf("%.0f", r.Bound)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.0f\t%d/%d\t%d/%d\t%.0f\t%.2f\t%.3f\t%.3f\t%.1f\t%.0f\t%.1f\t%s\t\n",
			r.Target, r.Hosts, r.Concurrency, r.WallSeconds, r.HostsPerSec, r.LiveFound, r.LiveExpected,
			r.Complete, r.LiveExpected, r.LivePerSec, r.UserSeconds+r.SysSeconds, r.CPUPer1000, r.CPUmsPerLive, r.MaxRSSMiB,
			r.MallocsPer, r.AllocBytesPer/1024, bound)
	}
	tw.Flush()
	for _, r := range rs {
		fmt.Fprintf(w, "%s %d -c %d: load average %s before, %s after\n", r.Target, r.Hosts, r.Concurrency, r.LoadAvg[0], r.LoadAvg[1])
	}
	for _, r := range rs {
		if r.Target == "mixed" {
			fmt.Fprintf(w, "mixed: statuses %v, %d hosts with a status that does not match their block\n", r.Statuses, r.Misclassified)
		}
	}
}
