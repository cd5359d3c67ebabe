//go:build capture

package output

// Captures real records for the encoder tests (encode_test.go) and BenchmarkJSONLResult:
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -run TestCaptureRecords ./output
//
// Every record is a probes.Pipeline result against a server on loopback — the replay responder
// (the benchmarks' server), the Samba test fleet and every internal/testing/hostile case — written by the
// reference sink (encoding/json, referenceJSONL) through a Writer, one file per source under
// testdata/jsonl/, each closed by the run's summary line.

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/internal/testing/replay"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
)

func TestMain(m *testing.M) { sambatest.Main(m) }

// captureRun is one pipeline run against one server.
type captureRun struct {
	stages []string
	opts   probes.Options
	addr   netip.AddrPort
}

func TestCaptureRecords(t *testing.T) {
	var defaultStages = probes.DefaultStages
	fullStages := []string{"negotiate", "smb1", "dialects", "session", "guest", "tree", "shares", "access"}

	// The replay responder: the default profile against default Samba (SMB1 refused) first —
	// BenchmarkJSONLResult uses that record — then SMB1 accepted, then the full profile.
	var replayRuns []captureRun
	for _, smb1 := range []bool{false, true} {
		srv := replay.New(replay.Options{SMB1: smb1})
		addr, err := srv.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		ap := addr.(*net.TCPAddr).AddrPort()
		replayRuns = append(replayRuns, captureRun{stages: defaultStages, addr: ap})
		replayRuns = append(replayRuns, captureRun{stages: fullStages, addr: ap})
	}
	writeCapture(t, "replay.jsonl", replayRuns, 10*time.Second)

	// The Samba fleet: the default profile on every configuration, the full profile with a stat
	// on the default one, and the credentialed stages (auth, ls, read).
	fleet := sambatest.Require(t)
	var sambaRuns []captureRun
	for _, srv := range fleet.Servers {
		sambaRuns = append(sambaRuns, captureRun{stages: defaultStages, addr: srv.AddrPort()})
	}
	def := fleet.Server("default").AddrPort()
	creds := &client.Credentials{User: sambatest.TestUser, Password: sambatest.TestPassword}
	sambaRuns = append(sambaRuns,
		captureRun{stages: append(fullStages, "stat"), addr: def,
			opts: probes.Options{Shares: []string{sambatest.SharePublic}, StatShare: sambatest.SharePublic}},
		captureRun{stages: []string{"auth", "ls"}, addr: def,
			opts: probes.Options{Credentials: creds, StatShare: sambatest.SharePrivate, ListDepth: 2}},
		captureRun{stages: []string{"auth", "ls"}, addr: def,
			opts: probes.Options{Credentials: creds, StatShare: sambatest.SharePrivate, StatPath: "unicode"}},
		captureRun{stages: []string{"auth", "read"}, addr: def,
			opts: probes.Options{Credentials: creds, StatShare: sambatest.SharePrivate, StatPath: "secret.txt"}},
		captureRun{stages: []string{"auth", "read"}, addr: def,
			opts: probes.Options{Credentials: creds, StatShare: sambatest.SharePrivate, StatPath: "large/ten-kib.bin", ReadMaxBytes: 100}},
		captureRun{stages: []string{"auth"}, addr: fleet.Server("encrypt").AddrPort(),
			opts: probes.Options{Credentials: creds, Encrypt: true}},
		captureRun{stages: []string{"auth"}, addr: def,
			opts: probes.Options{Credentials: &client.Credentials{User: sambatest.TestUser, Password: "wrong-password-123"}}},
	)
	writeCapture(t, "samba.jsonl", sambaRuns, 20*time.Second)

	// Every hostile case, with the default profile plus the guest session.
	var hostileRuns []captureRun
	for _, c := range hostile.Cases() {
		srv := hostile.StartT(t, c.New())
		hostileRuns = append(hostileRuns, captureRun{
			stages: []string{"negotiate", "smb1", "session", "guest", "tree", "shares"},
			opts:   probes.Options{SessionTimeout: time.Second},
			addr:   srv.Addr,
		})
	}
	writeCapture(t, "hostile.jsonl", hostileRuns, 3*time.Second)
}

func writeCapture(t *testing.T, name string, runs []captureRun, timeout time.Duration) {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(newReferenceJSONL(&out, name))
	started := time.Now()
	for _, run := range runs {
		opts := run.opts
		opts.Dialer = &net.Dialer{Timeout: 2 * time.Second}
		p, err := probes.NewPipeline(run.stages, &opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		r := p.Run(ctx, probes.Target{Addr: run.addr.Addr(), Port: run.addr.Port()})
		cancel()
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	finished := time.Now()
	if err := w.Close(&probes.Summary{Started: started, Finished: finished,
		DurationSeconds: finished.Sub(started).Seconds(), Targets: uint64(len(runs))}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "jsonl", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d records, %d bytes", path, len(runs), out.Len())
}
