package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
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
			arg, usage := flag.UnquoteUsage(f)
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
