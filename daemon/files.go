package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/output"
	"github.com/smbsweep/smbsweep/probes"
)

// Run files of a job, all in <output_dir>/<job>/:
//
//	20261121T065300Z.jsonl       the run (host records, then the summary line)
//	20261121T065300Z.csv         the same hosts as CSV, when the job sets csv: true
//	20261121T065300Z.diff.jsonl  what changed since the previous complete run
//	.20261121T065300Z.jsonl.tmp-*  a run being written (renamed into place when complete)
const (
	runIDLayout = "20060102T150405Z"
	extJSONL    = ".jsonl"
	extCSV      = ".csv"
	extDiff     = ".diff.jsonl"
	tmpMarker   = ".tmp-"
)

// runID names a run by its start time in RFC 3339 basic format, UTC.
func runID(start time.Time) string { return start.UTC().Format(runIDLayout) }

// atomicFile is written under a temporary name in its final directory and renamed into place
// by Commit after an fsync, so readers only ever see whole files.
type atomicFile struct {
	*os.File
	final string
	done  bool
}

func createAtomic(final string) (*atomicFile, error) {
	dir, base := filepath.Split(final)
	fh, err := output.CreateTemp(dir, "."+base+tmpMarker+"*", true) // 0600: runs may hold credentialed results
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: fh, final: final}, nil
}

// Commit syncs, closes and renames the file into place, then syncs the directory.
func (f *atomicFile) Commit() error {
	if f.done {
		return errors.New("atomic file committed twice")
	}
	f.done = true
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), f.final); err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(filepath.Dir(f.final))
}

// Abort closes and removes the temporary file (no-op after Commit).
func (f *atomicFile) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// writeFileAtomic writes data to path through createAtomic.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// listRuns returns the run ids in dir, oldest first.
func listRuns(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, extJSONL) || strings.HasSuffix(n, extDiff) {
			continue
		}
		id := strings.TrimSuffix(n, extJSONL)
		if _, err := time.Parse(runIDLayout, strings.SplitN(id, "_", 2)[0]); err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// pruneRuns deletes the runs of dir beyond the newest keep, with their CSV and diff files.
func pruneRuns(dir string, keep int) ([]string, error) {
	ids, err := listRuns(dir)
	if err != nil || len(ids) <= keep {
		return nil, err
	}
	old := ids[:len(ids)-keep]
	var errs []error
	for _, id := range old {
		for _, ext := range []string{extJSONL, extCSV, extDiff} {
			if err := os.Remove(filepath.Join(dir, id+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return old, errors.Join(errs...)
}

// removeStaleTemps deletes temporary files a crashed run left in dir.
func removeStaleTemps(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, tmpMarker) {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// readSummary returns the summary line of a run file, reading only its tail. A file without
// one (which a committed file always has) is an error.
func readSummary(path string) (*probes.Summary, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	const tail = 64 << 10
	off := max(st.Size()-tail, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := fh.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	var s probes.Summary
	if err := json.Unmarshal(buf, &s); err != nil || s.Type != "summary" {
		return nil, fmt.Errorf("%s: the last line is not a summary", path)
	}
	return &s, nil
}
