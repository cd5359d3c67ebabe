package output

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Output files are created here, and only here (issue 17). A private output is one that may
// carry file content, SMB message traces (which include logon exchanges) or the results of
// credentialed logons: scan -o with credentials, -trace, get -o, the daemon's runs. It is
// created 0600 — and narrowed to 0600 when it already exists with wider permissions — and
// the directories made for it are 0700. Every other output (-relay-list, -smb1-list,
// -metrics-file, a scan -o without credentials) is created like a shell redirection's file:
// 0666 (directories 0777) less the umask.
const (
	privateFile = 0o600
	privateDir  = 0o700
	publicFile  = 0o666
	publicDir   = 0o777
)

func fileMode(private bool) fs.FileMode {
	if private {
		return privateFile
	}
	return publicFile
}

// OpenFile opens path with flag (os.O_WRONLY|os.O_TRUNC, os.O_RDWR|os.O_APPEND, ...), creating
// it when it does not exist, with the mode the package comment describes. Nothing is written
// to a private file that is still readable by others.
func OpenFile(path string, flag int, private bool) (*os.File, error) {
	fh, err := os.OpenFile(path, flag|os.O_CREATE, fileMode(private))
	if err != nil {
		return nil, err
	}
	if private {
		if err := narrow(fh); err != nil {
			fh.Close()
			return nil, err
		}
	}
	return fh, nil
}

// narrow removes group and other permissions from an existing file.
func narrow(fh *os.File) error {
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && st.Mode().IsRegular() {
		if err := fh.Chmod(perm &^ 0o077); err != nil {
			return fmt.Errorf("it holds private results but is readable by others (mode %04o) and could not be made private: %w", perm, err)
		}
	}
	return nil
}

// MkdirAll creates dir and its missing parents: 0700 when private, else 0777 less the umask.
// Directories that already exist keep their mode.
func MkdirAll(dir string, private bool) error {
	mode := fs.FileMode(publicDir)
	if private {
		mode = privateDir
	}
	return os.MkdirAll(dir, mode)
}

// CreateTemp creates a new file in dir like os.CreateTemp (the last "*" of pattern replaced by
// a random string), with the mode of OpenFile.
func CreateTemp(dir, pattern string, private bool) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	prefix, suffix := pattern, ""
	if i := strings.LastIndexByte(pattern, '*'); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	for range 10000 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		fh, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode(private))
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return fh, err
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, pattern), Err: fs.ErrExist}
}

// WriteFileAtomic writes path through a temporary file in the same directory, synced and
// renamed into place, so that readers never see a partial file.
func WriteFileAtomic(path string, private bool, write func(io.Writer) error) error {
	tmp, err := CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*", private)
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// WriteMetricsFile writes the metrics of g to path in the text exposition format that
// node_exporter's textfile collector reads, atomically. Metrics carry no secrets: the file
// follows the umask.
func WriteMetricsFile(path string, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, false, func(w io.Writer) error {
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
				return err
			}
		}
		return nil
	})
}
