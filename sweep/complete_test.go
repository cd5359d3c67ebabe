package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/internal/testing/faultproxy"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

func TestMain(m *testing.M) { sambatest.Main(m) }

// faultyFleet puts the fleet's default Samba behind n loopback addresses from first through a
// faultproxy with opts, and returns the targets.
func faultyFleet(t *testing.T, first string, n int, opts faultproxy.Options) (*scanner.TargetSet, *faultproxy.Proxy) {
	t.Helper()
	return faultyFleetOn(t, first, n, 0, opts)
}

// faultyFleetOn is faultyFleet on a given port (0: a free one).
func faultyFleetOn(t *testing.T, first string, n int, port uint16, opts faultproxy.Options) (*scanner.TargetSet, *faultproxy.Proxy) {
	t.Helper()
	fleet := sambatest.Require(t)
	srv := fleet.Server("default")
	if srv == nil {
		t.Fatal("the fleet has no default server")
	}
	opts.Upstream = srv.AddrPort()
	px := faultproxy.New(opts)
	t.Cleanup(px.Close)
	base := netip.MustParseAddr(first)
	port, err := px.ListenMany(base, n, port)
	if err != nil {
		t.Fatal(err)
	}
	b := scanner.NewTargetBuilder(port)
	last := base
	for range n - 1 {
		last = last.Next()
	}
	if err := b.Add(base.String() + "-" + last.String()); err != nil {
		t.Fatal(err)
	}
	set, err := b.Build(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return set, px
}

// sweepRecords runs one sweep and returns its host records and summary.
func sweepRecords(t *testing.T, set *scanner.TargetSet, profile string, opts probes.Options, noRecheck bool) ([]*probes.Result, *probes.Summary) {
	t.Helper()
	if opts.Dialer == nil {
		opts.Dialer = &scanner.Dialer{ConnectTimeout: 2 * time.Second}
	}
	p, err := probes.NewPipeline(configs.BuiltinProfiles()[profile].Stages, &opts)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	fh, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w := output.NewWriter(output.NewJSONL(fh, out))
	sum, err := Run(context.Background(), nil, Config{Targets: set, Pipeline: p, Writer: w, NoRecheck: noRecheck,
		Scanner: scanner.Config{Concurrency: 16, ConnectAhead: 64, HostTimeout: 8 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*probes.Result
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if bytes.Contains(line, []byte(`"type":"summary"`)) {
			continue
		}
		var r probes.Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		recs = append(recs, &r)
	}
	if len(recs) != int(set.Len()) {
		t.Fatalf("%d host records for %d targets", len(recs), set.Len())
	}
	return recs, sum
}

// checkNamed fails unless every missing stage a record lists says why it is missing.
func checkNamed(t *testing.T, r *probes.Result) {
	t.Helper()
	for _, name := range r.Incomplete {
		sr := r.Stages[name]
		if sr == nil || (sr.Error == "" && sr.Reason == "") || sr.Status == probes.StageOK {
			t.Errorf("%s: incomplete stage %s does not say why: %+v", r.IP, name, sr)
		}
	}
}

// TestResetsLeaveNoIncompleteRecord: a server that resets every third connection (at accept,
// or after reading its first request) makes records that answered SMB on one connection and
// miss the stages of another; the recheck completes them. Without the recheck they stay
// incomplete and say so (the faults really happen).
func TestResetsLeaveNoIncompleteRecord(t *testing.T) {
	const n = 32
	for _, phase := range []faultproxy.ResetPhase{faultproxy.AtAccept, faultproxy.AtFirstRequest} {
		for _, noRecheck := range []bool{true, false} {
			name := map[faultproxy.ResetPhase]string{faultproxy.AtAccept: "accept", faultproxy.AtFirstRequest: "first-request"}[phase]
			first := map[faultproxy.ResetPhase]string{faultproxy.AtAccept: "127.0.88.0", faultproxy.AtFirstRequest: "127.0.88.64"}[phase]
			// The pass makes two connections a host: every third one of those is reset.
			set, px := faultyFleet(t, first, n, faultproxy.Options{ResetAt: phase,
				Reset: func(c uint64) bool { return c <= 2*n && c%3 == 0 }})
			recs, sum := sweepRecords(t, set, "default", probes.Options{}, noRecheck)
			incomplete := 0
			for _, r := range recs {
				if r.Status != probes.StatusSMB {
					if noRecheck {
						continue // both connections reset: a status the recheck would have taken
					}
					t.Errorf("%s: %s status %s (%s), want smb after the recheck", name, r.IP, r.Status, r.Error)
					continue
				}
				if len(r.Incomplete) > 0 {
					incomplete++
					checkNamed(t, r)
				}
			}
			if sum.Incomplete != incomplete {
				t.Errorf("%s: summary counts %d incomplete, the records %d", name, sum.Incomplete, incomplete)
			}
			st := px.Stats()
			if st.Resets == 0 {
				t.Fatalf("%s: the proxy reset nothing", name)
			}
			if noRecheck {
				if incomplete == 0 {
					t.Errorf("%s without the recheck: %d resets but no incomplete record", name, st.Resets)
				}
				continue
			}
			if incomplete != 0 {
				t.Errorf("%s: %d of %d records still incomplete after the recheck", name, incomplete, n)
			}
			for _, r := range recs {
				if r.Negotiate == nil || r.Sessions.Null == nil || r.SMB1 == nil || len(r.Shares) < 3 {
					t.Errorf("%s: %s complete but lacks answers: negotiate %v, null %v, smb1 %v, %d shares",
						name, r.IP, r.Negotiate != nil, r.Sessions.Null != nil, r.SMB1 != nil, len(r.Shares))
				}
			}
		}
	}
}

// TestPersistentResetsNameWhatIsMissing: when every third connection is reset, rechecks
// included, a record the recheck could not complete lists its missing stages with the reason.
func TestPersistentResetsNameWhatIsMissing(t *testing.T) {
	set, _ := faultyFleet(t, "127.0.88.128", 24, faultproxy.Options{ResetAt: faultproxy.AtAccept,
		Reset: func(c uint64) bool { return c%3 == 0 }})
	recs, sum := sweepRecords(t, set, "default", probes.Options{}, false)
	incomplete := 0
	for _, r := range recs {
		if len(r.Incomplete) > 0 {
			incomplete++
		}
		checkNamed(t, r)
	}
	if sum.Incomplete != incomplete {
		t.Errorf("summary counts %d incomplete, the records %d", sum.Incomplete, incomplete)
	}
	t.Logf("%d of %d records incomplete with persistent resets", incomplete, len(recs))
}

// TestSlowStageDoesNotCostTheNext: the guest logon is answered only after the session stages'
// own deadline. The guest stage ends in a timeout; the stages after it run on a reopened
// connection, and the share anyone may write to is found. The guest stage stays missing (it
// is slow every time) and the record says so.
func TestSlowStageDoesNotCostTheNext(t *testing.T) {
	const sessionSetup = 0x0001
	set, px := faultyFleet(t, "127.0.88.192", 4, faultproxy.Options{Delay: func(r faultproxy.Request) time.Duration {
		if r.Command == sessionSetup && r.Nth == 3 { // the guest logon's first leg (null session: 1 and 2)
			return 1500 * time.Millisecond
		}
		return 0
	}})
	recs, _ := sweepRecords(t, set, "full", probes.Options{SessionTimeout: 500 * time.Millisecond, CheckWrite: true}, false)
	if px.Stats().Delayed == 0 {
		t.Fatal("the proxy delayed nothing")
	}
	for _, r := range recs {
		if g := r.Stages["guest"]; g == nil || g.Status != probes.StageErrored {
			t.Errorf("%s: guest stage %+v, want an error (timeout)", r.IP, g)
		}
		for _, st := range []probes.StageName{probes.StageTree, probes.StageShares, probes.StageAccess} {
			if sr := r.Stages[st]; sr == nil || sr.Status != probes.StageOK {
				t.Errorf("%s: stage %s %+v, want ok after the slow guest stage", r.IP, st, sr)
			}
		}
		if !slices.Equal(r.Incomplete, []probes.StageName{probes.StageGuest}) {
			t.Errorf("%s: incomplete %v, want [guest]", r.IP, r.Incomplete)
		}
		checkNamed(t, r)
		if !writable(r, sambatest.ShareDropbox) {
			t.Errorf("%s: the writable share %s was not found: %+v", r.IP, sambatest.ShareDropbox, r.Shares)
		}
	}
}

// TestSlowShareEnumerationRechecked: the first share enumeration of the run is answered after
// the stage's deadline. The access stage that follows on a reopened connection has no share
// to check; the recheck lists the shares again and finds the writable one.
func TestSlowShareEnumerationRechecked(t *testing.T) {
	const ioctl = 0x000B
	set, _ := faultyFleet(t, "127.0.89.0", 1, faultproxy.Options{Delay: func(r faultproxy.Request) time.Duration {
		if r.Command == ioctl && r.Global == 1 {
			return 1500 * time.Millisecond
		}
		return 0
	}})
	recs, _ := sweepRecords(t, set, "full", probes.Options{SessionTimeout: 500 * time.Millisecond, CheckWrite: true}, false)
	r := recs[0]
	if len(r.Incomplete) != 0 {
		t.Errorf("incomplete %v after the recheck: %+v", r.Incomplete, r.Stages)
	}
	if !writable(r, sambatest.ShareDropbox) {
		t.Errorf("the writable share %s was not found: %+v", sambatest.ShareDropbox, r.Shares)
	}
}

// TestCloseAfterRequests: a server that hangs up after a few requests on every connection
// leaves records that name what is missing, and never an empty answer standing for one.
func TestCloseAfterRequests(t *testing.T) {
	set, px := faultyFleet(t, "127.0.89.16", 4, faultproxy.Options{CloseAfter: 5})
	recs, _ := sweepRecords(t, set, "default", probes.Options{}, false)
	if px.Stats().Closed == 0 {
		t.Fatal("the proxy closed nothing")
	}
	for _, r := range recs {
		if r.Status != probes.StatusSMB {
			t.Errorf("%s: status %s, want smb", r.IP, r.Status)
			continue
		}
		if len(r.Incomplete) == 0 {
			t.Errorf("%s: complete although every connection is closed after 5 requests: %+v", r.IP, r.Stages)
		}
		checkNamed(t, r)
	}
}

func writable(r *probes.Result, share string) bool {
	for _, sh := range r.Shares {
		if !strings.EqualFold(sh.Name, share) {
			continue
		}
		for _, a := range sh.Access {
			if a.Write != nil && *a.Write {
				return true
			}
		}
	}
	return false
}
