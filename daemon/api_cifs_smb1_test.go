package daemon

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
	"github.com/smbsweep/smbsweep/internal/testing/smb1only"
)

// TestCredentialedEndpointsSMB1 runs /api/cifs/auth, ls, read, stat and write against
// SMB1-only servers (signing auto and mandatory): the endpoints fall back to SMB1, "smb1":
// true forces it, and the answers have the SMB2 answers' fields and bounds, plus "protocol".
func TestCredentialedEndpointsSMB1(t *testing.T) {
	fleet := smb1only.Require(t)
	td := newTestDaemon(t, "api:\n  allow_write: true\n", nil)
	for _, name := range []string{smb1only.Plain, smb1only.Signing} {
		srv := fleet.Server(name)
		t.Run(name, func(t *testing.T) {
			for _, force := range []string{"", `"smb1":true`} {
				r := td.post(t, "/api/cifs/auth", credBody(srv, force))
				wantOK(t, "auth", r)
				wantKeys(t, "auth", r, "success", "host", "port", "dialect", "serverGuid", "serverTime", "targetDomain", "sessionId", "sessionFlags", "maxReadSize", "maxWriteSize", "protocol", "nativeOs", "nativeLanMan")
				if r.json["protocol"] != "smb1" || r.json["dialect"] != "SMB 1.x (CIFS)" || r.json["signed"] != (name == smb1only.Signing) ||
					r.json["encrypted"] != false || jsonNum(t, r, "sessionId") == 0 || r.json["user"] != sambatest.TestUser ||
					!strings.HasPrefix(r.json["nativeLanMan"].(string), "Samba") {
					t.Errorf("auth %s: %s", force, r.body)
				}
			}
			r := td.post(t, "/api/cifs/auth", hostBody(srv, `"username":"smbsweep-test","password":"wrong-password"`))
			if r.code != http.StatusOK || r.json["success"] != false || r.json["ntStatus"] != "STATUS_LOGON_FAILURE" || strings.Contains(r.body, "wrong-password") {
				t.Errorf("wrong password: %d %s", r.code, r.body)
			}
			// ls: 5 000 entries, complete, paged.
			seen := map[string]bool{}
			for offset := 0; ; {
				r := td.post(t, "/api/cifs/ls", credBody(srv, `"share":"private","path":"many","limit":2000,"offset":`+strconv.Itoa(offset)))
				wantOK(t, "ls", r)
				if r.json["protocol"] != "smb1" || jsonNum(t, r, "totalEntries") != smb1only.ManyCount {
					t.Fatalf("ls: %.300s", r.body)
				}
				for _, e := range r.json["entries"].([]any) {
					seen[e.(map[string]any)["name"].(string)] = true
				}
				next, ok := r.json["nextOffset"].(float64)
				if !ok {
					break
				}
				offset = int(next)
			}
			if len(seen) != smb1only.ManyCount {
				t.Fatalf("ls pages: %d distinct entries", len(seen))
			}
			// stat: 64-bit size; non-BMP name.
			r = td.post(t, "/api/cifs/stat", credBody(srv, `"share":"private","path":"`+smb1only.SparseName+`"`))
			wantOK(t, "stat", r)
			if jsonNum(t, r, "size") != smb1only.SparseSize || r.json["protocol"] != "smb1" {
				t.Errorf("stat sparse: %s", r.body)
			}
			r = td.post(t, "/api/cifs/ls", credBody(srv, `"share":"private","path":"uni"`))
			wantOK(t, "ls uni", r)
			if !strings.Contains(r.body, smb1only.EmojiName) || !strings.Contains(r.body, smb1only.CJKName) {
				t.Errorf("ls uni: %s", r.body)
			}
			// read: 3 MiB byte-exact; cut at maxBytes.
			r = td.post(t, "/api/cifs/read", credBody(srv, `"share":"private","path":"`+smb1only.BigName+`","maxBytes":8388608`))
			wantOK(t, "read", r)
			got, _ := base64.StdEncoding.DecodeString(r.json["content"].(string))
			sum := sha256.Sum256(smb1only.BigContent())
			if string(got) != string(smb1only.BigContent()) || r.json["sha256"] != hex.EncodeToString(sum[:]) || r.json["truncated"] != false {
				t.Errorf("read 3 MiB: %d bytes, sha256 %v", len(got), r.json["sha256"])
			}
			r = td.post(t, "/api/cifs/read", credBody(srv, `"share":"private","path":"`+smb1only.BigName+`","maxBytes":100`))
			wantOK(t, "read 100", r)
			if jsonNum(t, r, "bytesRead") != 100 || r.json["truncated"] != true || jsonNum(t, r, "fileSize") != smb1only.BigSize {
				t.Errorf("read 100: %.300s", r.body)
			}
			r = td.post(t, "/api/cifs/read", credBody(srv, `"share":"private","path":"missing.txt"`))
			if r.code != http.StatusOK || r.json["success"] != false || r.json["ntStatus"] != "STATUS_OBJECT_NAME_NOT_FOUND" {
				t.Errorf("read missing: %d %s", r.code, r.body)
			}
			// write: create, refused, append, overwrite.
			file := "api-smb1.txt"
			disk := filepath.Join(srv.SharePath(sambatest.SharePrivate), file)
			_ = os.Remove(disk)
			write := func(extra string) apiResult {
				return td.post(t, "/api/cifs/write", credBody(srv, `"share":"private","path":"`+file+`",`+extra))
			}
			if r := write(`"content":"one\n"`); r.json["success"] != true || r.json["created"] != true || r.json["protocol"] != "smb1" {
				t.Fatalf("write create: %s", r.body)
			}
			if r := write(`"content":"two\n"`); r.code != http.StatusOK || r.json["success"] != false || r.json["ntStatus"] != "STATUS_OBJECT_NAME_COLLISION" {
				t.Fatalf("write over an existing file: %s", r.body)
			}
			if r := write(`"content":"three\n","mode":"append"`); r.json["success"] != true || jsonNum(t, r, "offset") != 4 {
				t.Fatalf("write append: %s", r.body)
			}
			if b, _ := os.ReadFile(disk); string(b) != "one\nthree\n" {
				t.Fatalf("after append: %q", b)
			}
			if r := write(`"content":"four","mode":"overwrite","smb1":true`); r.json["success"] != true {
				t.Fatalf("write overwrite: %s", r.body)
			}
			if b, _ := os.ReadFile(disk); string(b) != "four" {
				t.Fatalf("after overwrite: %q", b)
			}
		})
	}
}
