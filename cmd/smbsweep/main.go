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
	"runtime/debug"
	"strings"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // the run failed (output error, every target unusable, ...)
	exitUsage       = 2 // bad flags, bad targets
	exitInterrupted = 130
)

// Set by the linker (see Makefile). When they are not set, versionString reads the module
// version and the VCS stamp that `go build` records (runtime/debug.ReadBuildInfo).
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one subcommand: its line in the top-level usage, its help, and its flags (the
// same definitions parse the command line and generate help, completions and the man page).
type command struct {
	name    string
	args    string // the synopsis after the name, e.g. "[flags] TARGETS..."
	summary string
	// usage is the text before the flag groups in `smbsweep help NAME` and NAME -h.
	usage string
	// flags returns the command's flag set; nil when it has none.
	flags func() *groupedFlags
	// extraHelp, when set, is printed after the flag groups.
	extraHelp func() string
	run       func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order the usage shows them.
func commands() []*command {
	files := func(name, args, summary string) *command {
		return &command{name: name, args: args, summary: summary, usage: filesSynopsis,
			flags: func() *groupedFlags {
				g := newGroupedFlags("smbsweep " + name)
				defineFilesFlags(name, g, &filesFlags{})
				return g
			},
			run: func(a []string, stdin io.Reader, stdout, stderr io.Writer) int {
				return runFiles(name, a, stdin, stdout, stderr)
			}}
	}
	return []*command{
		{name: "scan", args: "[flags] TARGETS...", summary: "sweep targets (addresses, CIDRs, ranges, names, nmap/masscan files)",
			usage: scanSynopsis, flags: func() *groupedFlags {
				g := newGroupedFlags("smbsweep scan")
				defineScanFlags(g, &scanFlags{})
				return g
			},
			extraHelp: scanExtraHelp, run: runScan},
		{name: "serve", args: "[-config FILE] [flags]", summary: "run the daemon: scheduled scans, HTTP API, /metrics",
			usage: serveSynopsis, flags: func() *groupedFlags { return newServeFlagSet(&serveFlags{}) },
			run: func(a []string, _ io.Reader, stdout, stderr io.Writer) int { return runServe(a, stdout, stderr) }},
		{name: "config", args: "check FILE", summary: "validate a daemon config file", usage: configSynopsis,
			run: func(a []string, _ io.Reader, stdout, stderr io.Writer) int { return runConfig(a, stdout, stderr) }},
		{name: "diff", args: "[flags] OLD.jsonl NEW.jsonl", summary: "what changed between two scans", usage: diffSynopsis,
			flags: func() *groupedFlags { return newDiffFlagSet(&diffFlags{}) },
			run:   func(a []string, _ io.Reader, stdout, stderr io.Writer) int { return runDiff(a, stdout, stderr) }},
		files("ls", "[flags] //HOST[:PORT]/SHARE[/PATH]", "list a directory with credentials"),
		files("get", "[flags] //HOST[:PORT]/SHARE/PATH", "read a file with credentials"),
		files("stat", "[flags] //HOST[:PORT]/SHARE[/PATH]", "metadata of a file or directory"),
		files("put", "[flags] //HOST[:PORT]/SHARE/PATH [FILE]", "write a file with credentials"),
		{name: "health", args: "[-url URL]", summary: "check that a running serve answers (the container HEALTHCHECK)", usage: healthSynopsis,
			flags: func() *groupedFlags { return newHealthFlagSet(&healthFlags{}) }, run: runHealth},
		{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script", usage: completionSynopsis, run: runCompletion},
		{name: "man", args: "", summary: "print the man page (roff) to stdout", usage: manSynopsis, run: runMan},
		{name: "version", args: "", summary: "print the version", usage: "Usage: smbsweep version\n\nPrints the version: the release set at build time, else the module version and\nthe VCS revision that `go build` recorded.\n",
			run: func(_ []string, _ io.Reader, stdout, _ io.Writer) int {
				fmt.Fprintf(stdout, "smbsweep %s\n", versionString())
				return exitOK
			}},
		{name: "help", args: "[COMMAND]", summary: "show help", usage: "Usage: smbsweep help [COMMAND]\n\nShows the usage, or the help of COMMAND (the same as 'smbsweep COMMAND -h').\n"},
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func topUsage() string {
	var b strings.Builder
	b.WriteString("smbsweep scans networks for SMB exposure.\n\nUsage:\n")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name)+len(c.args)+1)
	}
	for _, c := range commands() {
		fmt.Fprintf(&b, "  smbsweep %-*s  %s\n", width, c.name+" "+c.args, c.summary)
	}
	b.WriteString("\nFlags may come before or after the arguments; -- ends the flags.\nRun 'smbsweep help COMMAND' or 'smbsweep COMMAND -h' for the flags of a command.\n")
	return b.String()
}

// printHelp prints a command's help: its usage text, then its flags by group.
func printHelp(w io.Writer, c *command) {
	if c.flags == nil {
		fmt.Fprint(w, c.usage)
	} else {
		c.flags().printUsage(w, c.usage)
	}
	if c.extraHelp != nil {
		fmt.Fprint(w, c.extraHelp())
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage())
		return exitUsage
	}
	switch args[0] {
	case "-version", "--version":
		args = []string{"version"}
	case "-h", "-help", "--help":
		args = append([]string{"help"}, args[1:]...)
	}
	if args[0] == "help" {
		if len(args) == 1 {
			fmt.Fprint(stdout, topUsage())
			return exitOK
		}
		c := findCommand(args[1])
		if c == nil {
			fmt.Fprintf(stderr, "smbsweep help: unknown command %q%s\n\n%s", args[1], didYouMean(args[1]), topUsage())
			return exitUsage
		}
		printHelp(stdout, c)
		return exitOK
	}
	if c := findCommand(args[0]); c != nil {
		return c.run(args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "smbsweep: unknown command %q%s\n\n%s", args[0], didYouMean(args[0]), topUsage())
	return exitUsage
}

// didYouMean suggests the command closest to a misspelled one.
func didYouMean(name string) string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if s := closest(name, names); s != "" {
		return fmt.Sprintf(": did you mean %q?", s)
	}
	return ""
}

// versionString is the version set by the linker, else what the Go toolchain stamped into the
// binary: the module version and the VCS revision (12 digits), "modified" when the working tree
// had uncommitted changes.
func versionString() string {
	if version != "dev" {
		if commit != "" {
			return version + " (" + commit + ")"
		}
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	return versionFromBuildInfo(bi, ok)
}

func versionFromBuildInfo(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += ", modified"
	}
	return v + " (" + rev + ")"
}
