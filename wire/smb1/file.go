package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// NT_CREATE_ANDX CreateDisposition values (MS-CIFS 2.2.4.64.1).
const (
	FileSupersede   uint32 = 0 // FILE_SUPERSEDE
	FileOpen        uint32 = 1 // FILE_OPEN
	FileCreate      uint32 = 2 // FILE_CREATE
	FileOpenIf      uint32 = 3 // FILE_OPEN_IF
	FileOverwrite   uint32 = 4 // FILE_OVERWRITE
	FileOverwriteIf uint32 = 5 // FILE_OVERWRITE_IF
)

// Share access, create options and impersonation of NT_CREATE_ANDX (MS-CIFS 2.2.4.64.1).
const (
	ShareRead   uint32 = 0x1 // FILE_SHARE_READ
	ShareWrite  uint32 = 0x2 // FILE_SHARE_WRITE
	ShareDelete uint32 = 0x4 // FILE_SHARE_DELETE

	CreateDirectoryFile    uint32 = 0x00000001 // FILE_DIRECTORY_FILE
	CreateNonDirectoryFile uint32 = 0x00000040 // FILE_NON_DIRECTORY_FILE

	ImpersonationImpersonation uint32 = 2 // SEC_IMPERSONATE
)

// ResourceType values of the NT_CREATE_ANDX reply (MS-CIFS 2.2.4.64.2).
const (
	ResourceDisk        uint16 = 0x0000 // FileTypeDisk
	ResourceMessagePipe uint16 = 0x0002 // FileTypeMessageModeNamedPipe
)

const (
	wcNTCreate        = 24
	wcNTCreateReply   = 34
	ntCreateBytesOff  = 1 + 2*wcNTCreate + 2
	wcClose           = 3
	wcReadAndX        = 12 // with OffsetHigh (MS-CIFS 2.2.4.42.1)
	wcReadAndXReply   = 12
	wcWriteAndX       = 14 // with OffsetHigh (MS-CIFS 2.2.4.43.1)
	writeDataOff      = 1 + 2*wcWriteAndX + 2
	wcWriteAndXReply  = 6
	maxWriteAndXCount = 1<<32 - 1
)

// NTCreateRequest is SMB_COM_NT_CREATE_ANDX (MS-CIFS 2.2.4.64.1): open or create FileName
// (relative to the share root, `dir\file.txt`, or a pipe name like `\srvsvc` on IPC$).
// FileName is UTF-16LE when Unicode (the header's Flags2Unicode), after a pad byte that aligns
// it to 2 bytes from the header start.
type NTCreateRequest struct {
	Flags              uint32
	RootDirectoryFID   uint32
	DesiredAccess      uint32
	AllocationSize     uint64
	ExtFileAttributes  uint32
	ShareAccess        uint32
	CreateDisposition  uint32
	CreateOptions      uint32
	ImpersonationLevel uint32
	SecurityFlags      byte
	FileName           string
	Unicode            bool
}

func (r *NTCreateRequest) nameSize() int {
	if r.Unicode {
		return wire.UTF16Len(r.FileName)
	}
	return len(r.FileName)
}

func (r *NTCreateRequest) bytesSize() int {
	n := stringSize(r.FileName, r.Unicode)
	if r.Unicode && (HeaderSize+ntCreateBytesOff)%2 == 1 {
		n++
	}
	return n
}

// Size returns the encoded size of the body.
func (r *NTCreateRequest) Size() int { return ntCreateBytesOff + r.bytesSize() }

// Validate reports whether the name fits NameLength and ByteCount.
func (r *NTCreateRequest) Validate() error {
	if n := r.bytesSize(); n > maxByteCount {
		return fmt.Errorf("nt create request: name of %d bytes: %w", n, wire.ErrTooLarge)
	}
	return nil
}

