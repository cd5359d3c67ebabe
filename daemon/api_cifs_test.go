package daemon

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

func credBody(s *sambatest.Server, extra string) string {
	return hostBody(s, fmt.Sprintf(`"username":%q,"password":%q`, sambatest.TestUser, sambatest.TestPassword)+
		map[bool]string{true: "," + extra, false: ""}[extra != ""])
}

// chownToTestUser gives files made by the test to the share's user, as Samba would have.
func chownToTestUser(t *testing.T, paths ...string) {
	t.Helper()
	u, err := user.Lookup(sambatest.TestUser)
	if err != nil {
		t.Fatalf("test user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Lchown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCredentialedEndpoints logs on to the fleet with the test user through /api/cifs/auth,
// ls (a 5000-entry directory, paged), read, stat and write (only when enabled).
func TestCredentialedEndpoints(t *testing.T) {
	fleet := sambatest.Require(t)
	def, encrypt := fleet.Server("default"), fleet.Server("encrypt")
	td := newTestDaemon(t, "api:\n  allow_write: true\n", nil)

	t.Run("auth", func(t *testing.T) {
		r := td.post(t, "/api/cifs/auth", credBody(def, ""))
		wantOK(t, "auth", r)
		wantKeys(t, "auth", r, "success", "host", "port", "dialect", "serverGuid", "serverTime", "targetDomain", "sessionId", "sessionFlags", "maxReadSize", "maxWriteSize")
		if r.json["dialect"] != "SMB 3.1.1" || r.json["targetDomain"] == "" || jsonNum(t, r, "sessionId") == 0 || r.json["sessionFlags"] != "NORMAL" ||
			r.json["signed"] != true || r.json["user"] != sambatest.TestUser || !guidRE.MatchString(r.json["serverGuid"].(string)) {
			t.Errorf("auth: %s", r.body)
		}
		if r := td.post(t, "/api/cifs/auth", credBody(encrypt, "")); r.json["success"] != true || r.json["encrypted"] != true {
			t.Errorf("auth on the encryption-required server: %s", r.body)
		}
		r = td.post(t, "/api/cifs/auth", hostBody(def, `"username":"smbsweep-test","password":"wrong-password"`))
		if r.code != http.StatusOK || r.json["success"] != false || r.json["ntStatus"] != "STATUS_LOGON_FAILURE" || strings.Contains(r.body, "wrong-password") {
			t.Errorf("wrong password: %d %s", r.code, r.body)
		}
	})

	t.Run("ls 5000 entries", func(t *testing.T) {
		root := def.SharePath(sambatest.SharePrivate)
		name := "many-" + rand.Text()[:8]
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		paths := []string{dir}
		for i := 0; i < 5000; i++ {
			p := filepath.Join(dir, fmt.Sprintf("file-%04d.txt", i))
			if err := os.WriteFile(p, []byte(strconv.Itoa(i)), 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		chownToTestUser(t, paths...)
		seen := map[string]bool{}
		offset := 0
		for page := 0; ; page++ {
			r := td.post(t, "/api/cifs/ls", credBody(def, fmt.Sprintf(`"share":"private","path":%q,"offset":%d,"limit":2000,"timeout":30000`, name, offset)))
			wantOK(t, "ls", r)
			wantKeys(t, "ls", r, "success", "host", "share", "path", "entryCount", "entries")
			if jsonNum(t, r, "totalEntries") != 5000 || r.json["truncated"] != false {
				t.Fatalf("ls page %d: total %v", page, r.json["totalEntries"])
			}
			entries := r.json["entries"].([]any)
			if int(jsonNum(t, r, "entryCount")) != len(entries) {
				t.Fatal("entryCount differs from entries")
			}
			for _, e := range entries {
				m := e.(map[string]any)
				n := m["name"].(string)
				if seen[n] || m["isDir"] != false || m["size"].(float64) < 1 {
					t.Fatalf("entry %v", m)
				}
				seen[n] = true
			}
			next, ok := r.json["nextOffset"].(float64)
			if !ok {
				break
			}
			offset = int(next)
		}
		if len(seen) != 5000 || !seen["file-0000.txt"] || !seen["file-4999.txt"] {
			t.Errorf("listed %d distinct entries", len(seen))
		}
		r := td.post(t, "/api/cifs/ls", credBody(def, `"share":"private","path":"unicode"`))
		if !strings.Contains(r.body, `"name":"café.txt"`) {
			t.Errorf("non-ASCII name: %s", r.body)
		}
	})

	t.Run("read and stat", func(t *testing.T) {
		files := sambatest.StandardShares()[2].Files
		r := td.post(t, "/api/cifs/read", credBody(def, `"share":"private","path":"secret.txt"`))
		wantOK(t, "read", r)
		wantKeys(t, "read", r, "success", "host", "share", "path", "fileSize", "bytesRead", "truncated", "isBinary", "content", "fileAttributes")
		sum := sha256.Sum256([]byte(files["secret.txt"]))
		if r.json["content"] != files["secret.txt"] || r.json["isBinary"] != false || r.json["truncated"] != false ||
			int(jsonNum(t, r, "bytesRead")) != len(files["secret.txt"]) || r.json["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("read secret.txt: %s", r.body)
		}
		r = td.post(t, "/api/cifs/read", credBody(def, `"share":"private","path":"large/ten-kib.bin","maxBytes":1000`))
		if r.json["truncated"] != true || jsonNum(t, r, "bytesRead") != 1000 || jsonNum(t, r, "fileSize") != 10240 || len(r.json["content"].(string)) != 1000 {
			t.Errorf("read with maxBytes: %s", r.body)
		}
		r = td.post(t, "/api/cifs/read", credBody(def, `"share":"private","path":"no-such-file"`))
		if r.code != 200 || r.json["success"] != false || r.json["ntStatus"] != "STATUS_OBJECT_NAME_NOT_FOUND" {
			t.Errorf("read missing: %d %s", r.code, r.body)
		}
		r = td.post(t, "/api/cifs/stat", credBody(def, `"share":"private","path":"reports/q1.txt"`))
		wantOK(t, "stat", r)
		if r.json["isDirectory"] != false || int(jsonNum(t, r, "size")) != len(files["reports/q1.txt"]) || r.json["lastWriteTime"] == nil {
			t.Errorf("stat: %s", r.body)
		}
		r = td.post(t, "/api/cifs/stat", credBody(def, `"share":"private","path":"reports"`))
		if r.json["isDirectory"] != true {
			t.Errorf("stat dir: %s", r.body)
		}
	})

	t.Run("write", func(t *testing.T) {
		name := "api-write-" + rand.Text()[:8] + ".bin"
		t.Cleanup(func() { os.Remove(filepath.Join(def.SharePath(sambatest.SharePrivate), name)) })
		w := func(extra string) apiResult {
			return td.post(t, "/api/cifs/write", credBody(def, fmt.Sprintf(`"share":"private","path":%q,%s`, name, extra)))
		}
		r := w(`"content":"hello"`)
		wantOK(t, "write", r)
		if r.json["created"] != true || jsonNum(t, r, "bytesWritten") != 5 || r.json["mode"] != "create" {
			t.Errorf("create: %s", r.body)
		}
		if r := w(`"content":"again"`); r.code != 200 || r.json["success"] != false || !strings.Contains(r.json["error"].(string), "exists") {
			t.Errorf("create over an existing file: %d %s", r.code, r.body)
		}
		if r := w(`"content":" world","mode":"append"`); r.json["success"] != true || jsonNum(t, r, "offset") != 5 {
			t.Errorf("append: %s", r.body)
		}
		got, _ := os.ReadFile(filepath.Join(def.SharePath(sambatest.SharePrivate), name))
		if string(got) != "hello world" {
			t.Errorf("file holds %q", got)
		}
		bin := []byte{0, 1, 2, 0xff, 0xfe, 0, 'x'}
		if r := w(`"base64":"` + base64.StdEncoding.EncodeToString(bin) + `","mode":"overwrite"`); r.json["success"] != true {
			t.Errorf("overwrite: %s", r.body)
		}
		r = td.post(t, "/api/cifs/read", credBody(def, fmt.Sprintf(`"share":"private","path":%q`, name)))
		if r.json["isBinary"] != true || r.json["encoding"] != "base64" || r.json["content"] != base64.StdEncoding.EncodeToString(bin) {
			t.Errorf("read back binary: %s", r.body)
		}
	})

	t.Run("write disabled", func(t *testing.T) {
		off := newTestDaemon(t, "", nil)
		r := off.post(t, "/api/cifs/write", credBody(def, `"share":"private","path":"never.txt","content":"x"`))
		if r.code != http.StatusForbidden {
			t.Errorf("write while disabled: %d %s", r.code, r.body)
		}
		if _, err := os.Stat(filepath.Join(def.SharePath(sambatest.SharePrivate), "never.txt")); err == nil {
			t.Error("a disabled write wrote")
		}
	})
}
