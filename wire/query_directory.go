package wire

import (
	"encoding/binary"
	"fmt"
)

// QUERY_DIRECTORY flags (MS-SMB2 2.2.33).
const (
	QueryDirRestartScans      uint8 = 0x01 // SMB2_RESTART_SCANS
	QueryDirReturnSingleEntry uint8 = 0x02 // SMB2_RETURN_SINGLE_ENTRY
	QueryDirIndexSpecified    uint8 = 0x04 // SMB2_INDEX_SPECIFIED
	QueryDirReopen            uint8 = 0x10 // SMB2_REOPEN
)

// Directory information classes (MS-FSCC 2.4) that DirectoryIterator decodes.
const (
	FileDirectoryInformationClass       uint8 = 1
	FileFullDirectoryInformationClass   uint8 = 2
	FileBothDirectoryInformationClass   uint8 = 3
	FileNamesInformationClass           uint8 = 12
	FileIDBothDirectoryInformationClass uint8 = 37
	FileIDFullDirectoryInformationClass uint8 = 38
)

// queryDirectoryRequestFixed is the fixed part of the QUERY_DIRECTORY request body; the search
// pattern follows at header-relative offset 64+32 = 96.
const queryDirectoryRequestFixed = 32

// MaxQueryDirectoryPatternBytes caps the UTF-16 size of a search pattern (its length field is
// 16 bits); a longer pattern is cut at a character boundary.
const MaxQueryDirectoryPatternBytes = 0xfffe

// QueryDirectoryRequest is the SMB2 QUERY_DIRECTORY request (MS-SMB2 2.2.33).
//
// FileName is the search pattern, usually "*"; wildcards follow MS-FSA 2.1.4.4. The handle
// must be a directory opened with AccessListDirectory.
type QueryDirectoryRequest struct {
	FileInformationClass uint8 // e.g. FileIDBothDirectoryInformationClass
	Flags                uint8 // QueryDir* bits
	FileIndex            uint32
	FileID               FileID
	FileName             string
	OutputBufferLength   uint32
}

// Size returns the encoded size of the request body. An empty pattern still sends one zero
// Buffer byte (StructureSize 33 counts one).
func (r *QueryDirectoryRequest) Size() int {
	return queryDirectoryRequestFixed + max(smb2UTF16LenCapped(r.FileName, MaxQueryDirectoryPatternBytes), 1)
}

// AppendTo appends the request body to dst; it must directly follow the SMB2 header. With an
// empty pattern FileNameOffset and FileNameLength are both 0.
func (r *QueryDirectoryRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	nameLen := smb2UTF16LenCapped(r.FileName, MaxQueryDirectoryPatternBytes)
	dst = le.AppendUint16(dst, 33)
	dst = append(dst, r.FileInformationClass, r.Flags)
	dst = le.AppendUint32(dst, r.FileIndex)
	dst = append(dst, r.FileID[:]...)
	if nameLen > 0 {
		dst = le.AppendUint16(dst, HeaderSize+queryDirectoryRequestFixed)
	} else {
		dst = le.AppendUint16(dst, 0)
	}
	dst = le.AppendUint16(dst, uint16(nameLen))
	dst = le.AppendUint32(dst, r.OutputBufferLength)
	if nameLen == 0 {
		return append(dst, 0)
	}
	return smb2AppendUTF16Capped(dst, r.FileName, MaxQueryDirectoryPatternBytes)
}

// queryDirectoryResponseFixed is the fixed part of the QUERY_DIRECTORY response body.
const queryDirectoryResponseFixed = 8

// QueryDirectoryResponse is the SMB2 QUERY_DIRECTORY response (MS-SMB2 2.2.34): a view over
// the whole message. Validate does not look at the header's Status: the end of a listing comes
// as STATUS_NO_MORE_FILES with an ERROR body (2.2.2), whose StructureSize (9) is the same, so
// the caller checks the status first.
type QueryDirectoryResponse []byte

// Validate checks the header, the fixed body and the output buffer's bounds. The entries
// themselves are checked one by one as a DirectoryIterator reaches them.
func (r QueryDirectoryResponse) Validate() error {
	const what = "query directory response"
	if err := validateSMB2Response(r, CmdQueryDirectory, 9, queryDirectoryResponseFixed, what); err != nil {
		return err
	}
	le := binary.LittleEndian
	off, n := le.Uint16(r[HeaderSize+2:]), le.Uint32(r[HeaderSize+4:])
	if !smb2BufferInBounds(len(r), uint64(off), uint64(n), HeaderSize+queryDirectoryResponseFixed) {
		return fmt.Errorf("%s: output buffer offset %d length %d in %d bytes: %w", what, off, n, len(r), ErrBadOffset)
	}
	return nil
}

