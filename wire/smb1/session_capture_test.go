//go:build capture

package smb1_test

// Golden capture of Samba's replies to the SMB1 session layer (part of `make goldens`):
//
//	SMBSWEEP_REQUIRE_SAMBA=1 go test -tags capture -count=1 -run CaptureSession -v ./wire/smb1
//
// internal/testing/sambatest starts one smbd with "server min protocol = NT1" and "raw NTLMv2 auth =
// yes" on a free loopback address; transport/smb1conn (whose every message comes from this
// package's encoders) runs a fixed script against it, and the reply of each step (the SMB
// message after the NetBIOS header) is written to testdata/samba-4.17-smb1-<step>.bin. See
// testdata/README.md. This is an external test package: smb1conn imports smb1.

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/transport/smb1conn"
)

// captureFiles are the files of the capture share: a small text file, a directory of five
// entries for paging with FindCount 2, and a name outside the BMP.
var captureFiles = map[string]string{
	"hello.txt":             "hello over SMB1\n",
	"page/a.txt":            "a",
	"page/b.txt":            "bb",
	"page/c.txt":            "ccc",
	"page/d-\U0001F600.txt": "dddd",
	"page/e.txt":            "eeeee",
}

// recorder keeps the received messages of a connection.
type recorder struct{ got [][]byte }

func (r *recorder) trace(dir transport.Direction, msg []byte) {
	if dir == transport.Received {
		r.got = append(r.got, bytes.Clone(msg))
	}
}

// save writes the replies received since mark under the names given, one per reply.
func (r *recorder) save(t *testing.T, mark int, names ...string) int {
	t.Helper()
	if len(r.got)-mark < len(names) {
		t.Fatalf("%v: %d replies since mark", names, len(r.got)-mark)
	}
	for i, n := range names {
		if n == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join("testdata", "samba-4.17-smb1-"+n+".bin"), r.got[mark+i], 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", n, len(r.got[mark+i]))
	}
	return len(r.got)
}

