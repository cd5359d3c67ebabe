package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
	"github.com/smbsweep/smbsweep/wire"
)

// connectSMB1Only logs on to an SMB1-only server with opts and connects the private share.
func connectSMB1Only(t *testing.T, server string, opts ConnectOptions, cred Credentials) (*Conn, FS) {
	t.Helper()
	srv := smb1only.Require(t).Server(server)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c, err := Connect(ctx, dialer, srv.AddrPort().String(), opts, cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	fs, err := c.Share(ctx, sambatest.SharePrivate)
	if err != nil {
		t.Fatal(err)
	}
	return c, fs
}

// TestSMB1Fallback: against servers that close the connection on an SMB2 NEGOTIATE, Connect
// falls back to SMB1 and every file operation keeps the SMB2 client's bounds: a complete
// 5 000-entry listing, 64-bit sizes, non-BMP names, byte-exact reads with the limit, the
// three write modes, NT status names in errors; signed when the server requires it.
func TestSMB1Fallback(t *testing.T) {
	for _, server := range []string{smb1only.Plain, smb1only.Signing} {
		t.Run(server, func(t *testing.T) {
			c, fs := connectSMB1Only(t, server, ConnectOptions{}, testCreds())
			if c.Protocol() != ProtocolSMB1 || fs.Protocol() != ProtocolSMB1 {
				t.Fatalf("protocol %s/%s, want smb1", c.Protocol(), fs.Protocol())
			}
			if c.Fallback() == "" {
				t.Error("no fallback reason recorded")
			}
			if c.Signed() != (server == smb1only.Signing) || c.Encrypted() {
				t.Errorf("signed %v encrypted %v on %s", c.Signed(), c.Encrypted(), server)
			}
			s := c.SMB1().Session()
			if !strings.HasPrefix(s.NativeLanMan, "Samba") || s.Domain == "" || s.User != sambatest.TestUser {
				t.Errorf("session %+v", s)
			}
			smb1Acceptance(t, smb1only.Require(t).Server(server), fs)
		})
	}
}

func smb1Acceptance(t *testing.T, srv *sambatest.Server, fs FS) {
	ctx := t.Context()
	seen := map[string]bool{}
	if err := fs.ReadDir(ctx, smb1only.ManyDir, func(fi FileInfo) error {
		if seen[fi.Name] {
			return errors.New("duplicate " + fi.Name)
		}
		seen[fi.Name] = true
		if fi.IsDir || fi.Path != smb1only.ManyDir+"/"+fi.Name || fi.LastWriteTime.IsZero() {
			t.Errorf("entry %+v", fi)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != smb1only.ManyCount {
		t.Fatalf("listed %d of %d entries", len(seen), smb1only.ManyCount)
	}
	// Stat and the listing agree on the 5 GiB sparse file.
	fi, err := fs.Stat(ctx, smb1only.SparseName)
	if err != nil || fi.Size != smb1only.SparseSize || fi.IsDir || fi.Name != smb1only.SparseName {
		t.Fatalf("stat sparse: %+v, %v", fi, err)
	}
	var root []FileInfo
	if err := fs.ReadDir(ctx, "", func(fi FileInfo) error { root = append(root, fi); return nil }); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range root {
		if e.Name == smb1only.SparseName {
			found = e.Size == smb1only.SparseSize
		}
		if e.Name == "." || e.Name == ".." {
			t.Errorf("listing has %q", e.Name)
		}
	}
	if !found {
		t.Errorf("sparse file missing or wrong size in the root listing %+v", root)
	}
	// Names outside the BMP, listed, stat'ed and read.
	var uni []string
	res, err := fs.Walk(ctx, "", WalkOptions{MaxDepth: 1}, func(fi FileInfo) error {
		if strings.HasPrefix(fi.Path, smb1only.UniDir+"/") {
			uni = append(uni, fi.Name)
		}
		return nil
	})
	if err != nil || res.Truncated || res.Entries < smb1only.ManyCount {
		t.Fatalf("walk: %+v, %v", res, err)
	}
	if strings.Join(uni, ",") != smb1only.CJKName+","+smb1only.EmojiName && strings.Join(uni, ",") != smb1only.EmojiName+","+smb1only.CJKName {
		t.Fatalf("uni names %q", uni)
	}
	rr, err := fs.ReadFile(ctx, smb1only.UniDir+"/"+smb1only.EmojiName, 0)
	if err != nil || string(rr.Data) != smb1only.EmojiText || !rr.IsText {
		t.Fatalf("read emoji file: %+v, %v", rr, err)
	}
	// 3 MiB byte-exact, and cut by the limit.
	rr, err = fs.ReadFile(ctx, smb1only.BigName, 8<<20)
	if err != nil || !bytes.Equal(rr.Data, smb1only.BigContent()) || rr.Truncated || rr.Size != smb1only.BigSize {
		t.Fatalf("read 3 MiB: %d bytes, truncated %v, %v", len(rr.Data), rr.Truncated, err)
	}
	rr, err = fs.ReadFile(ctx, smb1only.BigName, 1000)
	if err != nil || !bytes.Equal(rr.Data, smb1only.BigContent()[:1000]) || !rr.Truncated || rr.BytesRead != 1000 {
		t.Fatalf("read 1000: %d bytes, truncated %v, %v", len(rr.Data), rr.Truncated, err)
	}
	// A read near the end of the 5 GiB file: 64-bit offsets.
	var tail bytes.Buffer
	if rr, err := fs.ReadFileTo(ctx, smb1only.SparseName, &tail, 10); err != nil || rr.BytesRead != 10 || rr.Size != smb1only.SparseSize {
		t.Fatalf("read sparse: %+v, %v", rr, err)
	}
	// Write modes.
	name := "put-" + strings.ReplaceAll(t.Name(), "/", "-") + "-\U0001F4C1.txt"
	disk := filepath.Join(srv.SharePath(sambatest.SharePrivate), name)
	_ = os.Remove(disk)
	wr, err := fs.WriteFile(ctx, name, strings.NewReader("one\n"), CreateOnly)
	if err != nil || !wr.Created || wr.BytesWritten != 4 {
		t.Fatalf("create: %+v, %v", wr, err)
	}
	_, err = fs.WriteFile(ctx, name, strings.NewReader("two\n"), CreateOnly)
	if !errors.Is(err, ErrExists) || !errors.Is(err, wire.StatusObjectNameCollision) || !strings.Contains(err.Error(), "STATUS_OBJECT_NAME_COLLISION") {
		t.Fatalf("create over an existing file: %v", err)
	}
	wr, err = fs.WriteFile(ctx, name, strings.NewReader("three\n"), Append)
	if err != nil || wr.Created || wr.Offset != 4 || wr.BytesWritten != 6 {
		t.Fatalf("append: %+v, %v", wr, err)
	}
	if b, _ := os.ReadFile(disk); string(b) != "one\nthree\n" {
		t.Fatalf("after append the file holds %q", b)
	}
	big := smb1only.BigContent()[:1<<20+12345]
	wr, err = fs.WriteFile(ctx, name, bytes.NewReader(big), Overwrite)
	if err != nil || wr.Created || wr.BytesWritten != int64(len(big)) {
		t.Fatalf("overwrite: %+v, %v", wr, err)
	}
	if b, _ := os.ReadFile(disk); !bytes.Equal(b, big) {
		t.Fatalf("after overwrite the file holds %d bytes", len(b))
	}
	// Errors name the NT status, as over SMB2.
	for _, tc := range []struct {
		op   func() error
		want wire.NTStatus
	}{
		{func() error { _, err := fs.Stat(ctx, "missing.txt"); return err }, wire.StatusObjectNameNotFound},
		{func() error { return fs.ReadDir(ctx, "missing-dir", func(FileInfo) error { return nil }) }, wire.StatusObjectNameNotFound},
		{func() error { return fs.ReadDir(ctx, smb1only.BigName, func(FileInfo) error { return nil }) }, wire.StatusNotADirectory},
		{func() error { _, err := fs.ReadFile(ctx, smb1only.ManyDir, 0); return err }, wire.StatusFileIsADirectory},
	} {
		err := tc.op()
		var ce *Error
		if !errors.As(err, &ce) || ce.Status != tc.want || !strings.Contains(err.Error(), tc.want.String()) {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

// TestSMB1ProtocolChoice: forcing SMB1 works; forcing SMB2, or asking for encryption or a
// dialect, against an SMB1-only server fails with an error that says so instead of falling
// back; a bad password and pass-the-hash behave as over SMB2.
func TestSMB1ProtocolChoice(t *testing.T) {
	srv := smb1only.Require(t).Server(smb1only.Plain)
	addr := srv.AddrPort().String()
	c, err := Connect(t.Context(), dialer, addr, ConnectOptions{Protocol: ProtocolSMB1}, testCreds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Protocol() != ProtocolSMB1 || c.Fallback() != "" {
		t.Errorf("forced: protocol %s, fallback %q", c.Protocol(), c.Fallback())
	}
	_ = c.Close()
	if _, err := Connect(t.Context(), dialer, addr, ConnectOptions{Protocol: ProtocolSMB2}, testCreds()); !NoSMB2(err) {
		t.Errorf("forced SMB2: %v, want a negotiate failure that NoSMB2 recognises", err)
	}
	for _, o := range []Options{{Encrypt: true}, {Dialects: []wire.Dialect{wire.Dialect311}}} {
		if _, err := Connect(t.Context(), dialer, addr, ConnectOptions{Options: o}, testCreds()); !errors.Is(err, ErrNoSMB2) {
			t.Errorf("%+v: %v, want ErrNoSMB2", o, err)
		}
		if _, err := Connect(t.Context(), dialer, addr, ConnectOptions{Options: o, Protocol: ProtocolSMB1}, testCreds()); err == nil {
			t.Errorf("%+v with SMB1 forced: accepted", o)
		}
	}
	_, err = Connect(t.Context(), dialer, addr, ConnectOptions{}, Credentials{User: sambatest.TestUser, Password: "wrong"})
	if !errors.Is(err, wire.StatusLogonFailure) || !strings.Contains(err.Error(), "wrong user name, password or NT hash") {
		t.Errorf("bad password: %v", err)
	}
	if strings.Contains(fmtErr(err), "wrong\"") {
		t.Errorf("the error repeats the password: %v", err)
	}
	h := ntlmcrypto.NTHash(sambatest.TestPassword)
	c, fs := connectSMB1Only(t, smb1only.Plain, ConnectOptions{}, Credentials{User: sambatest.TestUser, NTHash: &h})
	if _, err := fs.Stat(t.Context(), "secret.txt"); err != nil || c.Protocol() != ProtocolSMB1 {
		t.Fatalf("pass-the-hash: %v", err)
	}
	if _, err := c.Share(t.Context(), "no-such-share"); !errors.Is(err, wire.StatusBadNetworkName) {
		t.Errorf("missing share: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSMB1ForcedOnDualServer: on a server that speaks both, Connect uses SMB2 unless SMB1 is
// forced; forced, every operation runs over SMB1.
func TestSMB1ForcedOnDualServer(t *testing.T) {
	c, fs := connectSMB1Only(t, smb1only.Dual, ConnectOptions{}, testCreds())
	if c.Protocol() != ProtocolSMB2 || fs.Protocol() != ProtocolSMB2 || c.Fallback() != "" || c.SMB2() == nil {
		t.Fatalf("auto on a dual server: %s, fallback %q", c.Protocol(), c.Fallback())
	}
	c, fs = connectSMB1Only(t, smb1only.Dual, ConnectOptions{Protocol: ProtocolSMB1}, testCreds())
	if c.Protocol() != ProtocolSMB1 || c.SMB1() == nil {
		t.Fatalf("forced: %s", c.Protocol())
	}
	rr, err := fs.ReadFile(t.Context(), smb1only.BigName, 8<<20)
	if err != nil || !bytes.Equal(rr.Data, smb1only.BigContent()) {
		t.Fatalf("read over forced SMB1: %d bytes, %v", len(rr.Data), err)
	}
}

// TestSMB1StatRoot: the share root stats as a directory with an empty name and path.
func TestSMB1StatRoot(t *testing.T) {
	_, fs := connectSMB1Only(t, smb1only.Plain, ConnectOptions{}, testCreds())
	for _, p := range []string{"", "/", `\`} {
		fi, err := fs.Stat(t.Context(), p)
		if err != nil || !fi.IsDir || fi.Name != "" || fi.Path != "" {
			t.Errorf("stat %q: %+v, %v", p, fi, err)
		}
	}
}
