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

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchsweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var ns, cs, targets, scanArgs string
	fs.StringVar(&targets, "target", "replay", "what to sweep: smbd, replay, mixed (comma-separated for several)")
	fs.StringVar(&ns, "n", "256,4096", "numbers of addresses to sweep (smbd and replay)")
	fs.StringVar(&cs, "c", "256", "smbsweep -c values (comma-separated for several)")
	fs.IntVar(&o.port, "port", 44445, "server port inside the namespace")
	fs.StringVar(&o.profile, "profile", "default", "smbsweep -profile")
	fs.StringVar(&scanArgs, "scan-args", "", "extra smbsweep scan flags, space-separated")
	fs.StringVar(&o.results, "results", "bench-results.jsonl", "append one JSON object per run to `FILE`")
	fs.StringVar(&o.pprofDir, "pprof", "", "write smbsweep CPU and allocation profiles of each run under `DIR`")
	fs.DurationVar(&o.heapAt, "heap-at", 0, "with -pprof, also write an in-use heap profile this long into each run")
	fs.StringVar(&o.mixedServer, "mixed-server", "smbd", "server of the live block of the mixed /16: smbd or replay")
	fs.BoolVar(&o.dropUDP, "mixed-drop-udp", false, "in the mixed /16, drop UDP to the dropped block too (a firewall silent on NetBIOS port 137: NBSTAT gets no ICMP there)")
	fs.StringVar(&o.smbsweep, "smbsweep", "", "use this smbsweep binary instead of building one (no allocation counts)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (outputs, smb.conf, logs)")
	o.replace = map[string]string{}
	fs.Func("replace", "build smbsweep with `PATH=FILE`: FILE stands in for the repository file PATH (what-if experiments; repeatable)", func(v string) error {
		from, to, ok := strings.Cut(v, "=")
		if !ok || from == "" || to == "" {
			return errors.New("want PATH=FILE")
		}
		o.replace[from] = to
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if o.ns, err = ints(ns); err == nil {
		o.conc, err = ints(cs)
	}
	if err != nil {
		fmt.Fprintln(stderr, "benchsweep:", err)
		return 2
	}
	o.targets = strings.Split(targets, ",")
	for _, t := range o.targets {
		if t != "smbd" && t != "replay" && t != "mixed" {
			fmt.Fprintf(stderr, "benchsweep: -target %q: want smbd, replay or mixed\n", t)
			return 2
		}
	}
	if o.mixedServer != "smbd" && o.mixedServer != "replay" {
		fmt.Fprintf(stderr, "benchsweep: -mixed-server %q: want smbd or replay\n", o.mixedServer)
		return 2
	}
	o.scanArgs = strings.Fields(scanArgs)
	results, err := bench(&o, stderr)
	if len(results) > 0 {
		printTable(stdout, results)
	}
	if err != nil {
		fmt.Fprintln(stderr, "benchsweep:", err)
		return 1
	}
	return 0
}

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
	bin, hooked := o.smbsweep, false
	if bin == "" {
		fmt.Fprintln(log, "benchsweep: building cmd/smbsweep")
		if bin, hooked, err = buildSmbsweep(root, work, o.replace); err != nil {
			return nil, err
		}
	}
	raiseOpenFiles(1 << 18)
	ns, err := newNetns()
	if err != nil {
		return nil, err
	}
	defer ns.remove()
	// A Ctrl-C still removes the namespace, its processes and its rules.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if _, ok := <-sig; ok {
			cancel()
		}
	}()

	commit := ""
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	var all []Result
	for _, target := range o.targets {
		server := target
		if target == "mixed" {
			server = o.mixedServer
		}
		stop, err := startServer(ctx, ns, server, o.port, work, log)
		if err != nil {
			return all, err
		}
		sizes := o.ns
		if target == "mixed" {
			sizes = []int{65536}
		}
		for _, n := range sizes {
			for _, c := range o.conc {
				if ctx.Err() != nil {
					stop()
					return all, ctx.Err()
				}
				r, err := sweep(ctx, ns, o, bin, hooked, work, target, n, c, log)
				if err != nil {
					stop()
					return all, err
				}
				r.Commit = commit
				all = append(all, r)
				if err := appendResult(o.results, r); err != nil {
					stop()
					return all, err
				}
			}
		}
		stop()
	}
	return all, nil
}

