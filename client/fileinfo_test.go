package client

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// basicInfo builds a FILE_BASIC_INFORMATION (MS-FSCC 2.4.7): four FILETIMEs, the attributes,
// 4 reserved bytes.
func basicInfo(times [4]uint64, attrs uint32) wire.FileBasicInformation {
	b := make([]byte, 40)
	for i, ft := range times {
		binary.LittleEndian.PutUint64(b[8*i:], ft)
	}
	binary.LittleEndian.PutUint32(b[32:], attrs)
	return wire.FileBasicInformation(b)
}

// standardInfo builds a FILE_STANDARD_INFORMATION (MS-FSCC 2.4.41).
func standardInfo(alloc, eof int64, dir bool) wire.FileStandardInformation {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b, uint64(alloc))
	binary.LittleEndian.PutUint64(b[8:], uint64(eof))
	binary.LittleEndian.PutUint32(b[16:], 1)
	if dir {
		b[21] = 1
	}
	return wire.FileStandardInformation(b)
}

func TestFileInfoFromBasicAndStandard(t *testing.T) {
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	written := time.Date(2024, 5, 5, 12, 0, 0, 500, time.UTC).Truncate(100 * time.Nanosecond)
	fi := FileInfoAt(`\docs\.\reports\`)
	fi.SetBasic(basicInfo([4]uint64{wire.TimeToFiletime(created), 0, wire.TimeToFiletime(written), ^uint64(0)},
		wire.FileAttributeDirectory|wire.FileAttributeHidden))
	fi.SetStandard(standardInfo(4096, 5<<30, true))
	want := FileInfo{Name: "reports", Path: "docs/reports", Size: 5 << 30, AllocationSize: 4096,
		Attributes: wire.FileAttributeDirectory | wire.FileAttributeHidden, IsDir: true,
		CreationTime: created, LastWriteTime: written}
	if fi != want {
		t.Fatalf("FileInfo\n got %+v\nwant %+v", fi, want)
	}
	if root := FileInfoAt("/"); root.Name != "" || root.Path != "" {
		t.Fatalf("share root: %+v", root)
	}
	// A FILETIME of 0 or beyond the representable range is "not set": the zero time.
	if !fi.LastAccessTime.IsZero() || !fi.ChangeTime.IsZero() {
		t.Fatalf("unset times: %v %v", fi.LastAccessTime, fi.ChangeTime)
	}
}

func TestFileInfoAllInformationDirectoryByEither(t *testing.T) {
	for _, tc := range []struct {
		flag  bool
		attrs uint32
		want  bool
	}{{false, 0, false}, {true, 0, true}, {false, wire.FileAttributeDirectory, true}} {
		all := append(append([]byte(basicInfo([4]uint64{}, tc.attrs)), standardInfo(0, 0, tc.flag)...), make([]byte, 100-64)...)
		if err := wire.FileAllInformation(all).Validate(); err != nil {
			t.Fatal(err)
		}
		if got := fileInfoFromAll(wire.FileAllInformation(all), "a/b").IsDir; got != tc.want {
			t.Errorf("flag %v attrs %#x: IsDir %v, want %v", tc.flag, tc.attrs, got, tc.want)
		}
	}
}

func TestFileInfoJSONHelpers(t *testing.T) {
	if n := (FileInfo{}).AttributeNames(); n == nil || len(n) != 0 {
		t.Fatalf("no attributes: %#v, want an empty, non-nil slice", n)
	}
	if n := (FileInfo{Attributes: wire.FileAttributeDirectory | wire.FileAttributeReadonly}).AttributeNames(); !slices.Equal(n, []string{"READONLY", "DIRECTORY"}) {
		t.Fatalf("names %q", n)
	}
	if TimeOrNil(time.Time{}) != nil {
		t.Fatal("the zero time must be nil")
	}
	local := time.Date(2024, 5, 6, 9, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	if p := TimeOrNil(local); p == nil || p.Location() != time.UTC || !p.Equal(local) {
		t.Fatalf("TimeOrNil(%v) = %v, want the same instant in UTC", local, p)
	}
}

func TestEntryIn(t *testing.T) {
	if fi := entryIn("", "a"); fi.Name != "a" || fi.Path != "a" {
		t.Fatalf("root entry %+v", fi)
	}
	if fi := entryIn("d/e", "a"); fi.Name != "a" || fi.Path != "d/e/a" {
		t.Fatalf("entry %+v", fi)
	}
}
