package probes_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/wire"
)

// ms17Scan runs the ms17010 stage (and the smb1 stage it needs) against a scripted SMB1 server.
func ms17Scan(t *testing.T, srv *hostile.SMB1) *probes.Result {
	t.Helper()
	s := hostile.StartT(t, srv.Handler())
	p, err := probes.NewPipeline([]string{"ms17010"}, &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Run(ctx, probes.Target{Addr: netip.MustParseAddr("127.0.0.1"), Port: s.Port()})
}

func TestMS17010NeedsSMB1Stage(t *testing.T) {
	p, err := probes.NewPipeline([]string{"ms17010"}, &probes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range p.Stages {
		names = append(names, string(st.Name))
	}
	if strings.Join(names, ",") != "smb1,ms17010" {
		t.Errorf("pipeline of ms17010 is %v, want smb1 added before it", names)
	}
}

// TestMS17010Vulnerable: an SMB1 server answering PeekNamedPipe on FID 0 with
// STATUS_INSUFF_SERVER_RESOURCES (Samba's captured reply with that status) is vulnerable, and
// the DoublePulsar ping follows: answered with the request's MID it finds no implant.
func TestMS17010Vulnerable(t *testing.T) {
	r := ms17Scan(t, &hostile.SMB1{PeekStatus: hostile.StatusInsuffServerResources})
	if st := r.Stages["ms17010"]; st == nil || st.Status != probes.StageOK {
		t.Fatalf("stage ms17010 %+v, want ok", st)
	}
	f := finding(r, probes.FindingMS17010)
	if f == nil || f.State != probes.StateVulnerable || f.Value == nil || !*f.Value || f.Confidence != "high" {
		t.Fatalf("ms17_010 finding %+v, want vulnerable", f)
	}
	if !strings.Contains(f.Evidence, "STATUS_INSUFF_SERVER_RESOURCES (0xC0000205)") || len(f.CVE) != 6 || f.CVE[0] != "CVE-2017-0143" || len(f.References) == 0 || f.Severity != "critical" {
		t.Errorf("ms17_010 finding %+v: want the status as evidence, CVE-2017-0143..0148, references, critical", f)
	}
	dp := finding(r, probes.FindingDoublePulsar)
	if dp == nil || dp.State != probes.StateNotVulnerable || dp.Value == nil || *dp.Value || !strings.Contains(dp.Evidence, "MID 65") {
		t.Errorf("doublepulsar_implant %+v, want not_vulnerable from a reply keeping MID 65", dp)
	}
	if r.SMB1 == nil || r.SMB1.NativeOS != "Windows 6.1" || r.SMB1.NativeLanManager != "Samba 4.17.12-Debian" || r.SMB1.PrimaryDomain != "SMBSWEEP" {
		t.Errorf("smb1 session strings %+v, want the captured reply's", r.SMB1)
	}
	var b bytes.Buffer
	tx := output.NewText(&b, "test", false)
	if err := tx.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "smb1 native os: Windows 6.1 / Samba 4.17.12-Debian") {
		t.Errorf("text view lacks the SMB1 NativeOS / NativeLanMan:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "VULNERABLE: Remote Code Execution vulnerability in Microsoft SMBv1 servers (ms17-010) CVE-2017-0143") {
		t.Errorf("text view lacks nmap's ms17-010 line:\n%s", b.String())
	}
	var c bytes.Buffer
	cw := output.NewCSV(&c, "test")
	if err := cw.WriteResult(r); err != nil {
		t.Fatal(err)
	}
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.String(), "ms17_010=vulnerable") || !strings.Contains(c.String(), "doublepulsar_implant=not_vulnerable") {
		t.Errorf("CSV verdicts lack ms17_010 and doublepulsar_implant:\n%s", c.String())
	}
}

// TestMS17010DoublePulsarImplant: the implant answers its ping with MID 81.
func TestMS17010DoublePulsarImplant(t *testing.T) {
	r := ms17Scan(t, &hostile.SMB1{PeekStatus: hostile.StatusInsuffServerResources, Implant: true})
	dp := finding(r, probes.FindingDoublePulsar)
	if dp == nil || dp.State != probes.StateVulnerable || dp.Value == nil || !*dp.Value || !strings.Contains(dp.Evidence, "MID 81") {
		t.Fatalf("doublepulsar_implant %+v, want vulnerable from the MID 81 reply", dp)
	}
}

// TestMS17010NotVulnerable: Samba's captured STATUS_INVALID_HANDLE and an ACCESS_DENIED answer
// are both "patched"; no DoublePulsar ping is sent then.
func TestMS17010NotVulnerable(t *testing.T) {
	for _, st := range []wire.NTStatus{0, wire.StatusAccessDenied} {
		srv := &hostile.SMB1{PeekStatus: st, Steps: map[byte]hostile.SMB1Responder{
			hostile.SMB1CmdTransaction2: func(*hostile.SMB1Request) hostile.Action {
				t.Errorf("DoublePulsar ping sent to a host that is not vulnerable")
				return hostile.Action{Close: true}
			},
		}}
		r := ms17Scan(t, srv)
		f := finding(r, probes.FindingMS17010)
		if f == nil || f.State != probes.StateNotVulnerable || f.Value == nil || *f.Value {
			t.Errorf("status %v: ms17_010 %+v, want not_vulnerable", st, f)
		}
		if finding(r, probes.FindingDoublePulsar) != nil {
			t.Errorf("status %v: doublepulsar_implant reported without a ping", st)
		}
	}
}

// TestMS17010Unknown: a refused logon, a refused IPC$ tree connect and an unexpected peek
// status leave the verdict unknown with the reason, never not_vulnerable.
func TestMS17010Unknown(t *testing.T) {
	refuse := func(st wire.NTStatus) hostile.SMB1Responder {
		return func(r *hostile.SMB1Request) hostile.Action {
			if r.UID == 0 && r.Command == hostile.SMB1CmdSessionSetup && r.Msg[32] == 12 {
				return r.Server.Default(r) // the CHALLENGE leg of the extended form
			}
			return hostile.Reply(hostile.SMB1ErrorReply(r, r.Command, st))
		}
	}
	cases := []struct {
		name   string
		srv    *hostile.SMB1
		reason string
	}{
		{"session refused", &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{hostile.SMB1CmdSessionSetup: refuse(wire.StatusAccessDenied)}},
			"SESSION_SETUP_ANDX was refused"},
		{"tree refused", &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{hostile.SMB1CmdTreeConnectAnd: refuse(wire.StatusAccessDenied)}},
			"TREE_CONNECT_ANDX to IPC$"},
		{"other status", &hostile.SMB1{PeekStatus: wire.StatusNotSupported}, "STATUS_NOT_SUPPORTED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ms17Scan(t, c.srv)
			f := finding(r, probes.FindingMS17010)
			if f != nil {
				t.Logf("reason: %s", f.Reason)
			}
			if f == nil || f.State != probes.StateUnknown || f.Value != nil || f.Confidence != "" || !strings.Contains(f.Reason, c.reason) {
				t.Errorf("ms17_010 %+v, want unknown naming %q", f, c.reason)
			}
			if c.name != "other status" && (f == nil || !strings.Contains(f.Reason, "give credentials, -u, to run the check")) {
				t.Errorf("ms17_010 %+v: a refused anonymous check should say how to run it with a logon", f)
			}
			if finding(r, probes.FindingDoublePulsar) != nil {
				t.Error("doublepulsar_implant reported without a ping")
			}
		})
	}
}

