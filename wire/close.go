package wire

import "encoding/binary"

// CloseFlagPostQueryAttrib is the CLOSE flag SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB (MS-SMB2 2.2.15):
// the response then carries the file's final attributes, times and sizes.
const CloseFlagPostQueryAttrib uint16 = 0x0001

// CloseRequest is the SMB2 CLOSE request (MS-SMB2 2.2.15).
type CloseRequest struct {
	Flags  uint16 // CloseFlagPostQueryAttrib or 0
	FileID FileID
}

// closeRequestSize is the CLOSE request body size.
const closeRequestSize = 24

// Size returns the encoded size of the request body.
func (r *CloseRequest) Size() int { return closeRequestSize }

// AppendTo appends the request body to dst.
func (r *CloseRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint16(dst, closeRequestSize)
	dst = le.AppendUint16(dst, r.Flags)
	dst = le.AppendUint32(dst, 0) // Reserved
	return append(dst, r.FileID[:]...)
}

// closeResponseSize is the CLOSE response body size.
const closeResponseSize = 60

// CloseResponse is the SMB2 CLOSE response (MS-SMB2 2.2.16): a view over the whole message.
// The attribute fields are zero unless the response's Flags has CloseFlagPostQueryAttrib.
// Validate does not look at the header's Status.
type CloseResponse []byte

// Validate checks the header and the body's size.
func (r CloseResponse) Validate() error {
	return validateSMB2Response(r, CmdClose, closeResponseSize, closeResponseSize, "close response")
}

// Flags returns the response flags (CloseFlagPostQueryAttrib when the attributes are valid).
func (r CloseResponse) Flags() uint16 { return binary.LittleEndian.Uint16(r[HeaderSize+2:]) }

// CreationTime returns the raw FILETIME (see FiletimeToTime).
func (r CloseResponse) CreationTime() uint64 { return binary.LittleEndian.Uint64(r[HeaderSize+8:]) }

// LastAccessTime returns the raw FILETIME.
func (r CloseResponse) LastAccessTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+16:])
}

// LastWriteTime returns the raw FILETIME.
func (r CloseResponse) LastWriteTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+24:])
}

// ChangeTime returns the raw FILETIME.
func (r CloseResponse) ChangeTime() uint64 { return binary.LittleEndian.Uint64(r[HeaderSize+32:]) }

// AllocationSize returns the bytes allocated to the file.
func (r CloseResponse) AllocationSize() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+40:])
}

// EndOfFile returns the file's size in bytes (the spec's EndofFile).
func (r CloseResponse) EndOfFile() uint64 { return binary.LittleEndian.Uint64(r[HeaderSize+48:]) }

// FileAttributes returns the FileAttribute* bits.
func (r CloseResponse) FileAttributes() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+56:])
}
