package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

const scanSynopsis = `Usage: smbsweep scan [flags] TARGETS...

Sweeps TARGETS for SMB: SMB1 and SMB2/3 NEGOTIATE, the anonymous (null) session, IPC$ and
the shares you name. TARGETS are IPv4/IPv6 addresses, CIDRs (10.0.0.0/24), ranges
(10.0.0.1-10.0.0.9, 10.0.0.1-9), hostnames, host:port and [v6]:port; -l also reads nmap
(-oX, -oG), masscan (-oL, -oJ, -oX) and Nessus results, taking the hosts with SMB open.
Flags may come before or after TARGETS ("--" ends them); durations need a unit (5s).
Results stream as JSONL (the default when stdout is not a terminal), CSV, or a readable view.

Examples:
  smbsweep scan 10.0.0.0/24
  smbsweep scan 10.0.0.0/24 -c 500 -stats
  smbsweep scan -l nmap-445.xml -profile full
  smbsweep scan -l hosts.txt -eh 10.0.0.5 -o results.jsonl -stats
  smbsweep scan -csv -o out.csv 192.168.1.0/24
  smbsweep scan -share public -path docs 10.0.0.7
`

// scanFlags holds the parsed scan command line.
type scanFlags struct {
	list, excludeHosts, excludeFile string
	port                            int
	portSet                         bool // -port was given
	ports                           string
	portList                        []uint16 // -ports parsed
	strict                          bool
	resolve                         bool

	out         string
	jsonl, csv  bool
	text        bool
	silent      bool
	stats       bool
	noColor     bool
	metricsAddr string
	metricsFile string
	metricsPub  bool
	job         string
	jobInterval time.Duration
	smbOnly     bool
	textStyle   string
	bloodhound  string

	concurrency    int
	rateLimit      float64
	timeout        time.Duration
	connectTimeout time.Duration
	sessionTimeout time.Duration
	retries        int
	seed           uint64

	shares       listFlag
	probeShares  listFlag
	path         string
	profile      string
	stages       listFlag
	profileFile  string
	enumDialects bool
	checkWrite   bool
	relayList    string
	smb1List     string

	trace string
	scale scaleFlags
	creds credFlags

	encrypt    bool
	depth      int
	maxEntries int
	maxBytes   int64

	enumUsers   bool   // -enum-users: RID cycling in stage lsa
	ridRange    string // -rid-range FIRST-LAST
	ridRangeSet bool   // -rid-range was given
}

// defineScanFlags defines the scan flags, group by group in the order -h shows them.
func defineScanFlags(g *groupedFlags, f *scanFlags) {
	defaults := sweep.DefaultSettings()
	defineInputFlags(g, f)
	defineOutputFlags(g, f)
	defineRateFlags(g, f, defaults)
	defineProbeFlags(g, f, defaults)
	defineCredentialedFlags(g, f)
	defineScaleFlags(g, &f.scale)
	defineDebugFlags(g, f)
}

func defineInputFlags(g *groupedFlags, f *scanFlags) {
	g.group("Input")
	g.StringVar(&f.list, "l", "", "read targets from `FILE` (one or more per line, # comments; - for stdin), or the hosts with port 445/139 (or -port) open from nmap -oX/-oG, masscan -oL/-oJ/-oX or .nessus output")
	g.StringVar(&f.excludeHosts, "eh", "", "exclude `TARGETS` (comma-separated IPs, CIDRs, ranges)")
	g.StringVar(&f.excludeFile, "ef", "", "exclude the targets listed in `FILE`")
	g.IntVar(&f.port, "port", 445, "default TCP `PORT` for targets without one")
	g.StringVar(&f.ports, "ports", "", "`PORTS` to try in order, e.g. 445,139: targets without a port use the first, and one whose connection is refused or times out there is probed on the next (the record's ports_tried says which answered)")
	g.BoolVar(&f.strict, "strict", false, "treat a bad line in a target file as fatal instead of reporting and skipping it")
	g.BoolVar(&f.resolve, "resolve", false, "take single words in a -l file as host names and look them up (without it a name in a file needs a dot, e.g. fs.corp.example, or is localhost)")
	g.add("l", "eh", "ef", "port", "ports", "strict", "resolve")
}

