package wire

import (
	"encoding/binary"
	"fmt"
)

// QUERY_INFO info types (MS-SMB2 2.2.37).
const (
	InfoFile       uint8 = 0x01 // SMB2_0_INFO_FILE
	InfoFilesystem uint8 = 0x02 // SMB2_0_INFO_FILESYSTEM
	InfoSecurity   uint8 = 0x03 // SMB2_0_INFO_SECURITY
	InfoQuota      uint8 = 0x04 // SMB2_0_INFO_QUOTA
)

// File information classes (MS-FSCC 2.4) that smbsweep queries.
const (
	FileBasicInformationClass          uint8 = 4
	FileStandardInformationClass       uint8 = 5
	FileInternalInformationClass       uint8 = 6
	FileEaInformationClass             uint8 = 7
	FileAllInformationClass            uint8 = 18
	FileNetworkOpenInformationClass    uint8 = 34
	FileAttributeTagInformationClass   uint8 = 35
	FileNormalizedNameInformationClass uint8 = 48
)

// queryInfoRequestFixed is the fixed part of the QUERY_INFO request body; an input buffer
// follows at header-relative offset 64+40.
const queryInfoRequestFixed = 40

// MaxQueryInfoInput caps the input buffer a QueryInfoRequest sends; a longer Input is cut.
const MaxQueryInfoInput = 0xffff

// QueryInfoRequest is the SMB2 QUERY_INFO request (MS-SMB2 2.2.37).
type QueryInfoRequest struct {
	InfoType              uint8 // Info*
	FileInfoClass         uint8 // e.g. FileAllInformationClass
	OutputBufferLength    uint32
	AdditionalInformation uint32
	Flags                 uint32
	FileID                FileID
	Input                 []byte // only for the few classes that take input (e.g. quota)
}

func (r *QueryInfoRequest) input() []byte {
	if len(r.Input) > MaxQueryInfoInput {
		return r.Input[:MaxQueryInfoInput]
	}
	return r.Input
}

// Size returns the encoded size of the request body. An empty input still sends one zero
// Buffer byte (StructureSize 41 counts one).
func (r *QueryInfoRequest) Size() int {
	return queryInfoRequestFixed + max(len(r.input()), 1)
}

// AppendTo appends the request body to dst; it must directly follow the SMB2 header.
// With no input, InputBufferOffset and InputBufferLength are both 0.
func (r *QueryInfoRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	in := r.input()
	dst = le.AppendUint16(dst, 41)
	dst = append(dst, r.InfoType, r.FileInfoClass)
	dst = le.AppendUint32(dst, r.OutputBufferLength)
	if len(in) > 0 {
		dst = le.AppendUint16(dst, HeaderSize+queryInfoRequestFixed)
	} else {
		dst = le.AppendUint16(dst, 0)
	}
	dst = le.AppendUint16(dst, 0) // Reserved
	dst = le.AppendUint32(dst, uint32(len(in)))
	dst = le.AppendUint32(dst, r.AdditionalInformation)
	dst = le.AppendUint32(dst, r.Flags)
	dst = append(dst, r.FileID[:]...)
	if len(in) == 0 {
		return append(dst, 0)
	}
	return append(dst, in...)
}

// queryInfoResponseFixed is the fixed part of the QUERY_INFO response body.
const queryInfoResponseFixed = 8

// QueryInfoResponse is the SMB2 QUERY_INFO response (MS-SMB2 2.2.38): a view over the whole
// message. Validate does not look at the header's Status; STATUS_BUFFER_OVERFLOW comes with a
// valid, truncated output buffer, and an ERROR body (2.2.2) has the same StructureSize (9).
type QueryInfoResponse []byte

// Validate checks the header, the fixed body and the output buffer's bounds.
func (r QueryInfoResponse) Validate() error {
	const what = "query info response"
	if err := validateSMB2Response(r, CmdQueryInfo, 9, queryInfoResponseFixed, what); err != nil {
		return err
	}
	le := binary.LittleEndian
	off, n := le.Uint16(r[HeaderSize+2:]), le.Uint32(r[HeaderSize+4:])
	if !smb2BufferInBounds(len(r), uint64(off), uint64(n), HeaderSize+queryInfoResponseFixed) {
		return fmt.Errorf("%s: output buffer offset %d length %d in %d bytes: %w", what, off, n, len(r), ErrBadOffset)
	}
	return nil
}