// TestMS17010TransactionPastEnd: a TRANSACTION reply whose parameters lie past the end of the
// message is a clear stage error, and the verdict stays unknown.
func TestMS17010TransactionPastEnd(t *testing.T) {
	r := ms17Scan(t, &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdTransaction: func(req *hostile.SMB1Request) hostile.Action {
			return hostile.Reply(hostile.TransactionReplyPastEnd(req))
		},
	}})
	st := r.Stages["ms17010"]
	if st != nil {
		t.Logf("stage error: %s", st.Error)
	}
	if st == nil || st.Status != probes.StageErrored || !strings.Contains(st.Error, "peek named pipe") || !strings.Contains(st.Error, "outside SMB_Data") {
		t.Errorf("stage ms17010 %+v, want an error naming the peek and the bad offset", st)
	}
	if f := finding(r, probes.FindingMS17010); f == nil || f.State != probes.StateUnknown || f.Value != nil {
		t.Errorf("ms17_010 %+v, want unknown", f)
	}
}

// TestMS17010SkippedWithoutSMB1: with SMB1 refused the stage is skipped with the reason and the
// verdict is not_vulnerable on the smb1 evidence; no SMB1 session is attempted.
func TestMS17010SkippedWithoutSMB1(t *testing.T) {
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdNegotiate: func(*hostile.SMB1Request) hostile.Action {
			return hostile.Action{Reply: [][]byte{hostile.Capture(hostile.CapSMB1Disabled)}, Close: true}
		},
	}}
	r := ms17Scan(t, srv)
	st := r.Stages["ms17010"]
	if st == nil || st.Status != probes.StageSkipped || !strings.Contains(st.Reason, "SMB1 disabled") {
		t.Errorf("stage ms17010 %+v, want skipped: SMB1 disabled", st)
	}
	if srv.Requests() != 1 {
		t.Errorf("server received %d SMB1 messages, want only the smb1 stage's NEGOTIATE", srv.Requests())
	}
	if f := finding(r, probes.FindingMS17010); f == nil || f.State != probes.StateNotVulnerable {
		t.Errorf("ms17_010 %+v, want not_vulnerable (SMB1 disabled)", f)
	}
}