func defineOutputFlags(g *groupedFlags, f *scanFlags) {
	g.group("Output")
	g.StringVar(&f.out, "o", "-", "write results to `FILE` (- for stdout); format from -jsonl/-csv or the .csv extension")
	g.BoolVar(&f.jsonl, "jsonl", false, "JSON Lines output (default when stdout is not a terminal)")
	g.BoolVar(&f.csv, "csv", false, "CSV output (fixed column order, see docs/schema.md)")
	g.BoolVar(&f.text, "text", false, "the readable view even when stdout is not a terminal (e.g. into a file or less -R)")
	g.BoolVar(&f.silent, "silent", false, "print results only: no progress, warnings or summary text")
	g.BoolVar(&f.stats, "stats", false, "print progress (done/total, hosts/s, in flight, ETA) to stderr")
	g.BoolVar(&f.noColor, "no-color", false, "no colors in the terminal view (also when the NO_COLOR environment variable is set, https://no-color.org)")
	g.BoolVar(&f.smbOnly, "smb-only", false, "print and write only hosts that answered SMB (like nmap --open), in every output; the summary and the metrics still count every target")
	g.StringVar(&f.textStyle, "text-style", "table", "readable view `STYLE`: table (aligned columns, findings and shares below each host) or nxc (one NetExec-style line per host; implies -text)")
	g.StringVar(&f.bloodhound, "bloodhound", "", "also write the SMB hosts as a BloodHound CE OpenGraph `FILE` (computers with smbsigning, shares; docs/BLOODHOUND.md)")
	g.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on `ADDR` (e.g. 127.0.0.1:9446) while scanning")
	g.BoolVar(&f.metricsPub, "metrics-public", false, "let a -metrics-addr that is not loopback serve the metrics, unauthenticated, to whoever reaches it")
	g.StringVar(&f.metricsFile, "metrics-file", "", "at the end, write the scan's metrics to `FILE` in node_exporter textfile format (atomically; for cron)")
	g.StringVar(&f.job, "job", "scan", "label the metrics of -metrics-file, -metrics-push and -metrics-addr with scan_job=`NAME`, as serve labels its jobs (the Grafana dashboard and alert rules select by it)")
	g.DurationVar(&f.jobInterval, "job-interval", 0, "the period of the timer or CronJob that runs this scan (e.g. 6h), exported as smbsweep_job_interval_seconds for the \"no recent success\" alert (0: not exported)")
	g.StringVar(&f.relayList, "relay-list", "", "also write hosts whose signing is not required (NTLM relay targets) to `FILE`, one per line")
	g.StringVar(&f.smb1List, "smb1-list", "", "also write hosts with SMB1 enabled to `FILE`, one per line")
	g.add("o", "jsonl", "csv", "text", "text-style", "smb-only", "silent", "stats", "no-color", "bloodhound", "metrics-addr", "metrics-public", "metrics-file", "job", "job-interval", "relay-list", "smb1-list")
}

func defineRateFlags(g *groupedFlags, f *scanFlags, defaults sweep.Settings) {
	g.group("Rate")
	g.IntVar(&f.concurrency, "c", defaults.Concurrency, "hosts probed at once")
	g.Float64Var(&f.rateLimit, "rl", 0, "at most `N` new TCP connections per second, and as many NBSTAT queries on UDP 137 (0 = unlimited)")
	g.DurationVar(&f.timeout, "timeout", defaults.HostTimeout, "deadline for each host, all stages included")
	g.DurationVar(&f.connectTimeout, "connect-timeout", defaults.ConnectTimeout, "deadline for one TCP connect attempt")
	g.IntVar(&f.retries, "retries", defaults.Retries, "extra connect attempts after a timed-out connect (within the host deadline)")
	g.Uint64Var(&f.seed, "seed", 0, "seed of the target order permutation (0 = random; set it to repeat an order)")
	g.add("c", "rl", "timeout", "connect-timeout", "retries", "seed")
}

func defineProbeFlags(g *groupedFlags, f *scanFlags, defaults sweep.Settings) {
	g.group("Probes")
	g.StringVar(&f.profile, "profile", "default", "probe profile `NAME`: quick, default, full, vuln (see configs/profiles.yaml)")
	g.Var(&f.stages, "probes", "run these `STAGES` (comma-separated) instead of the profile's; needed stages are added")
	g.BoolVar(&f.enumDialects, "enum-dialects", false, "enumerate every accepted dialect and 3.1.1 cipher (one connection each)")
	g.BoolVar(&f.checkWrite, "check-write", false, "INTRUSIVE: test write access by creating and removing a uniquely named empty directory in each share (access stage)")
	g.StringVar(&f.profileFile, "config", "", "read probe profiles from `FILE` instead of the built-in configs/profiles.yaml")
	g.Var(&f.shares, "share", "also tree-connect `SHARE` anonymously (repeatable or comma-separated); the first is used by -path")
	g.StringVar(&f.path, "path", "", "stat `PATH` (backslashes or slashes) on the first -share: CREATE + QUERY_INFO, read-only")
	g.DurationVar(&f.sessionTimeout, "session-timeout", defaults.SessionTimeout, "own deadline of the session stage (servers delay failed logons)")
	g.Var(&f.probeShares, "probe-shares", "share `NAMES` the shareprobe stage tree-connects when SRVSVC gives no list (comma-separated, at most 32; default C$,D$,ADMIN$,IPC$,SYSVOL,NETLOGON,print$,Users,Public,Shared,Data,Backup)")
	g.add("profile", "probes", "enum-dialects", "check-write", "config", "share", "path", "session-timeout", "probe-shares")
	g.BoolVar(&f.enumUsers, "enum-users", false, "stage lsa (profiles full, vuln): also list account names by RID cycling over LsarLookupSids of -rid-range (names are sensitive: they go only into the JSON record's lsa[].users.names)")
	g.StringVar(&f.ridRange, "rid-range", fmt.Sprintf("%d-%d", probes.DefaultRIDFirst, probes.DefaultRIDLast), fmt.Sprintf("with -enum-users: the RIDs `FIRST-LAST` to look up (at most %d: %d LsarLookupSids calls per host)", probes.MaxRIDRange, probes.MaxRIDCalls))
	g.add("enum-users", "rid-range")
}

