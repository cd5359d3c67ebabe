package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/smbsweep/smbsweep/scanner"
)

// scaleFlags are the scale-out flags: shards (Kubernetes Indexed Jobs) and resume.
type scaleFlags struct {
	shard string
}

func defineScaleFlags(g *groupedFlags, f *scaleFlags) {
	g.group("Scale")
	g.StringVar(&f.shard, "shard", "", "scan only shard `I/N` (0-based I) of the permuted targets; defaults to $JOB_COMPLETION_INDEX/$SMBSWEEP_SHARDS when both are set")
	g.add("shard")
}

// apply validates the flags and configures the scan.
func (f *scaleFlags) apply(cfg *scanner.Config) error {
	spec := f.shard
	if spec == "" {
		idx, n := os.Getenv("JOB_COMPLETION_INDEX"), os.Getenv("SMBSWEEP_SHARDS")
		if idx != "" && n != "" {
			spec = idx + "/" + n
		}
	}
	if spec == "" {
		return nil
	}
	sh, err := parseShard(spec)
	if err != nil {
		return usagef("-shard %q: %v", spec, err)
	}
	cfg.Shard = sh
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
