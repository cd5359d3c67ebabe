package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/faultproxy"
	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
)

// smb1UNC is //ADDR/private/p on an SMB1-only server (or the given address).
func smb1UNC(addr, p string) string { return "//" + addr + "/" + sambatest.SharePrivate + "/" + p }

// TestFilesCommandsSMB1 runs ls, stat, get and put against SMB1-only servers (signing auto and
// mandatory): the commands fall back to SMB1 by themselves, and -smb1 forces it, with the
// same output (plus "protocol": "smb1") and the same bounds as over SMB2.
func TestFilesCommandsSMB1(t *testing.T) {
	fleet := smb1only.Require(t)
	t.Setenv(EnvPassword, sambatest.TestPassword)
	for _, name := range []string{smb1only.Plain, smb1only.Signing} {
		srv := fleet.Server(name)
		addr := srv.AddrPort().String()
		t.Run(name, func(t *testing.T) {
			run := func(stdin string, args ...string) (int, string, string) {
				t.Helper()
				return runCLI(t, stdin, append([]string{args[0], "-u", sambatest.TestUser}, args[1:]...)...)
			}
			for _, force := range [][]string{nil, {"-smb1"}} {
				args := append(append([]string{"ls"}, force...), smb1UNC(addr, smb1only.ManyDir))
				code, out, stderr := run("", args...)
				if code != 0 {
					t.Fatalf("%v: %d %s", args, code, stderr)
				}
				objs := jsonLines(t, out)
				if len(objs) != smb1only.ManyCount {
					t.Fatalf("%v: %d entries, want %d", args, len(objs), smb1only.ManyCount)
				}
				if objs[0]["protocol"] != "smb1" {
					t.Fatalf("%v: protocol %v", args, objs[0]["protocol"])
				}
				if fell := strings.Contains(stderr, "does not speak SMB2"); fell != (force == nil) {
					t.Errorf("%v: fallback note %v in %q", args, fell, stderr)
				}
			}
			// -max-entries and -depth bound an SMB1 walk too.
			code, out, stderr := run("", "ls", "-depth", "1", "-max-entries", "10", smb1UNC(addr, ""))
			if code != 0 || len(jsonLines(t, out)) != 10 || !strings.Contains(stderr, "stopped by max-entries after 10 entries") {
				t.Fatalf("ls -max-entries: %d %d lines %s", code, len(jsonLines(t, out)), stderr)
			}
			// stat: 64-bit size.
			code, out, stderr = run("", "stat", smb1UNC(addr, smb1only.SparseName))
			if o := jsonLines(t, out); code != 0 || o[0]["size"] != float64(smb1only.SparseSize) || o[0]["protocol"] != "smb1" {
				t.Fatalf("stat: %d %v %s", code, o, stderr)
			}
			// ls of a file describes it.
			code, out, _ = run("", "ls", smb1UNC(addr, smb1only.BigName))
			if o := jsonLines(t, out); code != 0 || len(o) != 1 || o[0]["size"] != float64(smb1only.BigSize) {
				t.Fatalf("ls of a file: %d %v", code, o)
			}
			// get -o: 3 MiB byte-exact; the default -max-bytes cuts at 64 KiB.
			dst := filepath.Join(t.TempDir(), "big.bin")
			if code, _, stderr := run("", "get", "-o", dst, "-max-bytes", "10000000", smb1UNC(addr, smb1only.BigName)); code != 0 {
				t.Fatalf("get -o: %s", stderr)
			}
			if b, _ := os.ReadFile(dst); !bytes.Equal(b, smb1only.BigContent()) {
				t.Fatalf("get -o wrote %d bytes, not the file's content", len(b))
			}
			_, out, _ = run("", "get", smb1UNC(addr, smb1only.BigName))
			if o := jsonLines(t, out)[0]; o["bytes_read"] != float64(65536) || o["truncated"] != true || o["protocol"] != "smb1" {
				t.Fatalf("get default limit: %v", o)
			}
			// A non-BMP name listed and read.
			_, out, _ = run("", "ls", smb1UNC(addr, smb1only.UniDir))
			var names []string
			for _, o := range jsonLines(t, out) {
				names = append(names, o["name"].(string))
			}
			sort.Strings(names)
			if want := []string{smb1only.EmojiName, smb1only.CJKName}; strings.Join(names, "|") != strings.Join(want, "|") {
				t.Fatalf("uni names %q, want %q", names, want)
			}
			if code, out, stderr := run("", "get", "-o", "-", smb1UNC(addr, smb1only.UniDir+"/"+smb1only.EmojiName)); code != 0 || out != smb1only.EmojiText {
				t.Fatalf("get emoji: %q %s", out, stderr)
			}
			// put: create, refused, append, overwrite.
			file := "cli-smb1-\U0001F4BE.txt"
			disk := filepath.Join(srv.SharePath(sambatest.SharePrivate), file)
			_ = os.Remove(disk)
			if code, out, stderr := run("first\n", "put", smb1UNC(addr, file)); code != 0 || jsonLines(t, out)[0]["protocol"] != "smb1" {
				t.Fatalf("put: %s %s", out, stderr)
			}
			code, _, stderr = run("again\n", "put", smb1UNC(addr, file))
			if code != exitFailure || !strings.Contains(stderr, "STATUS_OBJECT_NAME_COLLISION") || !strings.Contains(stderr, "-overwrite") {
				t.Fatalf("put over an existing file: %d %s", code, stderr)
			}
			code, out, stderr = run("second\n", "put", "-append", smb1UNC(addr, file))
			if o := jsonLines(t, out); code != 0 || o[0]["offset"] != float64(6) || o[0]["bytes_written"] != float64(7) || o[0]["mode"] != "append" {
				t.Fatalf("put -append: %v %s", o, stderr)
			}
			if b, _ := os.ReadFile(disk); string(b) != "first\nsecond\n" {
				t.Fatalf("after put -append: %q", b)
			}
			if code, _, stderr := run("replaced", "put", "-overwrite", "-smb1", smb1UNC(addr, file)); code != 0 {
				t.Fatalf("put -overwrite: %s", stderr)
			}
			if b, _ := os.ReadFile(disk); string(b) != "replaced" {
				t.Fatalf("after put -overwrite: %q", b)
			}
			// Errors name the NT status.
			code, _, stderr = run("", "stat", smb1UNC(addr, "missing.txt"))
			if code != exitFailure || !strings.Contains(stderr, "STATUS_OBJECT_NAME_NOT_FOUND") {
				t.Fatalf("stat missing: %d %s", code, stderr)
			}
			// Encryption is never given up for SMB1.
			code, _, stderr = run("", "stat", "-encrypt", smb1UNC(addr, "secret.txt"))
			if code != exitFailure || !strings.Contains(stderr, "does not speak SMB2") || !strings.Contains(stderr, "drop -encrypt") {
				t.Fatalf("stat -encrypt: %d %s", code, stderr)
			}
		})
	}
	code, _, stderr := runCLI(t, "", "ls", "-u", "a", "-p", "x", "-smb1", "-encrypt", "//10.0.0.1/s")
	if code != exitUsage || !strings.Contains(stderr, "SMB1 has no encryption") {
		t.Errorf("-smb1 -encrypt: %d %s", code, stderr)
	}
}

