package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// SMB1 command codes (MS-CIFS 2.2.2.1) of the session layer beyond NEGOTIATE.
const (
	CommandClose                 byte = 0x04 // SMB_COM_CLOSE
	CommandTransaction           byte = 0x25 // SMB_COM_TRANSACTION
	CommandReadAndX              byte = 0x2e // SMB_COM_READ_ANDX
	CommandWriteAndX             byte = 0x2f // SMB_COM_WRITE_ANDX
	CommandTransaction2          byte = 0x32 // SMB_COM_TRANSACTION2
	CommandFindClose2            byte = 0x34 // SMB_COM_FIND_CLOSE2
	CommandTreeDisconnect        byte = 0x71 // SMB_COM_TREE_DISCONNECT
	CommandSessionSetupAndX      byte = 0x73 // SMB_COM_SESSION_SETUP_ANDX
	CommandLogoffAndX            byte = 0x74 // SMB_COM_LOGOFF_ANDX
	CommandTreeConnectAndX       byte = 0x75 // SMB_COM_TREE_CONNECT_ANDX
	CommandNTCreateAndX          byte = 0xa2 // SMB_COM_NT_CREATE_ANDX
	CommandNoAndX                byte = 0xff // SMB_COM_NO_ANDX_COMMAND: end of an AndX chain
	offWords                          = HeaderSize + 1
	andXSize                          = 4 // AndXCommand, AndXReserved, AndXOffset
	maxWordCount                      = 0xff
	statusMoreProcessingRequired      = 0xc0000016
)

// Reply is the generic view of an SMB1 reply (MS-CIFS 2.2.3): header, SMB_Parameters
// (WordCount and the words) and SMB_Data (ByteCount and the bytes) of the first command of the
// message. Every typed response of this package is a Reply underneath; Reply is also how a
// caller reads the status of a reply of any command (an error reply has no parameters).
//
// Validate checks the protocol identifier, the command, the reply flag and that WordCount and
// ByteCount lie within the message. Only the first command of an AndX chain is read: bytes
// after its SMB_Data (a chained reply) are ignored, and AndXOffset is checked only by the typed
// responses that carry one (see checkAndX).
type Reply []byte

