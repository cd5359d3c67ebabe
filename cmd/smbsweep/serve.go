package main

import (
	"fmt"
	"io"
)

// The daemon subcommands (issue 5). Until they land they say so plainly and exit non-zero.

func runServe(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "smbsweep serve: not implemented yet")
	return exitFailure
}

func runConfig(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "smbsweep config: not implemented yet")
	return exitFailure
}

func runDiff(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "smbsweep diff: not implemented yet")
	return exitFailure
}
