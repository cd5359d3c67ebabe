//go:build unix

package daemon

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The token fixtures come from a git checkout, whose modes follow the umask: under umask 002
// they would be group-writable, which LoadTokenFile refuses. Give them the mode a careful
// operator would (the checkout's content is unchanged).
func init() {
	for _, name := range []string{"tokens.txt", "short-token.txt"} {
		p := filepath.Join(testdataDir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o022 != 0 {
			_ = os.Chmod(p, st.Mode().Perm()&^0o022)
		}
	}
}

// writeSecret writes a secret file with exactly mode (whatever the umask).
func writeSecret(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestTokenFileWritableByOthersRefused: a token file group or others may write lets them add
// a token of their own; the configuration (and -token-file) is refused with the chmod.
func TestTokenFileWritableByOthersRefused(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	writeSecret(t, tokens, "0f3a9c27b18e4d56a1b2c3d4e5f60718\n", 0o666)
	cfg := filepath.Join(dir, "smbsweep.yml")
	writeSecret(t, cfg, "api:\n  token_file: tokens\n", 0o600)
	_, err := LoadFile(cfg, testEnv(nil))
	want := fmt.Sprintf("%s: api.token_file: token file %s is writable by group and others (mode 0666), so another user could add a token of their own: chmod 600 %s", cfg, tokens, tokens)
	if err == nil || err.Error() != want {
		t.Fatalf("0666 token file:\n got  %v\n want %s", err, want)
	}
	if err := os.Chmod(tokens, 0o620); err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Overrides: Overrides{TokenFile: tokens}, Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "-token-file: token file "+tokens+" is writable by its group (mode 0620)") ||
		!strings.HasSuffix(err.Error(), "chmod 600 "+tokens) {
		t.Fatalf("-token-file 0620: %v", err)
	}
	if err := os.Chmod(tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(cfg, testEnv(nil)); err != nil {
		t.Fatalf("0600 token file: %v", err)
	}
}

// TestSecretFilesReadableByOthersWarned: token and password files others may read are
// accepted with a warning in the daemon log (at start and at every reload) naming the file and
// the chmod.
func TestSecretFilesReadableByOthersWarned(t *testing.T) {
	dir := t.TempDir()
	tokens, pw := filepath.Join(dir, "tokens"), filepath.Join(dir, "audit.pass")
	writeSecret(t, tokens, "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b\n", 0o644)
	writeSecret(t, pw, "secret\n", 0o640)
	cfg := filepath.Join(dir, "smbsweep.yml")
	writeSecret(t, cfg, "api:\n  token_file: tokens\ncredentials:\n  - name: audit\n    username: svc\n    password_file: audit.pass\n", 0o600)
	logBuf := &syncBuffer{}
	d, err := New(Options{ConfigFile: cfg, Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{
		"token file " + tokens + " is readable by group and others (mode 0644): chmod 600 " + tokens,
		"password file " + pw + " is readable by its group (mode 0640): chmod 600 " + pw,
	}
	log := logBuf.String()
	for _, w := range wants {
		if !strings.Contains(log, "level=WARN msg=\""+w+"\"") {
			t.Errorf("daemon log lacks the warning %q:\n%s", w, log)
		}
	}
	if got := d.config().SecretFileWarnings(); len(got) != 2 || got[0] != wants[0] || got[1] != wants[1] {
		t.Errorf("SecretFileWarnings: %q", got)
	}
	// Fixed: no warning at the next reload.
	_ = os.Chmod(tokens, 0o600)
	_ = os.Chmod(pw, 0o400)
	before := len(logBuf.String())
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if after := logBuf.String()[before:]; strings.Contains(after, "chmod") {
		t.Errorf("warning after the fix:\n%s", after)
	}
}

// TestRunFilesPrivate: a job's runs may hold credentialed results, so its directory is created
// 0700 and its run, CSV and diff files 0600, whatever the umask.
func TestRunFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	c, err := parseConfig([]byte(jobConfig(dir, []string{"127.0.0.1:1"}, "@yearly", "")), dir, testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Env: testEnv(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	j := c.Jobs[0]
	m := d.metrics.addJob(j.Name, time.Hour)
	var files []string
	for i := 0; i < 2; i++ {
		rep := d.runJob(context.Background(), context.Background(), j, m)
		if rep.Result != runSuccess {
			t.Fatalf("run %d: %+v", i, rep)
		}
		files = append(files, rep.File, rep.CSV)
		if i == 1 {
			files = append(files, rep.DiffFile)
		}
	}
	st, err := os.Stat(filepath.Join(dir, j.Name))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("job directory mode %04o, want 0700", st.Mode().Perm())
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
