package smb1

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/smbsweep/smbsweep/wire"
)

// HeaderSize is the size of the SMB header (MS-CIFS 2.2.3.1).
const HeaderSize = 32

// CommandNegotiate is the SMB_COM_NEGOTIATE command code (MS-CIFS 2.2.2.1).
const CommandNegotiate byte = 0x72

// Header Flags bits (MS-CIFS 2.2.3.1).
const (
	FlagsLockAndReadOK      byte = 0x01 // SMB_FLAGS_LOCK_AND_READ_OK (obsolete)
	FlagsBufAvail           byte = 0x02 // SMB_FLAGS_BUF_AVAIL (obsolete)
	FlagsCaseInsensitive    byte = 0x08 // SMB_FLAGS_CASE_INSENSITIVE (obsolete)
	FlagsCanonicalizedPaths byte = 0x10 // SMB_FLAGS_CANONICALIZED_PATHS (obsolete)
	FlagsOplock             byte = 0x20 // SMB_FLAGS_OPLOCK (obsolete)
	FlagsOpBatch            byte = 0x40 // SMB_FLAGS_OPBATCH (obsolete)
	FlagsReply              byte = 0x80 // SMB_FLAGS_REPLY: the message is a server response
)

// Header Flags2 bits (MS-CIFS 2.2.3.1; MS-SMB 2.2.3.1 adds REPARSE_PATH and
// SECURITY_SIGNATURE_REQUIRED).
const (
	Flags2LongNames                 uint16 = 0x0001 // SMB_FLAGS2_LONG_NAMES
	Flags2EAs                       uint16 = 0x0002 // SMB_FLAGS2_EAS
	Flags2SecuritySignature         uint16 = 0x0004 // SMB_FLAGS2_SMB_SECURITY_SIGNATURE
	Flags2Compressed                uint16 = 0x0008 // SMB_FLAGS2_COMPRESSED
	Flags2SecuritySignatureRequired uint16 = 0x0010 // SMB_FLAGS2_SMB_SECURITY_SIGNATURE_REQUIRED
	Flags2IsLongName                uint16 = 0x0040 // SMB_FLAGS2_IS_LONG_NAME
	Flags2ReparsePath               uint16 = 0x0400 // SMB_FLAGS2_REPARSE_PATH
	Flags2ExtendedSecurity          uint16 = 0x0800 // SMB_FLAGS2_EXTENDED_SECURITY
	Flags2DFS                       uint16 = 0x1000 // SMB_FLAGS2_DFS
	Flags2PagingIO                  uint16 = 0x2000 // SMB_FLAGS2_PAGING_IO
	Flags2NTStatus                  uint16 = 0x4000 // SMB_FLAGS2_NT_STATUS: Status is a 32-bit NTSTATUS
	Flags2Unicode                   uint16 = 0x8000 // SMB_FLAGS2_UNICODE: strings are UTF-16LE
)

// DOS error classes of the SMB_ERROR form of Status (MS-CIFS 2.2.2.4).
const (
	ErrClassSuccess  byte = 0x00 // SUCCESS
	ErrClassDOS      byte = 0x01 // ERRDOS
	ErrClassServer   byte = 0x02 // ERRSRV
	ErrClassHardware byte = 0x03 // ERRHRD
	ErrClassCommand  byte = 0xff // ERRCMD
)

// Status is the header's 4-byte Status field (MS-CIFS 2.2.3.1), read little-endian. When the
// message's Flags2 has Flags2NTStatus it is an NTSTATUS (MS-ERREF 2.3); otherwise it is an
// SMB_ERROR: ErrorClass (byte 0), Reserved (byte 1), ErrorCode (bytes 2-3). Zero is success in
// both forms.
type Status uint32

// NTStatus returns the field read as an NTSTATUS.
func (s Status) NTStatus() wire.NTStatus { return wire.NTStatus(s) }

// ErrorClass returns the SMB_ERROR ErrorClass byte.
func (s Status) ErrorClass() byte { return byte(s) }

// ErrorCode returns the SMB_ERROR ErrorCode.
func (s Status) ErrorCode() uint16 { return uint16(s >> 16) }

// Err returns nil for success, the wire.NTStatus when ntStatus is set (pass the message's
// Flags2&Flags2NTStatus != 0), and a DOSError otherwise.
func (s Status) Err(ntStatus bool) error {
	switch {
	case s == 0:
		return nil
	case ntStatus:
		return wire.NTStatus(s)
	default:
		return DOSError{Class: s.ErrorClass(), Code: s.ErrorCode()}
	}
}

