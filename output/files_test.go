//go:build unix

package output

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestOutputFileModes: private outputs are 0600 (directories 0700) whatever the umask and even
// when the file existed with wider permissions; the others are 0666 less the umask.
func TestOutputFileModes(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }

	for _, tc := range []struct {
		name    string
		private bool
		want    fs.FileMode
	}{{"public", false, 0o664}, {"private", true, 0o600}} {
		fh, err := OpenFile(p(tc.name), os.O_WRONLY|os.O_TRUNC, tc.private)
		if err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if m := perm(t, p(tc.name)); m != tc.want {
			t.Errorf("%s: mode %04o, want %04o", tc.name, m, tc.want)
		}
	}

	// An existing file is narrowed before anything is written, in truncate and append modes.
	for _, flag := range []int{os.O_WRONLY | os.O_TRUNC, os.O_RDWR | os.O_APPEND} {
		if err := os.WriteFile(p("existing"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(p("existing"), 0o644)
		fh, err := OpenFile(p("existing"), flag, true)
		if err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if m := perm(t, p("existing")); m != 0o600 {
			t.Errorf("existing 0644 file opened private (flag %#x): mode %04o, want 0600", flag, m)
		}
	}
	// A public output leaves an existing file's mode alone.
	_ = os.Chmod(p("existing"), 0o640)
	if fh, err := OpenFile(p("existing"), os.O_WRONLY|os.O_TRUNC, false); err != nil {
		t.Fatal(err)
	} else {
		fh.Close()
	}
	if m := perm(t, p("existing")); m != 0o640 {
		t.Errorf("public open changed the mode to %04o", m)
	}

	if err := MkdirAll(p("a/b"), true); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(p("c/d"), false); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]fs.FileMode{"a": 0o700, "a/b": 0o700, "c": 0o775, "c/d": 0o775} {
		if m := perm(t, p(d)); m != want {
			t.Errorf("directory %s: mode %04o, want %04o", d, m, want)
		}
	}

	for private, want := range map[bool]fs.FileMode{true: 0o600, false: 0o664} {
		fh, err := CreateTemp(dir, ".x.tmp-*.part", private)
		if err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if base := filepath.Base(fh.Name()); !strings.HasPrefix(base, ".x.tmp-") || !strings.HasSuffix(base, ".part") {
			t.Errorf("temp name %s", base)
		}
		if m := perm(t, fh.Name()); m != want {
			t.Errorf("CreateTemp private=%v: mode %04o, want %04o", private, m, want)
		}
	}
}

// TestWriteMetricsFile: the textfile is written atomically, follows the umask (Prometheus's
// own WriteToTextfile forces 0644) and leaves no temporary file behind.
func TestWriteMetricsFile(t *testing.T) {
	old := syscall.Umask(0o007)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "smbsweep.prom")
	reg := prometheus.NewRegistry()
	NewScanMetrics(reg)
	if err := WriteMetricsFile(path, reg); err != nil {
		t.Fatal(err)
	}
	if m := perm(t, path); m != 0o660 {
		t.Errorf("mode %04o, want 0660 (0666 less the umask 007)", m)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "# TYPE smbsweep_hosts_scanned_total counter") {
		t.Errorf("content:\n%s", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
	// A failed write leaves neither the file nor a temporary one.
	err := WriteFileAtomic(filepath.Join(dir, "never"), true, func(io.Writer) error { return io.ErrShortWrite })
	if err != io.ErrShortWrite {
		t.Errorf("error %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left after a failed write: %v", ents)
	}
}
