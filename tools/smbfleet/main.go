// Command smbfleet starts the Samba test fleet of internal/testing/sambatest on
// loopback addresses, prints what each server is, and either runs a command
// against it or waits for SIGINT/SIGTERM, then stops the fleet.
//
//	smbfleet [-dir DIR] [-keep] [-high-ports] [-- COMMAND ARGS...]
//
// The command gets SMBSWEEP_FLEET_TARGETS (space-separated targets) in its
// environment; an argument that is exactly {targets} is replaced by the
// targets as separate arguments, and {targets} inside a longer argument by
// the space-separated list. smbfleet exits with the command's exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

// EnvTargets carries the fleet's targets to the command.
const EnvTargets = "SMBSWEEP_FLEET_TARGETS"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// flags are smbfleet's command line.
type flags struct {
	dir                            string
	keep, highPorts, reap, verbose bool
	command                        []string
}

// parseFlags parses args; code >= 0 means exit with it (-h, or a bad flag).
func parseFlags(args []string, stderr io.Writer) (f flags, code int) {
	fs := flag.NewFlagSet("smbfleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dir, "dir", "", "root directory for the instances (default: a new temporary directory)")
	fs.BoolVar(&f.keep, "keep", false, "keep the instance directories after stopping")
	fs.BoolVar(&f.highPorts, "high-ports", false, "put every server on 127.0.0.1 with its own high port")
	fs.BoolVar(&f.reap, "reap", false, "only clean up fleets left behind by dead processes, then exit")
	fs.BoolVar(&f.verbose, "v", false, "log progress")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: smbfleet [flags] [-- COMMAND ARGS...]\n\n"+
			"Starts real Samba servers on loopback addresses, prints them, then runs COMMAND\n"+
			"(with %s set and {targets} replaced) or waits for Ctrl-C.\n\nflags:\n", EnvTargets)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, 0
		}
		return f, 2
	}
	f.command = fs.Args()
	return f, -1
}

func run(args []string, stdout, stderr io.Writer) int {
	f, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	if f.reap {
		if err := sambatest.Reap(stderr); err != nil {
			fmt.Fprintf(stderr, "smbfleet: %v\n", err)
			return 1
		}
		return 0
	}
	// Signals during start-up cancel it; afterwards they go to the command or end the wait.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	fleet, err := startFleet(f, sigs, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "smbfleet: %v\n", err)
		return 1
	}
	defer func() {
		if err := fleet.Stop(); err != nil {
			fmt.Fprintf(stderr, "smbfleet: stop: %v\n", err)
		}
	}()
	printTable(stderr, fleet)
	if f.keep {
		fmt.Fprintf(stderr, "instance directories: %s (kept)\n", fleet.Dir)
	} else {
		defer os.RemoveAll(fleet.Dir) // after Stop (defers run last-in first-out)
	}
	targets := fleet.Targets()
	if len(f.command) == 0 {
		fmt.Fprintf(stderr, "targets: %s\nfleet running; press Ctrl-C to stop\n", strings.Join(targets, " "))
		<-sigs
		fmt.Fprintln(stderr, "stopping")
		return 0
	}
	return runCommand(f.command, targets, stdout, stderr, sigs)
}

// startFleet starts the fleet; a signal on sigs while it starts cancels it.
func startFleet(f flags, sigs <-chan os.Signal, stderr io.Writer) (*sambatest.Fleet, error) {
	log := io.Discard
	if f.verbose {
		log = stderr
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	startDone := make(chan struct{})
	defer close(startDone)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-startDone:
		}
	}()
	return sambatest.StartFleet(ctx, sambatest.Options{Dir: f.dir, HighPorts: f.highPorts, Log: log})
}

// expandTargets replaces the {targets} token in the command's arguments.
func expandTargets(command, targets []string) []string {
	const token = "{targets}"
	var out []string
	for _, a := range command {
		switch {
		case a == token:
			out = append(out, targets...)
		case strings.Contains(a, token):
			out = append(out, strings.ReplaceAll(a, token, strings.Join(targets, " ")))
		default:
			out = append(out, a)
		}
	}
	return out
}

func runCommand(command, targets []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	argv := expandTargets(command, targets)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = append(os.Environ(), EnvTargets+"="+strings.Join(targets, " "))
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "smbfleet: %v\n", err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			cmd.Process.Signal(sig)
		case err := <-done:
			if err == nil {
				return 0
			}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ee.ExitCode()
			}
			fmt.Fprintf(stderr, "smbfleet: %v\n", err)
			return 1
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printTable(w io.Writer, f *sambatest.Fleet) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tENDPOINT\tSMB1\tMAX DIALECT\tSIGNING REQ\tENCRYPT REQ\tNULL SESSION\tGUEST\tPID")
	for _, s := range f.Servers {
		e := s.Config.Expect
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.AddrPort(), yesNo(e.SMB1), e.MaxDialect,
			yesNo(e.SigningRequired), yesNo(e.EncryptionRequired), yesNo(e.NullSession), yesNo(e.Guest), s.PID)
	}
	fmt.Fprintf(tw, "silent\t%s\t(accepts TCP, never answers)\n", f.Silent)
	fmt.Fprintf(tw, "http\t%s\t(answers HTTP/1.1 400)\n", f.HTTP)
	fmt.Fprintf(tw, "closed\t%s\t(nothing listens)\n", f.Closed)
	tw.Flush()
	fmt.Fprintf(w, "fleet started in %v; test user %s / %s\n", f.StartDuration.Round(time.Millisecond), sambatest.TestUser, sambatest.TestPassword)
}
