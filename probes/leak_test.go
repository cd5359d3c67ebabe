package probes_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
	"github.com/smbsweep/smbsweep/sweep"
)

// TestNoLeaksAcrossSweeps runs repeated sweeps over tarpits, slow talkers, resets, garbage, a
// closed port and a well-behaved server — some to completion, some interrupted (dispatch
// stopped) and some aborted mid-flight — and checks that goroutines and file descriptors return
// to their baseline afterwards, on the client side and the servers' side. It reads
// process-wide counters, so it does not run in parallel.
func TestNoLeaksAcrossSweeps(t *testing.T) {
	if testing.Short() {
		t.Skip("long test")
	}
	var servers []*hostile.Server
	b := scanner.NewTargetBuilder(445)
	for _, name := range []string{"tarpit", "tarpit", "slowloris", "reset-on-accept", "rst-negotiate",
		"rst-session-setup-2", "rst-tree-connect", "rst-ioctl", "http-banner", "netbios-length-16m",
		"netbios-length-short", "slow-logon", "ndr-huge-count", "clock-zero"} {
		srv := startCase(t, name)
		servers = append(servers, srv)
		if err := b.Add(srv.Target()); err != nil {
			t.Fatal(err)
		}
	}
	closed := closedPort(t)
	if err := b.Add(closed); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := probes.NewPipeline([]string{"negotiate", "smb1", "session", "guest", "tree", "shares", "nbstat"}, hostileOptions(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}

	// mode 0: complete; 1: dispatch stopped after 100 ms (first Ctrl-C); 2: aborted after
	// 300 ms (second Ctrl-C).
	sweepOnce := func(mode int) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		abort, abortAll := context.WithCancel(context.Background())
		defer abortAll()
		switch mode {
		case 1:
			time.AfterFunc(100*time.Millisecond, stop)
		case 2:
			time.AfterFunc(300*time.Millisecond, func() { stop(); abortAll() })
		}
		var out bytes.Buffer
		w := output.NewWriter(output.NewJSONL(&out, "buffer"))
		sum, err := sweep.Run(ctx, abort, sweep.Config{
			Targets: set, Pipeline: p, Writer: w,
			Scanner: scanner.Config{Concurrency: 4, HostTimeout: time.Second},
		})
		if err != nil {
			t.Fatalf("sweep (mode %d): %v", mode, err)
		}
		lines := strings.Count(out.String(), "\n")
		if mode == 0 && (sum.Scanned != set.Len() || uint64(lines) != set.Len()+1) {
			t.Fatalf("complete sweep: %d lines, summary %+v", lines, sum)
		}
		if uint64(lines) != sum.Scanned+1 {
			t.Fatalf("mode %d: %d lines for %d scanned records", mode, lines, sum.Scanned)
		}
	}

	sweepOnce(0) // warm up: pools, lazily started runtime and net goroutines
	baseG, baseFD := settle(t, servers, 0, 0)
	t0 := time.Now()
	for i := range 6 {
		sweepOnce(i % 3)
	}
	t.Logf("6 sweeps of %d targets in %s", set.Len(), time.Since(t0).Round(time.Millisecond))
	g, fd := settle(t, servers, baseG, baseFD)
	if g > baseG || fd > baseFD {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("after the sweeps: %d goroutines (baseline %d), %d open fds (baseline %d): %s\n%s",
			g, baseG, fd, baseFD, strings.Join(openFDs(), ", "), buf[:n])
	}
}

// settle waits (up to 5 s) until every hostile server has closed its connections and the
// goroutine and fd counts are at most the given baseline (0: until they stop changing), and
// returns the counts.
func settle(t *testing.T, servers []*hostile.Server, baseG, baseFD int) (int, int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	prevG, prevFD := -1, -1
	for {
		active := 0
		for _, s := range servers {
			active += s.Active()
		}
		runtime.GC()
		g, fd := runtime.NumGoroutine(), len(openFDs())
		done := active == 0 && (baseG == 0 && g == prevG && fd == prevFD || baseG > 0 && g <= baseG && fd <= baseFD)
		if done || time.Now().After(deadline) {
			if active != 0 {
				t.Errorf("hostile servers still hold %d connections: the client did not close them", active)
			}
			return g, fd
		}
		prevG, prevFD = g, fd
		time.Sleep(100 * time.Millisecond)
	}
}

// openFDs lists this process's open file descriptors with what they point at.
func openFDs() []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"->"+target)
	}
	return out
}

// closedPort returns a loopback host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