// OutputBuffer returns the information returned, nil if empty.
func (r QueryInfoResponse) OutputBuffer() []byte {
	le := binary.LittleEndian
	off, n := uint64(le.Uint16(r[HeaderSize+2:])), uint64(le.Uint32(r[HeaderSize+4:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}

// FileBasicInformation is a view over FILE_BASIC_INFORMATION (MS-FSCC 2.4.7). The trailing
// 4 reserved bytes are not required.
type FileBasicInformation []byte

// fileBasicInformationMin is the size up to and including FileAttributes.
const fileBasicInformationMin = 36

// Validate checks the buffer holds the structure.
func (b FileBasicInformation) Validate() error {
	if len(b) < fileBasicInformationMin {
		return fmt.Errorf("file basic information: %d bytes: %w", len(b), ErrShort)
	}
	return nil
}

// CreationTime returns the raw FILETIME (see FiletimeToTime).
func (b FileBasicInformation) CreationTime() uint64 { return binary.LittleEndian.Uint64(b[0:]) }

// LastAccessTime returns the raw FILETIME.
func (b FileBasicInformation) LastAccessTime() uint64 { return binary.LittleEndian.Uint64(b[8:]) }

// LastWriteTime returns the raw FILETIME.
func (b FileBasicInformation) LastWriteTime() uint64 { return binary.LittleEndian.Uint64(b[16:]) }

// ChangeTime returns the raw FILETIME.
func (b FileBasicInformation) ChangeTime() uint64 { return binary.LittleEndian.Uint64(b[24:]) }

// FileAttributes returns the FileAttribute* bits.
func (b FileBasicInformation) FileAttributes() uint32 { return binary.LittleEndian.Uint32(b[32:]) }

// FileStandardInformation is a view over FILE_STANDARD_INFORMATION (MS-FSCC 2.4.47). The
// trailing 2 reserved bytes are not required.
type FileStandardInformation []byte

// fileStandardInformationMin is the size up to and including Directory.
const fileStandardInformationMin = 22

// Validate checks the buffer holds the structure.
func (b FileStandardInformation) Validate() error {
	if len(b) < fileStandardInformationMin {
		return fmt.Errorf("file standard information: %d bytes: %w", len(b), ErrShort)
	}
	return nil
}

// AllocationSize returns the bytes allocated to the file (a signed LARGE_INTEGER).
func (b FileStandardInformation) AllocationSize() int64 {
	return int64(binary.LittleEndian.Uint64(b[0:]))
}

// EndOfFile returns the file's size in bytes (a signed LARGE_INTEGER).
func (b FileStandardInformation) EndOfFile() int64 { return int64(binary.LittleEndian.Uint64(b[8:])) }

// NumberOfLinks returns the hard link count.
func (b FileStandardInformation) NumberOfLinks() uint32 { return binary.LittleEndian.Uint32(b[16:]) }

// DeletePending reports whether a delete is pending on the file.
func (b FileStandardInformation) DeletePending() bool { return b[20] != 0 }

// Directory reports whether the file is a directory.
func (b FileStandardInformation) Directory() bool { return b[21] != 0 }

// FileAllInformation is a view over FILE_ALL_INFORMATION (MS-FSCC 2.4.2): basic, standard,
// internal, EA, access, position, mode, alignment and name information, back to back.
type FileAllInformation []byte

// fileAllInformationFixed is the size up to the FileName of the embedded
// FILE_NAME_INFORMATION.
const fileAllInformationFixed = 100

// MaxFileNameBytes caps the FileNameLength accepted in FILE_ALL_INFORMATION (the protocol's
// longest path is 32767 UTF-16 characters).
const MaxFileNameBytes = 65534

// Validate checks the fixed part and that FileNameLength is capped and inside the buffer.
// A response truncated by STATUS_BUFFER_OVERFLOW fails with ErrBadOffset: ask for a larger
// OutputBufferLength.
func (b FileAllInformation) Validate() error {
	const what = "file all information"
	if len(b) < fileAllInformationFixed {
		return fmt.Errorf("%s: %d bytes: %w", what, len(b), ErrShort)
	}
	n := binary.LittleEndian.Uint32(b[96:])
	if n > MaxFileNameBytes {
		return fmt.Errorf("%s: file name length %d: %w", what, n, ErrTooLarge)
	}
	if int(n) > len(b)-fileAllInformationFixed {
		return fmt.Errorf("%s: file name length %d in %d bytes: %w", what, n, len(b)-fileAllInformationFixed, ErrBadOffset)
	}
	return nil
}

// Basic returns the embedded FILE_BASIC_INFORMATION (already valid when b is).
func (b FileAllInformation) Basic() FileBasicInformation { return FileBasicInformation(b[0:40:40]) }

// Standard returns the embedded FILE_STANDARD_INFORMATION (already valid when b is).
func (b FileAllInformation) Standard() FileStandardInformation {
	return FileStandardInformation(b[40:64:64])
}

// IndexNumber returns the FILE_INTERNAL_INFORMATION file index number.
func (b FileAllInformation) IndexNumber() uint64 { return binary.LittleEndian.Uint64(b[64:]) }

// EASize returns the FILE_EA_INFORMATION size of the file's extended attributes.
func (b FileAllInformation) EASize() uint32 { return binary.LittleEndian.Uint32(b[72:]) }

// AccessFlags returns the FILE_ACCESS_INFORMATION access mask granted on the handle.
func (b FileAllInformation) AccessFlags() uint32 { return binary.LittleEndian.Uint32(b[76:]) }

// CurrentByteOffset returns the FILE_POSITION_INFORMATION position.
func (b FileAllInformation) CurrentByteOffset() int64 {
	return int64(binary.LittleEndian.Uint64(b[80:]))
}

// Mode returns the FILE_MODE_INFORMATION mode.
func (b FileAllInformation) Mode() uint32 { return binary.LittleEndian.Uint32(b[88:]) }

// AlignmentRequirement returns the FILE_ALIGNMENT_INFORMATION alignment.
func (b FileAllInformation) AlignmentRequirement() uint32 {
	return binary.LittleEndian.Uint32(b[92:])
}

// FileName returns the UTF-16LE name of FILE_NAME_INFORMATION (decode with DecodeUTF16LE).
func (b FileAllInformation) FileName() []byte {
	n := int(binary.LittleEndian.Uint32(b[96:]))
	return b[fileAllInformationFixed : fileAllInformationFixed+n : fileAllInformationFixed+n]
}
