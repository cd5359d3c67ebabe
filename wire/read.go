package wire

import (
	"encoding/binary"
	"fmt"
)

// READ request flags (MS-SMB2 2.2.19).
const (
	ReadFlagUnbuffered        uint8 = 0x01 // SMB2_READFLAG_READ_UNBUFFERED (3.0.2 and later)
	ReadFlagRequestCompressed uint8 = 0x02 // SMB2_READFLAG_REQUEST_COMPRESSED (3.1.1)
)

// ReadResponseFlagRDMATransform is the READ response flag SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM
// (MS-SMB2 2.2.20, 3.1.1).
const ReadResponseFlagRDMATransform uint32 = 0x00000001

// readRequestFixed is the fixed part of the READ request body.
const readRequestFixed = 48

// readResponseFixed is the fixed part of the READ response body; the data usually follows at
// header-relative offset 64+16 = 80 (0x50).
const readResponseFixed = 16

// ReadRequest is the SMB2 READ request (MS-SMB2 2.2.19). It asks for the data to be placed at
// offset 0x50 of the response (Padding), uses no RDMA channel (Channel SMB2_CHANNEL_NONE, empty
// ReadChannelInfo) and sends the one zero Buffer byte that StructureSize 49 counts.
type ReadRequest struct {
	Flags          uint8  // ReadFlag* bits; 0 for dialects before 3.0.2
	Length         uint32 // bytes to read, at most the negotiated MaxReadSize
	Offset         uint64
	FileID         FileID
	MinimumCount   uint32 // fewer bytes than this available fails the read
	RemainingBytes uint32 // a hint of the bytes the client will read next
}

// Size returns the encoded size of the request body.
func (r *ReadRequest) Size() int { return readRequestFixed + 1 }

// AppendTo appends the request body to dst.
func (r *ReadRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint16(dst, 49)
	dst = append(dst, HeaderSize+readResponseFixed, r.Flags) // Padding 0x50, Flags
	dst = le.AppendUint32(dst, r.Length)
	dst = le.AppendUint64(dst, r.Offset)
	dst = append(dst, r.FileID[:]...)
	dst = le.AppendUint32(dst, r.MinimumCount)
	dst = le.AppendUint32(dst, 0) // Channel: SMB2_CHANNEL_NONE
	dst = le.AppendUint32(dst, r.RemainingBytes)
	dst = le.AppendUint32(dst, 0) // ReadChannelInfoOffset, ReadChannelInfoLength
	return append(dst, 0)         // Buffer: one byte, no channel info
}

// ReadResponse is the SMB2 READ response (MS-SMB2 2.2.20): a view over the whole message.
// Validate does not look at the header's Status: a message-mode pipe read answered with
// STATUS_BUFFER_OVERFLOW carries a valid READ body with the first part of the message, while
// STATUS_END_OF_FILE and other failures come with an ERROR body (2.2.2), which fails
// Validate with ErrBadStructureSize. The caller checks the status first.
type ReadResponse []byte

// Validate checks the header, the fixed body and that the data lies inside the message.
func (r ReadResponse) Validate() error {
	const what = "read response"
	if err := validateSMB2Response(r, CmdRead, 17, readResponseFixed, what); err != nil {
		return err
	}
	off, n := r[HeaderSize+2], binary.LittleEndian.Uint32(r[HeaderSize+4:])
	if !smb2BufferInBounds(len(r), uint64(off), uint64(n), HeaderSize+readResponseFixed) {
		return fmt.Errorf("%s: data offset %d length %d in %d bytes: %w", what, off, n, len(r), ErrBadOffset)
	}
	return nil
}

// DataOffset returns the header-relative offset of the data (an 8-bit field).
func (r ReadResponse) DataOffset() uint8 { return r[HeaderSize+2] }

// DataLength returns the number of bytes read.
func (r ReadResponse) DataLength() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize+4:]) }

// DataRemaining returns the bytes left to read on the channel (0 without RDMA).
func (r ReadResponse) DataRemaining() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize+8:]) }

// Flags returns the response flags (ReadResponseFlagRDMATransform; reserved before 3.1.1).
func (r ReadResponse) Flags() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize+12:]) }

// Data returns the bytes read, nil if none.
func (r ReadResponse) Data() []byte {
	off, n := uint64(r[HeaderSize+2]), uint64(binary.LittleEndian.Uint32(r[HeaderSize+4:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}
