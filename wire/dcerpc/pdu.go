package dcerpc

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// ErrUnsupportedDataRep means a PDU's packed_drep asks for a data representation smbsweep does
// not decode (big-endian integers, EBCDIC characters or non-IEEE floats); smbsweep never offers
// one, so a peer that uses one is not speaking to us.
var ErrUnsupportedDataRep = errors.New("unsupported DCE/RPC data representation")

// PacketType is the PTYPE of a connection-oriented PDU (C706 12.6.4, MS-RPCE 2.2.2.1).
type PacketType uint8

// Connection-oriented packet types (C706 12.6.4; rpc_auth_3 from MS-RPCE 2.2.2.1). Values 1 and
// 4..10 belong to the connectionless protocol and never appear on a pipe.
const (
	PacketRequest          PacketType = 0
	PacketPing             PacketType = 1
	PacketResponse         PacketType = 2
	PacketFault            PacketType = 3
	PacketWorking          PacketType = 4
	PacketNoCall           PacketType = 5
	PacketReject           PacketType = 6
	PacketAck              PacketType = 7
	PacketClCancel         PacketType = 8
	PacketFack             PacketType = 9
	PacketCancelAck        PacketType = 10
	PacketBind             PacketType = 11
	PacketBindAck          PacketType = 12
	PacketBindNak          PacketType = 13
	PacketAlterContext     PacketType = 14
	PacketAlterContextResp PacketType = 15
	PacketAuth3            PacketType = 16
	PacketShutdown         PacketType = 17
	PacketCoCancel         PacketType = 18
	PacketOrphaned         PacketType = 19
)

var packetTypeNames = [...]string{
	"request", "ping", "response", "fault", "working", "nocall", "reject", "ack", "cl_cancel",
	"fack", "cancel_ack", "bind", "bind_ack", "bind_nak", "alter_context", "alter_context_resp",
	"rpc_auth_3", "shutdown", "co_cancel", "orphaned",
}

// String returns the C706 name of the packet type (e.g. "bind_ack"), or its number when unknown.
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("ptype(%d)", uint8(t))
}

// pfc_flags bits (C706 12.6.3.1; MS-RPCE 2.2.2.3 reuses 0x04 as PFC_SUPPORT_HEADER_SIGN in
// bind and bind_ack).
const (
	FlagFirstFrag         uint8 = 0x01
	FlagLastFrag          uint8 = 0x02
	FlagPendingCancel     uint8 = 0x04
	FlagSupportHeaderSign uint8 = 0x04
	FlagConcMPX           uint8 = 0x10
	FlagDidNotExecute     uint8 = 0x20
	FlagMaybe             uint8 = 0x40
	FlagObjectUUID        uint8 = 0x80
)

const (
	// HeaderSize is the size of the common connection-oriented header (C706 12.6.3.1).
	HeaderSize = 16
	// MaxFragment caps frag_length in Validate. The field is 16 bits, so it admits any
	// fragment; use ValidateMax to hold a peer to the negotiated max_recv_frag.
	MaxFragment = 65536
	// DefaultMaxFrag is the max_xmit_frag/max_recv_frag smbsweep offers in BIND (the value
	// Windows and Samba clients use on named pipes).
	DefaultMaxFrag = 4280
	// secTrailerSize is the fixed part of an auth_verifier (sec_trailer, MS-RPCE 2.2.2.11)
	// that precedes auth_length bytes of auth_value at the end of a PDU.
	secTrailerSize = 8
	// rpcVersion and rpcVersionMinor are the only protocol version smbsweep speaks
	// (MS-RPCE 2.2.2.2 allows no other).
	rpcVersion      = 5
	rpcVersionMinor = 0
)

// DataRepLittleEndian is the packed_drep smbsweep sends and accepts (C706 14.1): little-endian
// integers, ASCII characters, IEEE floating point.
var DataRepLittleEndian = [4]byte{0x10, 0, 0, 0}

// appendHeader appends the common header with frag_length n, auth_length 0.
func appendHeader(dst []byte, t PacketType, flags uint8, n int, callID uint32) []byte {
	dst = append(dst, rpcVersion, rpcVersionMinor, byte(t), flags)
	dst = append(dst, DataRepLittleEndian[:]...)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	return binary.LittleEndian.AppendUint32(dst, callID)
}

// PDU is a view over one connection-oriented PDU starting with the common header
// (C706 12.6.3.1). Bytes after frag_length belong to the next PDU and are ignored.
type PDU []byte

