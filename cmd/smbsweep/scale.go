package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

// scaleFlags are the scale-out flags: shards (Kubernetes Indexed Jobs), resume, the file
// descriptor budget and the Pushgateway push.
type scaleFlags struct {
	shard          string
	shards         int
	resume         string
	resumeInterval time.Duration
	connectAhead   int
	aheadSet       bool // -connect-ahead was given (not its default)
	push           pushFlags

	// Set by prepare.
	cp       *sweep.Checkpoint
	appendTo map[string]bool // output files to append to (resuming)
	shardSet scanner.Shard
}

func defineScaleFlags(g *groupedFlags, f *scaleFlags) {
	g.group("Scale")
	g.StringVar(&f.shard, "shard", "", "scan only shard `I/N` (0-based I) of the permuted targets; defaults to $JOB_COMPLETION_INDEX/N with N from -shards or $SMBSWEEP_SHARDS")
	g.IntVar(&f.shards, "shards", 0, "number of shards `N` when the shard index comes from $JOB_COMPLETION_INDEX (Kubernetes Indexed Job)")
	g.StringVar(&f.resume, "resume", "", "checkpoint `FILE`: record progress there and, when it exists, scan only what an earlier run left (same targets and flags)")
	g.DurationVar(&f.resumeInterval, "resume-interval", sweep.DefaultCheckpointInterval, "how often the -resume checkpoint is saved while scanning")
	g.IntVar(&f.connectAhead, "connect-ahead", defaultConnectAhead, "let up to `N` more hosts wait for their first TCP connection outside -c (0 = off): hosts that never answer (dropped SYNs) hold no probe slot, and hosts whose connects timed out get a second look; up to -c + N connections may be open")
	g.add("shard", "shards", "resume", "resume-interval", "connect-ahead")
	definePushFlags(g, &f.push)
}

// shardSpec returns the shard to scan as "I/N", or "" for the whole scan: -shard, else
// $JOB_COMPLETION_INDEX with -shards or $SMBSWEEP_SHARDS.
func (f *scaleFlags) shardSpec() (string, error) {
	if f.shard != "" {
		return f.shard, nil
	}
	idx := os.Getenv("JOB_COMPLETION_INDEX")
	n := os.Getenv("SMBSWEEP_SHARDS")
	if f.shards > 0 {
		n = strconv.Itoa(f.shards)
	}
	switch {
	case idx != "" && n != "":
		return idx + "/" + n, nil
	case f.shards > 1:
		return "", usagef("-shards %d: the shard index comes from $JOB_COMPLETION_INDEX, which is not set: give -shard I/%d instead", f.shards, f.shards)
	}
	return "", nil
}

// apply validates the flags and configures the scan.
func (f *scaleFlags) apply(cfg *scanner.Config) error {
	if f.shards < 0 {
		return usagef("-shards %d: must be a positive number of shards", f.shards)
	}
	if f.connectAhead < 0 || f.connectAhead > 100000 {
		return usagef("-connect-ahead %d: must be 0-100000", f.connectAhead)
	}
	cfg.ConnectAhead = f.connectAhead
	if f.resumeInterval < 0 {
		return usagef("-resume-interval %s: must be positive (e.g. 2s)", f.resumeInterval)
	}
	if err := f.push.validate(); err != nil {
		return err
	}
	spec, err := f.shardSpec()
	if err != nil {
		return err
	}
	if spec == "" {
		return nil
	}
	sh, err := parseShard(spec)
	if err != nil {
		return usagef("-shard %q: %v", spec, err)
	}
	cfg.Shard = sh
	f.shardSet = sh
	return nil
}

// parseShard parses "I/N" with 0 <= I < N.
func parseShard(s string) (scanner.Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return scanner.Shard{}, fmt.Errorf("want I/N, e.g. 0/4 (I counts from 0)")
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return scanner.Shard{}, fmt.Errorf("want I/N with 0 <= I < N, e.g. 0/4")
	}
	sh := scanner.Shard{Index: i, Count: n}
	return sh, sh.Validate()
}

// fdsPerHost and fdReserve: see scanner.FilesNeeded.
const (
	fdsPerHost = scanner.FDsPerHost
	fdReserve  = scanner.FDReserve
)

