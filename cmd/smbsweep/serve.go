package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/smbsweep/smbsweep/daemon"
	"github.com/smbsweep/smbsweep/diff"
	"github.com/smbsweep/smbsweep/output"
)

const serveSynopsis = `Usage: smbsweep serve [-config FILE] [flags]

Runs the daemon: the scan jobs of FILE on their schedules (each run written to
<output_dir>/<job>/<start>.jsonl with a .diff.jsonl against the previous run), the HTTP API
(docs/API.md), /probe for Prometheus, and /metrics. Without -config it serves the API alone.
Flags override the file. SIGHUP reloads the file; SIGTERM stops cleanly.

The API listens on 127.0.0.1:9445 by default; listening anywhere else needs bearer tokens
(-token-file or api.token_file). Targets are limited to -allow-targets (default loopback).
`

const configSynopsis = `Usage: smbsweep config check FILE

Validates a daemon configuration file: syntax, unknown keys, every value, and the files and
environment variables it names. Prints "ok: N jobs" and, for each job, its schedule and the
networks it will scan (targets and targets_file minus excludes; names are listed, not
resolved), or the error (exit 2). Secret files others may read are warned about on stderr.
`

const diffSynopsis = `Usage: smbsweep diff [flags] OLD.jsonl NEW.jsonl

Lists what changed between two scans, one change per line: SMB service appeared or
disappeared, SMB1 turned on or off, signing requirement flipped, null session access changed,
an anonymous share added or removed, dialect changed. JSONL in a pipe, a readable view on a
terminal. A host that answered SMB in OLD but gave no answer in NEW (timeout, reset) is
listed as "no answer this time", not as SMB gone: an unknown is never taken for a change.
Exit 0 whether or not anything changed; non-zero only on errors (a file holding no scan
records is refused).
`

// serveFlags holds the parsed serve command line.
type serveFlags struct {
	config       string
	listen       string
	allowTargets string
	allowWrite   bool
	tokenFile    string
	logLevel     string
}

func newServeFlagSet(f *serveFlags) *groupedFlags {
	g := newGroupedFlags("smbsweep serve")
	g.group("Daemon")
	g.StringVar(&f.config, "config", "", "daemon configuration `FILE` (YAML, see configs/smbsweep.yml); none: API only")
	g.StringVar(&f.listen, "listen", "", "HTTP `ADDR` of the API and /metrics (default "+daemon.DefaultListen+", or the file's listen)")
	g.add("config", "listen")
	g.group("API")
	g.StringVar(&f.allowTargets, "allow-targets", "", "`CIDRS` the API may probe, comma-separated (default loopback only, or the file's api.allow_targets)")
	g.BoolVar(&f.allowWrite, "allow-write", false, "enable /api/cifs/write (default off)")
	g.StringVar(&f.tokenFile, "token-file", "", "bearer tokens `FILE`, one per line (replaces the file's tokens)")
	g.add("allow-targets", "allow-write", "token-file")
	g.group("Logging")
	g.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	g.add("log-level")
	return g
}

func runServe(args []string, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	return serve(context.Background(), args, stdout, stderr, sigs)
}

