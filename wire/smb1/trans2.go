package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// Information levels of TRANS2_FIND_FIRST2/FIND_NEXT2 (MS-CIFS 2.2.2.3.1; MS-SMB 2.2.2.3.1)
// and TRANS2_QUERY_PATH_INFORMATION (MS-CIFS 2.2.2.3.3) that this package decodes.
const (
	InfoFindFileBothDirectory   uint16 = 0x0104 // SMB_FIND_FILE_BOTH_DIRECTORY_INFO
	InfoFindFileIDBothDirectory uint16 = 0x0106 // SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO (MS-SMB)
	InfoQueryFileAllInfo        uint16 = 0x0107 // SMB_QUERY_FILE_ALL_INFO
)

// FIND_FIRST2/FIND_NEXT2 Flags (MS-CIFS 2.2.6.2.1).
const (
	FindCloseAfterRequest uint16 = 0x0001 // SMB_FIND_CLOSE_AFTER_REQUEST
	FindCloseAtEOS        uint16 = 0x0002 // SMB_FIND_CLOSE_AT_EOS
	FindReturnResumeKeys  uint16 = 0x0004 // SMB_FIND_RETURN_RESUME_KEYS
	FindContinueFromLast  uint16 = 0x0008 // SMB_FIND_CONTINUE_FROM_LAST
)

// SearchAttributesAll matches hidden, system and directory entries besides normal files
// (SMB_FILE_ATTRIBUTE_HIDDEN | SYSTEM | DIRECTORY, MS-CIFS 2.2.1.2.4).
const SearchAttributesAll uint16 = 0x0016

// FindFirst2Params are the Trans2_Parameters of TRANS2_FIND_FIRST2 (MS-CIFS 2.2.6.2.1).
// FileName is the search pattern (`dir\*`), UTF-16LE when Unicode; it starts at parameter
// offset 12, which the 4-byte aligned parameter block keeps 2-byte aligned.
type FindFirst2Params struct {
	SearchAttributes  uint16
	SearchCount       uint16
	Flags             uint16
	InformationLevel  uint16
	SearchStorageType uint32
	FileName          string
	Unicode           bool
}

// Size returns the encoded size.
func (p *FindFirst2Params) Size() int { return 12 + stringSize(p.FileName, p.Unicode) }

// AppendTo appends the parameters.
func (p *FindFirst2Params) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint16(dst, p.SearchAttributes)
	dst = le.AppendUint16(dst, p.SearchCount)
	dst = le.AppendUint16(dst, p.Flags)
	dst = le.AppendUint16(dst, p.InformationLevel)
	dst = le.AppendUint32(dst, p.SearchStorageType)
	return appendString(dst, p.FileName, p.Unicode)
}

// FindNext2Params are the Trans2_Parameters of TRANS2_FIND_NEXT2 (MS-CIFS 2.2.6.3.1): the
// search handle, and where to resume: ResumeKey (the FileIndex of the last entry) and FileName
// (its name) with FindContinueFromLast unset, or from where the last call stopped with it set.
type FindNext2Params struct {
	SID              uint16
	SearchCount      uint16
	InformationLevel uint16
	ResumeKey        uint32
	Flags            uint16
	FileName         string
	Unicode          bool
}

// Size returns the encoded size.
func (p *FindNext2Params) Size() int { return 12 + stringSize(p.FileName, p.Unicode) }

// AppendTo appends the parameters.
func (p *FindNext2Params) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint16(dst, p.SID)
	dst = le.AppendUint16(dst, p.SearchCount)
	dst = le.AppendUint16(dst, p.InformationLevel)
	dst = le.AppendUint32(dst, p.ResumeKey)
	dst = le.AppendUint16(dst, p.Flags)
	return appendString(dst, p.FileName, p.Unicode)
}

// FindReplyParams are the Trans2_Parameters of a FIND_FIRST2 reply (MS-CIFS 2.2.6.2.2: SID,
// SearchCount, EndOfSearch, EaErrorOffset, LastNameOffset) or FIND_NEXT2 reply (2.2.6.3.2: the
// same without SID).
type FindReplyParams struct {
	SID            uint16
	SearchCount    uint16
	EndOfSearch    bool
	EaErrorOffset  uint16
	LastNameOffset uint16
}

