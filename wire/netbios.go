package wire

import "fmt"

// NetBIOS session service framing (RFC 1002 section 4.3; MS-SMB2 2.1 Direct TCP transport):
// every SMB message on TCP port 445 or 139 is preceded by a 4-byte header holding a type byte
// and a 24-bit big-endian length.

const (
	// NetBIOSHeaderSize is the size of the session service header.
	NetBIOSHeaderSize = 4
	// MaxNetBIOSLength is the largest length the 24-bit field can carry.
	MaxNetBIOSLength = 1<<24 - 1

	// NetBIOSSessionMessage is the type of a frame carrying an SMB message.
	NetBIOSSessionMessage byte = 0x00
	// NetBIOSKeepAlive is a session keep-alive frame; it carries no payload and is skipped.
	NetBIOSKeepAlive byte = 0x85
)

// AppendNetBIOSHeader appends a session-message header for a payload of n bytes.
func AppendNetBIOSHeader(dst []byte, n int) []byte {
	return append(dst, NetBIOSSessionMessage, byte(n>>16), byte(n>>8), byte(n))
}

// PutNetBIOSHeader writes a session-message header for a payload of n bytes into b[0:4].
// It lets a caller reserve the header, append the message, then fill in the length.
func PutNetBIOSHeader(b []byte, n int) error {
	if len(b) < NetBIOSHeaderSize {
		return fmt.Errorf("netbios header: %w", ErrShort)
	}
	if n < 0 || n > MaxNetBIOSLength {
		return fmt.Errorf("netbios header: payload of %d bytes: %w", n, ErrTooLarge)
	}
	b[0], b[1], b[2], b[3] = NetBIOSSessionMessage, byte(n>>16), byte(n>>8), byte(n)
	return nil
}

// ParseNetBIOSHeader decodes a session service header. It returns the frame type and the
// length of the payload that follows, which the caller must cap before reading.
func ParseNetBIOSHeader(b []byte) (typ byte, length int, err error) {
	if len(b) < NetBIOSHeaderSize {
		return 0, 0, fmt.Errorf("netbios header: %w", ErrShort)
	}
	// Only the low bit of the flags byte extends the length (RFC 1002 4.3.1); SMB direct
	// TCP uses all 24 bits of length, so the whole 3 bytes are taken as the length here.
	return b[0], int(b[1])<<16 | int(b[2])<<8 | int(b[3]), nil
}
