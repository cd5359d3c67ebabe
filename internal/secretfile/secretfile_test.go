//go:build unix

package secretfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		mode      fs.FileMode
		kind      Kind
		err, warn string // substrings; "" means none
	}{
		{0o600, Token, "", ""},
		{0o400, Token, "", ""},
		{0o600, Password, "", ""},
		{0o640, Password, "", "password file F is readable by its group (mode 0640): chmod 600 F"},
		{0o644, Password, "", "password file F is readable by group and others (mode 0644): chmod 600 F"},
		{0o604, Token, "", "token file F is readable by others (mode 0604): chmod 600 F"},
		{0o666, Password, "", "password file F is readable by group and others (mode 0666): chmod 600 F"},
		{0o666, Token, "token file F is writable by group and others (mode 0666), so another user could add a token of their own: chmod 600 F", ""},
		{0o620, Token, "writable by its group (mode 0620)", ""},
		{0o602, Token, "writable by others (mode 0602)", ""},
	} {
		warn, err := Check("F", tc.mode, tc.kind)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v %04o: unexpected error %v", tc.kind, tc.mode, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v %04o: error %v, want %q", tc.kind, tc.mode, err, tc.err)
		}
		if (tc.warn == "") != (warn == "") || !strings.Contains(warn, tc.warn) {
			t.Errorf("%v %04o: warning %q, want %q", tc.kind, tc.mode, warn, tc.warn)
		}
	}
}

func TestCheckPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if w, err := CheckPath(p, Password); err != nil || w != "password file "+p+" is readable by group and others (mode 0644): chmod 600 "+p {
		t.Errorf("0644: %q, %v", w, err)
	}
	if w, err := CheckPath(filepath.Join(t.TempDir(), "missing"), Token); w != "" || err != nil {
		t.Errorf("missing file: %q, %v (reading it reports that)", w, err)
	}
}
