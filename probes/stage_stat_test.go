package probes

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/wire"
)

// TestStatFill checks the record a stat renders from its client.FileInfo: after
// FileBasicInformation only the attributes and times, after FileStandardInformation the sizes
// and directory flag too; the FileInfo stays with the record for the API (Stat.Info).
func TestStatFill(t *testing.T) {
	fi := client.FileInfo{Name: "d", Path: "a/d", Attributes: wire.FileAttributeDirectory,
		CreationTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), LastWriteTime: time.Date(2024, 5, 5, 12, 0, 0, 0, time.UTC)}
	st := &Stat{Path: `a\d`, Status: String("STATUS_SUCCESS"), Attributes: []string{}}
	st.fill(fi, false)
	const basicOnly = `{"path":"a\\d","status":"STATUS_SUCCESS","is_directory":null,"size":null,"allocation_size":null,` +
		`"attributes":["DIRECTORY"],"attributes_raw":"0x00000010","creation_time":"2024-05-01T10:00:00Z","last_access_time":null,` +
		`"last_write_time":"2024-05-05T12:00:00Z","change_time":null}`
	if b, _ := json.Marshal(st); string(b) != basicOnly {
		t.Fatalf("after FileBasicInformation\n got %s\nwant %s", b, basicOnly)
	}
	fi.Size, fi.AllocationSize, fi.IsDir = 5<<30, 4096, true
	st.fill(fi, true)
	const full = `{"path":"a\\d","status":"STATUS_SUCCESS","is_directory":true,"size":5368709120,"allocation_size":4096,` +
		`"attributes":["DIRECTORY"],"attributes_raw":"0x00000010","creation_time":"2024-05-01T10:00:00Z","last_access_time":null,` +
		`"last_write_time":"2024-05-05T12:00:00Z","change_time":null}`
	if b, _ := json.Marshal(st); string(b) != full {
		t.Fatalf("after FileStandardInformation\n got %s\nwant %s", b, full)
	}
	if st.Info() != fi {
		t.Fatalf("Info() = %+v, want %+v", st.Info(), fi)
	}
}

// TestFileEntryOf checks the scan record's form of a listed entry.
func TestFileEntryOf(t *testing.T) {
	fi := client.FileInfo{Name: "x.txt", Path: "d/x.txt", Size: 3, AllocationSize: 4096, Attributes: wire.FileAttributeArchive,
		ChangeTime: time.Date(2024, 5, 5, 12, 0, 0, 0, time.FixedZone("", 3600))}
	const want = `{"name":"x.txt","path":"d/x.txt","is_dir":false,"size":3,"attributes":["ARCHIVE"],"creation_time":null,` +
		`"last_access_time":null,"last_write_time":null,"change_time":"2024-05-05T11:00:00Z"}`
	if b, _ := json.Marshal(fileEntryOf(fi)); string(b) != want {
		t.Fatalf("entry\n got %s\nwant %s", b, want)
	}
}
