package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/internal/testing/replay"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// TestOverloadedServerNothingMissed: one server behind 64 addresses that can take only so many
// new connections a second and leaves the others hanging without an answer (as an smbd whose
// processes cannot keep up does) is swept with 64 hosts at once. Without the recheck, hosts are
// lost as io-timeouts (the test's server really is overloaded); with it, the congestion window
// backs off and the recheck rounds probe the lost hosts again until every one has answered.
func TestOverloadedServerNothingMissed(t *testing.T) {
	const n = 64
	var lim atomic.Pointer[rate.Limiter]
	srv := replay.New(replay.Options{Silent: func(netip.AddrPort) bool {
		return !lim.Load().Allow() // beyond the server's rate the connection is accepted and never answered
	}})
	t.Cleanup(func() { srv.Close() })
	port, err := srv.ListenMany(netip.MustParseAddr("127.0.97.0"), n, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := scanner.NewTargetBuilder(port)
	if err := b.Add("127.0.97.0/26"); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, noRecheck := range []bool{true, false} {
		// 40 new connections a second (20 hosts: each makes two), a burst of 8.
		lim.Store(rate.NewLimiter(40, 8))
		p, err := probes.NewPipeline(configs.BuiltinProfiles()["default"].Stages,
			&probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: time.Second, Retries: 1}})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out.jsonl")
		fh, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cg := scanner.NewCongestion()
		w := output.NewWriter(output.NewJSONL(fh, out))
		sum, err := Run(context.Background(), nil, Config{Targets: set, Pipeline: p, Writer: w, NoRecheck: noRecheck,
			Scanner: scanner.Config{Concurrency: n, ConnectAhead: 256, HostTimeout: 1500 * time.Millisecond, Congestion: cg}})
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		statuses := map[string]int{}
		hosts := 0
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var rec struct{ Type, Status string }
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Type == "host" {
				hosts++
				statuses[rec.Status]++
			}
		}
		if hosts != n {
			t.Fatalf("NoRecheck=%v: %d host records, want %d", noRecheck, hosts, n)
		}
		cs := cg.Stats()
		// The summary says how the scan paced itself: the window's own figures, and no more
		// probes at once than the slots.
		pc := sum.Pacing
		if pc == nil || pc.Slots != n || pc.ConnectAhead != 256 || pc.PeakProbes < 1 || pc.PeakProbes > n ||
			pc.Window != cs.Window || pc.Decreases != cs.Decreases || pc.OverloadSigns != cs.Signs || pc.QueueingEpochs != cs.Queued {
			t.Errorf("NoRecheck=%v: summary pacing %+v, congestion %+v", noRecheck, pc, cs)
		}
		if !bytes.Contains(data, []byte(`"pacing":{"slots":64,"connect_ahead":256,`)) {
			t.Errorf("NoRecheck=%v: the summary line has no pacing", noRecheck)
		}
		if noRecheck {
			if statuses["smb"] == n {
				t.Fatalf("without the recheck every host answered (%v): the test server was not overloaded", statuses)
			}
			continue
		}
		if statuses["smb"] != n {
			t.Errorf("with the recheck: statuses %v, want all %d smb", statuses, n)
		}
		if cs.Signs == 0 || cs.Decreases == 0 {
			t.Errorf("congestion %+v: the overload was not noticed", cs)
		}
	}
}
