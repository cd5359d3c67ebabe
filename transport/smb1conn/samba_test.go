package smb1conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// The SMB1 fleet: two smbd instances with "server min protocol = NT1", one with signing
// "auto" and one with signing mandatory, started once per test binary (only when an
// integration test runs) and stopped by TestMain.

const (
	bulkShare   = "bulk"
	bulkEntries = 1500 // > 3 FIND rounds of the default FindCount
	bigFile     = "big.bin"
	bigSize     = 3 << 20
	nonBMPName  = "emoji-\U0001F600-\U00010348.txt"
	sparseFile  = "sparse.bin"
	sparseSize  = 5 << 30
)

var fleet struct {
	once sync.Once
	f    *sambatest.Fleet
	err  error
	skip bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fleet.f != nil {
		if err := fleet.f.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the smb1 fleet:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// bigContent is the 3 MiB file's content: a pattern that differs at every 4-byte word.
func bigContent() []byte {
	b := make([]byte, bigSize)
	for i := 0; i < len(b); i += 4 {
		v := uint32(i / 4 * 2654435761)
		b[i], b[i+1], b[i+2], b[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	return b
}

func bulkFiles() map[string]string {
	files := map[string]string{bigFile: string(bigContent()), nonBMPName: "non-BMP\n", sparseFile: ""}
	for i := range bulkEntries {
		files[fmt.Sprintf("many/f%05d.txt", i)] = ""
	}
	return files
}

func smb1Fleet(t *testing.T) *sambatest.Fleet {
	t.Helper()
	fleet.once.Do(func() {
		if err := sambatest.SambaAvailable(); err != nil {
			fleet.err, fleet.skip = err, true
			return
		}
		if os.Geteuid() != 0 {
			fleet.err, fleet.skip = errors.New("the Samba fleet needs root"), true
			return
		}
		shares := append(sambatest.StandardShares(), sambatest.ShareConfig{
			Name: bulkShare, Params: []string{"valid users = " + sambatest.TestUser, "read only = yes"},
			Files: bulkFiles(),
		})
		guest := "map to guest = Bad User"
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		fleet.f, fleet.err = sambatest.StartFleet(ctx, sambatest.Options{NoWarmUp: true, RemoveOnStop: os.Getenv(sambatest.EnvKeep) != "1", Configs: []sambatest.Config{
			{Name: "smb1", Global: []string{"server min protocol = NT1", "raw NTLMv2 auth = yes", guest}, Shares: shares},
			{Name: "smb1oem", Global: []string{"server min protocol = NT1", "raw NTLMv2 auth = yes", "unicode = no", guest}, Shares: sambatest.StandardShares()},
			{Name: "smb1v1", Global: []string{"server min protocol = NT1", "ntlm auth = ntlmv1-permitted"},
				Shares: sambatest.StandardShares()},
			{Name: "smb1sign", Global: []string{"server min protocol = NT1", "raw NTLMv2 auth = yes", "server signing = mandatory", guest}, Shares: sambatest.StandardShares()},
		}})
		if fleet.err == nil {
			fleet.err = os.Truncate(filepath.Join(fleet.f.Server("smb1").SharePath(bulkShare), sparseFile), sparseSize)
		}
	})
	if fleet.err != nil {
		if fleet.skip && os.Getenv(sambatest.EnvRequire) != "1" {
			t.Skipf("%v (set %s=1 to make this a failure)", fleet.err, sambatest.EnvRequire)
		}
		t.Fatal(fleet.err)
	}
	return fleet.f
}

func dial(t *testing.T, server string, opts Options) *Conn {
	t.Helper()
	f := smb1Fleet(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	nc, err := new(net.Dialer).DialContext(ctx, "tcp", f.Server(server).AddrPort().String())
	if err != nil {
		t.Fatal(err)
	}
	c := New(ctx, nc, opts)
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Negotiate(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

var testUser = Identity{Kind: User, User: sambatest.TestUser, Password: sambatest.TestPassword}

func logon(t *testing.T, c *Conn, id Identity) Session {
	t.Helper()
	s, err := c.SessionSetup(t.Context(), id)
	if err != nil {
		t.Fatalf("logon %v: %v", id, err)
	}
	return s
}

func TestSambaLogons(t *testing.T) {
	hash := ntlmcrypto.NTHash(sambatest.TestPassword)
	for _, ext := range []bool{true, false} {
		for _, tc := range []struct {
			name  string
			id    Identity
			guest bool
		}{
			{"anonymous", Identity{Kind: Anonymous}, false},
			{"guest", Identity{Kind: Guest}, true},
			{"password", testUser, false},
			{"nthash", Identity{Kind: User, User: sambatest.TestUser, NTHash: &hash}, false},
		} {
			t.Run(fmt.Sprintf("extended=%v/%s", ext, tc.name), func(t *testing.T) {
				c := dial(t, "smb1", Options{NoExtendedSecurity: !ext})
				if c.Negotiated().ExtendedSecurity != ext {
					t.Fatalf("extended security %v, want %v", c.Negotiated().ExtendedSecurity, ext)
				}
				s := logon(t, c, tc.id)
				if s.Guest != tc.guest || s.Extended != ext || s.UID == 0 {
					t.Fatalf("session %+v", s)
				}
				if s.NativeOS == "" || !strings.HasPrefix(s.NativeLanMan, "Samba ") {
					t.Errorf("native os %q lanman %q", s.NativeOS, s.NativeLanMan)
				}
				if ext && (s.NTLM == nil || s.NTLM.NetBIOSDomain == "") {
					t.Errorf("ntlm names %+v", s.NTLM)
				}
				tree, err := c.TreeConnect(t.Context(), "IPC$")
				if err != nil {
					t.Fatal(err)
				}
				if tree.Service != "IPC" || tree.TID == 0 {
					t.Fatalf("tree %+v", tree)
				}
				if err := c.TreeDisconnect(t.Context(), tree.TID); err != nil {
					t.Fatal(err)
				}
				if err := c.Logoff(t.Context()); err != nil {
					t.Fatal(err)
				}
				// After LOGOFF the UID is gone: a tree connect with it is refused.
				c.uid = s.UID
				if _, err := c.TreeConnect(t.Context(), "IPC$"); err == nil {
					t.Fatal("tree connect after logoff succeeded")
				}
			})
		}
	}
}

func TestSambaBadPassword(t *testing.T) {
	for _, ext := range []bool{true, false} {
		c := dial(t, "smb1", Options{NoExtendedSecurity: !ext})
		_, err := c.SessionSetup(t.Context(), Identity{Kind: User, User: sambatest.TestUser, Password: "wrong"})
		if !errors.Is(err, wire.StatusLogonFailure) {
			t.Fatalf("extended=%v: %v, want STATUS_LOGON_FAILURE", ext, err)
		}
	}
}

func TestSambaListPagination(t *testing.T) {
	var trans2Replies atomic.Int32
	c := dial(t, "smb1", Options{MaxBufferSize: 4356, Trace: func(dir transport.Direction, msg []byte) {
		if dir == transport.Received && len(msg) > 4 && msg[4] == smb1.CommandTransaction2 {
			trans2Replies.Add(1)
		}
	}})
	logon(t, c, testUser)
	tree, err := c.TreeConnect(t.Context(), bulkShare)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Service != "A:" || tree.NativeFS != "NTFS" || !tree.HasMaximalAccess {
		t.Errorf("tree %+v", tree)
	}
	var names []string
	if err := c.List(t.Context(), tree.TID, `many\*`, func(e *Entry) error {
		names = append(names, e.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if len(names) != bulkEntries+2 || names[0] != "." || names[1] != ".." {
		t.Fatalf("%d names, first %q", len(names), names[:min(3, len(names))])
	}
	for i, n := range names[2:] {
		if want := fmt.Sprintf("f%05d.txt", i); n != want {
			t.Fatalf("entry %d: %q, want %q", i, n, want)
		}
	}
	// 1 502 entries in rounds of 512 are 3 FIND rounds; each round's ~60 KiB reply is more
	// than the 4 356 bytes the client announced as its MaxBufferSize, so it arrives in several
	// TRANSACTION2 messages, reassembled by displacement.
	if n := trans2Replies.Load(); n <= 3 {
		t.Fatalf("%d TRANSACTION2 reply messages for 3 rounds: the replies were not fragmented", n)
	}
	// The same listing with file IDs (SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO).
	ci := dial(t, "smb1", Options{FileIDs: true})
	logon(t, ci, testUser)
	ti, err := ci.TreeConnect(t.Context(), bulkShare)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[uint64]bool{}
	if err := ci.List(t.Context(), ti.TID, `many\*`, func(e *Entry) error {
		if e.Name != "." && e.Name != ".." {
			ids[e.FileID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != bulkEntries || ids[0] {
		t.Fatalf("%d distinct file ids for %d files (zero among them: %v)", len(ids), bulkEntries, ids[0])
	}
	// Early stop closes the search; the connection stays usable.
	seen := 0
	if err := c.List(t.Context(), tree.TID, `many\*`, func(*Entry) error { seen++; return ErrStop }); err != nil || seen != 1 {
		t.Fatalf("stop: %v after %d", err, seen)
	}
	// Root: the non-BMP name, the 3 MiB file and the 5 GiB sparse file's size.
	got := map[string]Entry{}
	if err := c.List(t.Context(), tree.TID, `*`, func(e *Entry) error { got[e.Name] = *e; return nil }); err != nil {
		t.Fatal(err)
	}
	if e, ok := got[nonBMPName]; !ok || e.Size != 8 {
		t.Errorf("non-BMP entry %+v present %v (have %d names)", e, ok, len(got))
	}
	if e := got[sparseFile]; e.Size != sparseSize {
		t.Errorf("sparse size %d, want %d", e.Size, uint64(sparseSize))
	}
	if e := got["many"]; !e.Directory() {
		t.Errorf("many: attributes %#x", e.Attributes)
	}
	if err := c.List(t.Context(), tree.TID, `nothing-*`, func(*Entry) error { t.Fatal("entry"); return nil }); err != nil {
		t.Fatalf("no match: %v", err)
	}
}

func TestSambaReadAndQuery(t *testing.T) {
	c := dial(t, "smb1", Options{})
	logon(t, c, testUser)
	tree, err := c.TreeConnect(t.Context(), bulkShare)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := c.QueryPathInfo(t.Context(), tree.TID, sparseFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.EndOfFile != sparseSize || fi.Directory {
		t.Fatalf("sparse info %+v", fi)
	}
	if fi, err := c.QueryPathInfo(t.Context(), tree.TID, nonBMPName); err != nil || fi.EndOfFile != 8 {
		t.Fatalf("non-BMP info %+v, %v", fi, err)
	}
	if fi, err := c.QueryPathInfo(t.Context(), tree.TID, "many"); err != nil || !fi.Directory {
		t.Fatalf("dir info %+v, %v", fi, err)
	}
	if _, err := c.QueryPathInfo(t.Context(), tree.TID, "missing"); !errors.Is(err, wire.StatusObjectNameNotFound) {
		t.Fatalf("missing: %v", err)
	}
	f, err := c.Open(t.Context(), tree.TID, bigFile, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.EndOfFile != bigSize {
		t.Fatalf("size %d", f.EndOfFile)
	}
	buf := make([]byte, bigSize+100)
	n, err := c.ReadAt(t.Context(), tree.TID, f.FID, buf, 0)
	if err != nil || n != bigSize {
		t.Fatalf("read %d, %v", n, err)
	}
	if !bytes.Equal(buf[:n], bigContent()) {
		t.Fatal("content differs")
	}
	// A read at a 64-bit offset past 4 GiB of the sparse file returns zeros.
	if err := c.CloseFile(t.Context(), tree.TID, f.FID); err != nil {
		t.Fatal(err)
	}
	sf, err := c.Open(t.Context(), tree.TID, sparseFile, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var z [100]byte
	z[0] = 1
	if n, err := c.ReadAt(t.Context(), tree.TID, sf.FID, z[:], sparseSize-50); err != nil || n != 50 || z[0] != 0 {
		t.Fatalf("sparse tail read %d, %v, %x", n, err, z[0])
	}
	if err := c.CloseFile(t.Context(), tree.TID, sf.FID); err != nil {
		t.Fatal(err)
	}
}

func TestSambaWrite(t *testing.T) {
	for _, server := range []string{"smb1", "smb1sign"} {
		t.Run(server, func(t *testing.T) {
			c := dial(t, server, Options{})
			s := logon(t, c, testUser)
			if s.Signed != (server == "smb1sign") || c.Signing() != s.Signed {
				t.Fatalf("signed %v on %s", s.Signed, server)
			}
			tree, err := c.TreeConnect(t.Context(), sambatest.SharePrivate)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("smb1-write-%d.bin", time.Now().UnixNano())
			f, err := c.Open(t.Context(), tree.TID, name, OpenOptions{
				DesiredAccess: accessDefaultRead | AccessWriteData, CreateDisposition: smb1.FileCreate})
			if err != nil {
				t.Fatal(err)
			}
			data := bigContent()[:200<<10]
			if n, err := c.WriteAt(t.Context(), tree.TID, f.FID, data, 0); err != nil || n != len(data) {
				t.Fatalf("write %d, %v", n, err)
			}
			back := make([]byte, len(data))
			if n, err := c.ReadAt(t.Context(), tree.TID, f.FID, back, 0); err != nil || n != len(data) || !bytes.Equal(back, data) {
				t.Fatalf("read back %d, %v", n, err)
			}
			if err := c.CloseFile(t.Context(), tree.TID, f.FID); err != nil {
				t.Fatal(err)
			}
			on, err := os.ReadFile(filepath.Join(smb1Fleet(t).Server(server).SharePath(sambatest.SharePrivate), name))
			if err != nil || !bytes.Equal(on, data) {
				t.Fatalf("file on disk: %d bytes, %v", len(on), err)
			}
		})
	}
}

func TestSambaSigningRequired(t *testing.T) {
	var trans2Replies atomic.Int32
	c := dial(t, "smb1sign", Options{MaxBufferSize: 4356, Trace: func(dir transport.Direction, msg []byte) {
		if dir == transport.Received && len(msg) > 4 && msg[4] == smb1.CommandTransaction2 {
			trans2Replies.Add(1)
		}
	}})
	if !c.Negotiated().SigningRequired() {
		t.Fatalf("security mode %#x", c.Negotiated().SecurityMode)
	}
	s := logon(t, c, testUser)
	if !s.Signed {
		t.Fatal("not signed")
	}
	tree, err := c.TreeConnect(t.Context(), sambatest.SharePrivate)
	if err != nil {
		t.Fatal(err)
	}
	// A listing whose replies arrive in several signed TRANSACTION2 messages: every message
	// of one reply carries the same sequence number (MS-CIFS 3.2.5.1.2).
	dir := filepath.Join(smb1Fleet(t).Server("smb1sign").SharePath(sambatest.SharePrivate), "signed-many")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%04d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := c.List(t.Context(), tree.TID, `signed-many\*`, func(*Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 602 {
		t.Fatalf("signed listing: %d entries", n)
	}
	if m := trans2Replies.Load(); m <= 3 {
		t.Fatalf("%d TRANSACTION2 reply messages: the signed replies were not fragmented", m)
	}
	// The server checks our signatures: a request signed with a wrong key is dropped
	// together with the connection.
	c.macKey[0] ^= 1
	if _, err := c.QueryPathInfo(t.Context(), tree.TID, "secret.txt"); err == nil {
		t.Fatal("request with a bad signature accepted")
	}
	// Anonymous and guest sessions have no key: Samba grants them unsigned even when
	// signing is mandatory, and the session says so.
	for _, id := range []Identity{{Kind: Anonymous}, {Kind: Guest}} {
		c := dial(t, "smb1sign", Options{})
		s := logon(t, c, id)
		if s.Signed || c.Signing() {
			t.Fatalf("%v: signed", id)
		}
		if _, err := c.TreeConnect(t.Context(), "IPC$"); err != nil {
			t.Fatalf("%v: %v", id, err)
		}
	}
	// NT LM 0.12 form: Samba 4.17 grants the NTLMv2 logon but has no signing key for it (its
	// replies carry zero signatures), so the client, which must verify every reply of a
	// server that requires signing, refuses the first reply after the logon.
	c2 := dial(t, "smb1sign", Options{NoExtendedSecurity: true})
	if s := logon(t, c2, testUser); !s.Signed || s.Extended {
		t.Fatalf("nt form session %+v", s)
	}
	_, err = c2.TreeConnect(t.Context(), sambatest.SharePrivate)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "zero signature") {
		t.Fatalf("nt form tree connect: %v, want a zero-signature ErrBadSignature", err)
	}
}

func TestSambaNamedPipe(t *testing.T) {
	c := dial(t, "smb1", Options{})
	logon(t, c, Identity{Kind: Anonymous})
	tree, err := c.TreeConnect(t.Context(), "IPC$")
	if err != nil {
		t.Fatal(err)
	}
	// MS17-010's probe: a patched server (Samba is not affected) refuses FID 0.
	st, nt, err := c.PeekNamedPipe(t.Context(), tree.TID, 0)
	if err != nil || !nt {
		t.Fatalf("peek: %v nt %v", err, nt)
	}
	if s := st.NTStatus(); s == 0 || s == 0xc0000205 {
		t.Fatalf("peek status %v", s)
	}
	t.Logf("PeekNamedPipe on FID 0: %v", st.NTStatus())
	f, err := c.Open(t.Context(), tree.TID, `srvsvc`, OpenOptions{DesiredAccess: accessDefaultRead | AccessWriteData})
	if err != nil {
		t.Fatal(err)
	}
	// DCE/RPC BIND to SRVSVC 3.0 with NDR: the bind_ack comes back through the transaction.
	bind := []byte{5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,
		0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0,
		0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88, 3, 0, 0, 0,
		0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0}
	out := make([]byte, 1024)
	n, err := c.TransactNamedPipe(t.Context(), tree.TID, f.FID, bind, out)
	if err != nil {
		t.Fatal(err)
	}
	if n < 24 || out[0] != 5 || out[2] != 12 { // bind_ack
		t.Fatalf("reply % x", out[:n])
	}
	ackLen := int(out[8]) | int(out[9])<<8
	if ackLen != n {
		t.Fatalf("bind_ack frag length %d, read %d", ackLen, n)
	}
	// The same bind on a new pipe handle with room for 40 bytes: the server says
	// STATUS_BUFFER_OVERFLOW with the first 40 (all but the association group equal the first
	// bind_ack's), and READ_ANDX on the pipe returns the rest.
	f2, err := c.Open(t.Context(), tree.TID, `srvsvc`, OpenOptions{DesiredAccess: accessDefaultRead | AccessWriteData})
	if err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 40)
	m, err := c.TransactNamedPipe(t.Context(), tree.TID, f2.FID, bind, small)
	if !errors.Is(err, wire.StatusBufferOverflow) || m != 40 || !bytes.Equal(small[:20], out[:20]) {
		t.Fatalf("short transact: %d bytes, %v", m, err)
	}
	rest := make([]byte, 100)
	k, err := c.ReadAt(t.Context(), tree.TID, f2.FID, rest, 0)
	if err != nil || k != ackLen-40 || !bytes.Equal(rest[:k], out[40:ackLen]) {
		t.Fatalf("rest of the pipe reply: %d bytes, %v", k, err)
	}
	if err := c.CloseFile(t.Context(), tree.TID, f.FID); err != nil {
		t.Fatal(err)
	}
}

// TestSambaMatchesSmbclient lists the bulk share's directories with smbclient -m NT1 and
// with List, and compares the names and sizes.
func TestSambaMatchesSmbclient(t *testing.T) {
	smbclient, err := exec.LookPath("smbclient")
	if err != nil {
		t.Skip("smbclient not installed")
	}
	f := smb1Fleet(t)
	c := dial(t, "smb1", Options{})
	logon(t, c, testUser)
	tree, err := c.TreeConnect(t.Context(), bulkShare)
	if err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{`many\*`, `*`} {
		ours := map[string]uint64{}
		if err := c.List(t.Context(), tree.TID, pattern, func(e *Entry) error { ours[e.Name] = e.Size; return nil }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		out, err := exec.CommandContext(ctx, smbclient, "//"+f.Server("smb1").Addr.String()+"/"+bulkShare,
			"-p", fmt.Sprint(f.Server("smb1").Port), "-m", "NT1", "--option=client min protocol=NT1",
			"-U", sambatest.TestUser+"%"+sambatest.TestPassword, "-c", "ls "+pattern).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("smbclient: %v\n%s", err, out)
		}
		theirs := map[string]uint64{}
		for _, line := range strings.Split(string(out), "\n") {
			// "  name   A   1234  Mon Dec  7 01:02:03 2026": the size is the last field
			// before the five date fields; names here have no spaces.
			fields := strings.Fields(line)
			if len(fields) < 8 || !strings.HasPrefix(line, "  ") {
				continue
			}
			var size uint64
			if _, err := fmt.Sscan(fields[len(fields)-6], &size); err != nil {
				continue
			}
			theirs[fields[0]] = size
		}
		if len(theirs) != len(ours) {
			t.Fatalf("%s: smbclient lists %d names, List %d\n%s", pattern, len(theirs), len(ours), out)
		}
		for n, s := range theirs {
			if os, ok := ours[n]; !ok || (os != s && n != "." && n != "..") {
				t.Errorf("%s: %q size %d in smbclient, %d (present %v) in List", pattern, n, s, os, ok)
			}
		}
	}
}

// impacketScript logs on over SMB1 with impacket (anonymous, then as the test user), prints
// the NativeOS and NativeLanMan impacket decodes, then the names of many\* on the bulk share.
const impacketScript = `
import sys
from impacket.smbconnection import SMBConnection
from impacket.smb import SMB_DIALECT
host, port, user, pw, share = sys.argv[1:6]
c = SMBConnection(host, host, sess_port=int(port), preferredDialect=SMB_DIALECT)
c.login('', '')
print("OS", c.getServerOS())
print("LANMAN", c.getSMBServer().get_server_lanman())
c.logoff()
c = SMBConnection(host, host, sess_port=int(port), preferredDialect=SMB_DIALECT)
c.login(user, pw)
for f in c.listPath(share, 'many\\*'):
    print("NAME", f.get_longname(), f.get_filesize())
`

// TestSambaMatchesImpacket compares the logon strings and a listing with impacket's SMB1
// client (Debian's python3-impacket), when installed.
func TestSambaMatchesImpacket(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import impacket").Run(); err != nil {
		t.Skip("python3-impacket not installed")
	}
	f := smb1Fleet(t)
	srv := f.Server("smb1")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", impacketScript, srv.Addr.String(), fmt.Sprint(srv.Port),
		sambatest.TestUser, sambatest.TestPassword, bulkShare).CombinedOutput()
	if err != nil {
		t.Fatalf("impacket: %v\n%s", err, out)
	}
	c := dial(t, "smb1", Options{})
	s := logon(t, c, Identity{Kind: Anonymous})
	theirs := map[string]bool{}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		key, val, _ := strings.Cut(line, " ")
		seen[key] = true
		switch key {
		case "OS":
			if val != s.NativeOS {
				t.Errorf("NativeOS: impacket %q, smb1conn %q", val, s.NativeOS)
			}
		case "LANMAN":
			if val != s.NativeLanMan {
				t.Errorf("NativeLanMan: impacket %q, smb1conn %q", val, s.NativeLanMan)
			}
		case "NAME":
			name, _, _ := strings.Cut(val, " ")
			theirs[name] = true
		}
	}
	if !seen["OS"] || !seen["LANMAN"] {
		t.Fatalf("impacket printed no NativeOS/NativeLanMan:\n%s", out)
	}
	c2 := dial(t, "smb1", Options{})
	logon(t, c2, testUser)
	tree, err := c2.TreeConnect(t.Context(), bulkShare)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := c2.List(t.Context(), tree.TID, `many\*`, func(e *Entry) error {
		n++
		if !theirs[e.Name] {
			t.Errorf("%q listed by smb1conn, not by impacket", e.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(theirs) || n != bulkEntries+2 {
		t.Fatalf("smb1conn %d names, impacket %d\n%s", n, len(theirs), out)
	}
}

// TestSambaOEM runs the session against a server without CAP_UNICODE ("unicode = no"): every
// string the client sends is OEM (ASCII here), and the replies' strings are read as OEM by
// their Flags2.
func TestSambaOEM(t *testing.T) {
	c := dial(t, "smb1oem", Options{})
	if c.Negotiated().Unicode {
		t.Fatalf("server announced CAP_UNICODE: caps %#x", c.Negotiated().Capabilities)
	}
	for _, ext := range []bool{true, false} {
		c := dial(t, "smb1oem", Options{NoExtendedSecurity: !ext})
		s := logon(t, c, testUser)
		if s.NativeOS == "" || !strings.HasPrefix(s.NativeLanMan, "Samba ") {
			t.Errorf("extended %v: native os %q lanman %q", ext, s.NativeOS, s.NativeLanMan)
		}
		tree, err := c.TreeConnect(t.Context(), sambatest.SharePublic)
		if err != nil {
			t.Fatal(err)
		}
		if tree.Service != "A:" || tree.NativeFS != "NTFS" {
			t.Errorf("tree %+v", tree)
		}
		var names []string
		if err := c.List(t.Context(), tree.TID, `docs\*`, func(e *Entry) error { names = append(names, e.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		if strings.Join(names, ",") != ".,..,manual.txt,nested" {
			t.Fatalf("names %q", names)
		}
		fi, err := c.QueryPathInfo(t.Context(), tree.TID, `docs\manual.txt`)
		if err != nil || fi.EndOfFile != uint64(len("public manual line\n")*64) {
			t.Fatalf("query: %+v %v", fi, err)
		}
		f, err := c.Open(t.Context(), tree.TID, `data\numbers.csv`, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, err := c.ReadAt(t.Context(), tree.TID, f.FID, buf, 0)
		if err != nil || string(buf[:n]) != "n,square\n1,1\n2,4\n3,9\n" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
	}
}

// TestSambaNTLMv1 runs against a server that refuses NT LM 0.12 NTLMv2 ("raw NTLMv2 auth =
// no", the default) but permits NTLMv1. (Signing is not required there: Samba 4.17 signs no
// NT LM 0.12 session, see TestSambaSigningRequired.)
func TestSambaNTLMv1(t *testing.T) {
	// sessionSetupResponseLengths records the OEM and Unicode password lengths of every NT
	// LM 0.12 SESSION_SETUP_ANDX the client sends.
	var lens [][2]int
	trace := func(dir transport.Direction, msg []byte) {
		if dir == transport.Sent && len(msg) > 50 && msg[4] == smb1.CommandSessionSetupAndX && msg[smb1.HeaderSize] == 13 {
			w := msg[smb1.HeaderSize+1:]
			lens = append(lens, [2]int{int(w[14]) | int(w[15])<<8, int(w[16]) | int(w[17])<<8})
		}
	}
	// Without AllowNTLMv1: refused, and only NTLMv2 was sent.
	c := dial(t, "smb1v1", Options{NoExtendedSecurity: true, Trace: trace})
	if _, err := c.SessionSetup(t.Context(), testUser); err == nil {
		t.Fatal("NT LM 0.12 NTLMv2 logon accepted; the test needs a server that refuses it")
	}
	if len(lens) != 1 || lens[0][0] != 24 || lens[0][1] <= 24 {
		t.Fatalf("password lengths sent %v, want one NTLMv2 logon", lens)
	}
	// With it: NTLMv2 first, then one NTLMv1 logon (LM field = NT response), recorded.
	lens = nil
	c = dial(t, "smb1v1", Options{NoExtendedSecurity: true, AllowNTLMv1: true, Trace: trace})
	s := logon(t, c, testUser)
	if !s.NTLMv1 || s.Guest {
		t.Fatalf("session %+v", s)
	}
	if len(lens) != 2 || lens[1] != [2]int{24, 24} {
		t.Fatalf("password lengths sent %v", lens)
	}
	tree, err := c.TreeConnect(t.Context(), sambatest.SharePrivate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.QueryPathInfo(t.Context(), tree.TID, "secret.txt"); err != nil {
		t.Fatal(err)
	}
	// A wrong password is refused in both forms.
	c = dial(t, "smb1v1", Options{NoExtendedSecurity: true, AllowNTLMv1: true})
	_, err = c.SessionSetup(t.Context(), Identity{Kind: User, User: sambatest.TestUser, Password: "wrong"})
	if !errors.Is(err, wire.StatusLogonFailure) || !strings.Contains(err.Error(), "NTLMv2 refused") {
		t.Fatalf("wrong password: %v", err)
	}
	// Where NTLMv2 works, AllowNTLMv1 changes nothing.
	c = dial(t, "smb1", Options{NoExtendedSecurity: true, AllowNTLMv1: true})
	if s := logon(t, c, testUser); s.NTLMv1 {
		t.Fatal("NTLMv1 used although NTLMv2 was accepted")
	}
}
