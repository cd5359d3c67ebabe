package wire

import (
	"encoding/binary"
	"fmt"
)

// Control codes smbsweep sends in IOCTL requests (MS-SMB2 2.2.31; MS-FSCC 2.3).
const (
	FsctlDFSGetReferrals           uint32 = 0x00060194 // FSCTL_DFS_GET_REFERRALS
	FsctlPipeWait                  uint32 = 0x00110018 // FSCTL_PIPE_WAIT
	FsctlPipeTransceive            uint32 = 0x0011c017 // FSCTL_PIPE_TRANSCEIVE
	FsctlQueryNetworkInterfaceInfo uint32 = 0x001401fc // FSCTL_QUERY_NETWORK_INTERFACE_INFO
	FsctlValidateNegotiateInfo     uint32 = 0x00140204 // FSCTL_VALIDATE_NEGOTIATE_INFO
)

// IoctlIsFSCTL is the IOCTL flag SMB2_0_IOCTL_IS_FSCTL (MS-SMB2 2.2.31): the CtlCode is an
// FSCTL rather than an IOCTL. Every control code above is an FSCTL.
const IoctlIsFSCTL uint32 = 0x00000001

// NoFileID returns the FileID of all ones that IOCTL requests not bound to an open handle carry
// (FSCTL_DFS_GET_REFERRALS, FSCTL_VALIDATE_NEGOTIATE_INFO, FSCTL_QUERY_NETWORK_INTERFACE_INFO,
// FSCTL_PIPE_WAIT; MS-SMB2 3.2.4.20).
func NoFileID() FileID { return NewFileID(1<<64-1, 1<<64-1) }

// ioctlRequestFixed is the fixed part of the IOCTL request body; the input follows at
// header-relative offset 64+56 = 120.
const ioctlRequestFixed = 56

// IoctlRequest is the SMB2 IOCTL request (MS-SMB2 2.2.31). Input is appended after the fixed
// body at offset 120; the request carries no output buffer (OutputOffset and OutputCount 0).
type IoctlRequest struct {
	CtlCode           uint32 // e.g. FsctlPipeTransceive
	FileID            FileID // NoFileID() for control codes not bound to a handle
	MaxInputResponse  uint32 // input bytes the server may return (usually 0)
	MaxOutputResponse uint32 // output bytes the server may return, within MaxTransactSize
	Flags             uint32 // IoctlIsFSCTL for an FSCTL
	Input             []byte // cut at MaxRequestPayload
}

// Size returns the encoded size of the request body. Empty input still sends one zero Buffer
// byte (StructureSize 57 counts one).
func (r *IoctlRequest) Size() int { return ioctlRequestFixed + max(len(capPayload(r.Input)), 1) }

// AppendTo appends the request body and the input to dst; it must directly follow the SMB2
// header. With no input, InputOffset and InputCount are both 0.
func (r *IoctlRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	in := capPayload(r.Input)
	dst = le.AppendUint16(dst, 57)
	dst = le.AppendUint16(dst, 0) // Reserved
	dst = le.AppendUint32(dst, r.CtlCode)
	dst = append(dst, r.FileID[:]...)
	if len(in) > 0 {
		dst = le.AppendUint32(dst, HeaderSize+ioctlRequestFixed)
	} else {
		dst = le.AppendUint32(dst, 0)
	}
	dst = le.AppendUint32(dst, uint32(len(in)))
	dst = le.AppendUint32(dst, r.MaxInputResponse)
	dst = le.AppendUint64(dst, 0) // OutputOffset, OutputCount
	dst = le.AppendUint32(dst, r.MaxOutputResponse)
	dst = le.AppendUint32(dst, r.Flags)
	dst = le.AppendUint32(dst, 0) // Reserved2
	if len(in) == 0 {
		return append(dst, 0)
	}
	return append(dst, in...)
}

// ioctlResponseFixed is the fixed part of the IOCTL response body.
const ioctlResponseFixed = 48

// IoctlResponse is the SMB2 IOCTL response (MS-SMB2 2.2.32): a view over the whole message.
//
// Validate accepts an IOCTL body whatever the header's Status, and the caller must check the
// status: FSCTL_PIPE_TRANSCEIVE answered with STATUS_BUFFER_OVERFLOW (0x80000005) carries a
// valid IOCTL body with the first part of the pipe's reply (read the rest with READ), and a
// few failures (e.g. STATUS_INVALID_PARAMETER to a copychunk) also come as IOCTL bodies.
// Most failures come with an ERROR body (2.2.2), which fails Validate with
// ErrBadStructureSize.
type IoctlResponse []byte

// Validate checks the header, the fixed body and the input and output buffers' bounds.
func (r IoctlResponse) Validate() error {
	const what = "ioctl response"
	if err := validateSMB2Response(r, CmdIoctl, 49, ioctlResponseFixed, what); err != nil {
		return err
	}
	le := binary.LittleEndian
	inOff, inN := le.Uint32(r[HeaderSize+24:]), le.Uint32(r[HeaderSize+28:])
	if !smb2BufferInBounds(len(r), uint64(inOff), uint64(inN), HeaderSize+ioctlResponseFixed) {
		return fmt.Errorf("%s: input offset %d count %d in %d bytes: %w", what, inOff, inN, len(r), ErrBadOffset)
	}
	outOff, outN := le.Uint32(r[HeaderSize+32:]), le.Uint32(r[HeaderSize+36:])
	if !smb2BufferInBounds(len(r), uint64(outOff), uint64(outN), HeaderSize+ioctlResponseFixed) {
		return fmt.Errorf("%s: output offset %d count %d in %d bytes: %w", what, outOff, outN, len(r), ErrBadOffset)
	}
	return nil
}

// CtlCode returns the control code the response answers.
func (r IoctlResponse) CtlCode() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize+4:]) }

// FileID returns the handle the response names (all ones for handle-less FSCTLs).
func (r IoctlResponse) FileID() FileID { return FileID(r[HeaderSize+8 : HeaderSize+24]) }

// Flags returns the response flags (reserved: 0).
func (r IoctlResponse) Flags() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize+40:]) }

// Input returns the input bytes the server echoed back, nil if none.
func (r IoctlResponse) Input() []byte { return r.buffer(HeaderSize + 24) }

// Output returns the output bytes, nil if none.
func (r IoctlResponse) Output() []byte { return r.buffer(HeaderSize + 32) }

// buffer returns the buffer whose 32-bit offset and count sit at at and at+4.
func (r IoctlResponse) buffer(at int) []byte {
	le := binary.LittleEndian
	off, n := uint64(le.Uint32(r[at:])), uint64(le.Uint32(r[at+4:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}
