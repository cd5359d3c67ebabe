package main

import (
	"fmt"
	"io"
)

// runFiles is the credentialed file access subcommands (issue 4). Until they land they say so
// plainly and exit non-zero.
func runFiles(cmd string, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "smbsweep %s: not implemented yet\n", cmd)
	return exitFailure
}
