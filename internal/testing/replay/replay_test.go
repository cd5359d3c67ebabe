package replay

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/configs"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// TestCapturesMatchGoldens: the embedded captures are copies of the golden files of the wire
// packages. Every re-capture changes some bytes (server time, salts, association ids), so a
// difference is only reported; TestDefaultProfileAgainstReplay is what proves the copies work.
// Copy them again after `make goldens` to follow a new Samba version.
func TestCapturesMatchGoldens(t *testing.T) {
	src := map[string]string{
		"samba-default-negotiate.bin":                              "wire/testdata",
		"samba-default-session-setup-more-processing-required.bin": "wire/testdata",
		"samba-default-session-setup.bin":                          "wire/testdata",
		"samba-default-tree-connect.bin":                           "wire/testdata",
		"samba-default-create.bin":                                 "wire/testdata",
		"samba-default-close.bin":                                  "wire/testdata",
		"samba-4.17-smb1-disabled-negotiate.bin":                   "wire/smb1/testdata",
		"samba-4.17-nt1-negotiate.bin":                             "wire/smb1/testdata",
		"samba-4.17-smb1-session-setup-challenge.bin":              "wire/smb1/testdata",
		"samba-4.17-smb1-session-setup-anonymous.bin":              "wire/smb1/testdata",
		"samba-4.17-smb1-tree-connect-ipc.bin":                     "wire/smb1/testdata",
		"samba-4.17-smb1-peek-named-pipe.bin":                      "wire/smb1/testdata",
		"samba-4.17-smb1-peek-chain-ext.bin":                       "wire/smb1/testdata",
		"samba-4.17-smb1-peek-chain-nt.bin":                        "wire/smb1/testdata",
		"samba-4.17-bind-ack.bin":                                  "wire/dcerpc/testdata",
		"samba-4.17-netshareenum-response.bin":                     "wire/dcerpc/testdata",
	}
	for name, dir := range src {
		want, err := os.ReadFile(filepath.Join("..", "..", "..", dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRead(name); !bytes.Equal(got, want) {
			t.Logf("captures/%s differs from %s/%s (re-captured?): copy it again to follow it", name, dir, name)
		}
	}
}

func defaultPipeline(t testing.TB) *probes.Pipeline {
	t.Helper()
	prof := configs.BuiltinProfiles()["default"]
	p, err := probes.NewPipeline(prof.Stages, &probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDefaultProfileAgainstReplay runs the default profile against the responder and checks
// that every stage succeeds with what Samba's captures say.
func TestDefaultProfileAgainstReplay(t *testing.T) {
	for _, smb1 := range []bool{false, true} {
		s := New(Options{SMB1: smb1})
		addr, err := s.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ap := netip.MustParseAddrPort(addr.String())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := defaultPipeline(t).Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()})
		cancel()
		if r.Status != probes.StatusSMB {
			t.Fatalf("status %s: %s", r.Status, r.Error)
		}
		for name, st := range r.Stages {
			if name == "ms17010" && !smb1 {
				// The MS17-010 check needs SMB1: skipped, with the reason.
				if st.Status != probes.StageSkipped || !strings.Contains(st.Reason, "SMB1 disabled") {
					t.Errorf("stage ms17010 with SMB1 refused: %s %s %s, want skipped: SMB1 disabled", st.Status, st.Reason, st.Error)
				}
				continue
			}
			if st.Status != probes.StageOK {
				t.Errorf("stage %s: %s %s %s", name, st.Status, st.Reason, st.Error)
			}
		}
		wantMS17 := probes.StateNotVulnerable // Samba's STATUS_INVALID_HANDLE, or SMB1 refused
		if f := findingOf(r, probes.FindingMS17010); f == nil || f.State != wantMS17 {
			t.Errorf("ms17_010 %+v, want %s", f, wantMS17)
		}
		if smb1 && (r.SMB1 == nil || r.SMB1.NativeLanManager != "Samba 4.17.12-Debian") {
			t.Errorf("smb1 %+v: want the SMB1 logon's NativeLanMan", r.SMB1)
		}
		if r.Negotiate == nil || r.Negotiate.Dialect != "3.1.1" {
			t.Errorf("negotiate %+v", r.Negotiate)
		}
		if r.SMB1 == nil || r.SMB1.Enabled == nil || *r.SMB1.Enabled != smb1 {
			t.Errorf("smb1 %+v, want enabled=%v", r.SMB1, smb1)
		}
		if n := r.Sessions.Null; n == nil || n.Allowed == nil || !*n.Allowed {
			t.Errorf("null session %+v", n)
		}
		if len(r.Shares) != 4 {
			t.Errorf("shares %+v, want the 4 of the capture", r.Shares)
		}
		if r.NTLM == nil || probes.StringOr(r.NTLM.NetBIOSComputerName, "") == "" {
			t.Errorf("ntlm %+v", r.NTLM)
		}
		s.Close()
		st := s.Stats()
		wantConns := uint64(2) // SMB2 + the SMB1 NEGOTIATE, on which the MS17-010 check runs

		if st.Connections != wantConns || st.Requests < 8 {
			t.Errorf("stats %+v: want %d connections and the default profile's requests", st, wantConns)
		}
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	for _, a := range []string{"192.0.2.1:0", "10.0.0.1:445", "[2001:db8::1]:0", "localhost:0"} {
		if _, err := s.Listen(a); err == nil {
			t.Errorf("Listen(%s) accepted", a)
		}
	}
	if _, err := s.Listen("0.0.0.0:0"); err == nil && onlyLoopbackInterfaces() != nil {
		t.Error("wildcard accepted in a namespace with other interfaces")
	} else if err != nil && !errors.Is(err, ErrNotLoopback) {
		t.Errorf("wildcard: %v", err)
	}
	port, err := s.ListenMany(netip.MustParseAddr("127.0.99.1"), 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := defaultPipeline(t)
	for _, a := range []string{"127.0.99.1", "127.0.99.4"} {
		r := p.Run(context.Background(), probes.Target{Addr: netip.MustParseAddr(a), Port: port})
		if r.Status != probes.StatusSMB {
			t.Errorf("%s: %s %s", a, r.Status, r.Error)
		}
	}
}

// TestCloseLeavesNothing: Close ends every connection goroutine, idle clients included.
func TestCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	s := New(Options{})
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var d scanner.Dialer
	c, err := d.DialContext(context.Background(), "tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines %d before, %d after Close", before, runtime.NumGoroutine())
}

// BenchmarkDefaultProfile is the scanner's cost per host of the default profile against the
// responder (both in this process).
func BenchmarkDefaultProfile(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ap := netip.MustParseAddrPort(addr.String())
	p := defaultPipeline(b)
	b.ReportAllocs()
	for b.Loop() {
		r := p.Run(context.Background(), probes.Target{Addr: ap.Addr(), Port: ap.Port()})
		if r.Status != probes.StatusSMB {
			b.Fatal(r.Error)
		}
	}
}

// BenchmarkDefaultProfileSMB1Host is what the ms17010 stage adds to the default profile on a
// host that accepts SMB1 (issue 12: at most a few round trips, on SMB1 hosts only): the same
// responder with SMB1 accepted, the default profile with and without the stage. Compare
// ns/op and allocs/op of the two (the responder runs in this process, so ns/op is the CPU of
// both sides per host).
func BenchmarkDefaultProfileSMB1Host(b *testing.B) {
	s := New(Options{SMB1: true})
	defer s.Close()
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ap := netip.MustParseAddrPort(addr.String())
	stages := configs.BuiltinProfiles()["default"].Stages
	without := slices.DeleteFunc(slices.Clone(stages), func(n string) bool { return n == string(probes.StageMS17010) })
	for _, c := range []struct {
		name   string
		stages []string
	}{{"without-ms17010", without}, {"default", stages}} {
		b.Run(c.name, func(b *testing.B) {
			p, err := probes.NewPipeline(c.stages, &probes.Options{Dialer: &scanner.Dialer{ConnectTimeout: 2 * time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := p.Run(context.Background(), probes.Target{Addr: ap.Addr(), Port: ap.Port()})
				if r.Status != probes.StatusSMB || r.SMB1 == nil || r.SMB1.Enabled == nil || !*r.SMB1.Enabled {
					b.Fatalf("status %s, smb1 %+v: %s", r.Status, r.SMB1, r.Error)
				}
				if _, ran := r.Stages[probes.StageMS17010]; ran != (c.name == "default") {
					b.Fatalf("ms17010 ran: %v", ran)
				}
			}
		})
	}
}

func findingOf(r *probes.Result, id string) *probes.Finding {
	for i := range r.Findings {
		if r.Findings[i].ID == id {
			return &r.Findings[i]
		}
	}
	return nil
}