// AppendText appends a readable form: the MS-ERREF name (or 0xXXXXXXXX) for an NT status, or
// "ERRDOS/0x0002"-style class and code for an SMB_ERROR.
func (s Status) AppendText(dst []byte, ntStatus bool) []byte {
	if ntStatus {
		return append(dst, wire.NTStatus(s).String()...)
	}
	return DOSError{Class: s.ErrorClass(), Code: s.ErrorCode()}.appendText(dst)
}

// DOSError is an SMB_ERROR status (MS-CIFS 2.2.2.4) from a message sent without
// Flags2NTStatus.
type DOSError struct {
	Class byte
	Code  uint16
}

// Error returns the class name and code, e.g. "ERRDOS/0x0002".
func (e DOSError) Error() string { return string(e.appendText(nil)) }

func (e DOSError) appendText(dst []byte) []byte {
	switch e.Class {
	case ErrClassSuccess:
		dst = append(dst, "SUCCESS"...)
	case ErrClassDOS:
		dst = append(dst, "ERRDOS"...)
	case ErrClassServer:
		dst = append(dst, "ERRSRV"...)
	case ErrClassHardware:
		dst = append(dst, "ERRHRD"...)
	case ErrClassCommand:
		dst = append(dst, "ERRCMD"...)
	default:
		dst = append(dst, "ERRCLASS_0x"...)
		dst = appendHex(dst, uint64(e.Class), 2)
	}
	dst = append(dst, "/0x"...)
	return appendHex(dst, uint64(e.Code), 4)
}

// appendHex appends v as lowercase hex, zero-padded to width digits.
func appendHex(dst []byte, v uint64, width int) []byte {
	var buf [16]byte
	s := strconv.AppendUint(buf[:0], v, 16)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// Header is the SMB header (MS-CIFS 2.2.3.1). PIDHigh and PIDLow together form the 32-bit
// process ID; SecurityFeatures holds the message signature once signing is active (zero for
// every message smbsweep sends in SMB1).
type Header struct {
	Command          byte
	Status           Status
	Flags            byte
	Flags2           uint16
	PIDHigh          uint16
	SecurityFeatures [8]byte
	Reserved         uint16
	TID              uint16
	PIDLow           uint16
	UID              uint16
	MID              uint16
}

// Size returns the encoded size of the header.
func (h *Header) Size() int { return HeaderSize }

// AppendTo appends the 32-byte header to dst.
func (h *Header) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, wire.ProtocolSMB1)
	dst = append(dst, h.Command)
	dst = le.AppendUint32(dst, uint32(h.Status))
	dst = append(dst, h.Flags)
	dst = le.AppendUint16(dst, h.Flags2)
	dst = le.AppendUint16(dst, h.PIDHigh)
	dst = append(dst, h.SecurityFeatures[:]...)
	dst = le.AppendUint16(dst, h.Reserved)
	dst = le.AppendUint16(dst, h.TID)
	dst = le.AppendUint16(dst, h.PIDLow)
	dst = le.AppendUint16(dst, h.UID)
	return le.AppendUint16(dst, h.MID)
}

// IsReply reports whether Flags has FlagsReply.
func (h *Header) IsReply() bool { return h.Flags&FlagsReply != 0 }

// UsesNTStatus reports whether Status is an NTSTATUS (Flags2NTStatus) rather than an SMB_ERROR.
func (h *Header) UsesNTStatus() bool { return h.Flags2&Flags2NTStatus != 0 }

// DecodeHeader decodes the SMB header at the start of b into h. It checks the length and the
// protocol identifier only; whether the message is a reply to the expected command is the
// caller's (or a response view's) business.
func DecodeHeader(b []byte, h *Header) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("smb1 header: %d bytes: %w", len(b), wire.ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(b[0:4]); p != wire.ProtocolSMB1 {
		return fmt.Errorf("smb1 header: protocol id %08x: %w", p, wire.ErrBadProtocol)
	}
	h.Command = b[4]
	h.Status = Status(le.Uint32(b[5:9]))
	h.Flags = b[9]
	h.Flags2 = le.Uint16(b[10:12])
	h.PIDHigh = le.Uint16(b[12:14])
	copy(h.SecurityFeatures[:], b[14:22])
	h.Reserved = le.Uint16(b[22:24])
	h.TID = le.Uint16(b[24:26])
	h.PIDLow = le.Uint16(b[26:28])
	h.UID = le.Uint16(b[28:30])
	h.MID = le.Uint16(b[30:32])
	return nil
}