// TestFilesSMB1Port139 runs ls and get over port 139 behind a NetBIOS session service that
// demands the SESSION REQUEST (as Windows does), in front of an SMB1-only Samba.
func TestFilesSMB1Port139(t *testing.T) {
	srv := smb1only.Require(t).Server(smb1only.Plain)
	t.Setenv(EnvPassword, sambatest.TestPassword)
	px := faultproxy.New(faultproxy.Options{Upstream: srv.AddrPort(), NetBIOS: &faultproxy.NetBIOSOptions{Names: []string{"*SMBSERVER"}}})
	t.Cleanup(px.Close)
	ip := netip.MustParseAddr("127.0.131.139")
	if _, err := px.ListenMany(ip, 1, 139); err != nil {
		t.Fatal(err)
	}
	addr := ip.String() + ":139"
	code, out, stderr := runCLI(t, "", "ls", "-u", sambatest.TestUser, smb1UNC(addr, smb1only.ManyDir))
	if o := jsonLines(t, out); code != 0 || len(o) != smb1only.ManyCount || o[0]["protocol"] != "smb1" {
		t.Fatalf("ls over 139: %d, %d entries, %s", code, len(o), stderr)
	}
	dst := filepath.Join(t.TempDir(), "big.bin")
	if code, _, stderr := runCLI(t, "", "get", "-u", sambatest.TestUser, "-smb1", "-o", dst, "-max-bytes", "4000000", smb1UNC(addr, smb1only.BigName)); code != 0 {
		t.Fatalf("get over 139: %s", stderr)
	}
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, smb1only.BigContent()) {
		t.Fatalf("get over 139 wrote %d bytes", len(b))
	}
	if px.SessionRequests() < 2 {
		t.Errorf("%d NetBIOS session requests", px.SessionRequests())
	}
}

// TestFilesSMB1MatchesSmbclient compares ls over SMB1 with `smbclient -m NT1 -c ls`.
func TestFilesSMB1MatchesSmbclient(t *testing.T) {
	smbclient, err := exec.LookPath("smbclient")
	if err != nil {
		t.Skip("smbclient not installed")
	}
	srv := smb1only.Require(t).Server(smb1only.Plain)
	t.Setenv(EnvPassword, sambatest.TestPassword)
	code, out, stderr := runCLI(t, "", "ls", "-u", sambatest.TestUser, smb1UNC(srv.AddrPort().String(), smb1only.ManyDir))
	if code != 0 {
		t.Fatalf("ls: %s", stderr)
	}
	ours := map[string]float64{}
	for _, o := range jsonLines(t, out) {
		ours[o["name"].(string)] = o["size"].(float64)
	}
	cmd := exec.Command(smbclient, "//"+srv.Addr.String()+"/"+sambatest.SharePrivate, "-p", fmt.Sprint(srv.Port),
		"-m", "NT1", "--option=client min protocol=NT1", "-U", sambatest.TestUser+"%"+sambatest.TestPassword,
		"-c", "ls "+smb1only.ManyDir+`\*`)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
		}
	}()
	theirsOut, err := cmd.CombinedOutput()
	close(done)
	if err != nil {
		t.Fatalf("smbclient: %v\n%s", err, theirsOut)
	}
	theirs := map[string]float64{}
	for _, line := range strings.Split(string(theirsOut), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(line, "  ") || f[0] == "." || f[0] == ".." {
			continue
		}
		var size float64
		if _, err := fmt.Sscan(f[len(f)-6], &size); err != nil {
			continue
		}
		theirs[f[0]] = size
	}
	if len(theirs) != smb1only.ManyCount || len(ours) != len(theirs) {
		t.Fatalf("smbclient lists %d names, smbsweep %d", len(theirs), len(ours))
	}
	for n, s := range theirs {
		if o, ok := ours[n]; !ok || o != s {
			t.Errorf("%q: smbclient size %v, smbsweep %v (listed %v)", n, s, o, ok)
		}
	}
}