// AppendTo appends the body (after a Header with CommandNTCreateAndX). NameLength is the size
// of FileName in bytes without its terminator.
func (r *NTCreateRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, wcNTCreate, CommandNoAndX, 0, 0, 0, 0) // WordCount, AndX, Reserved
	dst = le.AppendUint16(dst, uint16(r.nameSize()))
	dst = le.AppendUint32(dst, r.Flags)
	dst = le.AppendUint32(dst, r.RootDirectoryFID)
	dst = le.AppendUint32(dst, r.DesiredAccess)
	dst = le.AppendUint64(dst, r.AllocationSize)
	dst = le.AppendUint32(dst, r.ExtFileAttributes)
	dst = le.AppendUint32(dst, r.ShareAccess)
	dst = le.AppendUint32(dst, r.CreateDisposition)
	dst = le.AppendUint32(dst, r.CreateOptions)
	dst = le.AppendUint32(dst, r.ImpersonationLevel)
	dst = append(dst, r.SecurityFlags)
	dst = le.AppendUint16(dst, uint16(r.bytesSize()))
	if r.Unicode && (HeaderSize+ntCreateBytesOff)%2 == 1 {
		dst = append(dst, 0)
	}
	return appendString(dst, r.FileName, r.Unicode)
}

// NTCreateResponse is the SMB_COM_NT_CREATE_ANDX reply (MS-CIFS 2.2.4.64.2), WordCount 34:
// FID, the create action, the four FILETIMEs, attributes, and the 64-bit AllocationSize and
// EndOfFile. A server may send more words (the MS-SMB 2.2.4.9.2 extended form); only the first
// 34 are read. An error reply has WordCount 0. The extended form is never requested
// (NTCreateRequest.Flags without NT_CREATE_REQUEST_EXTENDED_RESPONSE): Windows answers it with
// a WordCount (42) smaller than the words it sends, which Validate would reject.
type NTCreateResponse []byte

// Validate checks the header, the word count (at least 34, or an error reply), ByteCount and
// AndX.
func (r NTCreateResponse) Validate() error {
	const what = "nt create response"
	g := Reply(r)
	if err := g.validateForm(CommandNTCreateAndX, wcNTCreateReply, what); err != nil {
		return err
	}
	if g.isError(wcNTCreateReply) {
		return g.checkAndX(what)
	}
	return g.checkAndX(what)
}

// Reply returns the generic view.
func (r NTCreateResponse) Reply() Reply { return Reply(r) }

// Err returns nil for success, else the status.
func (r NTCreateResponse) Err() error { return Reply(r).Err() }

// Word offsets (from Words) of the NT_CREATE_ANDX reply fields.
const (
	ntcOplock      = 4
	ntcFID         = 5
	ntcDisposition = 7
	ntcCreate      = 11
	ntcAccess      = 19
	ntcWrite       = 27
	ntcChange      = 35
	ntcAttrs       = 43
	ntcAlloc       = 47
	ntcEOF         = 55
	ntcResource    = 63
	ntcPipeStatus  = 65
	ntcDirectory   = 67
)

// OplockLevel returns the granted oplock level.
func (r NTCreateResponse) OplockLevel() byte { return Reply(r).wordByte(ntcOplock) }

// FID returns the file ID.
func (r NTCreateResponse) FID() uint16 { return Reply(r).word16(ntcFID) }

// CreateAction returns the CreateDisposition field of the reply: what the server did
// (FILE_OPENED 1, FILE_CREATED 2, FILE_OVERWRITTEN 3, FILE_SUPERSEDED 0).
func (r NTCreateResponse) CreateAction() uint32 { return Reply(r).word32(ntcDisposition) }

// CreationTime returns the creation FILETIME.
func (r NTCreateResponse) CreationTime() uint64 { return Reply(r).word64(ntcCreate) }

// LastAccessTime returns the last access FILETIME.
func (r NTCreateResponse) LastAccessTime() uint64 { return Reply(r).word64(ntcAccess) }

// LastWriteTime returns the last write FILETIME.
func (r NTCreateResponse) LastWriteTime() uint64 { return Reply(r).word64(ntcWrite) }

// LastChangeTime returns the last change FILETIME.
func (r NTCreateResponse) LastChangeTime() uint64 { return Reply(r).word64(ntcChange) }

// ExtFileAttributes returns the file attributes (wire.FileAttribute* values).
func (r NTCreateResponse) ExtFileAttributes() uint32 { return Reply(r).word32(ntcAttrs) }

// AllocationSize returns the 64-bit allocation size.
func (r NTCreateResponse) AllocationSize() uint64 { return Reply(r).word64(ntcAlloc) }

// EndOfFile returns the 64-bit file size.
func (r NTCreateResponse) EndOfFile() uint64 { return Reply(r).word64(ntcEOF) }