// OutputBuffer returns the directory entries' bytes, nil if empty.
func (r QueryDirectoryResponse) OutputBuffer() []byte {
	le := binary.LittleEndian
	off, n := uint64(le.Uint16(r[HeaderSize+2:])), uint64(le.Uint32(r[HeaderSize+4:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}

// Entries returns an iterator over the output buffer's entries, which must be of the class
// the request asked for.
func (r QueryDirectoryResponse) Entries(class uint8) DirectoryIterator {
	return NewDirectoryIterator(r.OutputBuffer(), class)
}

// MaxDirectoryEntries caps the entries a DirectoryIterator yields from one output buffer.
// Each entry must advance past the previous one, so iteration ends anyway; the cap bounds the
// work a hostile buffer of tiny entries can cause.
const MaxDirectoryEntries = 65536

// MaxShortNameBytes is the size of the ShortName field (12 UTF-16 characters, 8.3 format).
const MaxShortNameBytes = 24

// DirectoryEntry is one entry of a directory listing, filled by DirectoryIterator.Next. The
// fields a class does not carry are zero. The byte slices are UTF-16LE views into the output
// buffer (decode with DecodeUTF16LE), valid while the buffer is.
type DirectoryEntry struct {
	FileIndex      uint32
	CreationTime   uint64 // raw FILETIME (see FiletimeToTime)
	LastAccessTime uint64
	LastWriteTime  uint64
	ChangeTime     uint64
	EndOfFile      int64 // signed LARGE_INTEGER, all 64 bits
	AllocationSize int64
	FileAttributes uint32 // FileAttribute* bits
	EASize         uint32 // EaSize; for a reparse point it holds the reparse tag instead
	ShortName      []byte // 8.3 name, at most MaxShortNameBytes
	FileID         uint64 // the file's 64-bit FileId (not an SMB2 handle)
	FileName       []byte
}

// dirLayout describes where one information class keeps its fields; 0 marks an absent field
// (no field of interest sits at offset 0, which is NextEntryOffset).
type dirLayout struct {
	fixed     int // offset of FileName
	nameLenAt int
	times     bool // FileIndex is at 4 for every class; times, sizes, attributes at 8..60
	eaSizeAt  int
	shortAt   int // offset of ShortNameLength; ShortName follows 2 bytes later
	fileIDAt  int
}

// dirLayoutOf returns the layout of a directory information class (MS-FSCC 2.4).
func dirLayoutOf(class uint8) (dirLayout, bool) {
	switch class {
	case FileDirectoryInformationClass: // 2.4.10
		return dirLayout{fixed: 64, nameLenAt: 60, times: true}, true
	case FileFullDirectoryInformationClass: // 2.4.14
		return dirLayout{fixed: 68, nameLenAt: 60, times: true, eaSizeAt: 64}, true
	case FileBothDirectoryInformationClass: // 2.4.8
		return dirLayout{fixed: 94, nameLenAt: 60, times: true, eaSizeAt: 64, shortAt: 68}, true
	case FileNamesInformationClass: // 2.4.32
		return dirLayout{fixed: 12, nameLenAt: 8}, true
	case FileIDBothDirectoryInformationClass: // 2.4.17
		return dirLayout{fixed: 104, nameLenAt: 60, times: true, eaSizeAt: 64, shortAt: 68, fileIDAt: 96}, true
	case FileIDFullDirectoryInformationClass: // 2.4.18
		return dirLayout{fixed: 80, nameLenAt: 60, times: true, eaSizeAt: 64, fileIDAt: 72}, true
	}
	return dirLayout{}, false
}

// DirectoryIterator walks the NextEntryOffset chain of a directory listing (MS-FSCC 2.4) and
// decodes each entry into a caller's DirectoryEntry without allocating:
//
//	it := resp.Entries(wire.FileIDBothDirectoryInformationClass)
//	var e wire.DirectoryEntry
//	for it.Next(&e) {
//		name := wire.DecodeUTF16LE(e.FileName)
//	}
//	if err := it.Err(); err != nil { ... }
//
// Every entry is checked before it is returned: its fixed part and FileNameLength lie inside
// the buffer, ShortNameLength is at most 24, and a non-zero NextEntryOffset moves past the
// entry's name and stays inside the buffer. The spec's 8-byte alignment of entries is not
// required. An empty buffer has no entries and no error.
type DirectoryIterator struct {
	buf    []byte
	layout dirLayout
	off    int // offset of the next entry
	count  int
	done   bool
	err    error
}

// NewDirectoryIterator returns an iterator over buf, an output buffer of the given directory
// information class. An unsupported class makes the first Next fail with ErrMalformed.
func NewDirectoryIterator(buf []byte, class uint8) DirectoryIterator {
	l, ok := dirLayoutOf(class)
	it := DirectoryIterator{buf: buf, layout: l, done: len(buf) == 0}
	if !ok {
		it.err = fmt.Errorf("directory listing: information class %d: %w", class, ErrMalformed)
	}
	return it
}

// Err returns the error that stopped the iteration, nil if it ran to the end of the chain.
func (it *DirectoryIterator) Err() error { return it.err }

// Next decodes the next entry into e and reports whether there was one. It returns false at
// the end of the chain or on an error (see Err); e is then left untouched.
func (it *DirectoryIterator) Next(e *DirectoryEntry) bool {
	if it.done || it.err != nil {
		return false
	}
	if it.count >= MaxDirectoryEntries {
		it.err = fmt.Errorf("directory listing: more than %d entries: %w", MaxDirectoryEntries, ErrTooLarge)
		return false
	}
	b := it.buf[it.off:]
	end, shortLen, next, err := it.bounds(b)
	if err != nil {
		it.err = err
		return false
	}
	it.layout.decode(e, b, end, shortLen)
	it.count++
	if next == 0 {
		it.done = true
	} else {
		it.off += int(next)
	}
	return true
}

// bounds checks the entry at the start of b: its fixed part, its names and its link to the
// next entry. It returns where the file name ends, the short name's length and the offset of
// the next entry (0 for the last).
func (it *DirectoryIterator) bounds(b []byte) (end, shortLen int, next uint32, err error) {
	le := binary.LittleEndian
	l := &it.layout
	if len(b) < l.fixed {
		return 0, 0, 0, fmt.Errorf("directory listing: entry %d at %d: %d bytes, need %d: %w", it.count, it.off, len(b), l.fixed, ErrShort)
	}
	nameLen := le.Uint32(b[l.nameLenAt:])
	if nameLen > MaxFileNameBytes {
		return 0, 0, 0, fmt.Errorf("directory listing: entry %d: file name length %d: %w", it.count, nameLen, ErrTooLarge)
	}
	end = l.fixed + int(nameLen)
	if end > len(b) {
		return 0, 0, 0, fmt.Errorf("directory listing: entry %d: file name length %d in %d bytes: %w", it.count, nameLen, len(b)-l.fixed, ErrBadOffset)
	}
	if l.shortAt != 0 {
		shortLen = int(b[l.shortAt])
		if shortLen > MaxShortNameBytes {
			return 0, 0, 0, fmt.Errorf("directory listing: entry %d: short name length %d: %w", it.count, shortLen, ErrMalformed)
		}
	}
	next = le.Uint32(b[0:])
	if next != 0 {
		if uint64(next) < uint64(end) {
			return 0, 0, 0, fmt.Errorf("directory listing: entry %d: next entry offset %d inside the %d-byte entry: %w", it.count, next, end, ErrBadOffset)
		}
		if uint64(next) >= uint64(len(b)) {
			return 0, 0, 0, fmt.Errorf("directory listing: entry %d: next entry offset %d past %d bytes: %w", it.count, next, len(b), ErrBadOffset)
		}
	}
	return end, shortLen, next, nil
}

// decode fills e from the entry b, whose bounds were checked.
func (l *dirLayout) decode(e *DirectoryEntry, b []byte, end, shortLen int) {
	le := binary.LittleEndian
	*e = DirectoryEntry{FileIndex: le.Uint32(b[4:])}
	if l.times {
		e.CreationTime = le.Uint64(b[8:])
		e.LastAccessTime = le.Uint64(b[16:])
		e.LastWriteTime = le.Uint64(b[24:])
		e.ChangeTime = le.Uint64(b[32:])
		e.EndOfFile = int64(le.Uint64(b[40:]))
		e.AllocationSize = int64(le.Uint64(b[48:]))
		e.FileAttributes = le.Uint32(b[56:])
	}
	if l.eaSizeAt != 0 {
		e.EASize = le.Uint32(b[l.eaSizeAt:])
	}
	if l.shortAt != 0 {
		s := l.shortAt + 2
		e.ShortName = b[s : s+shortLen : s+shortLen]
	}
	if l.fileIDAt != 0 {
		e.FileID = le.Uint64(b[l.fileIDAt:])
	}
	e.FileName = b[l.fixed:end:end]
}
