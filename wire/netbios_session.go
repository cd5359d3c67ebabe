package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NetBIOS session establishment on TCP port 139 (RFC 1002 section 4.3.2): before any SMB
// message the client sends a SESSION REQUEST naming the server (called name) and itself
// (calling name); the server answers POSITIVE, NEGATIVE with an error code, or RETARGET to
// another address and port. Port 445 (direct TCP) has no such exchange.
const (
	NetBIOSSessionRequest  byte = 0x81
	NetBIOSPositive        byte = 0x82
	NetBIOSNegative        byte = 0x83
	NetBIOSRetarget        byte = 0x84
	netBIOSEncodedNameSize      = 34 // length byte 0x20, 32 half-ASCII bytes, empty scope (0x00)

	// NetBIOSSMBServer is the called name a client uses when it knows no NetBIOS name of the
	// server (MS-CIFS 3.2.4.2.2): servers answer to it in place of their own.
	NetBIOSSMBServer = "*SMBSERVER"
	// NetBIOSSuffixServer and NetBIOSSuffixWorkstation are the 16th bytes of a file server's
	// and a workstation's name.
	NetBIOSSuffixServer      byte = 0x20
	NetBIOSSuffixWorkstation byte = 0x00
	// NetBIOSSessionRequestSize is the size of a SESSION REQUEST frame, header included.
	NetBIOSSessionRequestSize = NetBIOSHeaderSize + 2*netBIOSEncodedNameSize
)

// AppendNetBIOSName appends name in the first-level encoding of RFC 1001 section 14.1: the
// name upper-cased (ASCII only), cut or padded with spaces to 15 bytes, suffix as the 16th,
// each byte split into two nibbles written as 'A'+nibble, behind a length byte of 32 and
// followed by an empty scope. The name "*" alone is padded with NULs, as the RFC says.
func AppendNetBIOSName(dst []byte, name string, suffix byte) []byte {
	var raw [16]byte
	pad := byte(' ')
	if name == "*" {
		pad = 0
	}
	for i := range 15 {
		c := pad
		if i < len(name) {
			c = name[i]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
		}
		raw[i] = c
	}
	raw[15] = suffix
	dst = append(dst, 0x20)
	for _, c := range raw {
		dst = append(dst, 'A'+c>>4, 'A'+c&0x0f)
	}
	return append(dst, 0x00)
}

// AppendNetBIOSSessionRequest appends a SESSION REQUEST frame (RFC 1002 4.3.2) for the called
// server name (suffix 0x20) from the calling workstation name (suffix 0x00).
func AppendNetBIOSSessionRequest(dst []byte, called, calling string) []byte {
	dst = append(dst, NetBIOSSessionRequest, 0, 0, 2*netBIOSEncodedNameSize)
	dst = AppendNetBIOSName(dst, called, NetBIOSSuffixServer)
	return AppendNetBIOSName(dst, calling, NetBIOSSuffixWorkstation)
}

// DecodeNetBIOSName decodes a first-level encoded name (as AppendNetBIOSName writes it) at the
// start of b into its 15 name bytes (trailing spaces removed) and suffix.
func DecodeNetBIOSName(b []byte) (name string, suffix byte, err error) {
	if len(b) < netBIOSEncodedNameSize {
		return "", 0, fmt.Errorf("netbios name: %w", ErrShort)
	}
	if b[0] != 0x20 || b[33] != 0x00 {
		return "", 0, fmt.Errorf("netbios name: length %d or scope %d: %w", b[0], b[33], ErrMalformed)
	}
	var raw [16]byte
	for i := range raw {
		hi, lo := b[1+2*i]-'A', b[2+2*i]-'A'
		if hi > 15 || lo > 15 {
			return "", 0, fmt.Errorf("netbios name: byte %d is not half-ASCII: %w", 1+2*i, ErrMalformed)
		}
		raw[i] = hi<<4 | lo
	}
	n := 15
	for n > 0 && (raw[n-1] == ' ' || raw[n-1] == 0) {
		n--
	}
	return string(raw[:n]), raw[15], nil
}

// NetBIOSSessionReply is the server's answer to a SESSION REQUEST.
type NetBIOSSessionReply struct {
	Type     byte           // NetBIOSPositive, NetBIOSNegative or NetBIOSRetarget
	Error    byte           // NEGATIVE: the error code (NetBIOSErrorName names it)
	Retarget netip.AddrPort // RETARGET: where to connect instead
}

// DecodeNetBIOSSessionReply decodes a whole reply frame (header included).
func DecodeNetBIOSSessionReply(b []byte, r *NetBIOSSessionReply) error {
	typ, n, err := ParseNetBIOSHeader(b)
	if err != nil {
		return err
	}
	if len(b) < NetBIOSHeaderSize+n {
		return fmt.Errorf("netbios session reply: %w", ErrShort)
	}
	body := b[NetBIOSHeaderSize : NetBIOSHeaderSize+n]
	*r = NetBIOSSessionReply{Type: typ}
	switch typ {
	case NetBIOSPositive:
		if n != 0 {
			return fmt.Errorf("netbios positive response with %d bytes: %w", n, ErrMalformed)
		}
	case NetBIOSNegative:
		if n != 1 {
			return fmt.Errorf("netbios negative response with %d bytes: %w", n, ErrMalformed)
		}
		r.Error = body[0]
	case NetBIOSRetarget:
		if n != 6 {
			return fmt.Errorf("netbios retarget response with %d bytes: %w", n, ErrMalformed)
		}
		ip := netip.AddrFrom4([4]byte(body[:4]))
		r.Retarget = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(body[4:]))
	default:
		return fmt.Errorf("netbios session reply of type 0x%02x: %w", typ, ErrMalformed)
	}
	return nil
}

// NetBIOSErrorName names a NEGATIVE SESSION RESPONSE error code (RFC 1002 4.3.4).
func NetBIOSErrorName(code byte) string {
	switch code {
	case 0x80:
		return "not listening on called name"
	case 0x81:
		return "not listening for calling name"
	case 0x82:
		return "called name not present"
	case 0x83:
		return "called name present, but insufficient resources"
	case 0x8F:
		return "unspecified error"
	}
	return fmt.Sprintf("error 0x%02x", code)
}