// ResourceType returns the resource type (ResourceDisk, ResourceMessagePipe, ...).
func (r NTCreateResponse) ResourceType() uint16 { return Reply(r).word16(ntcResource) }

// NMPipeStatus returns the named pipe status bits (pipes only).
func (r NTCreateResponse) NMPipeStatus() uint16 { return Reply(r).word16(ntcPipeStatus) }

// Directory reports whether the opened file is a directory.
func (r NTCreateResponse) Directory() bool { return Reply(r).wordByte(ntcDirectory) != 0 }

// CloseRequest is SMB_COM_CLOSE (MS-CIFS 2.2.4.5.1). LastTimeModified 0 or 0xFFFFFFFF leaves
// the time alone.
type CloseRequest struct {
	FID              uint16
	LastTimeModified uint32
}

// Size returns the encoded size of the body.
func (r *CloseRequest) Size() int { return 1 + 2*wcClose + 2 }

// AppendTo appends the body (after a Header with CommandClose).
func (r *CloseRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, wcClose)
	dst = le.AppendUint16(dst, r.FID)
	dst = le.AppendUint32(dst, r.LastTimeModified)
	return le.AppendUint16(dst, 0)
}

// CloseResponse is the SMB_COM_CLOSE reply (MS-CIFS 2.2.4.5.2): no parameters, no data.
type CloseResponse []byte

// Validate checks the header and the empty SMB_Parameters/SMB_Data blocks' bounds.
func (r CloseResponse) Validate() error {
	if err := Reply(r).ValidateCommand(CommandClose); err != nil {
		return fmt.Errorf("close response: %w", err)
	}
	return nil
}

// Err returns nil for success, else the status.
func (r CloseResponse) Err() error { return Reply(r).Err() }

// ReadAndXRequest is SMB_COM_READ_ANDX (MS-CIFS 2.2.4.42.1) in its 12-word form with
// OffsetHigh (a 64-bit Offset; CAP_LARGE_FILES). Count is split into
// MaxCountOfBytesToReturn (low 16 bits) and MaxCountHigh (MS-SMB 2.2.4.2.1: the Timeout field
// carries the high bits when the server has CAP_LARGE_READX); MinCount is sent equal to the
// low part, as Windows does.
type ReadAndXRequest struct {
	FID    uint16
	Offset uint64
	Count  uint32
}

// Size returns the encoded size of the body.
func (r *ReadAndXRequest) Size() int { return 1 + 2*wcReadAndX + 2 }

// AppendTo appends the body (after a Header with CommandReadAndX).
func (r *ReadAndXRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, wcReadAndX, CommandNoAndX, 0, 0, 0)
	dst = le.AppendUint16(dst, r.FID)
	dst = le.AppendUint32(dst, uint32(r.Offset))
	dst = le.AppendUint16(dst, uint16(r.Count))
	dst = le.AppendUint16(dst, uint16(r.Count))
	dst = le.AppendUint32(dst, r.Count>>16) // Timeout_or_MaxCountHigh
	dst = le.AppendUint16(dst, 0)           // Remaining
	dst = le.AppendUint32(dst, uint32(r.Offset>>32))
	return le.AppendUint16(dst, 0)
}

// ReadAndXResponse is the SMB_COM_READ_ANDX reply (MS-CIFS 2.2.4.42.2; MS-SMB 2.2.4.2.2),
// WordCount 12. The data lies at DataOffset from the header start and is
// DataLength | DataLengthHigh<<16 bytes long; for a read larger than 64 KiB ByteCount cannot
// hold the length, so Validate bounds the data against the message, not ByteCount.
type ReadAndXResponse []byte

// Validate checks the header, the word count, and that the data lies within the message and
// after the parameter block.
func (r ReadAndXResponse) Validate() error {
	const what = "read andx response"
	g := Reply(r)
	if err := g.validateForm(CommandReadAndX, wcReadAndXReply, what); err != nil {
		return err
	}
	if g.isError(wcReadAndXReply) {
		return g.checkAndX(what)
	}
	off, n := int(g.word16(12)), r.DataLength()
	if n > 0 && (off < g.bytesOff() || uint64(off)+uint64(n) > uint64(len(r))) {
		return fmt.Errorf("%s: %d bytes of data at offset %d, message %d bytes: %w", what, n, off, len(r), wire.ErrBadOffset)
	}
	return g.checkAndX(what)
}

