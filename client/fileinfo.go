package client

import (
	"path"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// FileInfo describes a file or directory, from a directory listing or a stat, whichever
// protocol carried it. It is the one type of file metadata in smbsweep: the scan record
// (probes.Stat, probes.FileEntry), the ls/stat JSON of the CLI and the API's file answers are
// each rendered from it by the code that owns that shape.
type FileInfo struct {
	// Name is the last path element ("" for the share root).
	Name string
	// Path is the share-relative path, elements joined by "/".
	Path string
	// Size is EndOfFile in bytes, all 64 bits.
	Size int64
	// AllocationSize is the bytes allocated on disk (smaller than Size for a sparse file).
	AllocationSize int64
	// Attributes are the FileAttribute* bits (MS-FSCC 2.6).
	Attributes uint32
	IsDir      bool
	// The four timestamps; the zero time when the server sent 0.
	CreationTime   time.Time
	LastAccessTime time.Time
	LastWriteTime  time.Time
	ChangeTime     time.Time
}

// AttributeNames returns the names of the attribute bits (wire.FileAttributeNames), an empty
// slice, never nil, when none is set.
func (fi FileInfo) AttributeNames() []string {
	return wire.FileAttributeNames([]string{}, fi.Attributes)
}

// TimeOrNil is the JSON form of a FileInfo time: t in UTC, or nil for the zero time (the
// server sent 0, "not set"), so that it prints null and never 1601.
func TimeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// SetBasic fills the attributes and the four times from FILE_BASIC_INFORMATION (MS-FSCC
// 2.4.7).
func (fi *FileInfo) SetBasic(b wire.FileBasicInformation) {
	fi.Attributes = b.FileAttributes()
	fi.setTimes(b.CreationTime(), b.LastAccessTime(), b.LastWriteTime(), b.ChangeTime())
}

// SetStandard fills the sizes and the directory flag from FILE_STANDARD_INFORMATION (MS-FSCC
// 2.4.41).
func (fi *FileInfo) SetStandard(s wire.FileStandardInformation) {
	fi.Size, fi.AllocationSize, fi.IsDir = s.EndOfFile(), s.AllocationSize(), s.Directory()
}

// setTimes sets the four times from FILETIMEs; 0 and out-of-range values are the zero time.
func (fi *FileInfo) setTimes(creation, lastAccess, lastWrite, change uint64) {
	fi.CreationTime, fi.LastAccessTime = timeOf(creation), timeOf(lastAccess)
	fi.LastWriteTime, fi.ChangeTime = timeOf(lastWrite), timeOf(change)
}

// FileInfoAt starts the FileInfo of a stat of path p: its clean path (CleanPath), and its
// name unless p is the share root.
func FileInfoAt(p string) FileInfo {
	fi := FileInfo{Path: CleanPath(p)}
	if fi.Path != "" {
		fi.Name = path.Base(fi.Path)
	}
	return fi
}

// entryIn starts the FileInfo of the entry name listed in the clean directory dir.
func entryIn(dir, name string) FileInfo {
	if dir == "" {
		return FileInfo{Name: name, Path: name}
	}
	return FileInfo{Name: name, Path: dir + "/" + name}
}

// dirByEither reports a directory as the server's stat does: by its directory flag or by its
// FILE_ATTRIBUTE_DIRECTORY bit.
func dirByEither(flag bool, attributes uint32) bool {
	return flag || attributes&wire.FileAttributeDirectory != 0
}
