package wire

import "encoding/binary"

// WRITE request flags (MS-SMB2 2.2.21).
const (
	WriteFlagWriteThrough uint32 = 0x00000001 // SMB2_WRITEFLAG_WRITE_THROUGH (2.1 and later)
	WriteFlagUnbuffered   uint32 = 0x00000002 // SMB2_WRITEFLAG_WRITE_UNBUFFERED (3.0.2 and later)
)

// writeRequestFixed is the fixed part of the WRITE request body; the data follows at
// header-relative offset 64+48 = 112.
const writeRequestFixed = 48

// MaxRequestPayload caps the bytes a WRITE, IOCTL or SET_INFO request appends (its data,
// input or buffer): a longer payload is cut, since a message that long could not be framed
// (MaxNetBIOSLength) anyway. Callers stay within the negotiated MaxWriteSize or
// MaxTransactSize, which are far smaller.
const MaxRequestPayload = MaxNetBIOSLength

// capPayload cuts b to MaxRequestPayload.
func capPayload(b []byte) []byte {
	if len(b) > MaxRequestPayload {
		return b[:MaxRequestPayload]
	}
	return b
}

// WriteRequest is the SMB2 WRITE request (MS-SMB2 2.2.21). Data is appended after the fixed
// body at offset 112; no RDMA channel is used (Channel SMB2_CHANNEL_NONE, no WriteChannelInfo).
//
// Offset is where the data goes. The value 0xFFFFFFFFFFFFFFFF is the NT "write to end of file"
// convention, which Windows honours only on a handle opened with FILE_APPEND_DATA but not
// FILE_WRITE_DATA; it is not portable (Samba does not promise it), so callers that append
// compute the end of file themselves (e.g. from the CREATE response's EndOfFile).
type WriteRequest struct {
	Offset         uint64
	FileID         FileID
	RemainingBytes uint32 // a hint of the bytes the client will write next
	Flags          uint32 // WriteFlag* bits
	Data           []byte // at most the negotiated MaxWriteSize; cut at MaxRequestPayload
}

// Size returns the encoded size of the request body. Empty data still sends one zero Buffer
// byte (StructureSize 49 counts one) with Length 0.
func (r *WriteRequest) Size() int { return writeRequestFixed + max(len(capPayload(r.Data)), 1) }

// AppendTo appends the request body and the data to dst; it must directly follow the SMB2
// header.
func (r *WriteRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	data := capPayload(r.Data)
	dst = le.AppendUint16(dst, 49)
	dst = le.AppendUint16(dst, HeaderSize+writeRequestFixed) // DataOffset
	dst = le.AppendUint32(dst, uint32(len(data)))
	dst = le.AppendUint64(dst, r.Offset)
	dst = append(dst, r.FileID[:]...)
	dst = le.AppendUint32(dst, 0) // Channel: SMB2_CHANNEL_NONE
	dst = le.AppendUint32(dst, r.RemainingBytes)
	dst = le.AppendUint32(dst, 0) // WriteChannelInfoOffset, WriteChannelInfoLength
	dst = le.AppendUint32(dst, r.Flags)
	if len(data) == 0 {
		return append(dst, 0)
	}
	return append(dst, data...)
}

// writeResponseSize is the WRITE response body size (StructureSize says 17 regardless).
const writeResponseSize = 16

// WriteResponse is the SMB2 WRITE response (MS-SMB2 2.2.22): a view over the whole message.
// Validate does not look at the header's Status; failures come with an ERROR body (2.2.2),
// which fails Validate with ErrBadStructureSize.
type WriteResponse []byte

// Validate checks the header and the body's size.
func (r WriteResponse) Validate() error {
	return validateSMB2Response(r, CmdWrite, 17, writeResponseSize, "write response")
}

// Count returns the number of bytes written, which may be fewer than were sent.
func (r WriteResponse) Count() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize+4:]) }
