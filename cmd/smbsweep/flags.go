package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// groupedFlags is a flag.FlagSet whose -h output is grouped by purpose (Input, Output, Rate,
// Probes, Debug), the way naabu and httpx lay theirs out.
type groupedFlags struct {
	*flag.FlagSet
	groups []flagGroup
	cur    *flagGroup
}

type flagGroup struct {
	title string
	names []string
}

func newGroupedFlags(name string) *groupedFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &groupedFlags{FlagSet: fs}
}

func (g *groupedFlags) group(title string) {
	g.groups = append(g.groups, flagGroup{title: title})
	g.cur = &g.groups[len(g.groups)-1]
}

// add records that the flag just defined belongs to the current group.
func (g *groupedFlags) add(names ...string) {
	g.cur.names = append(g.cur.names, names...)
}

func (g *groupedFlags) printUsage(w io.Writer, synopsis string) {
	fmt.Fprint(w, synopsis)
	for _, gr := range g.groups {
		fmt.Fprintf(w, "\n%s:\n", strings.ToUpper(gr.title))
		for _, n := range gr.names {
			f := g.Lookup(n)
			if f == nil {
				continue
			}
			arg, usage := argName(f)
			left := "  -" + f.Name
			if arg != "" {
				left += " " + arg
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "%-28s %s%s\n", left, usage, def)
		}
	}
}

// listFlag collects a flag that may be repeated or given as a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// DurationVar defines a duration flag that refuses a bare number: "-timeout 5" is an error
// that names the flag and says to add a unit (5s), not a silent 5 ns nor a "parse error".
func (g *groupedFlags) DurationVar(p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	g.Var((*durationFlag)(p), name, usage)
}

// durationFlag is a time.Duration flag value that wants a unit.
type durationFlag time.Duration

func (d *durationFlag) String() string {
	if d == nil {
		return "0s"
	}
	return time.Duration(*d).String()
}

func (d *durationFlag) Set(s string) error {
	if s != "0" && isBareNumber(s) {
		return fmt.Errorf("add a unit, e.g. %ss (or %sms, %sm)", s, s, s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration with a unit, e.g. 500ms, 10s or 2m")
	}
	*d = durationFlag(v)
	return nil
}

func (d *durationFlag) Get() any { return time.Duration(*d) }

// isBareNumber reports whether s is a decimal number without a unit ("5", "-1", "2.5").
func isBareNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "eExXpP_")
}

// argName is the placeholder of a flag's value in help: the back-quoted word of its usage, or
// its type (duration, int, string).
func argName(f *flag.Flag) (arg, usage string) {
	arg, usage = flag.UnquoteUsage(f)
	if _, ok := f.Value.(*durationFlag); ok && arg == "value" {
		arg = "duration"
	}
	return arg, usage
}

// parseInterspersed parses flags that may come before, between or after the positional
// arguments, as nmap and NetExec accept them; "--" ends the flags (everything after it is
// positional, even when it starts with '-').
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" && !valueFlagBefore(fs, args[:used-1]) {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// valueFlagBefore reports whether the last of args is a flag that takes the next argument as
// its value (so a "--" after it is that value, not the end of the flags).
func valueFlagBefore(fs *flag.FlagSet, args []string) bool {
	if len(args) == 0 {
		return false
	}
	last := args[len(args)-1]
	if !strings.HasPrefix(last, "-") || strings.Contains(last, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(last, "-"))
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// flagErrorHint adds a suggestion to a flag parse error: the closest defined flag for an
// unknown one ("did you mean -timeout?").
func flagErrorHint(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "flag provided but not defined: -")
	if !ok {
		return msg
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if s := closest(strings.TrimLeft(name, "-"), names); s != "" {
		msg += " (did you mean -" + s + "?)"
	}
	return msg
}

// closest returns the candidate nearest to s by edit distance, when it is near enough to be a
// likely typo (at most 1 edit for short words, 2 for longer ones, or s is a prefix of it);
// "" otherwise.
func closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	if len(s) > 4 {
		limit = 2
	}
	if bestD <= limit {
		return best
	}
	if len(s) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(c, s) {
				return c
			}
		}
	}
	return ""
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment): insertions,
// deletions, substitutions and transpositions of neighbours ("scna" is one edit from "scan").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// parseArgs parses the command line of subcommand cmd (flags anywhere, "--" ends them). ok is
// false when the caller should return code at once: after -h (help on stdout, 0) or a bad flag
// (the error with a suggestion and where to find the flags on stderr, 2).
func parseArgs(cmd string, g *groupedFlags, args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	g.SetOutput(io.Discard)
	pos, err := parseInterspersed(g.FlagSet, args)
	switch {
	case err == nil:
		return pos, exitOK, true
	case errors.Is(err, flag.ErrHelp):
		if c := findCommand(cmd); c != nil {
			printHelp(stdout, c)
		}
		return nil, exitOK, false
	}
	fmt.Fprintf(stderr, "smbsweep %s: %s\nRun 'smbsweep %s -h' for the flags.\n", cmd, flagErrorHint(g.FlagSet, err), cmd)
	return nil, exitUsage, false
}

// parseFlagsOnly is parseArgs for a command that takes flags and no arguments: a stray
// argument is a usage error whose message ends with fix, how to say it instead.
func parseFlagsOnly(cmd string, g *groupedFlags, args []string, stdout, stderr io.Writer, fix string) (code int, ok bool) {
	pos, code, ok := parseArgs(cmd, g, args, stdout, stderr)
	if ok && len(pos) > 0 {
		fmt.Fprintf(stderr, "smbsweep %s: unexpected argument %q: %s\n", cmd, pos[0], fix)
		return exitUsage, false
	}
	return code, ok
}
