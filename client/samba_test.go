package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

func TestMain(m *testing.M) {
	code := sambatest.Run(m)
	if err := smb1only.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the SMB1-only fleet:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// Fixture names in the private share of every server used here.
const (
	manyDir      = "many"
	manyCount    = 5000
	sparseName   = "sparse-5g.bin"
	sparseSize   = 5 << 30
	randomName   = "random-100k.bin"
	randomSize   = 100 << 10
	uniDir       = "uni"
	emojiName    = "smile-\U0001F600.txt"
	cjkExtBName  = "\U00020000-ext-b.txt"
	emojiContent = "emoji \U0001F600 content\n"
	cjkContent   = "CJK Extension B \U00020000 \U0002A6D6\n"
)

var (
	fixtureMu   sync.Mutex
	fixtureDone = map[string][]byte{} // server name -> random file contents
)

// fixtures creates, once per server and test binary, the files the acceptance tests
// need in the private share: 5 000 files in one directory, a 5 GiB sparse file, files named
// with an emoji and a CJK Extension B character, and a 100 KiB random binary. They belong to
// the test user, as the share's own files do.
func fixtures(t *testing.T, srv *sambatest.Server) []byte {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if b, ok := fixtureDone[srv.Name]; ok {
		return b
	}
	root := srv.SharePath(sambatest.SharePrivate)
	if root == "" {
		t.Fatalf("%s has no private share", srv.Name)
	}
	u, err := user.Lookup(sambatest.TestUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	many := filepath.Join(root, manyDir)
	must(os.MkdirAll(many, 0o755))
	for i := range manyCount {
		must(os.WriteFile(filepath.Join(many, fmt.Sprintf("file-%05d.txt", i)), nil, 0o644))
	}
	sparse := filepath.Join(root, sparseName)
	f, err := os.Create(sparse)
	must(err)
	must(f.Close())
	must(os.Truncate(sparse, sparseSize))
	random := make([]byte, randomSize)
	_, _ = rand.Read(random)
	must(os.WriteFile(filepath.Join(root, randomName), random, 0o644))
	must(os.MkdirAll(filepath.Join(root, uniDir), 0o755))
	must(os.WriteFile(filepath.Join(root, uniDir, emojiName), []byte(emojiContent), 0o644))
	must(os.WriteFile(filepath.Join(root, uniDir, cjkExtBName), []byte(cjkContent), 0o644))
	must(filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))
	fixtureDone[srv.Name] = random
	return random
}

var dialer = &net.Dialer{Timeout: 5 * time.Second}

func testCreds() Credentials {
	return Credentials{User: sambatest.TestUser, Password: sambatest.TestPassword}
}

// connect dials srv, logs on as the test user and connects the private share.
func connect(t *testing.T, srv *sambatest.Server, opts Options, cred Credentials) (*Client, *Share) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	c, err := Dial(ctx, dialer, srv.AddrPort().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(ctx, cred); err != nil {
		t.Fatal(err)
	}
	sh, err := c.TreeConnect(ctx, sambatest.SharePrivate)
	if err != nil {
		t.Fatal(err)
	}
	return c, sh
}

var dialectCases = []wire.Dialect{wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311}

// TestAcceptance is the "done when" against the default, signing-mandatory and
// encryption-required servers, with every dialect each allows.
func TestAcceptance(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, name := range []string{"default", "signing", "encrypt"} {
		srv := fleet.Server(name)
		random := fixtures(t, srv)
		for _, d := range dialectCases {
			t.Run(name+"/"+d.String(), func(t *testing.T) {
				opts := Options{Dialects: []wire.Dialect{d}}
				if name == "encrypt" && d == wire.Dialect210 {
					// Encryption needs SMB 3: Samba refuses the session, and the error says so.
					c, err := Dial(t.Context(), dialer, srv.AddrPort().String(), opts)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					err = c.Login(t.Context(), testCreds())
					if !errors.Is(err, wire.StatusAccessDenied) || !strings.Contains(err.Error(), "login //") {
						t.Fatalf("2.1 on an encryption-required server: got %v", err)
					}
					return
				}
				c, sh := connect(t, srv, opts, testCreds())
				checkSession(t, c, name, d)
				acceptance(t, srv, sh, random)
			})
		}
	}
}

func checkSession(t *testing.T, c *Client, server string, d wire.Dialect) {
	t.Helper()
	if got := c.Negotiated().Dialect; got != d {
		t.Fatalf("dialect %s, want %s", got, d)
	}
	s := c.Session()
	wantAlg := wire.SigningAESCMAC
	switch {
	case d < wire.Dialect300:
		wantAlg = wire.SigningHMACSHA256
	case d == wire.Dialect311 && c.Negotiated().SigningNegotiated:
		wantAlg = c.Negotiated().SigningAlgorithm
	}
	if s.Security.SigningAlgorithm != wantAlg {
		t.Errorf("signing algorithm %s, want %s", wire.SigningAlgorithmName(s.Security.SigningAlgorithm), wire.SigningAlgorithmName(wantAlg))
	}
	if enc := s.Encrypted(); enc != (server == "encrypt") {
		t.Errorf("session encrypted %v on %s", enc, server)
	}
	if server == "encrypt" && s.Flags&wire.SessionFlagEncryptData == 0 {
		t.Errorf("no ENCRYPT_DATA flag from the encryption-required server")
	}
	// No -d: the domain is the server's NetBIOS domain from its CHALLENGE, which for a
	// standalone Samba is its own NetBIOS name.
	if s.Domain == "" || s.Domain != s.Server.NetBIOSDomain || !strings.HasPrefix(s.Server.NetBIOSComputer, "SWEEP-") {
		t.Errorf("domain %q, server names %+v", s.Domain, s.Server)
	}
}

func acceptance(t *testing.T, srv *sambatest.Server, sh *Share, random []byte) {
	ctx := t.Context()
	// 5 000 entries, none lost, none doubled.
	seen := map[string]bool{}
	err := sh.ReadDir(ctx, manyDir, func(fi FileInfo) error {
		if seen[fi.Name] {
			return fmt.Errorf("duplicate %s", fi.Name)
		}
		seen[fi.Name] = true
		if fi.IsDir || fi.Size != 0 || fi.Path != manyDir+"/"+fi.Name || fi.LastWriteTime.IsZero() {
			return fmt.Errorf("bad entry %+v", fi)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != manyCount || !seen["file-00000.txt"] || !seen["file-04999.txt"] {
		t.Fatalf("listed %d entries, want %d", len(seen), manyCount)
	}

	// The sparse file's 64-bit size, by stat and by listing.
	fi, err := sh.Stat(ctx, sparseName)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size != 5368709120 || fi.IsDir || fi.Name != sparseName || fi.AllocationSize >= fi.Size {
		t.Fatalf("stat of the sparse file: %+v", fi)
	}
	var listed int64 = -1
	if err := sh.ReadDir(ctx, "", func(fi FileInfo) error {
		if fi.Name == sparseName {
			listed = fi.Size
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if listed != 5368709120 {
		t.Fatalf("listed size of the sparse file %d", listed)
	}
	// Reading a bounded part of it: all of it zeros, truncated.
	rr, err := sh.ReadFile(ctx, sparseName, 200<<10)
	if err != nil {
		t.Fatal(err)
	}
	if rr.BytesRead != 200<<10 || !rr.Truncated || len(rr.Data) != 200<<10 || !bytes.Equal(rr.Data, make([]byte, 200<<10)) || rr.IsText {
		t.Fatalf("sparse read: %d bytes, truncated %v text %v", rr.BytesRead, rr.Truncated, rr.IsText)
	}

	// Names beyond the BMP list and read back byte-exact.
	var names []string
	if err := sh.ReadDir(ctx, uniDir, func(fi FileInfo) error { names = append(names, fi.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	want := []string{cjkExtBName, emojiName}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	for name, content := range map[string]string{emojiName: emojiContent, cjkExtBName: cjkContent} {
		rr, err := sh.ReadFile(ctx, uniDir+"/"+name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(rr.Data) != content || rr.Truncated || !rr.IsText || rr.Path != uniDir+"/"+name {
			t.Fatalf("%s: read %q truncated %v text %v", name, rr.Data, rr.Truncated, rr.IsText)
		}
	}

	// get of the 100 KiB binary: every byte, the right digest, not truncated.
	rr, err = sh.ReadFile(ctx, randomName, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rr.Data, random) || rr.SHA256 != sha256.Sum256(random) || rr.Truncated || rr.Size != randomSize || rr.IsText {
		t.Fatalf("random file: %d bytes, truncated %v", len(rr.Data), rr.Truncated)
	}
	// With the default limit (64 KiB): truncated, and the digest is of what was returned.
	rr, err = sh.ReadFile(ctx, randomName, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rr.Data, random[:DefaultMaxBytes]) || !rr.Truncated || rr.SHA256 != sha256.Sum256(random[:DefaultMaxBytes]) {
		t.Fatalf("default limit: %d bytes, truncated %v", len(rr.Data), rr.Truncated)
	}

	// put -append appends; a plain put refuses to overwrite.
	name := fmt.Sprintf("appended-%d.txt", time.Now().UnixNano())
	defer os.Remove(filepath.Join(srv.SharePath(sambatest.SharePrivate), name))
	if _, err := sh.WriteFile(ctx, name, strings.NewReader("one\n"), CreateOnly); err != nil {
		t.Fatal(err)
	}
	_, err = sh.WriteFile(ctx, name, strings.NewReader("nope\n"), CreateOnly)
	if !errors.Is(err, ErrExists) || !errors.Is(err, wire.StatusObjectNameCollision) {
		t.Fatalf("create over an existing file: %v", err)
	}
	wr, err := sh.WriteFile(ctx, name, strings.NewReader("two\n"), Append)
	if err != nil {
		t.Fatal(err)
	}
	if wr.Offset != 4 || wr.BytesWritten != 4 || wr.Created {
		t.Fatalf("append result %+v", wr)
	}
	got, err := os.ReadFile(filepath.Join(srv.SharePath(sambatest.SharePrivate), name))
	if err != nil || string(got) != "one\ntwo\n" {
		t.Fatalf("after append: %q %v", got, err)
	}
	rr, err = sh.ReadFile(ctx, name, 0)
	if err != nil || string(rr.Data) != "one\ntwo\n" {
		t.Fatalf("read back: %q %v", rr.Data, err)
	}
}

func TestLoginAndShareErrors(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, name := range []string{"default", "signing", "encrypt"} {
		srv := fleet.Server(name)
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			c, err := Dial(ctx, dialer, srv.AddrPort().String(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Login(ctx, Credentials{User: sambatest.TestUser, Password: "wrong-" + sambatest.TestPassword})
			if !errors.Is(err, wire.StatusLogonFailure) || !strings.Contains(err.Error(), "STATUS_LOGON_FAILURE") ||
				!strings.Contains(err.Error(), srv.AddrPort().String()) || strings.Contains(err.Error(), sambatest.TestPassword) {
				t.Fatalf("wrong password: %v", err)
			}
			_, sh := connect(t, srv, Options{}, testCreds())
			_, err = sh.c.TreeConnect(ctx, "no-such-share")
			if !errors.Is(err, wire.StatusBadNetworkName) || !strings.Contains(err.Error(), "STATUS_BAD_NETWORK_NAME") ||
				!strings.Contains(err.Error(), "/no-such-share") {
				t.Fatalf("unknown share: %v", err)
			}
			_, err = sh.Stat(ctx, "no/such/file")
			if !errors.Is(err, wire.StatusObjectPathNotFound) || !strings.Contains(err.Error(), "stat //") {
				t.Fatalf("missing file: %v", err)
			}
		})
	}
}

func TestPassTheHash(t *testing.T) {
	srv := sambatest.Require(t).Server("signing")
	h := ntlmcrypto.NTHash(sambatest.TestPassword)
	c, sh := connect(t, srv, Options{}, Credentials{User: sambatest.TestUser, NTHash: &h})
	if c.Session().User != sambatest.TestUser {
		t.Fatal("session user")
	}
	if _, err := sh.Stat(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	// A wrong hash is a logon failure too.
	c2, err := Dial(t.Context(), dialer, srv.AddrPort().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	bad := h
	bad[0] ^= 1
	if err := c2.Login(t.Context(), Credentials{User: sambatest.TestUser, NTHash: &bad}); !errors.Is(err, wire.StatusLogonFailure) {
		t.Fatalf("wrong hash: %v", err)
	}
}

func TestGuestMappingRefused(t *testing.T) {
	srv := sambatest.Require(t).Server("default") // map to guest = Bad User
	c, err := Dial(t.Context(), dialer, srv.AddrPort().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Login(t.Context(), Credentials{User: "no-such-user-here", Password: "x"})
	if !errors.Is(err, ErrGuest) {
		t.Fatalf("unknown user mapped to guest: %v", err)
	}
}

func TestEncryptOnRequest(t *testing.T) {
	srv := sambatest.Require(t).Server("default")
	random := fixtures(t, srv)
	for _, d := range []wire.Dialect{wire.Dialect300, wire.Dialect302, wire.Dialect311} {
		t.Run(d.String(), func(t *testing.T) {
			c, sh := connect(t, srv, Options{Dialects: []wire.Dialect{d}, Encrypt: true}, testCreds())
			if !c.Session().Encrypted() || !sh.Encrypted() || c.Session().Security.Cipher == wire.CipherNone {
				t.Fatalf("session %+v not encrypted", c.Session().Security)
			}
			rr, err := sh.ReadFile(t.Context(), randomName, 1<<20)
			if err != nil || !bytes.Equal(rr.Data, random) {
				t.Fatalf("encrypted read: %v", err)
			}
			// Multi-credit encrypted WRITE and READ of several MiB.
			big := make([]byte, 5<<20+3)
			_, _ = rand.Read(big)
			name := fmt.Sprintf("enc-big-%s.bin", d)
			defer os.Remove(filepath.Join(srv.SharePath(sambatest.SharePrivate), name))
			if _, err := sh.WriteFile(t.Context(), name, bytes.NewReader(big), Overwrite); err != nil {
				t.Fatal(err)
			}
			rr, err = sh.ReadFile(t.Context(), name, 8<<20)
			if err != nil || !bytes.Equal(rr.Data, big) || rr.SHA256 != sha256.Sum256(big) {
				t.Fatalf("encrypted big read back: %d bytes, %v", len(rr.Data), err)
			}
		})
	}
	// 2.1 has no encryption: asking for it is an error naming the reason.
	c, err := Dial(t.Context(), dialer, srv.AddrPort().String(), Options{Dialects: []wire.Dialect{wire.Dialect210}, Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(t.Context(), testCreds()); err == nil || !strings.Contains(err.Error(), "no cipher") {
		t.Fatalf("2.1 with encryption: %v", err)
	}
}

func TestStatReadWriteDetails(t *testing.T) {
	srv := sambatest.Require(t).Server("default")
	fixtures(t, srv)
	_, sh := connect(t, srv, Options{}, testCreds())
	ctx := t.Context()
	for _, p := range []string{"", "/", manyDir, `\` + uniDir + `\`} {
		fi, err := sh.Stat(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir || fi.Attributes&wire.FileAttributeDirectory == 0 || fi.CreationTime.IsZero() && fi.ChangeTime.IsZero() {
			t.Fatalf("stat %q: %+v", p, fi)
		}
	}
	if _, err := sh.ReadFile(ctx, manyDir, 0); !errors.Is(err, wire.StatusFileIsADirectory) {
		t.Fatalf("read of a directory: %v", err)
	}
	if err := sh.ReadDir(ctx, randomName, func(FileInfo) error { return nil }); !errors.Is(err, wire.StatusNotADirectory) {
		t.Fatalf("list of a file: %v", err)
	}
	// Overwrite replaces; a write bigger than one chunk arrives whole.
	name := fmt.Sprintf("big-%d.bin", time.Now().UnixNano())
	defer os.Remove(filepath.Join(srv.SharePath(sambatest.SharePrivate), name))
	big := make([]byte, 3<<20+17)
	_, _ = rand.Read(big)
	if wr, err := sh.WriteFile(ctx, name, bytes.NewReader(big), Overwrite); err != nil || wr.BytesWritten != int64(len(big)) || !wr.Created {
		t.Fatalf("big write: %+v %v", wr, err)
	}
	rr, err := sh.ReadFile(ctx, name, 8<<20)
	if err != nil || !bytes.Equal(rr.Data, big) {
		t.Fatalf("big read back: %d bytes, %v", len(rr.Data), err)
	}
	if wr, err := sh.WriteFile(ctx, name, strings.NewReader("short"), Overwrite); err != nil || wr.Created {
		t.Fatalf("overwrite: %+v %v", wr, err)
	}
	if got, _ := os.ReadFile(filepath.Join(srv.SharePath(sambatest.SharePrivate), name)); string(got) != "short" {
		t.Fatalf("after overwrite: %d bytes", len(got))
	}
}

func TestWalkCaps(t *testing.T) {
	srv := sambatest.Require(t).Server("default")
	fixtures(t, srv)
	_, sh := connect(t, srv, Options{}, testCreds())
	ctx := t.Context()
	var paths []string
	res, err := sh.Walk(ctx, "", WalkOptions{MaxDepth: 5}, func(fi FileInfo) error {
		paths = append(paths, fi.Path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reports/q1.txt", manyDir + "/file-01234.txt", uniDir + "/" + emojiName, "secret.txt"} {
		if !slices.Contains(paths, want) {
			t.Errorf("walk lacks %s", want)
		}
	}
	if res.Truncated || res.Entries != len(paths) || res.Entries < manyCount {
		t.Fatalf("walk result %+v", res)
	}
	// Depth 0: the top directory only.
	res, err = sh.Walk(ctx, "", WalkOptions{}, func(fi FileInfo) error {
		if strings.Contains(fi.Path, "/") {
			return fmt.Errorf("entered %s at depth 0", fi.Path)
		}
		return nil
	})
	if err != nil || res.Directories != 1 || res.NotEntered == 0 || res.Truncated {
		t.Fatalf("depth 0: %+v %v", res, err)
	}
	// Entry cap.
	n := 0
	res, err = sh.Walk(ctx, manyDir, WalkOptions{MaxEntries: 123}, func(FileInfo) error { n++; return nil })
	if err != nil || n != 123 || res.Entries != 123 || !res.Truncated || res.Reason != "max-entries" {
		t.Fatalf("entry cap: n %d %+v %v", n, res, err)
	}
	// Time cap.
	res, err = sh.Walk(ctx, "", WalkOptions{MaxDepth: 3, Deadline: time.Now().Add(-time.Second)}, func(FileInfo) error { return nil })
	if err != nil || !res.Truncated || res.Reason != "time" {
		t.Fatalf("time cap: %+v %v", res, err)
	}
}

func TestSMB210Server(t *testing.T) {
	srv := sambatest.Require(t).Server("smb2_10")
	c, sh := connect(t, srv, Options{}, testCreds())
	if c.Negotiated().Dialect != wire.Dialect210 || c.Session().Security.SigningAlgorithm != wire.SigningHMACSHA256 {
		t.Fatalf("negotiated %+v", c.Negotiated())
	}
	rr, err := sh.ReadFile(t.Context(), "large/ten-kib.bin", 0)
	if err != nil || rr.BytesRead != 10240 || rr.Truncated {
		t.Fatalf("read: %+v %v", rr.BytesRead, err)
	}
}

// tamperProxy forwards one TCP connection to target and, while armed, flips the last byte of
// every server-to-client frame: the body of a signed reply, or the ciphertext of an encrypted
// one.
type tamperProxy struct {
	ln net.Listener
	mu sync.Mutex
	on bool
}

func newTamperProxy(t *testing.T, target string) *tamperProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tamperProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		cc, err := ln.Accept()
		if err != nil {
			return
		}
		defer cc.Close()
		sc, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer sc.Close()
		go func() { _, _ = io.Copy(sc, cc); sc.Close() }()
		for {
			var hdr [4]byte
			if _, err := io.ReadFull(sc, hdr[:]); err != nil {
				return
			}
			_, n, _ := wire.ParseNetBIOSHeader(hdr[:])
			frame := make([]byte, 4+n)
			copy(frame, hdr[:])
			if _, err := io.ReadFull(sc, frame[4:]); err != nil {
				return
			}
			p.mu.Lock()
			if p.on && n > 0 {
				frame[len(frame)-1] ^= 0x01
			}
			p.mu.Unlock()
			if _, err := cc.Write(frame); err != nil {
				return
			}
		}
	}()
	return p
}

func (p *tamperProxy) arm() { p.mu.Lock(); p.on = true; p.mu.Unlock() }

// TestTamperedReplyFailsClosed: a reply altered on the wire is an error naming the command,
// never data, for signed sessions of every signing algorithm and for encrypted ones.
func TestTamperedReplyFailsClosed(t *testing.T) {
	fleet := sambatest.Require(t)
	for _, tc := range []struct {
		server  string
		dialect wire.Dialect
		want    error
	}{
		{"signing", wire.Dialect210, transport.ErrBadSignature},
		{"signing", wire.Dialect302, transport.ErrBadSignature},
		{"signing", wire.Dialect311, transport.ErrBadSignature},
		{"default", wire.Dialect311, transport.ErrBadSignature},
		{"encrypt", wire.Dialect300, transport.ErrDecrypt},
		{"encrypt", wire.Dialect311, transport.ErrDecrypt},
	} {
		t.Run(tc.server+"/"+tc.dialect.String(), func(t *testing.T) {
			srv := fleet.Server(tc.server)
			p := newTamperProxy(t, srv.AddrPort().String())
			ctx := t.Context()
			c, err := Dial(ctx, dialer, p.ln.Addr().String(), Options{Dialects: []wire.Dialect{tc.dialect}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(ctx, testCreds()); err != nil {
				t.Fatal(err)
			}
			sh, err := c.TreeConnect(ctx, sambatest.SharePrivate)
			if err != nil {
				t.Fatal(err)
			}
			p.arm()
			_, err = sh.Stat(ctx, "secret.txt")
			var pe *transport.ProtocolError
			if !errors.Is(err, tc.want) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "CREATE") {
				t.Fatalf("tampered reply: got %v, want %v naming CREATE", err, tc.want)
			}
		})
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(b []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("local read failed")
	}
	k := min(len(b), r.n)
	r.n -= k
	return k, nil
}

// TestCleanupOnError: an operation that fails after opening a handle still CLOSEs it, and
// Close ends with TREE_DISCONNECT and LOGOFF.
func TestCleanupOnError(t *testing.T) {
	srv := sambatest.Require(t).Server("default")
	var cmds []string
	opts := Options{Trace: func(dir transport.Direction, msg []byte) {
		if dir == transport.Sent {
			var h wire.Header
			if wire.DecodeHeader(msg, &h) == nil {
				cmds = append(cmds, h.Command.String())
			}
		}
	}}
	c, sh := connect(t, srv, opts, testCreds())
	name := fmt.Sprintf("partial-%d.bin", time.Now().UnixNano())
	defer os.Remove(filepath.Join(srv.SharePath(sambatest.SharePrivate), name))
	// More than one read buffer (1 MiB), so a WRITE goes out before the reader fails.
	_, err := sh.WriteFile(t.Context(), name, &failingReader{n: 1<<20 + 10}, CreateOnly)
	if err == nil || !strings.Contains(err.Error(), "local read failed") {
		t.Fatalf("got %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cmds, " ")
	if !strings.Contains(got, "TREE_CONNECT CREATE WRITE") || !strings.HasSuffix(got, "WRITE CLOSE TREE_DISCONNECT LOGOFF") {
		t.Fatalf("requests: %s", got)
	}
}
