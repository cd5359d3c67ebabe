// Command smbsweep scans networks for SMB exposure: SMB1, signing not required, null and guest
// sessions, anonymous and writable shares.
//
// main is thin so the CLI can be tested in-process: run(args, stdin, stdout, stderr) returns the
// exit code.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // the run failed (output error, every target unusable, ...)
	exitUsage       = 2 // bad flags, bad targets
	exitInterrupted = 130
)

// Set by the linker (see Makefile).
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const topUsage = `smbsweep scans networks for SMB exposure.

Usage:
  smbsweep scan [flags] TARGETS...   sweep targets (IPs, CIDRs, ranges, hostnames, host:port)
  smbsweep serve [-config FILE]      run the daemon: scheduled scan jobs, HTTP API, /metrics
  smbsweep config check FILE         validate a daemon config file
  smbsweep diff OLD.jsonl NEW.jsonl  what changed between two scans
  smbsweep ls|get|stat|put //HOST/SHARE/PATH   credentialed file access (see 'smbsweep ls -h')
  smbsweep version                   print the version
  smbsweep help [COMMAND]            show help

Run 'smbsweep scan -h' for the scan flags.
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitUsage
	}
	switch args[0] {
	case "scan":
		return runScan(args[1:], stdin, stdout, stderr)
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "config":
		return runConfig(args[1:], stdout, stderr)
	case "diff":
		return runDiff(args[1:], stdout, stderr)
	case "ls", "get", "stat", "put":
		return runFiles(args[0], args[1:], stdin, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "smbsweep %s%s\n", version, commitSuffix())
		return exitOK
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] == "scan" {
			return runScan([]string{"-h"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, topUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "smbsweep: unknown command %q\n\n%s", args[0], topUsage)
	return exitUsage
}

func commitSuffix() string {
	if commit == "" {
		return ""
	}
	return " (" + commit + ")"
}