// DecodeFindReplyParams decodes the reply parameters; first selects the FIND_FIRST2 layout.
func DecodeFindReplyParams(b []byte, first bool, p *FindReplyParams) error {
	le := binary.LittleEndian
	if first {
		if len(b) < 10 {
			return fmt.Errorf("find first2 reply parameters: %d bytes: %w", len(b), wire.ErrShort)
		}
		p.SID = le.Uint16(b)
		b = b[2:]
	} else if len(b) < 8 {
		return fmt.Errorf("find next2 reply parameters: %d bytes: %w", len(b), wire.ErrShort)
	}
	p.SearchCount = le.Uint16(b)
	p.EndOfSearch = le.Uint16(b[2:]) != 0
	p.EaErrorOffset = le.Uint16(b[4:])
	p.LastNameOffset = le.Uint16(b[6:])
	return nil
}

// QueryPathInfoParams are the Trans2_Parameters of TRANS2_QUERY_PATH_INFORMATION (MS-CIFS
// 2.2.6.6.1): InformationLevel, 4 reserved bytes, FileName.
type QueryPathInfoParams struct {
	InformationLevel uint16
	FileName         string
	Unicode          bool
}

// Size returns the encoded size.
func (p *QueryPathInfoParams) Size() int { return 6 + stringSize(p.FileName, p.Unicode) }

// AppendTo appends the parameters.
func (p *QueryPathInfoParams) AppendTo(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, p.InformationLevel)
	dst = append(dst, 0, 0, 0, 0)
	return appendString(dst, p.FileName, p.Unicode)
}

// Fixed sizes of the directory entries (MS-CIFS 2.2.8.1.7; MS-SMB 2.2.8.1.1).
const (
	findBothFixed   = 94
	findIDBothFixed = 104
	// MaxFindNameLen caps the FileNameLength of one entry (a name of at most 255 UTF-16 units
	// plus a surrogate-pair allowance): anything longer is hostile.
	MaxFindNameLen = 1024
)

// FindEntry is one directory entry of SMB_FIND_FILE_BOTH_DIRECTORY_INFO or
// SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO. Name and ShortName are views into the reply data.
type FindEntry struct {
	FileIndex         uint32 // the resume key of this entry for FIND_NEXT2
	CreationTime      uint64
	LastAccessTime    uint64
	LastWriteTime     uint64
	LastChangeTime    uint64
	EndOfFile         uint64
	AllocationSize    uint64
	ExtFileAttributes uint32
	EaSize            uint32
	FileID            uint64 // SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO only
	ShortName         []byte // UTF-16LE
	Name              []byte // raw: UTF-16LE when the reply is Unicode; a trailing NUL is cut
}

// AppendName appends the entry's name as UTF-8 (unicode as the reply's Flags2Unicode).
func (e *FindEntry) AppendName(dst []byte, unicode bool) []byte {
	return AppendString(dst, e.Name, unicode)
}

// FindEntryIter walks the entries of a FIND reply's data (the reassembled Trans2_Data), each
// bounded by its NextEntryOffset (which must move forward by at least the fixed size, so the
// walk ends within len(data)/fixed steps) or the end of the data.
type FindEntryIter struct {
	b       []byte
	level   uint16
	unicode bool
	off     int
	done    bool
	err     error
}

// NewFindEntryIter returns an iterator over data of the given information level;
// unicode tells how names are encoded (the reply's Flags2Unicode).
func NewFindEntryIter(data []byte, level uint16, unicode bool) FindEntryIter {
	it := FindEntryIter{b: data, level: level, unicode: unicode}
	if level != InfoFindFileBothDirectory && level != InfoFindFileIDBothDirectory {
		it.err = fmt.Errorf("find entries: information level 0x%04x not decoded: %w", level, wire.ErrMalformed)
	}
	return it
}

// Next decodes the next entry into e; it returns false at the end or on an error (see Err).
func (it *FindEntryIter) Next(e *FindEntry) bool {
	if it.err != nil || it.done || it.off >= len(it.b) {
		return false
	}
	fixed := findBothFixed
	if it.level == InfoFindFileIDBothDirectory {
		fixed = findIDBothFixed
	}
	b := it.b[it.off:]
	if len(b) < fixed {
		it.err = fmt.Errorf("find entry at %d: %d bytes, need %d: %w", it.off, len(b), fixed, wire.ErrShort)
		return false
	}
	le := binary.LittleEndian
	next := le.Uint32(b)
	span := len(b)
	if next != 0 {
		if next < uint32(fixed) || uint64(next) > uint64(len(b)) {
			it.err = fmt.Errorf("find entry at %d: NextEntryOffset %d: %w", it.off, next, wire.ErrBadOffset)
			return false
		}
		span = int(next)
	}
	nameLen := le.Uint32(b[60:])
	if nameLen > MaxFindNameLen || uint64(fixed)+uint64(nameLen) > uint64(span) {
		it.err = fmt.Errorf("find entry at %d: FileNameLength %d in %d bytes: %w", it.off, nameLen, span, wire.ErrBadOffset)
		return false
	}
	e.FileIndex = le.Uint32(b[4:])
	e.CreationTime = le.Uint64(b[8:])
	e.LastAccessTime = le.Uint64(b[16:])
	e.LastWriteTime = le.Uint64(b[24:])
	e.LastChangeTime = le.Uint64(b[32:])
	e.EndOfFile = le.Uint64(b[40:])
	e.AllocationSize = le.Uint64(b[48:])
	e.ExtFileAttributes = le.Uint32(b[56:])
	e.EaSize = le.Uint32(b[64:])
	sn := int(b[68])
	if sn > 24 {
		sn = 24
	}
	e.ShortName = b[70 : 70+sn : 70+sn]
	e.FileID = 0
	if it.level == InfoFindFileIDBothDirectory {
		e.FileID = le.Uint64(b[96:])
	}
	name := b[fixed : fixed+int(nameLen) : fixed+int(nameLen)]
	e.Name = trimNUL(name, it.unicode)
	if next == 0 {
		it.done = true
	} else {
		it.off += int(next)
	}
	return true
}

