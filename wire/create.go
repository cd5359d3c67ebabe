package wire

import (
	"encoding/binary"
	"fmt"
)

// FileID is an SMB2_FILEID (MS-SMB2 2.2.14.1): Persistent then Volatile, 8 bytes each.
type FileID [16]byte

// Persistent returns the persistent half of the handle.
func (f FileID) Persistent() uint64 { return binary.LittleEndian.Uint64(f[0:8]) }

// Volatile returns the volatile half of the handle.
func (f FileID) Volatile() uint64 { return binary.LittleEndian.Uint64(f[8:16]) }

// NewFileID builds a FileID from its two halves.
func NewFileID(persistent, volatile uint64) FileID {
	var f FileID
	binary.LittleEndian.PutUint64(f[0:8], persistent)
	binary.LittleEndian.PutUint64(f[8:16], volatile)
	return f
}

// Access mask bits (MS-SMB2 2.2.13.1; MS-DTYP 2.4.3). The file and directory names of the low
// bits share values (e.g. AccessListDirectory is AccessReadData).
const (
	AccessReadData        uint32 = 0x00000001
	AccessWriteData       uint32 = 0x00000002
	AccessAppendData      uint32 = 0x00000004
	AccessReadEA          uint32 = 0x00000008
	AccessWriteEA         uint32 = 0x00000010
	AccessExecute         uint32 = 0x00000020
	AccessDeleteChild     uint32 = 0x00000040
	AccessReadAttributes  uint32 = 0x00000080
	AccessWriteAttributes uint32 = 0x00000100
	AccessDelete          uint32 = 0x00010000
	AccessReadControl     uint32 = 0x00020000
	AccessWriteDAC        uint32 = 0x00040000
	AccessWriteOwner      uint32 = 0x00080000
	AccessSynchronize     uint32 = 0x00100000
	AccessSystemSecurity  uint32 = 0x01000000
	AccessMaximumAllowed  uint32 = 0x02000000
	AccessGenericAll      uint32 = 0x10000000
	AccessGenericExecute  uint32 = 0x20000000
	AccessGenericWrite    uint32 = 0x40000000
	AccessGenericRead     uint32 = 0x80000000

	AccessListDirectory   = AccessReadData
	AccessAddFile         = AccessWriteData
	AccessAddSubdirectory = AccessAppendData
	AccessTraverse        = AccessExecute
)

// Share access bits (MS-SMB2 2.2.13).
const (
	FileShareRead   uint32 = 0x00000001
	FileShareWrite  uint32 = 0x00000002
	FileShareDelete uint32 = 0x00000004
)

// Create dispositions (MS-SMB2 2.2.13).
const (
	DispositionSupersede   uint32 = 0x00000000 // FILE_SUPERSEDE
	DispositionOpen        uint32 = 0x00000001 // FILE_OPEN
	DispositionCreate      uint32 = 0x00000002 // FILE_CREATE
	DispositionOpenIf      uint32 = 0x00000003 // FILE_OPEN_IF
	DispositionOverwrite   uint32 = 0x00000004 // FILE_OVERWRITE
	DispositionOverwriteIf uint32 = 0x00000005 // FILE_OVERWRITE_IF
)

// Create options (MS-SMB2 2.2.13).
const (
	CreateOptDirectoryFile           uint32 = 0x00000001
	CreateOptWriteThrough            uint32 = 0x00000002
	CreateOptSequentialOnly          uint32 = 0x00000004
	CreateOptNoIntermediateBuffering uint32 = 0x00000008
	CreateOptSynchronousIOAlert      uint32 = 0x00000010
	CreateOptSynchronousIONonalert   uint32 = 0x00000020
	CreateOptNonDirectoryFile        uint32 = 0x00000040
	CreateOptCompleteIfOplocked      uint32 = 0x00000100
	CreateOptNoEAKnowledge           uint32 = 0x00000200
	CreateOptOpenRemoteInstance      uint32 = 0x00000400
	CreateOptRandomAccess            uint32 = 0x00000800
	CreateOptDeleteOnClose           uint32 = 0x00001000
	CreateOptOpenByFileID            uint32 = 0x00002000
	CreateOptOpenForBackupIntent     uint32 = 0x00004000
	CreateOptNoCompression           uint32 = 0x00008000
	CreateOptOpenRequiringOplock     uint32 = 0x00010000
	CreateOptDisallowExclusive       uint32 = 0x00020000
	CreateOptReserveOpfilter         uint32 = 0x00100000
	CreateOptOpenReparsePoint        uint32 = 0x00200000
	CreateOptOpenNoRecall            uint32 = 0x00400000
	CreateOptOpenForFreeSpaceQuery   uint32 = 0x00800000
)