// prepare runs once the targets are known and before any output is opened: it fits -c to the
// file descriptor limit, derives the seed of a sharded scan from its targets when -seed is not
// given, and, with -resume, loads or starts the checkpoint, fixes the seed and truncates the
// outputs to what the checkpoint recorded.
func (f *scaleFlags) prepare(sf *scanFlags, set *scanner.TargetSet, stderr io.Writer) error {
	warn := func(format string, a ...any) {
		if !sf.silent {
			fmt.Fprintf(stderr, "warning: "+format+"\n", a...)
		}
	}
	f.fitToFileLimit(sf, warn)
	var cfg scanner.Config
	if err := f.apply(&cfg); err != nil {
		return err
	}
	if sf.seed == 0 && cfg.Shard.Count > 1 {
		// Every shard of a scan must walk the same order: without -seed, derive it from the
		// targets, which all shards share, instead of each pod picking its own.
		fp := set.Fingerprint()
		sf.seed = binary.LittleEndian.Uint64(fp[:8]) | 1
	}
	if f.resume == "" {
		return nil
	}
	return f.openCheckpoint(sf, set, cfg.Shard, warn, stderr)
}

// fitToFileLimit fits -c and -connect-ahead to the file descriptor limit. The default
// connect-ahead is fitted silently; -c, or a -connect-ahead given on the command line, is
// warned about.
func (f *scaleFlags) fitToFileLimit(sf *scanFlags, warn func(format string, a ...any)) {
	var fitMsg string
	c := sf.concurrency
	sf.concurrency, f.connectAhead = fitConcurrency(sf.concurrency, f.connectAhead, func(format string, a ...any) {
		fitMsg = fmt.Sprintf(format, a...)
	})
	if fitMsg != "" && (f.aheadSet || sf.concurrency != c) {
		warn("%s", fitMsg)
	}
}

// openCheckpoint loads or starts the -resume checkpoint of shard, takes its seed and truncates
// the output files to what it recorded.
func (f *scaleFlags) openCheckpoint(sf *scanFlags, set *scanner.TargetSet, shard scanner.Shard, warn func(format string, a ...any), stderr io.Writer) error {
	hash, err := resumeHash(sf, set)
	if err != nil {
		return err
	}
	cp, err := sweep.OpenCheckpoint(f.resume, hash, sf.seed, shard, shard.Len(set.Len()))
	if err != nil {
		return usagef("-resume %s: %v", f.resume, err)
	}
	cp.SetInterval(f.resumeInterval)
	f.appendTo = map[string]bool{}
	for _, p := range []string{sf.out, sf.relayList, sf.smb1List} {
		if p == "" || p == "-" {
			continue
		}
		app, err := cp.PrepareOutput(p)
		if err != nil {
			return usagef("-resume %s: %v", f.resume, err)
		}
		f.appendTo[p] = app
	}
	if sf.out == "" || sf.out == "-" {
		warn("-resume with results on stdout: after a hard kill (SIGKILL, OOM) results written after the last checkpoint are written again on resume; use -o FILE for exact resumes")
	}
	sf.seed = cp.Seed()
	f.cp = cp
	if cp.Resumed() && !sf.silent {
		p := cp.Prior()
		fmt.Fprintf(stderr, "resuming from %s: %d of %d targets done, %d left (seed %d, shard %s)\n",
			f.resume, p.Done, p.Total, cp.Remaining(), p.Seed, p.Shard)
	}
	return nil
}

// resumeHash digests the flags that decide what is scanned and written (see sweep.ConfigHash):
// not concurrency, rates or timeouts, which may change between a run and its resume.
func resumeHash(sf *scanFlags, set *scanner.TargetSet) (string, error) {
	profile := ""
	if sf.profileFile != "" {
		data, err := os.ReadFile(sf.profileFile)
		if err != nil {
			return "", usagef("-config %s: %v", sf.profileFile, err)
		}
		sum := sha256.Sum256(data)
		profile = hex.EncodeToString(sum[:])
	}
	parts := []string{
		"profile=" + sf.profile, "probes=" + sf.stages.String(), "config=" + profile,
		"enum-dialects=" + strconv.FormatBool(sf.enumDialects), "check-write=" + strconv.FormatBool(sf.checkWrite),
		"share=" + sf.shares.String(), "path=" + sf.path,
		"o=" + sf.out, "jsonl=" + strconv.FormatBool(sf.jsonl), "csv=" + strconv.FormatBool(sf.csv),
		"relay-list=" + sf.relayList, "smb1-list=" + sf.smb1List,
	}
	return sweep.ConfigHash(set, append(parts, resumeExtras(sf)...)...), nil
}