// Err returns the error that stopped the walk, nil at a clean end.
func (it *FindEntryIter) Err() error { return it.err }

// trimNUL cuts one trailing terminator that some servers count in a name's length.
func trimNUL(b []byte, unicode bool) []byte {
	if unicode {
		if n := len(b); n >= 2 && b[n-1] == 0 && b[n-2] == 0 {
			return b[: n-2 : n-2]
		}
		return b
	}
	if n := len(b); n >= 1 && b[n-1] == 0 {
		return b[: n-1 : n-1]
	}
	return b
}

// fileAllInfoFixed is the size of SMB_QUERY_FILE_ALL_INFO up to FileName (MS-CIFS 2.2.8.3.10).
const fileAllInfoFixed = 72

// FileAllInfo is the SMB_QUERY_FILE_ALL_INFO data of a QUERY_PATH_INFORMATION reply
// (MS-CIFS 2.2.8.3.10), a view over the reassembled Trans2_Data.
type FileAllInfo []byte

// Validate checks the fixed part and that FileNameLength lies within the data.
func (f FileAllInfo) Validate() error {
	if len(f) < fileAllInfoFixed {
		return fmt.Errorf("file all info: %d bytes: %w", len(f), wire.ErrShort)
	}
	if n := binary.LittleEndian.Uint32(f[68:]); uint64(fileAllInfoFixed)+uint64(n) > uint64(len(f)) {
		return fmt.Errorf("file all info: FileNameLength %d in %d bytes: %w", n, len(f), wire.ErrBadOffset)
	}
	return nil
}

// CreationTime returns the creation FILETIME.
func (f FileAllInfo) CreationTime() uint64 { return binary.LittleEndian.Uint64(f[0:]) }

// LastAccessTime returns the last access FILETIME.
func (f FileAllInfo) LastAccessTime() uint64 { return binary.LittleEndian.Uint64(f[8:]) }

// LastWriteTime returns the last write FILETIME.
func (f FileAllInfo) LastWriteTime() uint64 { return binary.LittleEndian.Uint64(f[16:]) }

// LastChangeTime returns the last change FILETIME.
func (f FileAllInfo) LastChangeTime() uint64 { return binary.LittleEndian.Uint64(f[24:]) }

// ExtFileAttributes returns the attributes.
func (f FileAllInfo) ExtFileAttributes() uint32 { return binary.LittleEndian.Uint32(f[32:]) }

// AllocationSize returns the 64-bit allocation size.
func (f FileAllInfo) AllocationSize() uint64 { return binary.LittleEndian.Uint64(f[40:]) }

// EndOfFile returns the 64-bit size.
func (f FileAllInfo) EndOfFile() uint64 { return binary.LittleEndian.Uint64(f[48:]) }

// NumberOfLinks returns the hard link count.
func (f FileAllInfo) NumberOfLinks() uint32 { return binary.LittleEndian.Uint32(f[56:]) }

// DeletePending reports a pending delete.
func (f FileAllInfo) DeletePending() bool { return f[60] != 0 }

// Directory reports whether the path is a directory.
func (f FileAllInfo) Directory() bool { return f[61] != 0 }

// EaSize returns the size of the extended attributes.
func (f FileAllInfo) EaSize() uint32 { return binary.LittleEndian.Uint32(f[64:]) }

// FileName returns the raw name the server put in the reply, a view.
func (f FileAllInfo) FileName() []byte {
	n := int(binary.LittleEndian.Uint32(f[68:]))
	return f[fileAllInfoFixed : fileAllInfoFixed+n : fileAllInfoFixed+n]
}