// Oplock levels (MS-SMB2 2.2.13, 2.2.14).
const (
	OplockLevelNone      uint8 = 0x00
	OplockLevelII        uint8 = 0x01
	OplockLevelExclusive uint8 = 0x08
	OplockLevelBatch     uint8 = 0x09
	OplockLevelLease     uint8 = 0xff
)

// Impersonation levels (MS-SMB2 2.2.13).
const (
	ImpersonationAnonymous      uint32 = 0x00000000
	ImpersonationIdentification uint32 = 0x00000001
	ImpersonationImpersonation  uint32 = 0x00000002
	ImpersonationDelegate       uint32 = 0x00000003
)

// Create actions of the CREATE response (MS-SMB2 2.2.14).
const (
	CreateActionSuperseded  uint32 = 0x00000000
	CreateActionOpened      uint32 = 0x00000001
	CreateActionCreated     uint32 = 0x00000002
	CreateActionOverwritten uint32 = 0x00000003
)

// File attributes (MS-FSCC 2.6).
const (
	FileAttributeReadonly           uint32 = 0x00000001
	FileAttributeHidden             uint32 = 0x00000002
	FileAttributeSystem             uint32 = 0x00000004
	FileAttributeDirectory          uint32 = 0x00000010
	FileAttributeArchive            uint32 = 0x00000020
	FileAttributeNormal             uint32 = 0x00000080
	FileAttributeTemporary          uint32 = 0x00000100
	FileAttributeSparseFile         uint32 = 0x00000200
	FileAttributeReparsePoint       uint32 = 0x00000400
	FileAttributeCompressed         uint32 = 0x00000800
	FileAttributeOffline            uint32 = 0x00001000
	FileAttributeNotContentIndexed  uint32 = 0x00002000
	FileAttributeEncrypted          uint32 = 0x00004000
	FileAttributeIntegrityStream    uint32 = 0x00008000
	FileAttributeNoScrubData        uint32 = 0x00020000
	FileAttributeRecallOnOpen       uint32 = 0x00040000
	FileAttributePinned             uint32 = 0x00080000
	FileAttributeUnpinned           uint32 = 0x00100000
	FileAttributeRecallOnDataAccess uint32 = 0x00400000
)

// createRequestFixed is the fixed part of the CREATE request body; the name follows at
// header-relative offset 64+56 = 120.
const createRequestFixed = 56

// MaxCreateNameBytes caps the UTF-16 size of a CREATE name (its length field is 16 bits); a
// longer name is cut at a character boundary.
const MaxCreateNameBytes = 0xfffe

// CreateRequest is the SMB2 CREATE request (MS-SMB2 2.2.13).
//
// Name is the path relative to the share with backslash separators and no leading backslash;
// "" opens the share's root. CreateContexts, when set, is an already-encoded chain of
// SMB2_CREATE_CONTEXT structures (2.2.13.2) placed 8-byte aligned after the name.
type CreateRequest struct {
	SecurityFlags        uint8 // reserved: 0
	RequestedOplockLevel uint8 // OplockLevel*
	ImpersonationLevel   uint32
	SmbCreateFlags       uint64 // reserved: 0
	DesiredAccess        uint32 // Access* bits
	FileAttributes       uint32 // FileAttribute* bits
	ShareAccess          uint32 // FileShare* bits
	CreateDisposition    uint32 // Disposition*
	CreateOptions        uint32 // CreateOpt* bits
	Name                 string
	CreateContexts       []byte
}

// layout returns the name's encoded length and the body-relative start of the create
// contexts (0 when there are none).
func (r *CreateRequest) layout() (nameLen, ctxAt int) {
	nameLen = smb2UTF16LenCapped(r.Name, MaxCreateNameBytes)
	if len(r.CreateContexts) == 0 {
		return nameLen, 0
	}
	return nameLen, smb2Align8(createRequestFixed + nameLen)
}

// Size returns the encoded size of the request body. An empty name with no create contexts
// still sends one zero Buffer byte: StructureSize 57 counts one byte of Buffer, and servers
// (Samba among them) reject a CREATE whose Buffer is empty.
func (r *CreateRequest) Size() int {
	nameLen, ctxAt := r.layout()
	if ctxAt != 0 {
		return ctxAt + len(r.CreateContexts)
	}
	return createRequestFixed + max(nameLen, 1)
}