// startServer starts smbd or the replay responder in the namespace and returns its stop
// function.
func startServer(ctx context.Context, ns *netns, kind string, port int, work string, log io.Writer) (func(), error) {
	var cmd *exec.Cmd
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
		cmd = exec.Command(smbd, "--foreground", "--no-process-group", "--configfile="+conf)
	case "replay":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(self, "-serve-replay", "0.0.0.0:"+strconv.Itoa(port))
	}
	logf, err := os.Create(filepath.Join(work, kind+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// A process group of its own: smbd signals its process group when it shuts down, which
	// would otherwise take benchsweep and the shell that started it along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := ns.start(cmd); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		ns.killAll() // smbd's children and samba-dcerpcd
		logf.Close()
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	isExited := func() bool {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}
	if err := ns.waitListening(wctx, port, isExited); err != nil {
		stop()
		tail, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%s: %w\n%s", kind, err, tail)
	}
	fmt.Fprintf(log, "benchsweep: %s listening on 0.0.0.0:%d inside namespace %s\n", kind, port, ns.name)
	return stop, nil
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
func sweep(ctx context.Context, ns *netns, o *options, bin string, hooked bool, work, target string, n, c int, log io.Writer) (r Result, err error) {
	r = Result{Time: time.Now().UTC(), Target: target, Hosts: n, Concurrency: c, Profile: o.profile,
		LiveExpected: n, GoVersion: runtime.Version(), CPUs: runtime.NumCPU()}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		r.NoFile = lim.Max
	}
	spec := benchBase + "-" + lastAddr(n)
	if target == "mixed" {
		spec, r.LiveExpected, r.DropUDP = "127.77.0.0/16", mixedNLive, o.dropUDP
		if err := iptables(ns, "-A", o.port, o.dropUDP); err != nil {
			return r, err
		}
		defer func() {
			if err := iptables(ns, "-D", o.port, o.dropUDP); err != nil {
				fmt.Fprintf(log, "benchsweep: removing iptables rules: %v\n", err)
			}
		}()
	}
	r.LoadAvg[0] = loadAvg()
	defer func() { r.LoadAvg[1] = loadAvg() }()
	out := filepath.Join(work, fmt.Sprintf("%s-%d-c%d.jsonl", target, n, c))
	stats := filepath.Join(work, "stats.json")
	os.Remove(stats)
	args := []string{"scan", "-silent", "-jsonl", "-o", out, "-port", strconv.Itoa(o.port), "-c", strconv.Itoa(c), "-profile", o.profile}
	args = append(args, o.scanArgs...)
	args = append(args, spec)
	r.Args = args
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), envStats+"="+stats)
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return r, err
		}
		base := filepath.Join(o.pprofDir, fmt.Sprintf("%s-%d-c%d", target, n, c))
		cmd.Env = append(cmd.Env, envCPUProfile+"="+base+".cpu.pprof", envMemProfile+"="+base+".allocs.pprof")
		if o.heapAt > 0 {
			cmd.Env = append(cmd.Env, envHeapAt+"="+o.heapAt.String())
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	fmt.Fprintf(log, "benchsweep: %s: smbsweep %s\n", target, strings.Join(args, " "))
	start := time.Now()
	if err := ns.start(cmd); err != nil {
		return r, err
	}
	err = cmd.Wait()
	r.WallSeconds = time.Since(start).Seconds()
	r.ExitCode = cmd.ProcessState.ExitCode()
	if err != nil && r.ExitCode != 0 {
		return r, fmt.Errorf("smbsweep: %v\n%s", err, stderr.String())
	}
	if ru := rusageOf(cmd.ProcessState); ru != nil {
		r.UserSeconds = time.Duration(ru.Utime.Nano()).Seconds()
		r.SysSeconds = time.Duration(ru.Stime.Nano()).Seconds()
		r.MaxRSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	cpu := r.UserSeconds + r.SysSeconds
	r.HostsPerSec = float64(n) / r.WallSeconds
	r.CPUPer1000 = cpu / float64(n) * 1000
	if hooked {
		var ms map[string]uint64
		if data, err := os.ReadFile(stats); err == nil && json.Unmarshal(data, &ms) == nil {
			r.MallocsPer = float64(ms["mallocs"]) / float64(n)
			r.AllocBytesPer = float64(ms["total_alloc"]) / float64(n)
			r.NumGC = ms["num_gc"]
			r.HeapSysMiB = float64(ms["heap_sys"]) / (1 << 20)
			r.StackSysMiB = float64(ms["stack_sys"]) / (1 << 20)
		}
	}
	if err := readOutput(out, target, &r); err != nil {
		return r, err
	}
	r.LivePerSec = float64(r.LiveFound) / r.WallSeconds
	if r.LiveFound > 0 {
		r.CPUmsPerLive = cpu / float64(r.LiveFound) * 1000
	}
	if target == "mixed" {
		timeout := 10.0
		for i, a := range args {
			if a == "-timeout" && i+1 < len(args) {
				if d, err := time.ParseDuration(args[i+1]); err == nil {
					timeout = d.Seconds()
				}
			}
		}
		r.Bound = float64(mixedNDrop) * timeout / float64(c)
	}
	return r, nil
}

// parseRange parses "first-last".
func parseRange(r string) (netip.Addr, netip.Addr) {
	a, b, _ := strings.Cut(r, "-")
	return netip.MustParseAddr(a), netip.MustParseAddr(b)
}

// readOutput reads the statuses from smbsweep's JSONL output; for the mixed /16 it also counts
// hosts whose status does not match their block.
func readOutput(path, target string, r *Result) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	liveLo, liveHi := parseRange(mixedLive)
	dropLo, dropHi := parseRange(mixedDrop)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	r.Statuses = map[string]int{}
	sawSummary := false
	for sc.Scan() {
		var rec struct {
			Type, IP, Status string
			Statuses         map[string]int
			Negotiate        json.RawMessage
			SMB1             json.RawMessage
			Incomplete       json.RawMessage // an array in host records, a number in the summary
			Stages           map[string]struct{ Status, Reason string }
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if rec.Type == "summary" {
			sawSummary = true
			continue
		}
		r.Statuses[rec.Status]++
		if len(rec.Incomplete) > 0 && rec.Incomplete[0] == '[' {
			r.Incomplete++
		}
		if complete(rec.Status, rec.Negotiate, rec.SMB1, rec.Stages) {
			r.Complete++
		}
		if target != "mixed" {
			continue
		}
		a, err := netip.ParseAddr(rec.IP)
		if err != nil {
			return err
		}
		want := "connection-refused"
		switch {
		case a.Compare(liveLo) >= 0 && a.Compare(liveHi) <= 0:
			want = "smb"
		case a.Compare(dropLo) >= 0 && a.Compare(dropHi) <= 0:
			want = "connection-timeout"
		}
		if rec.Status != want {
			r.Misclassified++
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

// complete decides, from the record alone and independently of smbsweep's own "incomplete" key,
// whether a host's record is complete: it answered SMB, its NEGOTIATE and SMB1 answers are
// there, and no stage ended in a transport error or was skipped for want of one (a stage the
// server refused with an NT status is an answer).
func complete(status string, negotiate, smb1 json.RawMessage, stages map[string]struct{ Status, Reason string }) bool {
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