// Defaults of scan -max-entries and -max-bytes.
const (
	defaultMaxEntries = 1000
	defaultMaxBytes   = 64 << 10
)

// defineCredentialedFlags defines -u and the other credentials, and the flags of the stages
// that need them (in the same -h group).
func defineCredentialedFlags(g *groupedFlags, f *scanFlags) {
	f.creds.define(g)
	g.BoolVar(&f.encrypt, "encrypt", false, "encrypt the credentialed session even when the server does not require it (SMB 3.x)")
	g.IntVar(&f.depth, "depth", 0, "with -probes ls: list subdirectories down to `N` levels (0 = the directory only)")
	g.IntVar(&f.maxEntries, "max-entries", defaultMaxEntries, "with -probes ls: stop after `N` entries per host")
	g.Int64Var(&f.maxBytes, "max-bytes", defaultMaxBytes, "with -probes read: read at most `N` bytes of -path")
	g.add("encrypt", "depth", "max-entries", "max-bytes")
}

func defineDebugFlags(g *groupedFlags, f *scanFlags) {
	g.group("Debug")
	g.StringVar(&f.trace, "trace", "", "write every SMB message sent and received under `DIR` (one file per message, 0600); WARNING: with -u the credentialed connection is traced too, so DIR then holds the NTLM authentication exchange (crackable offline) and what ls and read returned")
	g.add("trace")
}

// scanExtraHelp lists the stages and the finding ids after the flags of scan -h.
func scanExtraHelp() string {
	return "\nSTAGES (for -probes; profiles in configs/profiles.yaml):\n" + probes.StageHelp() +
		"\nFINDINGS (ids in findings[].id, -relay-list and -smb1-list; docs/schema.md):\n  " + strings.Join(output.FindingIDs, ", ") + "\n"
}