// AppendTo appends the request body to dst; it must directly follow the SMB2 header.
func (r *CreateRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	start := len(dst)
	nameLen, ctxAt := r.layout()
	dst = le.AppendUint16(dst, 57)
	dst = append(dst, r.SecurityFlags, r.RequestedOplockLevel)
	dst = le.AppendUint32(dst, r.ImpersonationLevel)
	dst = le.AppendUint64(dst, r.SmbCreateFlags)
	dst = le.AppendUint64(dst, 0) // Reserved
	dst = le.AppendUint32(dst, r.DesiredAccess)
	dst = le.AppendUint32(dst, r.FileAttributes)
	dst = le.AppendUint32(dst, r.ShareAccess)
	dst = le.AppendUint32(dst, r.CreateDisposition)
	dst = le.AppendUint32(dst, r.CreateOptions)
	dst = le.AppendUint16(dst, HeaderSize+createRequestFixed)
	dst = le.AppendUint16(dst, uint16(nameLen))
	if ctxAt != 0 {
		dst = le.AppendUint32(dst, uint32(HeaderSize+ctxAt))
		dst = le.AppendUint32(dst, uint32(len(r.CreateContexts)))
	} else {
		dst = le.AppendUint64(dst, 0) // CreateContextsOffset, CreateContextsLength
	}
	dst = smb2AppendUTF16Capped(dst, r.Name, MaxCreateNameBytes)
	if ctxAt != 0 {
		dst = smb2AppendPad8(dst, start)
		return append(dst, r.CreateContexts...)
	}
	if nameLen == 0 {
		dst = append(dst, 0)
	}
	return dst
}

// createResponseFixed is the fixed part of the CREATE response body.
const createResponseFixed = 88

// CreateResponse is the SMB2 CREATE response (MS-SMB2 2.2.14): a view over the whole message.
// Validate does not look at the header's Status.
type CreateResponse []byte

// Validate checks the header, the fixed body and the create contexts' bounds.
func (r CreateResponse) Validate() error {
	const what = "create response"
	if err := validateSMB2Response(r, CmdCreate, 89, createResponseFixed, what); err != nil {
		return err
	}
	le := binary.LittleEndian
	off, n := le.Uint32(r[HeaderSize+80:]), le.Uint32(r[HeaderSize+84:])
	if !smb2BufferInBounds(len(r), uint64(off), uint64(n), HeaderSize+createResponseFixed) {
		return fmt.Errorf("%s: create contexts offset %d length %d in %d bytes: %w", what, off, n, len(r), ErrBadOffset)
	}
	return nil
}

// OplockLevel returns the oplock granted (OplockLevel*).
func (r CreateResponse) OplockLevel() uint8 { return r[HeaderSize+2] }

// Flags returns the response flags (SMB2_CREATE_FLAG_REPARSEPOINT 0x01, 3.x only).
func (r CreateResponse) Flags() uint8 { return r[HeaderSize+3] }

// CreateAction returns what the server did (CreateAction*).
func (r CreateResponse) CreateAction() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+4:])
}

// CreationTime returns the raw FILETIME (see FiletimeToTime).
func (r CreateResponse) CreationTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+8:])
}

// LastAccessTime returns the raw FILETIME.
func (r CreateResponse) LastAccessTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+16:])
}

// LastWriteTime returns the raw FILETIME.
func (r CreateResponse) LastWriteTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+24:])
}

// ChangeTime returns the raw FILETIME.
func (r CreateResponse) ChangeTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+32:])
}

// AllocationSize returns the bytes allocated to the file.
func (r CreateResponse) AllocationSize() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+40:])
}

// EndOfFile returns the file's size in bytes (the spec's EndofFile), all 64 bits.
func (r CreateResponse) EndOfFile() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+48:])
}

// FileAttributes returns the FileAttribute* bits.
func (r CreateResponse) FileAttributes() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+56:])
}

// FileID returns the handle to use in later requests.
func (r CreateResponse) FileID() FileID {
	return FileID(r[HeaderSize+64 : HeaderSize+80])
}

// CreateContexts returns the raw create context chain (MS-SMB2 2.2.14.2), nil if empty.
func (r CreateResponse) CreateContexts() []byte {
	le := binary.LittleEndian
	off, n := uint64(le.Uint32(r[HeaderSize+80:])), uint64(le.Uint32(r[HeaderSize+84:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}