// FragmentLength returns the frag_length of the PDU that b starts with, for splitting a byte
// stream into fragments. It needs only the first 10 bytes and checks the version and the
// minimum length; Validate checks the rest.
func FragmentLength(b []byte) (int, error) {
	if len(b) < 10 {
		return 0, fmt.Errorf("dcerpc header: %d bytes: %w", len(b), wire.ErrShort)
	}
	if b[0] != rpcVersion || b[1] != rpcVersionMinor {
		return 0, fmt.Errorf("dcerpc header: version %d.%d: %w", b[0], b[1], wire.ErrBadProtocol)
	}
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n < HeaderSize {
		return 0, fmt.Errorf("dcerpc header: frag_length %d: %w", n, wire.ErrMalformed)
	}
	return n, nil
}

// Validate checks the common header with the MaxFragment cap.
func (p PDU) Validate() error { return p.ValidateMax(MaxFragment) }

// ValidateMax checks the common header: version 5.0, little-endian ASCII IEEE data
// representation, HeaderSize <= frag_length <= min(len(p), maxFrag), and room for the
// auth_verifier that a non-zero auth_length announces.
func (p PDU) ValidateMax(maxFrag int) error {
	if len(p) < HeaderSize {
		return fmt.Errorf("dcerpc header: %d bytes: %w", len(p), wire.ErrShort)
	}
	if p[0] != rpcVersion || p[1] != rpcVersionMinor {
		return fmt.Errorf("dcerpc header: version %d.%d: %w", p[0], p[1], wire.ErrBadProtocol)
	}
	switch {
	case p[4]&0xf0 != 0x10:
		return fmt.Errorf("dcerpc header: packed_drep %#02x: big-endian integers: %w", p[4], ErrUnsupportedDataRep)
	case p[4]&0x0f != 0:
		return fmt.Errorf("dcerpc header: packed_drep %#02x: EBCDIC characters: %w", p[4], ErrUnsupportedDataRep)
	case p[5] != 0:
		return fmt.Errorf("dcerpc header: packed_drep float representation %d: %w", p[5], ErrUnsupportedDataRep)
	}
	n := p.FragLength()
	switch {
	case n < HeaderSize:
		return fmt.Errorf("dcerpc header: frag_length %d: %w", n, wire.ErrMalformed)
	case n > maxFrag:
		return fmt.Errorf("dcerpc header: frag_length %d > %d: %w", n, maxFrag, wire.ErrTooLarge)
	case n > len(p):
		return fmt.Errorf("dcerpc header: frag_length %d, %d bytes present: %w", n, len(p), wire.ErrShort)
	}
	if a := p.AuthLength(); a != 0 && HeaderSize+secTrailerSize+a > n {
		return fmt.Errorf("dcerpc header: auth_length %d in a %d-byte fragment: %w", a, n, wire.ErrBadOffset)
	}
	return nil
}

// Type returns PTYPE.
func (p PDU) Type() PacketType { return PacketType(p[2]) }

// Flags returns pfc_flags (Flag* bits).
func (p PDU) Flags() uint8 { return p[3] }

// DataRep returns packed_drep.
func (p PDU) DataRep() [4]byte { return [4]byte(p[4:8]) }

// FragLength returns frag_length: the size of this PDU.
func (p PDU) FragLength() int { return int(binary.LittleEndian.Uint16(p[8:])) }

// AuthLength returns auth_length: the size of the auth_value at the end of the PDU.
func (p PDU) AuthLength() int { return int(binary.LittleEndian.Uint16(p[10:])) }

// CallID returns call_id.
func (p PDU) CallID() uint32 { return binary.LittleEndian.Uint32(p[12:]) }

// validateAs checks the common header, the packet type and a fixed part of fixed bytes (from the
// start of the PDU). It returns the end of the body: frag_length less the auth_verifier and its
// padding (MS-RPCE 2.2.2.11), which is at least fixed.
func validateAs(p []byte, want PacketType, fixed int, what string) (int, error) {
	if err := PDU(p).Validate(); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	h := PDU(p)
	if h.Type() != want {
		return 0, fmt.Errorf("%s: PTYPE %v: %w", what, h.Type(), wire.ErrBadCommand)
	}
	n := h.FragLength()
	if n < fixed {
		return 0, fmt.Errorf("%s: frag_length %d < %d: %w", what, n, fixed, wire.ErrShort)
	}
	end := n
	if a := h.AuthLength(); a != 0 {
		end = n - a - secTrailerSize
		pad := int(p[end+2]) // sec_trailer.auth_pad_length
		end -= pad
		if end < fixed {
			return 0, fmt.Errorf("%s: auth_length %d, auth_pad_length %d in a %d-byte fragment: %w", what, a, pad, n, wire.ErrBadOffset)
		}
	}
	return end, nil
}

// bodyEnd recomputes the end that validateAs returned, for accessors of a validated PDU.
func bodyEnd(p []byte) int {
	h := PDU(p)
	end := h.FragLength()
	if a := h.AuthLength(); a != 0 {
		end -= a + secTrailerSize
		end -= int(p[end+2])
	}
	return end
}
