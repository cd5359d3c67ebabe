package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/internal/ntlmcrypto"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

func TestFilesUsageErrors(t *testing.T) {
	t.Setenv(EnvPassword, "")
	os.Unsetenv(EnvPassword)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ls"}, "no target: give //HOST[:PORT]/SHARE/PATH"},
		{[]string{"ls", "-u", "a", "10.0.0.1/share"}, `"10.0.0.1/share": want //HOST[:PORT]/SHARE/PATH`},
		{[]string{"ls", "-u", "a", "//10.0.0.1"}, "no share"},
		{[]string{"ls", "-u", "a", "//10.0.0.1:99999/s"}, "port \"99999\": must be 1-65535"},
		{[]string{"ls", "-u", "a", "//::1/s"}, "put an IPv6 address in brackets"},
		{[]string{"ls", "//10.0.0.1/s"}, "no user: give -u USER"},
		{[]string{"ls", "-u", "a", "//10.0.0.1/s"}, "no password: give -password-file FILE, set $SMBSWEEP_PASSWORD"},
		{[]string{"ls", "-u", "a", "-p", "x", "-H", strings.Repeat("0", 32), "//10.0.0.1/s"}, "give only one of -p, -password-file and -H"},
		{[]string{"ls", "-u", "a", "-H", "abc", "//10.0.0.1/s"}, "-H: NT hash: want 32 hex digits (or LM:NT), got 3 characters"},
		{[]string{"ls", "-u", "a", "-H", strings.Repeat("z", 32), "//10.0.0.1/s"}, "-H: NT hash: not hexadecimal"},
		{[]string{"ls", "-u", "a", "-password-file", "/nonexistent/pw", "//10.0.0.1/s"}, "-password-file /nonexistent/pw: no such file or directory"},
		{[]string{"ls", "-u", `A\b`, "-d", "C", "-password-file", pwFile, "//10.0.0.1/s"}, "name different domains"},
		{[]string{"ls", "-u", "a", "-p", "x", "-dialect", "3.2", "//10.0.0.1/s"}, `-dialect "3.2": must be one of 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1`},
		{[]string{"ls", "-u", "a", "-p", "x", "-depth", "-1", "//10.0.0.1/s"}, "-depth -1: must be 0 or more"},
		{[]string{"ls", "-u", "a", "-p", "x", "-timeout", "0s", "//10.0.0.1/s"}, "-timeout 0s: must be positive"},
		{[]string{"get", "-u", "a", "-p", "x", "//10.0.0.1/s"}, "give a file path after the share"},
		{[]string{"get", "-u", "a", "-p", "x", "-max-bytes", "0", "//10.0.0.1/s/f"}, "-max-bytes 0: must be positive"},
		{[]string{"put", "-u", "a", "-p", "x", "-overwrite", "-append", "//10.0.0.1/s/f"}, "-overwrite and -append both given"},
		{[]string{"put", "-u", "a", "-p", "x", "//10.0.0.1/s/f", "a", "b"}, "too many arguments"},
		{[]string{"stat", "-bogus", "//10.0.0.1/s"}, "flag provided but not defined: -bogus\nRun 'smbsweep stat -h'"},
		{[]string{"put", "-u", "a", "-p", "x", "//127.0.0.1:1/s/f", "/nonexistent/local"}, "open /nonexistent/local"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
	if code, out, _ := runCLI(t, "", "get", "-h"); code != exitOK || !strings.Contains(out, "-max-bytes N") || !strings.Contains(out, "CREDENTIALS:") {
		t.Errorf("get -h: %d %q", code, out)
	}
}

func TestParseUNC(t *testing.T) {
	for _, c := range []struct{ in, addr, share, path string }{
		{"//10.0.0.1/data", "10.0.0.1:445", "data", ""},
		{"//10.0.0.1:1445/data/a/b.txt", "10.0.0.1:1445", "data", "a/b.txt"},
		{`\\host\data\dir\file`, "host:445", "data", "dir/file"},
		{"smb://host/data//x/", "host:445", "data", "x"},
		{"//[::1]:4445/s/p", "[::1]:4445", "s", "p"},
		{"//[fe80::1]/s", "[fe80::1]:445", "s", ""},
		{"//h/s/\U0001F600/\U00020000", "h:445", "s", "\U0001F600/\U00020000"},
	} {
		got, err := parseUNC(c.in)
		if err != nil || got.Addr != c.addr || got.Share != c.share || got.Path != c.path {
			t.Errorf("parseUNC(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func FuzzParseUNC(f *testing.F) {
	for _, s := range []string{"//h/s/p", `\\h\s`, "smb://[::1]:445/s/a/b", "//[", "//h:/s", "//:1/s", "///", "//h:0/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUNC(s)
		if err != nil {
			return
		}
		if u.Share == "" || strings.Contains(u.Share, "/") || strings.HasPrefix(u.Path, "/") || strings.HasSuffix(u.Path, "/") {
			t.Fatalf("parseUNC(%q) = %+v", s, u)
		}
		if _, port, err := splitHostPort(u.Addr); err != nil || port < 1 || port > 65535 {
			t.Fatalf("parseUNC(%q): address %q", s, u.Addr)
		}
	})
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	p, err := strconv.Atoi(addr[i+1:])
	return addr[:i], p, err
}

// Fixtures in the private share of the servers the CLI tests use (created once per test
// binary and server).
var (
	cliFixtureMu  sync.Mutex
	cliFixtureBin = map[string][]byte{}
)

const (
	cliMany   = "many"
	cliSparse = "sparse-5g.bin"
	cliRandom = "random-100k.bin"
	cliEmoji  = "smile-\U0001F600.txt"
	cliCJK    = "\U00020000-ext-b.txt"
)

func cliFixtures(t *testing.T, srv *sambatest.Server) []byte {
	t.Helper()
	cliFixtureMu.Lock()
	defer cliFixtureMu.Unlock()
	if b, ok := cliFixtureBin[srv.Name]; ok {
		return b
	}
	root := srv.SharePath(sambatest.SharePrivate)
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
	if srv.Name == "default" {
		// The 5 000-entry listing runs against one server here; package client checks it on
		// every configuration and dialect.
		must(os.MkdirAll(filepath.Join(root, cliMany), 0o755))
		for i := range 5000 {
			must(os.WriteFile(filepath.Join(root, cliMany, fmt.Sprintf("f%04d", i)), nil, 0o644))
		}
	}
	f, err := os.Create(filepath.Join(root, cliSparse))
	must(err)
	must(f.Close())
	must(os.Truncate(filepath.Join(root, cliSparse), 5<<30))
	random := make([]byte, 100<<10)
	_, _ = rand.Read(random)
	must(os.WriteFile(filepath.Join(root, cliRandom), random, 0o644))
	must(os.MkdirAll(filepath.Join(root, "uni"), 0o755))
	must(os.WriteFile(filepath.Join(root, "uni", cliEmoji), []byte("\U0001F600\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "uni", cliCJK), []byte("\U00020000\n"), 0o644))
	must(filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))
	cliFixtureBin[srv.Name] = random
	return random
}

func unc(srv *sambatest.Server, p string) string {
	return "//" + srv.AddrPort().String() + "/" + sambatest.SharePrivate + "/" + p
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	return objs
}

// TestFilesCommands runs ls, stat, get and put end to end against the default,
// signing-mandatory and encryption-required servers.
func TestFilesCommands(t *testing.T) {
	fleet := sambatest.Require(t)
	t.Setenv(EnvPassword, sambatest.TestPassword)
	for _, name := range []string{"default", "signing", "encrypt"} {
		srv := fleet.Server(name)
		random := cliFixtures(t, srv)
		t.Run(name, func(t *testing.T) {
			u := []string{"-u", sambatest.TestUser}
			run := func(args ...string) (int, string, string) {
				t.Helper()
				return runCLI(t, "", append(append([]string{args[0]}, u...), args[1:]...)...)
			}
			// ls: every entry of a 5 000-entry directory, one JSON object each.
			lsDir, lsWant := cliMany, 5000
			if name != "default" {
				lsDir, lsWant = "reports", 2
			}
			code, out, stderr := run("ls", unc(srv, lsDir))
			if code != 0 {
				t.Fatalf("ls: %d %s", code, stderr)
			}
			objs := jsonLines(t, out)
			if len(objs) != lsWant {
				t.Fatalf("ls: %d objects, want %d", len(objs), lsWant)
			}
			for _, k := range []string{"name", "path", "is_dir", "size", "attributes", "creation_time", "last_access_time", "last_write_time", "change_time"} {
				if _, ok := objs[0][k]; !ok {
					t.Fatalf("ls object lacks %q: %v", k, objs[0])
				}
			}
			// stat: 64-bit size.
			code, out, stderr = run("stat", unc(srv, cliSparse))
			if code != 0 {
				t.Fatalf("stat: %d %s", code, stderr)
			}
			objs = jsonLines(t, out)
			if len(objs) != 1 || objs[0]["size"] != float64(5368709120) || objs[0]["is_dir"] != false {
				t.Fatalf("stat: %v", objs)
			}
			// get: all 100 KiB, right digest, base64 in JSON.
			code, out, stderr = run("get", "-max-bytes", "1000000", unc(srv, cliRandom))
			if code != 0 {
				t.Fatalf("get: %d %s", code, stderr)
			}
			objs = jsonLines(t, out)
			sum := sha256.Sum256(random)
			if objs[0]["encoding"] != "base64" {
				t.Fatalf("get of binary bytes: encoding %v, want base64", objs[0]["encoding"])
			}
			content, _ := base64.StdEncoding.DecodeString(objs[0]["content"].(string))
			if !bytes.Equal(content, random) || objs[0]["sha256"] != hex.EncodeToString(sum[:]) ||
				objs[0]["bytes_read"] != float64(len(random)) || objs[0]["truncated"] != false || objs[0]["is_text"] != false {
				t.Fatalf("get: %d bytes, %v", len(content), objs[0]["sha256"])
			}
			// get with the default limit is truncated at 64 KiB.
			_, out, _ = run("get", unc(srv, cliRandom))
			if objs = jsonLines(t, out); objs[0]["bytes_read"] != float64(65536) || objs[0]["truncated"] != true {
				t.Fatalf("default -max-bytes: %v %v", objs[0]["bytes_read"], objs[0]["truncated"])
			}
			// get -o FILE: raw bytes.
			dst := filepath.Join(t.TempDir(), "out.bin")
			if code, _, stderr := run("get", "-o", dst, "-max-bytes", "200000", unc(srv, cliRandom)); code != 0 {
				t.Fatalf("get -o: %s", stderr)
			}
			if b, _ := os.ReadFile(dst); !bytes.Equal(b, random) {
				t.Fatalf("get -o wrote %d bytes", len(b))
			}
			// Non-BMP names list and read back byte-exact.
			_, out, _ = run("ls", unc(srv, "uni"))
			var names []string
			for _, o := range jsonLines(t, out) {
				names = append(names, o["name"].(string))
			}
			slices.Sort(names)
			want := []string{cliEmoji, cliCJK}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("names %q", names)
			}
			for n, content := range map[string]string{cliEmoji: "\U0001F600\n", cliCJK: "\U00020000\n"} {
				code, out, stderr := run("get", "-o", "-", unc(srv, "uni/"+n))
				if code != 0 || out != content {
					t.Fatalf("get %s: %q %s", n, out, stderr)
				}
				// JSON: text as text, with its encoding.
				_, out, _ = run("get", unc(srv, "uni/"+n))
				if o := jsonLines(t, out)[0]; o["is_text"] != true || o["encoding"] != "utf-8" || o["content"] != content {
					t.Fatalf("get %s JSON: %v", n, o)
				}
			}
			// put, put again (refused), put -append, put -overwrite.
			file := fmt.Sprintf("cli-%s.txt", name)
			disk := filepath.Join(srv.SharePath(sambatest.SharePrivate), file)
			os.Remove(disk)
			defer os.Remove(disk)
			put := func(stdin string, args ...string) (int, string, string) {
				return runCLI(t, stdin, append(append([]string{"put"}, u...), args...)...)
			}
			if code, _, stderr := put("first\n", unc(srv, file)); code != 0 {
				t.Fatalf("put: %s", stderr)
			}
			code, _, stderr = put("again\n", unc(srv, file))
			if code != exitFailure || !strings.Contains(stderr, "STATUS_OBJECT_NAME_COLLISION") || !strings.Contains(stderr, "-overwrite") {
				t.Fatalf("put over an existing file: %d %s", code, stderr)
			}
			code, out, stderr = put("second\n", "-append", unc(srv, file))
			if code != 0 {
				t.Fatalf("put -append: %s", stderr)
			}
			if o := jsonLines(t, out)[0]; o["offset"] != float64(6) || o["bytes_written"] != float64(7) || o["mode"] != "append" {
				t.Fatalf("put -append: %v", o)
			}
			if b, _ := os.ReadFile(disk); string(b) != "first\nsecond\n" {
				t.Fatalf("after put -append: %q", b)
			}
			local := filepath.Join(t.TempDir(), "local.txt")
			_ = os.WriteFile(local, []byte("replaced"), 0o600)
			if code, _, stderr := put("", "-overwrite", unc(srv, file), local); code != 0 {
				t.Fatalf("put -overwrite: %s", stderr)
			}
			if b, _ := os.ReadFile(disk); string(b) != "replaced" {
				t.Fatalf("after put -overwrite: %q", b)
			}
		})
	}
}

func TestFilesDialectsAndFailures(t *testing.T) {
	fleet := sambatest.Require(t)
	t.Setenv(EnvPassword, sambatest.TestPassword)
	for _, name := range []string{"signing", "encrypt"} {
		srv := fleet.Server(name)
		for _, d := range []string{"2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"} {
			code, out, stderr := runCLI(t, "", "stat", "-u", sambatest.TestUser, "-dialect", d, unc(srv, "secret.txt"))
			if name == "encrypt" && strings.HasPrefix(d, "2.") {
				if code != exitFailure || !strings.Contains(stderr, "STATUS_ACCESS_DENIED") {
					t.Errorf("%s %s: %d %s", name, d, code, stderr)
				}
				continue
			}
			if code != 0 || jsonLines(t, out)[0]["size"] != float64(len("smbsweep private file\n")) {
				t.Errorf("%s %s: %d %s %s", name, d, code, out, stderr)
			}
		}
	}
	srv := fleet.Server("default")
	code, _, stderr := runCLI(t, "", "ls", "-u", sambatest.TestUser, "-p", "not-the-password", unc(srv, ""))
	if code != exitFailure || !strings.Contains(stderr, "STATUS_LOGON_FAILURE") || strings.Contains(stderr, "not-the-password") {
		t.Errorf("wrong password: %d %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "", "ls", "-u", sambatest.TestUser, "//"+srv.AddrPort().String()+"/nosuchshare")
	if code != exitFailure || !strings.Contains(stderr, "STATUS_BAD_NETWORK_NAME") {
		t.Errorf("unknown share: %d %s", code, stderr)
	}
	// -encrypt and pass-the-hash.
	h := ntlmcrypto.NTHash(sambatest.TestPassword)
	code, out, stderr := runCLI(t, "", "stat", "-u", sambatest.TestUser, "-encrypt", "-H", hex.EncodeToString(h[:]), unc(srv, ""))
	if code != 0 || jsonLines(t, out)[0]["is_dir"] != true || !strings.Contains(stderr, "warning: -H") {
		t.Errorf("-encrypt -H: %d %s %s", code, out, stderr)
	}
	// -password-file, DOMAIN\user.
	pw := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(pw, []byte(sambatest.TestPassword+"\r\n"), 0o600)
	os.Unsetenv(EnvPassword)
	code, _, stderr = runCLI(t, "", "stat", "-u", `SWEEP-DEFAULT\`+sambatest.TestUser, "-password-file", pw, unc(srv, "secret.txt"))
	if code != 0 || stderr != "" {
		t.Errorf("-password-file: %d %q", code, stderr)
	}
}

// TestCredentialsNeverPrinted: the password and the NT hash appear in no output of the file
// commands, whether they succeed or fail.
func TestCredentialsNeverPrinted(t *testing.T) {
	fleet := sambatest.Require(t)
	srv := fleet.Server("signing")
	h := ntlmcrypto.NTHash(sambatest.TestPassword)
	hashHex := hex.EncodeToString(h[:])
	wrongHash := strings.Repeat("ab", 16)
	secrets := []string{sambatest.TestPassword, hashHex, strings.ToUpper(hashHex), "Wrong-Secret-42", wrongHash}
	t.Setenv(EnvPassword, sambatest.TestPassword)
	var all strings.Builder
	for _, args := range [][]string{
		{"ls", "-u", sambatest.TestUser, unc(srv, "")},
		{"stat", "-u", sambatest.TestUser, "-p", sambatest.TestPassword, unc(srv, "secret.txt")},
		{"get", "-u", sambatest.TestUser, "-H", hashHex, unc(srv, "secret.txt")},
		{"get", "-u", sambatest.TestUser, "-H", strings.ToUpper(hashHex), "//" + srv.AddrPort().String() + "/nosuchshare/x"},
		{"ls", "-u", sambatest.TestUser, "-p", "Wrong-Secret-42", unc(srv, "")},
		{"ls", "-u", sambatest.TestUser, "-H", wrongHash, unc(srv, "")},
		{"stat", "-u", sambatest.TestUser, "-H", hashHex + "x", unc(srv, "")},
		{"stat", "-u", sambatest.TestUser, "-p", "Wrong-Secret-42", "-H", hashHex, unc(srv, "")},
		{"stat", "-u", sambatest.TestUser, "-jsonl", unc(srv, "no/such")},
	} {
		_, out, stderr := runCLI(t, "", args...)
		all.WriteString(out + stderr)
	}
	text := all.String()
	if !strings.Contains(text, "STATUS_LOGON_FAILURE") || !strings.Contains(text, `"size":22`) {
		t.Fatalf("the runs did not do what the test expects:\n%s", text)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("output contains the secret %q", s)
		}
	}
}

// TestScanCredentialsNeverOutput runs the credentialed scan stages (auth, ls, read) with a
// password and with an NT hash, and checks that no output a scan produces — JSONL, CSV, the
// text view and the Prometheus metrics — carries either secret.
func TestScanCredentialsNeverOutput(t *testing.T) {
	fleet := sambatest.Require(t)
	h := ntlmcrypto.NTHash(sambatest.TestPassword)
	hashHex := hex.EncodeToString(h[:])
	var jsonl, csvOut, text bytes.Buffer
	reg := prometheus.NewRegistry()
	metrics := output.NewScanMetrics(reg)
	sinks := []output.Sink{output.NewJSONL(&jsonl, "jsonl"), output.NewCSV(&csvOut, "csv"), output.NewText(&text, "text", false), metrics}
	for i, cred := range []client.Credentials{
		{User: sambatest.TestUser, Password: sambatest.TestPassword},
		{User: sambatest.TestUser, NTHash: &h},
		{User: sambatest.TestUser, Password: "Wrong-Secret-42"},
	} {
		srv := fleet.Server([]string{"signing", "encrypt", "default"}[i])
		opts := &probes.Options{
			Dialer: &net.Dialer{Timeout: 2 * time.Second}, SessionTimeout: 5 * time.Second,
			Credentials: &cred, StatShare: sambatest.SharePrivate, StatPath: "secret.txt",
		}
		p, err := probes.NewPipeline([]string{"negotiate", "session", "auth", "ls", "read"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ap := srv.AddrPort()
		r := p.Run(ctx, probes.Target{Addr: ap.Addr(), Port: ap.Port()})
		cancel()
		if i < 2 && (r.Read == nil || r.Stages["read"].Status != probes.StageOK) {
			t.Fatalf("credentialed read did not run: %+v", r.Stages["read"])
		}
		for _, s := range sinks {
			if err := s.WriteResult(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range sinks {
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var prom bytes.Buffer
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		fmt.Fprintln(&prom, mf.String())
	}
	all := map[string]string{"jsonl": jsonl.String(), "csv": csvOut.String(), "text": text.String(), "metrics": prom.String()}
	if !strings.Contains(all["jsonl"], `"auth":{"user":"`+sambatest.TestUser) || !strings.Contains(all["jsonl"], "STATUS_LOGON_FAILURE") {
		t.Fatalf("the scans did not record what the test expects:\n%s", all["jsonl"])
	}
	for name, out := range all {
		for _, secret := range []string{sambatest.TestPassword, hashHex, strings.ToUpper(hashHex), "Wrong-Secret-42"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains the secret %q", name, secret)
			}
		}
	}
}

// TestFileViewTerminal checks the readable view: server-controlled names and text are
// sanitized (no escape sequence reaches the terminal), binary content is not dumped.
func TestFileViewTerminal(t *testing.T) {
	var b bytes.Buffer
	v := &fileView{w: &b, target: uncTarget{Addr: "10.0.0.1:445", Share: "s\x1b]0;x\x07", Path: "d"}}
	evil := "evil\x1b[2J\u202ename"
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := v.entry(client.FileInfo{Name: evil, Path: "d/" + evil, Size: 5 << 30, LastWriteTime: mod}); err != nil {
		t.Fatal(err)
	}
	_ = v.entry(client.FileInfo{Name: "sub", Path: "d/sub", IsDir: true})
	_ = v.lsDone(client.WalkResult{Entries: 2})
	_ = v.get(client.ReadResult{Path: "t", Size: 9, BytesRead: 9, IsText: true, Data: []byte("a\x1b[31mb\nc\n")}, true)
	_ = v.get(client.ReadResult{Path: "bin", Size: 100, BytesRead: 4, Truncated: true, Data: []byte{0, 1, 2, 3}}, true)
	_ = v.stat(client.FileInfo{Name: "f", Path: "f", Size: 3, Attributes: 0x20, CreationTime: mod})
	_ = v.put(client.WriteResult{Path: "p", Mode: client.Append, Offset: 4, BytesWritten: 7})
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Fatalf("terminal view carries control characters:\n%q", out)
	}
	for _, want := range []string{
		"- " + fmt.Sprintf("%14d", int64(5<<30)) + "  2024-05-06 07:08  d/evil\\x1b[2J\\u202ename\n",
		"d              0  -  d/sub/\n",
		"2 entries in //10.0.0.1:445/s\\x1b]0;x\\x07/d\n",
		"a\\x1b[31mb\nc\n-- 9 of 9 bytes, sha256 ",
		"(binary content not shown: use -o FILE for the raw bytes, or -jsonl for base64)\n-- 4 of 100 bytes (truncated: raise -max-bytes for more)",
		"size:            3\n", "attributes:      ARCHIVE (0x00000020)\n", "created:         2024-05-06T07:08:09Z\n", "accessed:        -\n",
		"appended at offset 4: 7 bytes to //10.0.0.1:445/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
}