// jobNameRE is the daemon's rule for job names (daemon/config.go), applied to -job.
var jobNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// usageError is a bad flag or target: exit 2 with a message that says how to fix it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// validate checks the flags against each other and their ranges; the first problem found is
// returned as a usage error that says how to fix it.
func (f *scanFlags) validate(nArgs int) error {
	for _, check := range []func() error{
		func() error { return f.validateLimits(nArgs) },
		f.validateOutput,
		f.validateListing,
		func() error { return f.scale.apply(&scanner.Config{}) },
		f.validateMetrics,
		f.validateShares,
		f.validateUsers,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateLimits checks that there are targets, and the port, rate and time limits.
func (f *scanFlags) validateLimits(nArgs int) error {
	switch {
	case nArgs == 0 && f.list == "":
		return usagef("no targets: give TARGETS as arguments or -l FILE (e.g. smbsweep scan 10.0.0.0/24)")
	case f.port < 1 || f.port > 65535:
		return usagef("-port %d: must be 1-65535", f.port)
	case f.concurrency < 1 || f.concurrency > 100000:
		return usagef("-c %d: must be 1-100000 hosts at once", f.concurrency)
	case !(f.rateLimit >= 0) || math.IsInf(f.rateLimit, 0): // !(x >= 0) also catches NaN
		return usagef("-rl %g: must be 0 (unlimited) or a positive number of connections per second", f.rateLimit)
	case f.timeout <= 0:
		return usagef("-timeout %s: must be positive (e.g. -timeout 10s)", f.timeout)
	case f.connectTimeout <= 0:
		return usagef("-connect-timeout %s: must be positive (e.g. -connect-timeout 3s)", f.connectTimeout)
	case f.sessionTimeout < 0:
		return usagef("-session-timeout %s: must not be negative", f.sessionTimeout)
	case f.retries < 0 || f.retries > 10:
		return usagef("-retries %d: must be 0-10", f.retries)
	}
	return nil
}

// validateOutput checks that one output format is chosen.
func (f *scanFlags) validateOutput() error {
	switch {
	case f.textStyle != "table" && f.textStyle != "nxc":
		return usagef("-text-style %q: choose table or nxc", f.textStyle)
	case f.textStyle == "nxc" && (f.jsonl || f.csv):
		return usagef("-text-style nxc is a readable view: it cannot be combined with -jsonl or -csv")
	case btoi(f.jsonl)+btoi(f.csv)+btoi(f.text) > 1:
		return usagef("%s given: choose one output format", joinFlags(map[string]bool{"-jsonl": f.jsonl, "-csv": f.csv, "-text": f.text}))
	}
	return nil
}

// validateListing checks the limits of the ls and read stages and that -path has its share.
func (f *scanFlags) validateListing() error {
	switch {
	case f.depth < 0 || f.depth > 64:
		return usagef("-depth %d: must be 0-64", f.depth)
	case f.maxEntries < 1:
		return usagef("-max-entries %d: must be at least 1", f.maxEntries)
	case f.maxBytes < 0:
		return usagef("-max-bytes %d: must not be negative", f.maxBytes)
	case f.path != "" && len(f.shares) == 0:
		return usagef("-path %q needs -share to say which share it is on", f.path)
	}
	return nil
}

// validateMetrics checks -job, -job-interval, -metrics-file and -metrics-addr.
func (f *scanFlags) validateMetrics() error {
	if !jobNameRE.MatchString(f.job) {
		return usagef("-job %q: must be 1-64 lowercase letters, digits, _ and - (it becomes the scan_job label, as a serve job's name does)", f.job)
	}
	if f.jobInterval < 0 {
		return usagef("-job-interval %s: must not be negative (0 leaves it out)", f.jobInterval)
	}
	if f.metricsFile != "" && !strings.HasSuffix(f.metricsFile, ".prom") {
		return usagef("-metrics-file %q: node_exporter's textfile collector reads only *.prom files; name it e.g. smbsweep.prom", f.metricsFile)
	}
	if f.metricsAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(f.metricsAddr); err != nil {
		return usagef("-metrics-addr %q: want HOST:PORT, e.g. 127.0.0.1:9446", f.metricsAddr)
	}
	return checkMetricsExposure(f.metricsAddr, f.metricsPub)
}

// validateShares checks that -share and -probe-shares name shares, not paths.
func (f *scanFlags) validateShares() error {
	for _, s := range f.shares {
		if strings.ContainsAny(s, `\/`) {
			return usagef("-share %q: give the share name only (e.g. public), not a path", s)
		}
	}
	for _, s := range f.probeShares {
		if s == "" || strings.ContainsAny(s, `\/`) {
			return usagef("-probe-shares %q: give share names only (e.g. C$,SYSVOL), not paths", s)
		}
	}
	if len(f.probeShares) > probes.MaxProbeShares {
		return usagef("-probe-shares: %d names, at most %d (the probe sends one TREE_CONNECT per name)", len(f.probeShares), probes.MaxProbeShares)
	}
	return nil
}

// validateUsers checks -rid-range and that it comes with -enum-users.
func (f *scanFlags) validateUsers() error {
	if _, _, err := probes.ParseRIDRange(f.ridRange); err != nil {
		return usagef("%v", err)
	}
	if f.ridRangeSet && !f.enumUsers {
		return usagef("-rid-range %s does nothing without -enum-users: add -enum-users to enumerate accounts, or drop -rid-range", f.ridRange)
	}
	return nil
}

func runScan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var f scanFlags
	g := newGroupedFlags("smbsweep scan")
	defineScanFlags(g, &f)
	pos, code, ok := parseArgs("scan", g, args, stdout, stderr)
	if !ok {
		return code
	}
	g.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "connect-ahead":
			f.scale.aheadSet = true
		case "port":
			f.portSet = true
		case "rid-range":
			f.ridRangeSet = true
		}
	})
	if err := f.validate(len(pos)); err != nil {
		fmt.Fprintf(stderr, "smbsweep scan: %v\n", err)
		return exitUsage
	}
	if f.ports != "" {
		if f.portSet {
			fmt.Fprintf(stderr, "smbsweep scan: -port and -ports both given: use -ports %s alone (its first port is the default)\n", f.ports)
			return exitUsage
		}
		var err error
		if f.portList, err = parsePorts(f.ports); err != nil {
			fmt.Fprintf(stderr, "smbsweep scan: %v\n", err)
			return exitUsage
		}
		f.port, f.portSet = int(f.portList[0]), true
	}
	if (f.out == "-" || f.out == "") && stdoutClosedAtStart(stdout) {
		fmt.Fprintln(stderr, "smbsweep scan: standard output is closed, so the results would be lost; redirect it to a file or use -o FILE")
		return exitFailure
	}
	code, err := scan(&f, pos, stdin, stdout, stderr)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "smbsweep scan: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "smbsweep scan: %v\n", err)
		if code == exitOK {
			code = exitFailure
		}
	}
	return code
}

