package ntlmssp

import (
	"encoding/binary"
	"unicode/utf8"
)

// Sizes of the NEGOTIATE_MESSAGE fixed header without and with its Version field (MS-NLMP
// 2.2.1.1).
const (
	negotiateHeaderSize        = 32
	negotiateHeaderSizeVersion = negotiateHeaderSize + VersionSize
)

// Negotiate is the NEGOTIATE_MESSAGE a client sends first (MS-NLMP 2.2.1.1).
//
// Domain and Workstation are optional OEM strings: when non-empty, AppendTo sets
// FlagOEMDomainSupplied or FlagOEMWorkstationSupplied and writes them as single-byte
// characters (anything outside ASCII becomes '?', since the OEM code page is not known).
// The Version field is written when Flags has FlagVersion.
type Negotiate struct {
	Flags       Flags
	Domain      string
	Workstation string
	Version     Version
}

// DefaultNegotiate returns the NEGOTIATE_MESSAGE of smbsweep's anonymous and guest probes:
// DefaultNegotiateFlags, no domain or workstation, and DefaultVersion.
func DefaultNegotiate() Negotiate {
	return Negotiate{Flags: DefaultNegotiateFlags, Version: DefaultVersion}
}

func (n *Negotiate) flags() Flags {
	f := n.Flags
	if n.Domain != "" {
		f |= FlagOEMDomainSupplied
	}
	if n.Workstation != "" {
		f |= FlagOEMWorkstationSupplied
	}
	return f
}

func (n *Negotiate) headerSize() int {
	if n.Flags&FlagVersion != 0 {
		return negotiateHeaderSizeVersion
	}
	return negotiateHeaderSize
}

// oemLen is the number of bytes appendOEM writes for s: one per character, capped.
func oemLen(s string) int { return capLen(utf8.RuneCountInString(s)) }

// appendOEM appends s as single-byte characters, non-ASCII as '?', at most MaxFieldLen bytes.
func appendOEM(dst []byte, s string) []byte {
	n := 0
	for _, c := range s {
		if n == MaxFieldLen {
			break
		}
		if c >= utf8.RuneSelf {
			c = '?'
		}
		dst = append(dst, byte(c))
		n++
	}
	return dst
}

// Size returns the encoded size of the message.
func (n *Negotiate) Size() int {
	return n.headerSize() + oemLen(n.Domain) + oemLen(n.Workstation)
}

// AppendTo appends the encoded message to dst. Offsets are relative to the message start.
func (n *Negotiate) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dl, wl := oemLen(n.Domain), oemLen(n.Workstation)
	off := n.headerSize()
	dst = append(dst, Signature...)
	dst = le.AppendUint32(dst, uint32(MessageNegotiate))
	dst = le.AppendUint32(dst, uint32(n.flags()))
	dst = appendField(dst, dl, off)
	dst = appendField(dst, wl, off+dl)
	if n.Flags&FlagVersion != 0 {
		dst = n.Version.appendTo(dst)
	}
	dst = appendOEM(dst, n.Domain)
	return appendOEM(dst, n.Workstation)
}

// NegotiateMessage is a view of a received NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1), for tests and
// fake servers. Accessors are valid only after Validate returned nil.
type NegotiateMessage []byte

// Validate checks the signature, the message type and both payload fields.
func (m NegotiateMessage) Validate() error {
	const what = "ntlm negotiate"
	if err := checkHeader(m, MessageNegotiate, negotiateHeaderSize, what); err != nil {
		return err
	}
	h := m.headerEnd()
	if err := readField(m[16:]).check(len(m), h, what, "domain"); err != nil {
		return err
	}
	return readField(m[24:]).check(len(m), h, what, "workstation")
}

// headerEnd is where the fixed header ends: 40 when the Version field is present (VERSION set,
// the message long enough, and no payload starting before byte 40), else 32.
func (m NegotiateMessage) headerEnd() int {
	if m.hasVersion() {
		return negotiateHeaderSizeVersion
	}
	return negotiateHeaderSize
}

func (m NegotiateMessage) hasVersion() bool {
	if m.Flags()&FlagVersion == 0 || len(m) < negotiateHeaderSizeVersion {
		return false
	}
	for _, at := range [...]int{16, 24} {
		if f := readField(m[at:]); f.len != 0 && f.off < negotiateHeaderSizeVersion {
			return false
		}
	}
	return true
}

// Flags returns NegotiateFlags.
func (m NegotiateMessage) Flags() Flags { return Flags(binary.LittleEndian.Uint32(m[12:])) }

// Domain returns the DomainName payload (OEM bytes), nil when empty.
func (m NegotiateMessage) Domain() []byte { return readField(m[16:]).bytes(m) }

// Workstation returns the Workstation payload (OEM bytes), nil when empty.
func (m NegotiateMessage) Workstation() []byte { return readField(m[24:]).bytes(m) }

// Version returns the Version field and whether it is present.
func (m NegotiateMessage) Version() (Version, bool) {
	if !m.hasVersion() {
		return Version{}, false
	}
	return decodeVersion(m[32:]), true
}