// serve runs the daemon until ctx ends or sigs delivers SIGTERM/SIGINT; SIGHUP reloads. It
// returns the exit code: 0 after a clean shutdown, 2 for a bad command line or configuration,
// 1 when the daemon could not run (e.g. the address is in use).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	var f serveFlags
	if code, ok := parseFlagsOnly("serve", newServeFlagSet(&f), args, stdout, stderr, "the configuration file is given with -config FILE"); !ok {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(stderr, "smbsweep serve: -log-level %q: want debug, info, warn or error\n", f.logLevel)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	d, err := daemon.New(daemon.Options{ConfigFile: f.config, Overrides: f.overrides(), Version: versionString(), Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep serve: %v\n", err)
		return exitUsage
	}
	if _, err := d.Listen(); err != nil {
		fmt.Fprintf(stderr, "smbsweep serve: %v\n", err)
		return exitFailure
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go handleServeSignals(ctx, cancel, sigs, d, f.config != "", log)
	if err := d.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "smbsweep serve: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// overrides are the flags that override the configuration file.
func (f *serveFlags) overrides() daemon.Overrides {
	ov := daemon.Overrides{Listen: f.listen, AllowWrite: f.allowWrite, TokenFile: f.tokenFile}
	if f.allowTargets != "" {
		for _, c := range strings.Split(f.allowTargets, ",") {
			if c = strings.TrimSpace(c); c != "" {
				ov.AllowTargets = append(ov.AllowTargets, c)
			}
		}
	}
	return ov
}

// handleServeSignals reloads d's configuration file on SIGHUP (when there is one) and
// cancels the daemon on any other signal, until ctx ends.
func handleServeSignals(ctx context.Context, cancel context.CancelFunc, sigs <-chan os.Signal, d *daemon.Daemon, haveConfig bool, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if !haveConfig {
					log.Info("SIGHUP: no configuration file to reload")
					continue
				}
				_ = d.Reload() // logged; a bad file keeps the running configuration
				continue
			}
			log.Info("signal received: shutting down", "signal", sig.String())
			cancel()
			return
		}
	}
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	args, code, ok := parseArgs("config", newGroupedFlags("smbsweep config"), args, stdout, stderr)
	if !ok {
		return code
	}
	if len(args) != 2 || args[0] != "check" {
		hint := ""
		if len(args) > 0 && args[0] != "check" && closest(args[0], []string{"check"}) != "" {
			hint = fmt.Sprintf(" (%q: did you mean check?)", args[0])
		}
		fmt.Fprint(stderr, "smbsweep config: want 'smbsweep config check FILE'"+hint+"\n\n"+configSynopsis)
		return exitUsage
	}
	cfg, err := daemon.LoadFile(args[1], nil)
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep config: %v\n", err)
		return exitUsage
	}
	for _, w := range cfg.SecretFileWarnings() {
		fmt.Fprintf(stderr, "smbsweep config: warning: %s\n", w)
	}
	return printJobNetworks(stdout, stderr, args[1], cfg)
}

// printJobNetworks prints "ok: N jobs", then what each job will scan: its schedule and its
// networks (targets, the targets file as it reads today, minus exclusions; names unresolved).
func printJobNetworks(stdout, stderr io.Writer, file string, cfg *daemon.Config) int {
	plural := func(n uint64, noun string) string {
		if n == 1 {
			return "1 " + noun
		}
		return fmt.Sprintf("%d %ss", n, noun)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ok: %s\n", plural(uint64(len(cfg.Jobs)), "job"))
	for _, j := range cfg.Jobs {
		lines, n, err := j.Networks()
		if err != nil {
			fmt.Fprintf(stderr, "smbsweep config: %s: job %s: %v\n", file, j.Name, err)
			return exitUsage
		}
		fmt.Fprintf(&b, "job %s (%s) scans %s:\n", j.Name, j.Schedule, plural(n, "target"))
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", output.SanitizeTerminal(l))
		}
	}
	fmt.Fprint(stdout, b.String())
	return exitOK
}

// diffFlags holds the parsed diff command line.
type diffFlags struct{ jsonl, text bool }

func newDiffFlagSet(f *diffFlags) *groupedFlags {
	g := newGroupedFlags("smbsweep diff")
	g.group("Output")
	g.BoolVar(&f.jsonl, "jsonl", false, "JSON Lines output (default when stdout is not a terminal)")
	g.BoolVar(&f.text, "text", false, "readable output (default on a terminal)")
	g.add("jsonl", "text")
	return g
}

func runDiff(args []string, stdout, stderr io.Writer) int {
	var f diffFlags
	pos, code, ok := parseArgs("diff", newDiffFlagSet(&f), args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprint(stderr, "smbsweep diff: want two files: smbsweep diff OLD.jsonl NEW.jsonl\n")
		return exitUsage
	}
	if f.jsonl && f.text {
		fmt.Fprint(stderr, "smbsweep diff: -jsonl and -text both given: choose one\n")
		return exitUsage
	}
	old, err := diff.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep diff: %v\n", err)
		return exitFailure
	}
	cur, err := diff.ReadFile(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep diff: %v\n", err)
		return exitFailure
	}
	for i, r := range []*diff.Run{old, cur} {
		if r.Records == 0 {
			what := "it is empty"
			if r.Lines > 0 {
				what = fmt.Sprintf("none of its %d lines is a host record or a summary", r.Lines)
			}
			fmt.Fprintf(stderr, "smbsweep diff: %s: no scan records (%s): give JSONL written by smbsweep scan (-jsonl or -o FILE.jsonl) or by the daemon\n", pos[i], what)
			return exitFailure
		}
	}
	changes := diff.Compare(old, cur)
	if f.text || (!f.jsonl && isTerminal(stdout)) {
		err = diff.WriteText(stdout, changes)
	} else {
		err = diff.WriteJSONL(stdout, changes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "smbsweep diff: write: %v\n", err)
		return exitFailure
	}
	return exitOK
}
