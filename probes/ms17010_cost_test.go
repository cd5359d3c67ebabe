package probes_test

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/hostile"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// smb1Cost counts the SMB1 requests a pipeline of stages sends to a host and the connections
// they went over (by the trace's connection names).
func smb1Cost(t *testing.T, stages []string, target probes.Target) (requests int, conns []string) {
	t.Helper()
	var mu sync.Mutex
	opts := &probes.Options{Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 5 * time.Second,
		Trace: func(_ probes.Target, conn string, dir transport.Direction, msg []byte) {
			if dir != transport.Sent || len(msg) < 4 || binary.LittleEndian.Uint32(msg) != wire.ProtocolSMB1 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			requests++
			if !slices.Contains(conns, conn) {
				conns = append(conns, conn)
			}
		}}
	p, err := probes.NewPipeline(stages, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := p.Run(ctx, target)
	if st := r.Stages["ms17010"]; st != nil && st.Status != probes.StageOK {
		t.Fatalf("stage ms17010 %+v", st)
	}
	return requests, conns
}

// TestMS17010CostsOneExchangeMore: what the check adds to the default profile, counted in SMB1
// requests (each one round trip) against real Samba: one. On the SMB1-only host it is the peek,
// on the SMB1 path's null session and IPC$ tree; on a host that speaks SMB2 too it is the
// anonymous NT LM 0.12 logon carrying the IPC$ tree connect and the peek, on the smb1 stage's
// connection: no second connection and no second NEGOTIATE.
func TestMS17010CostsOneExchangeMore(t *testing.T) {
	fleet := sambatest.Require(t)
	without := slices.DeleteFunc(slices.Clone(probes.DefaultStages), func(s string) bool { return s == "ms17010" })
	for _, c := range []struct {
		server string
		extra  int
	}{
		{"smb1only", 1},
		{"smb1", 1},
	} {
		t.Run(c.server, func(t *testing.T) {
			ap := fleet.Server(c.server).AddrPort()
			target := probes.Target{Addr: ap.Addr(), Port: ap.Port()}
			before, connsBefore := smb1Cost(t, without, target)
			after, connsAfter := smb1Cost(t, probes.DefaultStages, target)
			t.Logf("%s: %d SMB1 requests without ms17010 (connections %v), %d with (connections %v)", c.server, before, connsBefore, after, connsAfter)
			if after-before != c.extra {
				t.Errorf("ms17010 added %d SMB1 requests, want %d", after-before, c.extra)
			}
			if len(connsAfter) != len(connsBefore) {
				t.Errorf("connections %v with ms17010, %v without: the check should open none of its own", connsAfter, connsBefore)
			}
		})
	}
}

// TestMS17010ChainOnProbeConnection: against the scripted SMB1 server, the check runs on the
// smb1 stage's connection: NEGOTIATE, then the NT LM 0.12 logon carrying the tree connect and
// the peek; the vulnerable host's DoublePulsar ping is the third request. A server that refuses
// the NT LM 0.12 form (ExtendedOnly) gets the extended logon's two legs after it.
func TestMS17010ChainOnProbeConnection(t *testing.T) {
	for _, c := range []struct {
		srv  *hostile.SMB1
		want int
	}{
		{&hostile.SMB1{}, 2},
		{&hostile.SMB1{PeekStatus: hostile.StatusInsuffServerResources}, 3},
		{&hostile.SMB1{ExtendedOnly: true}, 4},
		{&hostile.SMB1{ExtendedOnly: true, PeekStatus: hostile.StatusInsuffServerResources}, 5},
	} {
		r := ms17Scan(t, c.srv)
		f := finding(r, probes.FindingMS17010)
		wantState := probes.StateNotVulnerable
		if c.srv.PeekStatus != 0 {
			wantState = probes.StateVulnerable
		}
		if f == nil || f.State != wantState {
			t.Fatalf("extended only %v: ms17_010 %+v, want %s", c.srv.ExtendedOnly, f, wantState)
		}
		if c.srv.Requests() != c.want || c.srv.Conns() != 1 {
			t.Errorf("extended only %v: %d SMB1 requests on %d connections, want %d on 1", c.srv.ExtendedOnly, c.srv.Requests(), c.srv.Conns(), c.want)
		}
	}
}

// TestMS17010KeptConnectionLost: when the server closed the smb1 stage's connection while it
// waited, the check runs once more on a new connection and decides.
func TestMS17010KeptConnectionLost(t *testing.T) {
	srv := &hostile.SMB1{Steps: map[byte]hostile.SMB1Responder{
		hostile.SMB1CmdSessionSetup: func(r *hostile.SMB1Request) hostile.Action {
			if r.Conn == 0 {
				return hostile.Action{Close: true}
			}
			return r.Server.Default(r)
		},
	}}
	r := ms17Scan(t, srv)
	if f := finding(r, probes.FindingMS17010); f == nil || f.State != probes.StateNotVulnerable {
		t.Errorf("ms17_010 %+v, want not_vulnerable from the second connection", f)
	}
	if srv.Conns() != 2 {
		t.Errorf("%d connections, want the smb1 stage's and one more", srv.Conns())
	}
}