func TestCaptureSession(t *testing.T) {
	fleet, err := sambatest.StartFleet(t.Context(), sambatest.Options{NoWarmUp: true, RemoveOnStop: true, Configs: []sambatest.Config{{
		Name: "nt1", NetBIOSName: "SMBSWEEPCAP",
		Global: []string{"server min protocol = NT1", "raw NTLMv2 auth = yes", "server signing = auto", "map to guest = Bad User"},
		Shares: []sambatest.ShareConfig{{Name: "cap", Params: []string{"comment = capture", "guest ok = yes", "read only = no"},
			Files: captureFiles, Mode: 0o777}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fleet.Stop(); err != nil {
			t.Error(err)
		}
	})
	addr := fleet.Server("nt1").AddrPort().String()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	open := func(opts smb1conn.Options) (*smb1conn.Conn, *recorder) {
		nc, err := new(net.Dialer).DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		opts.Trace = rec.trace
		opts.ServerName = "SMBSWEEPCAP"
		c := smb1conn.New(ctx, nc, opts)
		t.Cleanup(func() { _ = c.Close() })
		if _, err := c.Negotiate(ctx); err != nil {
			t.Fatal(err)
		}
		return c, rec
	}

	// Extended security, credentialed: the CHALLENGE round and the final reply.
	c, rec := open(smb1conn.Options{FindCount: 2})
	m := len(rec.got)
	if _, err := c.SessionSetup(ctx, smb1conn.Identity{Kind: smb1conn.User, User: sambatest.TestUser, Password: sambatest.TestPassword}); err != nil {
		t.Fatal(err)
	}
	m = rec.save(t, m, "session-setup-challenge", "session-setup-ext")
	if _, err := c.TreeConnect(ctx, "NOSUCHSHARE"); err == nil {
		t.Fatal("tree connect to a missing share succeeded")
	}
	m = rec.save(t, m, "tree-connect-error")
	tree, err := c.TreeConnect(ctx, "cap")
	if err != nil {
		t.Fatal(err)
	}
	m = rec.save(t, m, "tree-connect-disk")
	f, err := c.Open(ctx, tree.TID, "hello.txt", smb1conn.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m = rec.save(t, m, "nt-create")
	buf := make([]byte, 64)
	if _, err := c.ReadAt(ctx, tree.TID, f.FID, buf, 0); err != nil {
		t.Fatal(err)
	}
	m = rec.save(t, m, "read-andx")
	if err := c.CloseFile(ctx, tree.TID, f.FID); err != nil {
		t.Fatal(err)
	}
	rec.save(t, m, "close")
	w, err := c.Open(ctx, tree.TID, "written.txt", smb1conn.OpenOptions{DesiredAccess: 0x0012019f, CreateDisposition: 5})
	if err != nil {
		t.Fatal(err)
	}
	m = len(rec.got)
	if _, err := c.WriteAt(ctx, tree.TID, w.FID, []byte("written over SMB1\n"), 1<<32); err != nil {
		t.Fatal(err)
	}
	rec.save(t, m, "write-andx")
	_ = c.CloseFile(ctx, tree.TID, w.FID)
	m = len(rec.got)
	if _, err := c.Open(ctx, tree.TID, "missing.txt", smb1conn.OpenOptions{}); err == nil {
		t.Fatal("open of a missing file succeeded")
	}
	m = rec.save(t, m, "nt-create-error")
	var names []string
	if err := c.List(ctx, tree.TID, `page\*`, func(e *smb1conn.Entry) error { names = append(names, e.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 7 {
		t.Fatalf("listing: %q", names)
	}
	m = rec.save(t, m, "find-first2", "find-next2", "find-next2-2", "find-next2-end")
	if _, err := c.QueryPathInfo(ctx, tree.TID, `page\d-`+"\U0001F600"+`.txt`); err != nil {
		t.Fatal(err)
	}
	rec.save(t, m, "query-path-info")

	// Anonymous, IPC$, a pipe: SRVSVC bind through TransactNmPipe and MS17-010's peek.
	a, arec := open(smb1conn.Options{})
	m = len(arec.got)
	if _, err := a.SessionSetup(ctx, smb1conn.Identity{Kind: smb1conn.Anonymous}); err != nil {
		t.Fatal(err)
	}
	m = arec.save(t, m, "", "session-setup-anonymous")
	ipc, err := a.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatal(err)
	}
	m = arec.save(t, m, "tree-connect-ipc")
	if _, _, err := a.PeekNamedPipe(ctx, ipc.TID, 0); err != nil {
		t.Fatal(err)
	}
	m = arec.save(t, m, "peek-named-pipe")
	p, err := a.Open(ctx, ipc.TID, "srvsvc", smb1conn.OpenOptions{DesiredAccess: 0x0012019f})
	if err != nil {
		t.Fatal(err)
	}
	m = arec.save(t, m, "nt-create-pipe")
	out := make([]byte, 1024)
	if _, err := a.TransactNamedPipe(ctx, ipc.TID, p.FID, srvsvcBind, out); err != nil {
		t.Fatal(err)
	}
	arec.save(t, m, "transact-nmpipe")

	// NT LM 0.12 form (no extended security): negotiate and a guest logon.
	g, grec := open(smb1conn.Options{NoExtendedSecurity: true})
	m = grec.save(t, 0, "negotiate-nt")
	s, err := g.SessionSetup(ctx, smb1conn.Identity{Kind: smb1conn.Guest})
	if err != nil || !s.Guest || !strings.HasPrefix(s.NativeLanMan, "Samba") {
		t.Fatalf("guest: %+v, %v", s, err)
	}
	grec.save(t, m, "session-setup-nt-guest")
}

// srvsvcBind is a DCE/RPC BIND (C706 12.6.4.3) to SRVSVC 3.0 with the NDR transfer syntax.
var srvsvcBind = []byte{5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,
	0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0,
	0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0,
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0}
