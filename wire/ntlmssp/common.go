package ntlmssp

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"github.com/smbsweep/smbsweep/wire"
)

// Signature starts every NTLM message: "NTLMSSP" and a NUL (MS-NLMP 2.2.1).
const Signature = "NTLMSSP\x00"

// MaxFieldLen is the largest payload field an NTLM message can describe: its Len is 16 bits.
const MaxFieldLen = 0xffff

// VersionSize is the size of the VERSION structure (MS-NLMP 2.2.2.10).
const VersionSize = 8

// NTLMRevisionCurrent is the NTLMRevisionCurrent value of the VERSION structure that every
// NTLM implementation since Windows Server 2003 sends (MS-NLMP 2.2.2.10: NTLMSSP_REVISION_W2K3).
const NTLMRevisionCurrent = 0x0f

// Version is the VERSION structure (MS-NLMP 2.2.2.10). It carries the sender's OS version and is
// meant for debugging only; smbsweep reports the server's as "NTLM-reported".
type Version struct {
	ProductMajor uint8
	ProductMinor uint8
	ProductBuild uint16
	NTLMRevision uint8
}

// DefaultVersion is the Version smbsweep sends when it negotiates FlagVersion. The product
// numbers are zero because smbsweep is no Windows release and does not pretend to be one; only
// the NTLM revision is filled in.
var DefaultVersion = Version{NTLMRevision: NTLMRevisionCurrent}

// appendTo appends the 8-byte VERSION structure (3 bytes of it are reserved zeros).
func (v Version) appendTo(dst []byte) []byte {
	dst = append(dst, v.ProductMajor, v.ProductMinor)
	dst = binary.LittleEndian.AppendUint16(dst, v.ProductBuild)
	return append(dst, 0, 0, 0, v.NTLMRevision)
}

// decodeVersion reads a VERSION structure from b[0:8]; len(b) >= 8.
func decodeVersion(b []byte) Version {
	return Version{
		ProductMajor: b[0],
		ProductMinor: b[1],
		ProductBuild: binary.LittleEndian.Uint16(b[2:]),
		NTLMRevision: b[7],
	}
}

// String returns "major.minor.build" with the NTLM revision, e.g. "10.0.20348 (rev 15)".
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d (rev %d)", v.ProductMajor, v.ProductMinor, v.ProductBuild, v.NTLMRevision)
}

// field is a decoded payload descriptor: the Len, MaxLen and BufferOffset triple that every
// variable field of an NTLM message uses (MS-NLMP 2.2.1.1 to 2.2.1.3).
// MaxLen is not kept: see check.
type field struct {
	len uint16
	off uint32
}

func readField(b []byte) field {
	le := binary.LittleEndian
	return field{len: le.Uint16(b), off: le.Uint32(b[4:])}
}

// check verifies that a non-empty field lies inside a message of msgLen bytes and starts at or
// after headerEnd, so it overlaps neither the fixed header nor the end of the message. An empty
// field may carry any offset (servers leave stale offsets in empty fields). MaxLen is not used:
// MS-NLMP only says it SHOULD equal Len, and readers (Windows, Samba) take the length from Len.
func (f field) check(msgLen, headerEnd int, msg, name string) error {
	if f.len == 0 {
		return nil
	}
	if f.off < uint32(headerEnd) {
		return fmt.Errorf("%s: %s offset %d inside the %d-byte header: %w", msg, name, f.off, headerEnd, wire.ErrBadOffset)
	}
	if uint64(f.off)+uint64(f.len) > uint64(msgLen) {
		return fmt.Errorf("%s: %s of %d bytes at offset %d past the end (%d bytes): %w",
			msg, name, f.len, f.off, msgLen, wire.ErrBadOffset)
	}
	return nil
}

// bytes returns the field's bytes of msg (which check accepted), or nil when it is empty. The
// result's capacity is cut so that appending to it cannot overwrite the rest of the message.
func (f field) bytes(msg []byte) []byte {
	if f.len == 0 {
		return nil
	}
	end := int(f.off) + int(f.len)
	return msg[f.off:end:end]
}

// appendField appends a Len/MaxLen/BufferOffset descriptor for n bytes at offset off.
func appendField(dst []byte, n, off int) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
	return binary.LittleEndian.AppendUint32(dst, uint32(off))
}

// checkHeader verifies the signature and message type common to all NTLM messages.
func checkHeader(b []byte, want MessageType, minLen int, msg string) error {
	if len(b) < minLen {
		return fmt.Errorf("%s: %d bytes, need %d: %w", msg, len(b), minLen, wire.ErrShort)
	}
	if string(b[:8]) != Signature {
		return fmt.Errorf("%s: signature %q: %w", msg, b[:8], wire.ErrBadProtocol)
	}
	if t := MessageType(binary.LittleEndian.Uint32(b[8:])); t != want {
		return fmt.Errorf("%s: message type %v: %w", msg, t, wire.ErrMalformed)
	}
	return nil
}

// MessageTypeOf returns the MessageType of an NTLM message, or 0 when b does not start with the
// NTLMSSP signature and a type field.
func MessageTypeOf(b []byte) MessageType {
	if len(b) < 12 || string(b[:8]) != Signature {
		return 0
	}
	return MessageType(binary.LittleEndian.Uint32(b[8:]))
}

// utf16Capped returns the UTF-16LE size of s cut at a character boundary to at most MaxFieldLen.
func utf16Capped(s string) int {
	n := 0
	for _, c := range s {
		w := 2
		if c >= 0x10000 {
			w = 4
		}
		if n+w > MaxFieldLen {
			break
		}
		n += w
	}
	return n
}

// appendUTF16Capped appends s as UTF-16LE, stopping where utf16Capped stops.
func appendUTF16Capped(dst []byte, s string) []byte {
	n := 0
	for _, c := range s {
		if c >= 0x10000 {
			if n+4 > MaxFieldLen {
				break
			}
			r1, r2 := utf16.EncodeRune(c)
			dst = binary.LittleEndian.AppendUint16(dst, uint16(r1))
			dst = binary.LittleEndian.AppendUint16(dst, uint16(r2))
			n += 4
			continue
		}
		if n+2 > MaxFieldLen {
			break
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(c))
		n += 2
	}
	return dst
}

// capLen caps a byte field at MaxFieldLen.
func capLen(n int) int {
	if n > MaxFieldLen {
		return MaxFieldLen
	}
	return n
}
