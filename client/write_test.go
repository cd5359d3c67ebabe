package client

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// fakeFile is a writable that keeps what it is given, acknowledging at most ack bytes a call
// (0: all) and failing at the failAt'th call (0: never).
type fakeFile struct {
	data    []byte
	offsets []int64
	buf     int
	failAt  int
	closed  bool
}

func (f *fakeFile) bufferSize() int { return f.buf }

func (f *fakeFile) write(_ context.Context, data []byte, off int64) (int64, error) {
	f.offsets = append(f.offsets, off)
	if len(f.offsets) == f.failAt {
		half := len(data) / 2
		f.data = append(f.data, data[:half]...)
		return int64(half), &Error{Op: "write", Target: "//fake/x", Status: wire.StatusDiskFull}
	}
	f.data = append(f.data, data...)
	return int64(len(data)), nil
}

func (f *fakeFile) close(context.Context) error { f.closed = true; return nil }

func TestWriteFileShared(t *testing.T) {
	ctx := context.Background()
	target := func(p string) string { return "//fake/" + CleanPath(p) }
	open := func(f *fakeFile, created bool, size int64, err error) openForWrite {
		return func(context.Context, string, WriteMode) (writable, bool, int64, error) {
			if err != nil {
				return nil, false, 0, err
			}
			return f, created, size, nil
		}
	}

	f := &fakeFile{buf: 4}
	res, err := writeFile(ctx, target, open(f, false, 100, nil), "/d/x", strings.NewReader("0123456789"), Append)
	if err != nil || res != (WriteResult{Path: "d/x", Mode: Append, Offset: 100, BytesWritten: 10}) || !f.closed ||
		string(f.data) != "0123456789" || !slices.Equal(f.offsets, []int64{100, 104, 108}) {
		t.Fatalf("append: %+v %v, offsets %v data %q closed %v", res, err, f.offsets, f.data, f.closed)
	}

	f = &fakeFile{buf: 4, failAt: 2}
	res, err = writeFile(ctx, target, open(f, true, 0, nil), "x", strings.NewReader("0123456789"), Overwrite)
	var e *Error
	if !errors.As(err, &e) || e.Status != wire.StatusDiskFull || res.BytesWritten != 6 || !res.Created || res.Offset != 0 || !f.closed {
		t.Fatalf("failed write: %+v %v, closed %v", res, err, f.closed)
	}

	f = &fakeFile{buf: 4}
	_, err = writeFile(ctx, target, open(f, true, 0, nil), "x", &failingReader{n: 2}, CreateOnly)
	if err == nil || err.Error() != "write //fake/x: reading the data to write: local read failed" || !f.closed {
		t.Fatalf("read failure: %v", err)
	}

	collision := &Error{Op: "write", Target: "//fake/x", Status: wire.StatusObjectNameCollision}
	if _, err := writeFile(ctx, target, open(nil, false, 0, collision), "x", bytes.NewReader(nil), CreateOnly); !errors.Is(err, ErrExists) {
		t.Fatalf("existing file: %v, want ErrExists", err)
	}
	collision = &Error{Op: "write", Target: "//fake/x", Status: wire.StatusObjectNameCollision}
	if _, err := writeFile(ctx, target, open(nil, false, 0, collision), "x", bytes.NewReader(nil), Append); errors.Is(err, ErrExists) {
		t.Fatalf("append collision mapped to ErrExists: %v", err)
	}
	for _, tc := range []struct {
		path string
		mode WriteMode
		want string
	}{{"/", CreateOnly, "write //fake/: no file name"}, {"x", WriteMode(7), "write //fake/x: unknown write mode 7"}} {
		called := false
		o := func(context.Context, string, WriteMode) (writable, bool, int64, error) {
			called = true
			return nil, false, 0, nil
		}
		if _, err := writeFile(ctx, target, o, tc.path, bytes.NewReader(nil), tc.mode); err == nil || err.Error() != tc.want || called {
			t.Fatalf("%q %v: %v (opened: %v), want %q", tc.path, tc.mode, err, called, tc.want)
		}
	}
}
