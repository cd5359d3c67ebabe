package daemon

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/wire"
)

// TestFileInfoViews checks the seed API's two forms of a client.FileInfo: the /api/cifs/ls
// entry and the stat fields of /api/smb/stat and /api/cifs/stat.
func TestFileInfoViews(t *testing.T) {
	fi := client.FileInfo{Name: "big.bin", Path: "d/big.bin", Size: 5 << 30, AllocationSize: 5<<30 + 4096,
		Attributes:   wire.FileAttributeArchive | wire.FileAttributeSparseFile,
		CreationTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), LastWriteTime: time.Date(2024, 5, 5, 14, 0, 0, 0, time.FixedZone("", 2*3600))}
	const ls = `{"name":"big.bin","path":"d/big.bin","isDir":false,"size":5368709120,"allocationSize":5368713216,` +
		`"created":"2024-05-01T10:00:00Z","modified":"2024-05-05T12:00:00Z","accessed":null,"changed":null,` +
		`"attributes":544,"attributeNames":["ARCHIVE","SPARSE_FILE"]}`
	if b, _ := json.Marshal(lsEntryOf(fi)); string(b) != ls {
		t.Fatalf("ls entry\n got %s\nwant %s", b, ls)
	}
	const stat = `{"creationTime":"2024-05-01T10:00:00Z","lastAccessTime":null,"lastWriteTime":"2024-05-05T12:00:00Z",` +
		`"changeTime":null,"fileAttributes":"0x0220","isDirectory":false,"size":5368709120,"allocationSize":5368713216,` +
		`"attributes":["ARCHIVE","SPARSE_FILE"]}`
	if b, _ := json.Marshal(statFieldsOf(fi)); string(b) != stat {
		t.Fatalf("stat fields\n got %s\nwant %s", b, stat)
	}
}
