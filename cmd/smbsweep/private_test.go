//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/smbsweep/smbsweep/internal/testing/sambatest"
)

// setUmask sets the process umask for the test (tests that call it must not be parallel).
func setUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestPasswordFileReadableWarned: a password file others may read works, with a warning that
// names the file and the chmod that fixes it.
func TestPasswordFileReadableWarned(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("S3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	c := credFlags{user: "alice", passwordFile: pw}
	if cred, err := c.resolve(func(string) (string, bool) { return "", false }, &stderr); err != nil || cred.Password != "S3cret" {
		t.Fatalf("0600: %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("0600 file warned: %q", stderr.String())
	}
	if err := os.Chmod(pw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.resolve(func(string) (string, bool) { return "", false }, &stderr); err != nil {
		t.Fatal(err)
	}
	want := "smbsweep: warning: password file " + pw + " is readable by group and others (mode 0644): chmod 600 " + pw + "\n"
	if stderr.String() != want {
		t.Errorf("0644 file:\n got  %q\n want %q", stderr.String(), want)
	}
	if strings.Contains(stderr.String(), "S3cret") {
		t.Error("the warning holds the password")
	}
}

// TestConfigCheckSecretFiles: config check refuses a token file others may write and warns
// about secret files others may read, each with the chmod.
func TestConfigCheckSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tokens, pw, cfg := filepath.Join(dir, "tokens"), filepath.Join(dir, "pw"), filepath.Join(dir, "smbsweep.yml")
	for p, content := range map[string]string{tokens: "3c5e7a9b1d2f4680ace13579bdf02468\n", pw: "x\n",
		cfg: "api:\n  token_file: tokens\ncredentials:\n  - {name: a, username: u, password_file: pw}\njobs:\n  - {name: j, targets: [127.0.0.1], schedule: '@every 1h', credentials: a}\n"} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(tokens, 0o646)
	code, out, errOut := runCLI(t, "", "config", "check", cfg)
	if code != exitUsage || out != "" || !strings.Contains(errOut, "token file "+tokens+" is writable by others (mode 0646)") ||
		!strings.HasSuffix(errOut, "chmod 600 "+tokens+"\n") {
		t.Errorf("writable token file: exit %d %q %q", code, out, errOut)
	}
	_ = os.Chmod(tokens, 0o604)
	_ = os.Chmod(pw, 0o644)
	code, out, errOut = runCLI(t, "", "config", "check", cfg)
	wantErr := "smbsweep config: warning: token file " + tokens + " is readable by others (mode 0604): chmod 600 " + tokens + "\n" +
		"smbsweep config: warning: password file " + pw + " is readable by group and others (mode 0644): chmod 600 " + pw + "\n"
	if code != exitOK || errOut != wantErr || !strings.HasPrefix(out, "ok: 1 job\n") {
		t.Errorf("readable secret files: exit %d %q\n got  %q\n want %q", code, out, errOut, wantErr)
	}
}

// TestOutputModes: outputs that may carry credentialed results, file content or traces are
// 0600 (directories 0700) whatever the umask; the others follow the umask. -trace records the
// credentialed connection too.
func TestOutputModes(t *testing.T) {
	fleet := sambatest.Require(t)
	setUmask(t, 0o002)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	code, _, stderr := runCLI(t, "", "scan", "-jsonl", "-o", p("plain.jsonl"), "-relay-list", p("relay.txt"), "-smb1-list", p("smb1.txt"),
		"-metrics-file", p("m.prom"), fleet.Server("default").Target())
	if code != exitOK {
		t.Fatalf("plain scan: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"plain.jsonl", "relay.txt", "smb1.txt", "m.prom"} {
		if m := modeOf(t, p(f)); m != 0o664 {
			t.Errorf("%s: mode %04o, want 0664 (0666 less the umask 002)", f, m)
		}
	}

	pw := p("pw")
	if err := os.WriteFile(pw, []byte(sambatest.TestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An existing file that others may read is made private before the results go in.
	if err := os.WriteFile(p("creds.jsonl"), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(p("creds.jsonl"), 0o644)
	trace := p("trace/run1")
	srv := fleet.Server("signing")
	code, _, stderr = runCLI(t, "", "scan", "-jsonl", "-o", p("creds.jsonl"), "-probes", "ls,read", "-u", sambatest.TestUser, "-password-file", pw,
		"-share", "private", "-path", "secret.txt", "-timeout", "20s", "-trace", trace, srv.Target())
	if code != exitOK {
		t.Fatalf("credentialed scan: exit %d: %s", code, stderr)
	}
	if m := modeOf(t, p("creds.jsonl")); m != 0o600 {
		t.Errorf("credentialed -o: mode %04o, want 0600", m)
	}
	for _, d := range []string{p("trace"), trace} {
		if m := modeOf(t, d); m != 0o700 {
			t.Errorf("trace directory %s: mode %04o, want 0700", d, m)
		}
	}
	var files, authLogon []string
	err := filepath.WalkDir(trace, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == trace {
			return nil
		}
		if m := modeOf(t, path); e.IsDir() && m != 0o700 || !e.IsDir() && m != 0o600 {
			t.Errorf("%s: mode %04o, want 0700 for directories and 0600 for files", path, m)
		}
		if !e.IsDir() {
			files = append(files, e.Name())
			if strings.Contains(e.Name(), "-auth-sent-smb2-SESSION_SETUP") {
				authLogon = append(authLogon, e.Name())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// NEGOTIATE and the two SESSION_SETUP requests (NTLM NEGOTIATE, AUTHENTICATE) of the logon.
	if len(authLogon) < 2 {
		t.Errorf("the credentialed logon is not traced: %d SESSION_SETUP requests on conn auth among %q", len(authLogon), files)
	}

	// -probes ls or read alone make -o private too (they need credentials to run, and carry
	// listings and content when they do).
	code, _, stderr = runCLI(t, "", "scan", "-jsonl", "-o", p("ls.jsonl"), "-probes", "ls", "127.0.0.1:1")
	if code != exitOK {
		t.Fatalf("-probes ls: exit %d: %s", code, stderr)
	}
	if m := modeOf(t, p("ls.jsonl")); m != 0o600 {
		t.Errorf("-probes ls -o: mode %04o, want 0600", m)
	}
}

// TestMetricsAddrExposure: scan's -metrics-addr follows serve's rule — loopback only unless
// explicitly accepted — and says how to fix it.
func TestMetricsAddrExposure(t *testing.T) {
	for _, addr := range []string{":9460", "0.0.0.0:9460", "[::]:9460", "192.0.2.1:9460"} {
		code, _, stderr := runCLI(t, "", "scan", "-metrics-addr", addr, "127.0.0.1:1")
		if code != exitUsage || !strings.Contains(stderr, "-metrics-addr "+addr+" is not a loopback address") ||
			!strings.Contains(stderr, "127.0.0.1:9460") || !strings.Contains(stderr, "-metrics-public") {
			t.Errorf("%s: exit %d %q", addr, code, stderr)
		}
	}
	for _, addr := range []string{"127.0.0.1:9460", "[::1]:9460", "localhost:9460", "127.0.0.2:1"} {
		if err := checkMetricsExposure(addr, false); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	if err := checkMetricsExposure(":9460", true); err != nil {
		t.Errorf("-metrics-public: %v", err)
	}
}