// maxPorts bounds -ports: each port after the first costs a connect timeout on a filtered host.
const maxPorts = 4

// parsePorts parses -ports: 2 to maxPorts distinct TCP ports, comma-separated, in the order
// to try them.
func parsePorts(s string) ([]uint16, error) {
	fields := strings.Split(s, ",")
	if len(fields) < 2 || len(fields) > maxPorts {
		return nil, usagef("-ports %q: give 2 to %d comma-separated ports in the order to try them, e.g. -ports 445,139 (for one port use -port)", s, maxPorts)
	}
	var out []uint16
	for _, f := range fields {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 65535 {
			return nil, usagef("-ports %q: %q is not a port: each must be 1-65535, e.g. -ports 445,139", s, f)
		}
		if slices.Contains(out, uint16(n)) {
			return nil, usagef("-ports %q: port %d given twice: list each port once, e.g. -ports 445,139", s, n)
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

// buildTargets expands the command line's targets and exclusions.
func buildTargets(ctx context.Context, f *scanFlags, args []string, stdin io.Reader, stderr io.Writer) (*scanner.TargetSet, error) {
	b := scanner.NewTargetBuilder(uint16(f.port))
	b.ShortNames = f.resolve
	for _, a := range args {
		if err := b.Add(a); err != nil {
			return nil, &usageError{msg: err.Error()}
		}
	}
	if f.list != "" {
		if err := addTargetFile(b, f, stdin, stderr); err != nil {
			return nil, err
		}
	}
	if err := excludeTargets(b, f, stdin); err != nil {
		return nil, err
	}
	set, err := b.Build(ctx, net.DefaultResolver)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return set, nil
}

// addTargetFile adds the targets of -l: a list, or the hosts with an SMB port open in a
// scanner's results, which it counts on stderr; the entries it skipped are warned about.
func addTargetFile(b *scanner.TargetBuilder, f *scanFlags, stdin io.Reader, stderr io.Writer) error {
	r, name, closeFn, err := openInput(f.list, stdin)
	if err != nil {
		return usagef("-l %s: %v", f.list, err)
	}
	var ports []uint16 // scanner result files: 445, then 139, unless -port is given
	switch {
	case f.portList != nil:
		ports = f.portList
	case f.portSet:
		ports = []uint16{uint16(f.port)}
	}
	res, err := b.AddFile(r, name, ports, f.strict)
	closeFn()
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	if f.silent {
		return nil
	}
	if res.Format != scanner.FormatList {
		portText := "445 or 139"
		switch {
		case f.portList != nil:
			portText = strings.Trim(strings.ReplaceAll(fmt.Sprint(f.portList), " ", " or "), "[]")
		case f.portSet:
			portText = fmt.Sprint(f.port)
		}
		fmt.Fprintf(stderr, "%s: %s: %d of %d hosts have port %s open\n", name, res.Format, res.Hosts, res.Seen, portText)
	}
	warnSkipped(stderr, name, res.Bad)
	return nil
}

// warnSkipped warns about the first 20 invalid entries of a target file, then counts the rest.
func warnSkipped(stderr io.Writer, name string, bad []error) {
	for i, e := range bad {
		if i == 20 {
			fmt.Fprintf(stderr, "warning: %d more invalid entries in %s skipped\n", scanner.InvalidCount(bad)-20, name)
			break
		}
		fmt.Fprintf(stderr, "warning: skipped %v\n", e)
	}
}

// excludeTargets removes the targets of -eh and -ef.
func excludeTargets(b *scanner.TargetBuilder, f *scanFlags, stdin io.Reader) error {
	if f.excludeHosts != "" {
		for _, e := range strings.Split(f.excludeHosts, ",") {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			if err := b.Exclude(e); err != nil {
				return usagef("-eh: %v", err)
			}
		}
	}
	if f.excludeFile == "" {
		return nil
	}
	r, name, closeFn, err := openInput(f.excludeFile, stdin)
	if err != nil {
		return usagef("-ef %s: %v", f.excludeFile, err)
	}
	bad, err := b.ExcludeReader(r, name, true)
	closeFn()
	if err == nil && len(bad) > 0 {
		err = bad[0]
	}
	if err != nil {
		return usagef("-ef: %v", err)
	}
	return nil
}

func openInput(name string, stdin io.Reader) (io.Reader, string, func(), error) {
	if name == "-" {
		return stdin, "stdin", func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, "", nil, err
	}
	return fh, name, func() { fh.Close() }, nil
}

// openOutput picks the sink for -o and the format flags.
func openOutput(f *scanFlags, stdout io.Writer) (output.Sink, func() error, error) {
	var w io.Writer = stdout
	name := "stdout"
	closeFn := func() error { return nil }
	tty := isTerminal(stdout)
	if f.out != "-" && f.out != "" {
		fh, err := f.scale.create(f.out, f.privateOutput())
		if err != nil {
			return nil, nil, usagef("-o %s: %v", f.out, err)
		}
		w, closeFn, tty, name = fh, fh.Close, false, f.out
	}
	switch {
	case f.csv || (!f.jsonl && strings.EqualFold(filepath.Ext(f.out), ".csv")):
		return output.NewCSV(w, name), closeFn, nil
	case f.jsonl || (!tty && !f.text && f.textStyle != "nxc"):
		return output.NewJSONL(w, name), closeFn, nil
	}
	// Colours on a terminal only (a file or a pipe gets plain text), and not with -no-color or
	// NO_COLOR set (https://no-color.org: present and not empty).
	color := tty && !f.noColor && os.Getenv("NO_COLOR") == ""
	var sink output.Sink = output.NewText(w, name, color)
	if f.textStyle == "nxc" {
		sink = output.NewNXC(w, name, color)
	}
	if f.silent {
		sink = resultsOnly{sink} // -silent: the readable view prints hosts, not the summary block
	}
	return sink, closeFn, nil
}

// resultsOnly drops the summary of a human-oriented sink. JSONL keeps its summary line: it is
// part of the data contract, not chatter.
type resultsOnly struct{ output.Sink }

func (resultsOnly) WriteSummary(*probes.Summary) error { return nil }

// progressClearingWriter erases the progress line on term before every write to w.
type progressClearingWriter struct {
	w    io.Writer
	term io.Writer
}

func (p *progressClearingWriter) Write(b []byte) (int, error) {
	_, _ = io.WriteString(p.term, "\r\x1b[K")
	return p.w.Write(b)
}

// settings are the scan's connect and probe settings: the shared defaults (sweep.Settings)
// with the flags' values.
func (f *scanFlags) settings() sweep.Settings {
	st := sweep.DefaultSettings()
	st.Concurrency, st.HostTimeout, st.ConnectTimeout = f.concurrency, f.timeout, f.connectTimeout
	st.Retries, st.Rate, st.SessionTimeout = f.retries, f.rateLimit, f.sessionTimeout
	return st
}

// joinFlags names the set flags in a fixed order: "-jsonl and -csv both", "-jsonl, -csv and -text".
func joinFlags(set map[string]bool) string {
	var on []string
	for _, n := range []string{"-jsonl", "-csv", "-text"} {
		if set[n] {
			on = append(on, n)
		}
	}
	switch len(on) {
	case 0, 1:
		return strings.Join(on, "")
	case 2:
		return on[0] + " and " + on[1] + " both"
	}
	return strings.Join(on[:len(on)-1], ", ") + " and " + on[len(on)-1]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isTerminal(w any) bool {
	if p, ok := w.(*progressClearingWriter); ok {
		w = p.w
	}
	fh, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := fh.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// scan runs the scan of the parsed command line: credentials, targets, outputs, the
// pipeline, then the sweep. It returns the exit code and the error to report.
func scan(f *scanFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	sig := handleSignals(f.silent, stderr)
	defer sig.close()
	// Credentials first: a bad -password-file must fail before any output file is created.
	creds, err := scanCredentials(f, stderr)
	if err != nil {
		return exitUsage, err
	}
	set, err := buildTargets(sig.dispatch, f, args, stdin, stderr)
	if err != nil {
		return exitUsage, err
	}
	if err := f.scale.prepare(f, set, stderr); err != nil {
		return exitUsage, err
	}
	outs, err := openScanOutputs(f, stdout, stderr)
	defer outs.close()
	if err != nil {
		return exitUsage, err
	}
	if f.metricsAddr != "" {
		srv, err := serveMetrics(f.metricsAddr, outs.reg)
		if err != nil {
			return exitFailure, err
		}
		defer srv.Close()
	}
	settings := f.settings()
	opts, err := f.probeOptions(settings, creds)
	if err != nil {
		return exitUsage, err
	}
	pipeline, err := buildPipeline(f, opts)
	if err != nil {
		return exitUsage, err
	}
	return runSweep(f, sig, set, pipeline, settings, outs, stderr)
}

// scanCredentials are the -u credentials, or nil for an anonymous scan.
func scanCredentials(f *scanFlags, stderr io.Writer) (*client.Credentials, error) {
	if f.creds.user == "" {
		return nil, nil
	}
	cred, err := f.creds.resolve(os.LookupEnv, stderr)
	if err != nil {
		return nil, err
	}
	return &cred, nil
}

// runSweep sweeps set with pipeline into outs, with the -stats progress line, and finishes
// the scan (finishScan).
func runSweep(f *scanFlags, sig scanSignals, set *scanner.TargetSet, pipeline *probes.Pipeline, settings sweep.Settings, outs *scanOutputs, stderr io.Writer) (int, error) {
	progress, stopProgress := startProgress(f, stderr)
	defer stopProgress()
	scfg := settings.Scanner()
	scfg.Seed, scfg.Progress = f.seed, progress
	if err := f.scale.apply(&scfg); err != nil {
		return exitUsage, err
	}
	outs.jobMetrics.Start(time.Now())
	summary, werr := sweep.Run(sig.dispatch, sig.abort, sweep.Config{
		BeforeSummary: stopProgress,
		Targets:       set,
		Pipeline:      pipeline,
		Scanner:       scfg,
		Writer:        outs.writer,
		Metrics:       outs.metrics,
		Checkpoint:    f.scale.cp,
		Ports:         f.portList,
	})
	stopProgress()
	summary.Interrupted = summary.Interrupted || sig.interrupted.Load()
	return finishScan(f, outs, summary, werr, stderr)
}

// scanSignals are a scan's reactions to SIGINT/SIGTERM: the first stops dispatch (hosts in
// flight finish or time out), a second aborts them too. Either way every sink is flushed and
// the exit code is non-zero.
type scanSignals struct {
	dispatch, abort context.Context
	interrupted     *atomic.Bool
	close           func()
}

func handleSignals(silent bool, stderr io.Writer) scanSignals {
	dispatch, stopDispatch := context.WithCancel(context.Background())
	abort, abortAll := context.WithCancel(context.Background())
	s := scanSignals{dispatch: dispatch, abort: abort, interrupted: new(atomic.Bool)}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// With SIGPIPE subscribed, a write to a closed stdout returns EPIPE, which the writer
	// reports ("write results to stdout: broken pipe") instead of the process dying silently.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	go func() {
		n := 0
		for range sigs {
			n++
			s.interrupted.Store(true)
			if n == 1 {
				if !silent {
					fmt.Fprintln(stderr, "\ninterrupted: finishing hosts in flight (interrupt again to abort them)")
				}
				stopDispatch()
				continue
			}
			abortAll()
		}
	}()
	s.close = func() {
		signal.Stop(pipes)
		signal.Stop(sigs)
		abortAll()
		stopDispatch()
	}
	return s
}

// scanOutputs are a scan's sinks behind one writer, and the metrics registry they feed.
type scanOutputs struct {
	writer     *output.Writer
	reg        *prometheus.Registry
	jobMetrics *output.JobRunMetrics
	metrics    *output.ScanMetrics
	closeOut   func() error // closes -o (its error is the scan's)
	files      []io.Closer  // -bloodhound, -relay-list, -smb1-list
}

// openScanOutputs opens -o and the side files and builds the writer over every sink.
func openScanOutputs(f *scanFlags, stdout, stderr io.Writer) (*scanOutputs, error) {
	o := &scanOutputs{reg: prometheus.NewRegistry(), closeOut: func() error { return nil }}
	out := stdout
	if f.stats && !f.silent && isTerminal(stdout) && isTerminal(stderr) && (f.out == "-" || f.out == "") {
		// Results and the progress line share the terminal: clear the progress line before
		// each result so they do not interleave; the next tick redraws it.
		out = &progressClearingWriter{w: stdout, term: stderr}
	}
	sink, closeOut, err := openOutput(f, out)
	if err != nil {
		return o, err
	}
	o.closeOut = closeOut
	o.jobMetrics, o.metrics = output.NewJobRunMetrics(o.reg, f.job, versionString(), f.jobInterval)
	if f.smbOnly {
		sink = output.SMBOnly(sink)
	}
	sinks := []output.Sink{sink, o.metrics, o.jobMetrics}
	if f.bloodhound != "" {
		fh, err := f.scale.create(f.bloodhound, false)
		if err != nil {
			return o, usagef("-bloodhound %s: %v", f.bloodhound, err)
		}
		o.files = append(o.files, fh)
		sinks = append(sinks, output.NewBloodHound(fh, f.bloodhound))
	}
	for _, l := range []struct{ path, finding string }{{f.relayList, probes.FindingSigningNotRequired}, {f.smb1List, probes.FindingSMB1Enabled}} {
		if l.path == "" {
			continue
		}
		fh, err := f.scale.create(l.path, false)
		if err != nil {
			return o, usagef("%s: %v", l.path, err)
		}
		o.files = append(o.files, fh)
		sinks = append(sinks, output.NewHostList(fh, l.path, l.finding))
	}
	o.writer = output.NewWriter(f.scale.wrapSinks(sinks)...)
	return o, nil
}

// close closes the side files (-o is closed by finishScan, which reports its error).
func (o *scanOutputs) close() {
	for _, c := range o.files {
		_ = c.Close()
	}
}

// probeOptions are the probe options of the scan's flags over the shared settings.
func (f *scanFlags) probeOptions(settings sweep.Settings, creds *client.Credentials) (*probes.Options, error) {
	opts := settings.ProbeOptions()
	opts.Shares, opts.CheckWrite, opts.Encrypt = f.shares, f.checkWrite, f.encrypt
	opts.ListDepth, opts.ListMaxEntries, opts.ReadMaxBytes = f.depth, f.maxEntries, f.maxBytes
	opts.Credentials = creds
	if len(f.probeShares) > 0 {
		opts.ProbeShares = f.probeShares
	}
	if f.enumUsers {
		opts.EnumUsers = true
		opts.RIDFirst, opts.RIDLast, _ = probes.ParseRIDRange(f.ridRange) // checked by validate
	}
	if len(f.shares) > 0 && f.path != "" {
		opts.StatShare, opts.StatPath = f.shares[0], f.path
	}
	if f.trace != "" {
		tr, err := newTracer(f.trace)
		if err != nil {
			return nil, usagef("-trace %s: %v", f.trace, err)
		}
		opts.Trace = tr.trace
	}
	return opts, nil
}

// startProgress starts the -stats progress line; the function it returns stops it (once,
// whoever calls it first: the summary must come after the last progress line).
func startProgress(f *scanFlags, stderr io.Writer) (*scanner.Progress, func()) {
	progress := &scanner.Progress{}
	stopStats := make(chan struct{})
	statsDone := make(chan struct{})
	if f.stats && !f.silent {
		go func() {
			defer close(statsDone)
			progress.Print(stderr, isTerminal(stderr), time.Second, stopStats)
		}()
	} else {
		close(statsDone)
	}
	var once sync.Once
	return progress, func() {
		once.Do(func() {
			close(stopStats)
			<-statsDone
		})
	}
}

// finishScan closes -o, records the run in the metrics (push, file) and turns the outcome
// into the exit code.
func finishScan(f *scanFlags, outs *scanOutputs, summary *probes.Summary, werr error, stderr io.Writer) (int, error) {
	if cerr := outs.closeOut(); werr == nil && cerr != nil {
		werr = fmt.Errorf("close %s: %w", f.out, cerr)
	}
	result := output.RunSuccess
	switch {
	case werr != nil:
		result = output.RunFailed
	case summary.Interrupted:
		result = output.RunInterrupted
	}
	var dur time.Duration
	if summary != nil {
		dur = time.Duration(summary.DurationSeconds * float64(time.Second))
	}
	outs.jobMetrics.Finish(outs.reg, result, summary, dur)
	f.scale.pushMetrics(outs.reg, f.silent, stderr)
	if f.metricsFile != "" {
		// Written to a temporary file and renamed: the textfile collector never reads a
		// half-written file.
		if err := output.WriteMetricsFile(f.metricsFile, outs.reg); err != nil && werr == nil {
			werr = fmt.Errorf("-metrics-file: %w", err)
		}
	}
	if werr != nil {
		return exitFailure, werr
	}
	if summary.Interrupted {
		return exitInterrupted, nil
	}
	return exitOK, nil
}

func serveMetrics(addr string, reg *prometheus.Registry) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", output.Handler(reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}

// buildPipeline chooses the stages: -probes if given, else the -profile from the built-in or
// -config profile file; -enum-dialects adds the dialects stage.
func buildPipeline(f *scanFlags, opts *probes.Options) (*probes.Pipeline, error) {
	profiles := configs.BuiltinProfiles()
	if f.profileFile != "" {
		data, err := os.ReadFile(f.profileFile)
		if err != nil {
			return nil, usagef("-config %s: %v", f.profileFile, err)
		}
		if profiles, err = configs.LoadProfiles(data, f.profileFile); err != nil {
			return nil, usagef("-config %v", err)
		}
	}
	var stages []string
	if len(f.stages) > 0 {
		stages = append(stages, f.stages...)
	} else {
		p, ok := profiles[f.profile]
		if !ok {
			return nil, usagef("-profile %q: unknown profile: choose one of %s", f.profile, strings.Join(configs.ProfileNames(profiles), ", "))
		}
		stages = append(stages, p.Stages...)
	}
	if f.enumDialects {
		stages = append(stages, string(probes.StageDialects))
	}
	if opts.Credentials != nil {
		stages = append(stages, string(probes.StageAuth))
	}
	if f.checkWrite {
		stages = append(stages, string(probes.StageAccess))
	}
	p, err := probes.NewPipeline(stages, opts)
	if err != nil {
		return nil, usagef("-probes: %v", err)
	}
	return p, nil
}