// Err returns nil for success, else the status.
func (r ReadAndXResponse) Err() error { return Reply(r).Err() }

// Reply returns the generic view.
func (r ReadAndXResponse) Reply() Reply { return Reply(r) }

// Available returns the Available field (pipes: bytes left to read; -1 for files).
func (r ReadAndXResponse) Available() uint16 { return Reply(r).word16(4) }

// DataLength returns the number of data bytes, DataLengthHigh included.
func (r ReadAndXResponse) DataLength() uint32 {
	if Reply(r).WordCount() < wcReadAndXReply { // an error reply: its words are not checked
		return 0
	}
	return uint32(Reply(r).word16(10)) | uint32(Reply(r).word16(14))<<16
}

// Data returns the data read, a view into r.
func (r ReadAndXResponse) Data() []byte {
	n := int(r.DataLength())
	if n == 0 {
		return nil
	}
	off := int(Reply(r).word16(12))
	return r[off : off+n : off+n]
}

// WriteAndXRequest is SMB_COM_WRITE_ANDX (MS-CIFS 2.2.4.43.1) in its 14-word form with
// OffsetHigh. Data follows the parameters after one pad byte, so DataOffset is 64 from the
// header start; DataLengthHigh carries bits 16-31 of the length (CAP_LARGE_WRITEX).
type WriteAndXRequest struct {
	FID       uint16
	Offset    uint64
	WriteMode uint16 // 0x0001 WritethroughMode; 0x0008 MessageStart for pipes
	Remaining uint16
	Data      []byte
}

// Size returns the encoded size of the body.
func (r *WriteAndXRequest) Size() int { return writeDataOff + 1 + len(r.Data) }

// Validate reports whether the data fits the 32-bit length.
func (r *WriteAndXRequest) Validate() error {
	if uint64(len(r.Data)) > maxWriteAndXCount {
		return fmt.Errorf("write andx request: %d bytes: %w", len(r.Data), wire.ErrTooLarge)
	}
	return nil
}

// AppendTo appends the body and the data (after a Header with CommandWriteAndX).
func (r *WriteAndXRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	n := len(r.Data)
	dst = append(dst, wcWriteAndX, CommandNoAndX, 0, 0, 0)
	dst = le.AppendUint16(dst, r.FID)
	dst = le.AppendUint32(dst, uint32(r.Offset))
	dst = le.AppendUint32(dst, 0) // Timeout
	dst = le.AppendUint16(dst, r.WriteMode)
	dst = le.AppendUint16(dst, r.Remaining)
	dst = le.AppendUint16(dst, uint16(n>>16))
	dst = le.AppendUint16(dst, uint16(n))
	dst = le.AppendUint16(dst, HeaderSize+writeDataOff+1) // DataOffset, after the pad
	dst = le.AppendUint32(dst, uint32(r.Offset>>32))
	bc := n + 1
	if bc > maxByteCount {
		bc = maxByteCount // large write: the length is in DataLength/DataLengthHigh
	}
	dst = le.AppendUint16(dst, uint16(bc))
	dst = append(dst, 0) // Pad
	return append(dst, r.Data...)
}

// WriteAndXResponse is the SMB_COM_WRITE_ANDX reply (MS-CIFS 2.2.4.43.2; MS-SMB 2.2.4.3.2),
// WordCount 6: Count | CountHigh<<16 bytes written.
type WriteAndXResponse []byte

// Validate checks the header, the word count (6, or an error reply) and AndX.
func (r WriteAndXResponse) Validate() error {
	const what = "write andx response"
	g := Reply(r)
	if err := g.validateForm(CommandWriteAndX, wcWriteAndXReply, what); err != nil {
		return err
	}
	if g.isError(wcWriteAndXReply) {
		return g.checkAndX(what)
	}
	return g.checkAndX(what)
}

// Err returns nil for success, else the status.
func (r WriteAndXResponse) Err() error { return Reply(r).Err() }

// Count returns the number of bytes written.
func (r WriteAndXResponse) Count() uint32 {
	return uint32(Reply(r).word16(4)) | uint32(Reply(r).word16(8))<<16
}