// resumeExtras are the later flags that change what is scanned or written, each only when it
// differs from its default, so that checkpoints of scans without them keep their hash. The
// credentials count by the account (a run as another user sees other shares), never by the
// password or hash.
func resumeExtras(sf *scanFlags) []string {
	var parts []string
	add := func(set bool, kv string) {
		if set {
			parts = append(parts, kv)
		}
	}
	add(sf.ports != "", "ports="+sf.ports)
	add(sf.enumUsers, "enum-users=true")
	add(sf.enumUsers && sf.ridRangeSet, "rid-range="+sf.ridRange)
	add(len(sf.probeShares) > 0, "probe-shares="+sf.probeShares.String())
	add(sf.creds.user != "", "u="+sf.creds.user)
	add(sf.creds.domain != "", "d="+sf.creds.domain)
	add(sf.encrypt, "encrypt=true")
	add(sf.depth != 0, "depth="+strconv.Itoa(sf.depth))
	add(sf.maxEntries != defaultMaxEntries, "max-entries="+strconv.Itoa(sf.maxEntries))
	add(sf.maxBytes != defaultMaxBytes, "max-bytes="+strconv.FormatInt(sf.maxBytes, 10))
	return parts
}

// create opens an output file: truncated for a new scan, appended to when resuming (the
// checkpoint has already cut it back to the last checkpointed record); private ones are 0600
// (output.OpenFile). When appending to a file that already has content, a first line identical
// to the file's first line (the CSV header) is not written again.
func (f *scaleFlags) create(path string, private bool) (io.WriteCloser, error) {
	if !f.appendTo[path] {
		return output.OpenFile(path, os.O_WRONLY|os.O_TRUNC, private)
	}
	fh, err := output.OpenFile(path, os.O_RDWR|os.O_APPEND, private)
	if err != nil {
		return nil, err
	}
	first, err := bufio.NewReader(io.NewSectionReader(fh, 0, 1<<20)).ReadBytes('\n')
	if err != nil || len(first) == 0 {
		return fh, nil // empty, or no complete first line: nothing to de-duplicate
	}
	return &skipRepeatedHeader{File: fh, header: first}, nil
}

// skipRepeatedHeader drops the header line from the first write when the file already begins
// with it.
type skipRepeatedHeader struct {
	*os.File
	header []byte
	seen   bool
}

func (w *skipRepeatedHeader) Write(p []byte) (int, error) {
	if !w.seen {
		w.seen = true
		if bytes.HasPrefix(p, w.header) {
			n, err := w.File.Write(p[len(w.header):])
			return n + len(w.header), err
		}
	}
	return w.File.Write(p)
}

// wrapSinks adds the checkpoint's sink (last) when resuming is on.
func (f *scaleFlags) wrapSinks(sinks []output.Sink) []output.Sink {
	if f.cp == nil {
		return sinks
	}
	return f.cp.WrapSinks(sinks)
}

// defaultConnectAhead is -connect-ahead's default: on Linux a pending connect costs a socket
// and a few hundred bytes (no goroutine), and 4 096 of them let a /16 with 5 000 filtered
// addresses finish in about a fifth of the time 1 024 take (docs/BENCHMARKS.md).
const defaultConnectAhead = 4096

// fitWithin fits c probing hosts and ahead connect-ahead connects into limit descriptors.
// Connect-ahead gives way first, but not below a sixteenth of the budget (when asked for that
// many): without it there is no congestion window, and probe workers and their stacks follow -c
// instead of the probes that run at once, so keeping a share of it is worth a few probe slots.
func fitWithin(c, ahead int, limit uint64) (int, int) {
	budget := 0
	if limit > fdReserve {
		budget = int(min(limit-fdReserve, 1<<30))
	}
	keep := min(ahead, budget/16)
	fitC := max(1, min(c, (budget-keep)/fdsPerHost))
	return fitC, max(0, min(ahead, budget-fitC*fdsPerHost))
}

// fitConcurrency keeps -c and -connect-ahead within the open-file limit: it raises the soft
// limit towards the hard limit when they need it and, if that is still too low, lowers them
// (connect-ahead first) and warns, rather than letting connections fail with "too many open
// files" (which would be reported as host errors).
func fitConcurrency(c, ahead int, warn func(string, ...any)) (int, int) {
	need := scanner.FilesNeeded(c, ahead)
	limit, hard, err := scanner.RaiseOpenFileLimit(need)
	if err != nil || limit >= need {
		return c, ahead
	}
	fitC, fitAhead := fitWithin(c, ahead, limit)
	if ahead > 0 {
		warn("-c %d with -connect-ahead %d needs about %d open files, but the limit is %d (hard limit %d): using -c %d -connect-ahead %d instead; raise the limit (ulimit -n) for more",
			c, ahead, need, limit, hard, fitC, fitAhead)
	} else {
		warn("-c %d needs about %d open files, but the limit is %d (hard limit %d): scanning %d hosts at once instead; raise the limit (ulimit -n) for more",
			c, need, limit, hard, fitC)
	}
	return fitC, fitAhead
}