// ValidateCommand checks r as a reply to cmd; see Reply.
func (r Reply) ValidateCommand(cmd byte) error {
	if len(r) < offWords {
		return fmt.Errorf("smb1 reply: %d bytes: %w", len(r), wire.ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(r[0:4]); p != wire.ProtocolSMB1 {
		return fmt.Errorf("smb1 reply: protocol id %08x: %w", p, wire.ErrBadProtocol)
	}
	if c := r[offCommand]; c != cmd {
		return fmt.Errorf("smb1 reply: command 0x%02x, want 0x%02x: %w", c, cmd, wire.ErrBadCommand)
	}
	if r[offFlags]&FlagsReply == 0 {
		return fmt.Errorf("smb1 reply to 0x%02x: reply flag not set: %w", cmd, wire.ErrMalformed)
	}
	bcOff := offWords + 2*int(r[offWordCount])
	if len(r) < bcOff+2 {
		return fmt.Errorf("smb1 reply to 0x%02x: word count %d needs %d bytes, have %d: %w",
			cmd, r[offWordCount], bcOff+2, len(r), wire.ErrShort)
	}
	if bc := int(le.Uint16(r[bcOff:])); bcOff+2+bc > len(r) {
		return fmt.Errorf("smb1 reply to 0x%02x: byte count %d at offset %d past end %d: %w",
			cmd, bc, bcOff, len(r), wire.ErrBadOffset)
	}
	return nil
}

// Command returns the header's command code.
func (r Reply) Command() byte { return r[offCommand] }

// Status returns the header's Status field; read it as an NT status when UsesNTStatus.
func (r Reply) Status() Status { return Status(binary.LittleEndian.Uint32(r[offStatus:])) }

// Flags2 returns the header's Flags2.
func (r Reply) Flags2() uint16 { return binary.LittleEndian.Uint16(r[offFlags2:]) }

// UsesNTStatus reports whether Status is a 32-bit NT status (Flags2NTStatus).
func (r Reply) UsesNTStatus() bool { return r.Flags2()&Flags2NTStatus != 0 }

// Unicode reports whether the reply's strings are UTF-16LE (Flags2Unicode in the reply's own
// header, MS-CIFS 2.2.3.1); otherwise they are OEM strings.
func (r Reply) Unicode() bool { return r.Flags2()&Flags2Unicode != 0 }

// Err returns nil when Status is success, else the status as a wire.NTStatus or a DOSError.
func (r Reply) Err() error { return r.Status().Err(r.UsesNTStatus()) }

// TID returns the header's tree ID.
func (r Reply) TID() uint16 { return binary.LittleEndian.Uint16(r[24:]) }

// UID returns the header's user (session) ID.
func (r Reply) UID() uint16 { return binary.LittleEndian.Uint16(r[28:]) }

// MID returns the header's multiplex ID.
func (r Reply) MID() uint16 { return binary.LittleEndian.Uint16(r[30:]) }

// WordCount returns SMB_Parameters.WordCount.
func (r Reply) WordCount() int { return int(r[offWordCount]) }

// Words returns SMB_Parameters.Words (2*WordCount bytes), a view into r.
func (r Reply) Words() []byte {
	end := offWords + 2*r.WordCount()
	return r[offWords:end:end]
}

// bytesOff returns the offset of SMB_Data.Bytes from the start of the header.
func (r Reply) bytesOff() int { return offWords + 2*r.WordCount() + 2 }

// Bytes returns SMB_Data.Bytes (ByteCount bytes), a view into r.
func (r Reply) Bytes() []byte {
	off := r.bytesOff()
	end := off + int(binary.LittleEndian.Uint16(r[off-2:]))
	return r[off:end:end]
}

// isError reports whether r is an error reply without the parameters of the success form:
// non-zero Status and fewer words than want. Such replies are valid (the status says why) and
// their accessors return zero values.
func (r Reply) isError(want int) bool { return r.Status() != 0 && r.WordCount() < want }

// validateForm checks r as a reply to cmd with at least want parameter words; an error reply
// with fewer words is accepted. what names the response in errors.
func (r Reply) validateForm(cmd byte, want int, what string) error {
	if err := r.ValidateCommand(cmd); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if r.WordCount() < want && r.Status() == 0 {
		return fmt.Errorf("%s: word count %d, want %d: %w", what, r.WordCount(), want, wire.ErrBadStructureSize)
	}
	return nil
}

// word16 returns parameter word bytes at off (relative to Words) as uint16, 0 when absent.
func (r Reply) word16(off int) uint16 {
	if off+2 > 2*r.WordCount() {
		return 0
	}
	return binary.LittleEndian.Uint16(r[offWords+off:])
}

func (r Reply) word32(off int) uint32 {
	if off+4 > 2*r.WordCount() {
		return 0
	}
	return binary.LittleEndian.Uint32(r[offWords+off:])
}

func (r Reply) word64(off int) uint64 {
	if off+8 > 2*r.WordCount() {
		return 0
	}
	return binary.LittleEndian.Uint64(r[offWords+off:])
}

func (r Reply) wordByte(off int) byte {
	if off >= 2*r.WordCount() {
		return 0
	}
	return r[offWords+off]
}

// AndXCommand returns the command of the next block in an AndX chain (CommandNoAndX at the
// end of a chain, and for replies without an AndX header). It is meaningful only for the AndX
// commands (SESSION_SETUP_ANDX, TREE_CONNECT_ANDX, NT_CREATE_ANDX, READ_ANDX, WRITE_ANDX),
// whose Validate bounds it.
func (r Reply) AndXCommand() byte {
	if r.WordCount() < 2 {
		return CommandNoAndX
	}
	return r[offWords]
}

// AndXOffset returns the offset of the next block from the start of the header (0 without an
// AndX header).
func (r Reply) AndXOffset() uint16 { return r.word16(2) }

// checkAndX bounds the AndX header of an AndX reply (MS-CIFS 2.2.3.4): when another command
// follows, its block must start after this one's SMB_Data (a chain never points backwards or
// at itself, so following it cannot loop) and its WordCount byte must lie in the message.
func (r Reply) checkAndX(what string) error {
	if r.WordCount() < 2 || r.AndXCommand() == CommandNoAndX {
		return nil
	}
	off := int(r.AndXOffset())
	end := r.bytesOff() + len(r.Bytes())
	if off < end || off >= len(r) {
		return fmt.Errorf("%s: AndXOffset %d outside [%d, %d): %w", what, off, end, len(r), wire.ErrBadOffset)
	}
	return nil
}

// stringAt returns the raw SMB string starting at off (from the header start) and the offset
// after it and its terminator; a string without a terminator runs to end, and a start at or
// past end yields nil.
//
// Unicode strings in SMB_Data are nominally 16-bit aligned from the header start (MS-CIFS
// 2.2.1.1), but servers differ: Samba pads the strings of a SESSION_SETUP_ANDX reply and not
// the NativeFileSystem of a TREE_CONNECT_ANDX reply, which follows an odd-length OEM Service.
// Since what follows off is whole UTF-16 units, an odd number of bytes left at an odd offset
// means a pad byte is there, and it is skipped; otherwise the string starts at off.
func stringAt(b []byte, off, end int, unicode bool) (s []byte, next int) {
	if end > len(b) {
		end = len(b)
	}
	if unicode && off%2 == 1 && (end-off)%2 == 1 {
		off++
	}
	if off >= end {
		return nil, end
	}
	var rest []byte
	if unicode {
		s, rest = cutUTF16Z(b[off:end])
	} else {
		s, rest = cutOEMZ(b[off:end])
	}
	if rest == nil {
		return s, end
	}
	return s, end - len(rest)
}
