package smb1conn

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// TestSambaPeekIPCChained: against Samba, the chained anonymous logon, IPC$ tree connect and
// TRANS_PEEK_NMPIPE on FID 0 get the answer the separate requests get (STATUS_INVALID_HANDLE:
// Samba is not vulnerable), in one exchange: Samba accepts the NT LM 0.12 logon form also on
// a connection that negotiated extended security, and runs every follow-on.
func TestSambaPeekIPCChained(t *testing.T) {
	for _, c := range []struct {
		name      string
		opts      Options
		logon     bool
		exchanges int
	}{
		{"extended", Options{}, true, 1},
		{"nt-lm-0.12", Options{NoExtendedSecurity: true}, true, 1},
		{"existing uid", Options{}, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := dial(t, "smb1", c.opts)
			if !c.logon {
				logon(t, conn, Identity{Kind: Anonymous})
			}
			p, err := conn.PeekIPC(t.Context(), c.logon)
			if err != nil {
				t.Fatalf("PeekIPC: %v (failed command 0x%02x)", err, p.Failed)
			}
			if !p.NTStatus || wire.NTStatus(p.Status) != wire.StatusInvalidHandle || p.TID == 0 || p.Failed != 0 {
				t.Errorf("peek %+v, want STATUS_INVALID_HANDLE on a connected IPC$", p)
			}
			if p.Exchanges != c.exchanges {
				t.Errorf("%d exchanges, want %d", p.Exchanges, c.exchanges)
			}
			if c.logon && (p.Session.UID == 0 || p.Session.UID != conn.UID() || p.Session.NativeLanMan == "") {
				t.Errorf("session %+v (connection UID %d): want the chained logon's UID and strings", p.Session, conn.UID())
			}
			// The separate requests agree (the check as it was sent before chaining).
			st, nt, err := conn.PeekNamedPipe(t.Context(), p.TID, 0)
			if err != nil || !nt || st != p.Status {
				t.Errorf("separate peek: %v %v %v, want the chained answer %v", st, nt, err, p.Status)
			}
		})
	}
}

// TestSambaAdoptedPeek: a connection whose NEGOTIATE was the probe's (smb1.AppendProbeNegotiate)
// is adopted and serves the chained check, with no second NEGOTIATE.
func TestSambaAdoptedPeek(t *testing.T) {
	f := smb1Fleet(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	nc, err := new(net.Dialer).DialContext(ctx, "tcp", f.Server("smb1").AddrPort().String())
	if err != nil {
		t.Fatal(err)
	}
	var sent []byte
	tc := transport.New(ctx, nc, transport.Options{NoSigning: true, Trace: func(dir transport.Direction, msg []byte) {
		if dir == transport.Sent && len(msg) > 4 {
			sent = append(sent, msg[4])
		}
	}})
	defer tc.Close()
	if err := tc.WriteFrame(ctx, smb1.AppendProbeNegotiate(tc.Buffer())); err != nil {
		t.Fatal(err)
	}
	reply, err := tc.ReadFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Adopt(tc, reply, Options{})
	if err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	if !c.Negotiated().ExtendedSecurity || !c.Negotiated().Unicode {
		t.Errorf("negotiated %+v, want Samba's extended security and Unicode", c.Negotiated())
	}
	p, err := c.PeekIPC(ctx, true)
	if err != nil || wire.NTStatus(p.Status) != wire.StatusInvalidHandle {
		t.Fatalf("PeekIPC on the adopted connection: %+v, %v", p, err)
	}
	want := []byte{smb1.CommandNegotiate, smb1.CommandSessionSetupAndX}
	if string(sent) != string(want) {
		t.Errorf("sent commands % x, want % x (one NEGOTIATE, the logon carrying the rest)", sent, want)
	}
	if p.Session.Extended {
		t.Error("the chained logon used the extended form; Samba accepts the NT LM 0.12 form")
	}
}

// TestAdoptRefusesOtherReplies: a NEGOTIATE reply that does not accept NT LM 0.12 in the NT
// form cannot be adopted.
func TestAdoptRefusesOtherReplies(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	tc := transport.New(context.Background(), a, transport.Options{})
	for _, name := range []string{"samba-4.17-smb1-disabled-negotiate.bin"} {
		reply, err := os.ReadFile(filepath.Join("..", "..", "wire", "smb1", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Adopt(tc, reply, Options{}); err == nil {
			t.Errorf("%s adopted", name)
		}
	}
}
