package wire

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the size of the SMB2 packet header (MS-SMB2 2.2.1).
const HeaderSize = 64

// ProtocolSMB2 is the SMB2 header's ProtocolId, 0xFE 'S' 'M' 'B', read little-endian.
const ProtocolSMB2 uint32 = 0x424d53fe

// ProtocolSMB2Transform is the SMB2 TRANSFORM_HEADER ProtocolId, 0xFD 'S' 'M' 'B' (MS-SMB2 2.2.41).
const ProtocolSMB2Transform uint32 = 0x424d53fd

// ProtocolSMB1 is the SMB1 header's Protocol, 0xFF 'S' 'M' 'B' (MS-CIFS 2.2.3.1).
const ProtocolSMB1 uint32 = 0x424d53ff

// Command is an SMB2 command code (MS-SMB2 2.2.1.2).
type Command uint16

// SMB2 command codes.
const (
	CmdNegotiate      Command = 0x0000
	CmdSessionSetup   Command = 0x0001
	CmdLogoff         Command = 0x0002
	CmdTreeConnect    Command = 0x0003
	CmdTreeDisconnect Command = 0x0004
	CmdCreate         Command = 0x0005
	CmdClose          Command = 0x0006
	CmdFlush          Command = 0x0007
	CmdRead           Command = 0x0008
	CmdWrite          Command = 0x0009
	CmdLock           Command = 0x000a
	CmdIoctl          Command = 0x000b
	CmdCancel         Command = 0x000c
	CmdEcho           Command = 0x000d
	CmdQueryDirectory Command = 0x000e
	CmdChangeNotify   Command = 0x000f
	CmdQueryInfo      Command = 0x0010
	CmdSetInfo        Command = 0x0011
	CmdOplockBreak    Command = 0x0012
)

var commandNames = [...]string{
	"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT", "CREATE", "CLOSE",
	"FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY",
	"CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK",
}

// String returns the command's name as the specification spells it.
func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c]
	}
	return fmt.Sprintf("COMMAND_0x%04x", uint16(c))
}

// Header flags (MS-SMB2 2.2.1.2).
const (
	FlagServerToRedir     uint32 = 0x00000001
	FlagAsyncCommand      uint32 = 0x00000002
	FlagRelatedOperations uint32 = 0x00000004
	FlagSigned            uint32 = 0x00000008
	FlagPriorityMask      uint32 = 0x00000070
	FlagDFSOperations     uint32 = 0x10000000
	FlagReplayOperation   uint32 = 0x20000000
)

// Header is the SMB2 packet header (MS-SMB2 2.2.1). The sync and async forms share one struct:
// when Flags has FlagAsyncCommand, AsyncID is meaningful and TreeID is not.
type Header struct {
	CreditCharge uint16
	// Status is the NT status of a response; in a request it holds ChannelSequence/Reserved.
	Status      NTStatus
	Command     Command
	Credits     uint16 // CreditRequest in a request, CreditResponse in a response.
	Flags       uint32
	NextCommand uint32
	MessageID   uint64
	AsyncID     uint64
	TreeID      uint32
	SessionID   uint64
	Signature   [16]byte
}

// Size returns the encoded size of the header.
func (h *Header) Size() int { return HeaderSize }

// AppendTo appends the 64-byte header to dst.
func (h *Header) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, ProtocolSMB2)
	dst = le.AppendUint16(dst, HeaderSize)
	dst = le.AppendUint16(dst, h.CreditCharge)
	dst = le.AppendUint32(dst, uint32(h.Status))
	dst = le.AppendUint16(dst, uint16(h.Command))
	dst = le.AppendUint16(dst, h.Credits)
	dst = le.AppendUint32(dst, h.Flags)
	dst = le.AppendUint32(dst, h.NextCommand)
	dst = le.AppendUint64(dst, h.MessageID)
	if h.Flags&FlagAsyncCommand != 0 {
		dst = le.AppendUint64(dst, h.AsyncID)
	} else {
		dst = le.AppendUint32(dst, 0) // Reserved
		dst = le.AppendUint32(dst, h.TreeID)
	}
	dst = le.AppendUint64(dst, h.SessionID)
	return append(dst, h.Signature[:]...)
}

// DecodeHeader decodes the SMB2 header at the start of b into h.
func DecodeHeader(b []byte, h *Header) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("smb2 header: %w", ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(b[0:4]); p != ProtocolSMB2 {
		return fmt.Errorf("smb2 header: protocol id %08x: %w", p, ErrBadProtocol)
	}
	if s := le.Uint16(b[4:6]); s != HeaderSize {
		return fmt.Errorf("smb2 header: structure size %d: %w", s, ErrBadStructureSize)
	}
	h.CreditCharge = le.Uint16(b[6:8])
	h.Status = NTStatus(le.Uint32(b[8:12]))
	h.Command = Command(le.Uint16(b[12:14]))
	h.Credits = le.Uint16(b[14:16])
	h.Flags = le.Uint32(b[16:20])
	h.NextCommand = le.Uint32(b[20:24])
	h.MessageID = le.Uint64(b[24:32])
	if h.Flags&FlagAsyncCommand != 0 {
		h.AsyncID = le.Uint64(b[32:40])
		h.TreeID = 0
	} else {
		h.AsyncID = 0
		h.TreeID = le.Uint32(b[36:40])
	}
	h.SessionID = le.Uint64(b[40:48])
	copy(h.Signature[:], b[48:64])
	return nil
}

// ErrorResponse is the SMB2 ERROR response body (MS-SMB2 2.2.2), as a view over a whole message.
type ErrorResponse []byte

// Validate checks the error body's fixed part and its ByteCount.
func (r ErrorResponse) Validate() error {
	if len(r) < HeaderSize+8 {
		return fmt.Errorf("smb2 error response: %w", ErrShort)
	}
	if s := binary.LittleEndian.Uint16(r[HeaderSize:]); s != 9 {
		return fmt.Errorf("smb2 error response: structure size %d: %w", s, ErrBadStructureSize)
	}
	if n := binary.LittleEndian.Uint32(r[HeaderSize+4:]); uint64(n) > uint64(len(r)-HeaderSize-8) {
		return fmt.Errorf("smb2 error response: byte count %d: %w", n, ErrBadOffset)
	}
	return nil
}

// ErrorData returns the error data bytes (empty for most errors).
func (r ErrorResponse) ErrorData() []byte {
	n := binary.LittleEndian.Uint32(r[HeaderSize+4:])
	return r[HeaderSize+8 : HeaderSize+8+int(n)]
}
