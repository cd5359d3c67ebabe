package ntlmssp

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/smbsweep/smbsweep/wire"
)

// AVID is the AvId of an AV_PAIR (MS-NLMP 2.2.2.1).
type AVID uint16

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	AvEOL             AVID = 0x0000 // MsvAvEOL: ends the list
	AvNbComputerName  AVID = 0x0001 // MsvAvNbComputerName: NetBIOS computer name, UTF-16LE
	AvNbDomainName    AVID = 0x0002 // MsvAvNbDomainName: NetBIOS domain name, UTF-16LE
	AvDnsComputerName AVID = 0x0003 // MsvAvDnsComputerName: FQDN of the computer, UTF-16LE
	AvDnsDomainName   AVID = 0x0004 // MsvAvDnsDomainName: FQDN of the domain, UTF-16LE
	AvDnsTreeName     AVID = 0x0005 // MsvAvDnsTreeName: FQDN of the forest, UTF-16LE
	AvFlags           AVID = 0x0006 // MsvAvFlags: 32-bit flags, see AvFlag*
	AvTimestamp       AVID = 0x0007 // MsvAvTimestamp: FILETIME of the server's clock
	AvSingleHost      AVID = 0x0008 // MsvAvSingleHost: Single_Host_Data structure
	AvTargetName      AVID = 0x0009 // MsvAvTargetName: SPN of the target, UTF-16LE (client side)
	AvChannelBindings AVID = 0x000a // MsvAvChannelBindings: MD5 of the channel bindings
)

// MsvAvFlags bits (MS-NLMP 2.2.2.1).
const (
	AvFlagConstrained  uint32 = 0x00000001 // the server's authentication is constrained
	AvFlagMICPresent   uint32 = 0x00000002 // the AUTHENTICATE_MESSAGE carries a MIC
	AvFlagUntrustedSPN uint32 = 0x00000004 // the SPN came from an untrusted source
)

var avNames = [...]string{
	"MsvAvEOL", "MsvAvNbComputerName", "MsvAvNbDomainName", "MsvAvDnsComputerName",
	"MsvAvDnsDomainName", "MsvAvDnsTreeName", "MsvAvFlags", "MsvAvTimestamp", "MsvAvSingleHost",
	"MsvAvTargetName", "MsvAvChannelBindings",
}

// String returns the specification's name of the id.
func (id AVID) String() string {
	if int(id) < len(avNames) {
		return avNames[id]
	}
	return "MsvAv_0x" + strconv.FormatUint(uint64(id), 16)
}

// MaxAVPairs caps the number of AV pairs read from one list, so that a hostile list of
// zero-length pairs filling 64 KiB cannot make decoding loop 16 thousand times per message.
// Windows and Samba send at most 10.
const MaxAVPairs = 64

// AVPair is one AV_PAIR; Value is a view into the list.
type AVPair struct {
	ID    AVID
	Value []byte
}

// AVPairIter walks a list of AV pairs (MS-NLMP 2.2.2.1). It stops at MsvAvEOL, at the end of
// the buffer (a list that ends without MsvAvEOL is tolerated), or at the first pair that does
// not fit; Err then says why. Bytes after MsvAvEOL are ignored. The zero value yields nothing.
type AVPairIter struct {
	b    []byte
	off  int
	n    int
	done bool
	err  error
}

// NewAVPairIter returns an iterator over the AV pairs in b (a CHALLENGE TargetInfo, or the
// AvPairs of an NTLMv2 client challenge).
func NewAVPairIter(b []byte) AVPairIter { return AVPairIter{b: b} }

// Next stores the next pair in p and reports whether there was one.
func (it *AVPairIter) Next(p *AVPair) bool {
	if it.done || it.err != nil {
		return false
	}
	rest := len(it.b) - it.off
	if rest == 0 {
		it.done = true
		return false
	}
	if rest < 4 {
		it.err = fmt.Errorf("av pair %d: %d bytes left for a 4-byte header: %w", it.n, rest, wire.ErrShort)
		return false
	}
	le := binary.LittleEndian
	id := AVID(le.Uint16(it.b[it.off:]))
	n := int(le.Uint16(it.b[it.off+2:]))
	if id == AvEOL {
		it.done = true
		return false
	}
	if it.n >= MaxAVPairs {
		it.err = fmt.Errorf("more than %d av pairs: %w", MaxAVPairs, wire.ErrTooLarge)
		return false
	}
	if n > rest-4 {
		it.err = fmt.Errorf("av pair %d (%v) of %d bytes at offset %d past the end (%d bytes): %w",
			it.n, id, n, it.off, len(it.b), wire.ErrBadOffset)
		return false
	}
	start := it.off + 4
	p.ID, p.Value = id, it.b[start:start+n:start+n]
	it.off = start + n
	it.n++
	return true
}

// Err returns why iteration stopped early, or nil.
func (it *AVPairIter) Err() error { return it.err }

// Offset returns the offset in the list of the next unread pair (of MsvAvEOL once Next has
// returned false without error).
func (it *AVPairIter) Offset() int { return it.off }

// AVInfo is what a server's TargetInfo says about it (MS-NLMP 2.2.2.1). The names are raw
// UTF-16LE views into the message (decode with wire.DecodeUTF16LE); nil means absent. Field
// names follow the specification's MsvAv* names (hence Dns, not DNS).
type AVInfo struct {
	NbComputerName  []byte
	NbDomainName    []byte
	DnsComputerName []byte
	DnsDomainName   []byte
	DnsTreeName     []byte
	TargetName      []byte
	Timestamp       uint64 // FILETIME; meaningful when HasTimestamp
	HasTimestamp    bool
	Flags           uint32 // MsvAvFlags; meaningful when HasFlags
	HasFlags        bool
	Pairs           int // number of pairs read, MsvAvEOL excluded
}

// DecodeAVInfo decodes the AV pairs of b into info (zeroed first), with no allocation. When
// an id repeats, the first pair wins. MsvAvTimestamp must be 8 bytes and MsvAvFlags 4; other
// ids, known or not, are skipped. On error, info holds the pairs read before the bad one.
func DecodeAVInfo(b []byte, info *AVInfo) error {
	*info = AVInfo{}
	var seen uint16
	it := NewAVPairIter(b)
	var p AVPair
	for it.Next(&p) {
		info.Pairs++
		if p.ID > AvChannelBindings {
			continue
		}
		bit := uint16(1) << p.ID
		if seen&bit != 0 {
			continue
		}
		seen |= bit
		switch p.ID {
		case AvNbComputerName:
			info.NbComputerName = p.Value
		case AvNbDomainName:
			info.NbDomainName = p.Value
		case AvDnsComputerName:
			info.DnsComputerName = p.Value
		case AvDnsDomainName:
			info.DnsDomainName = p.Value
		case AvDnsTreeName:
			info.DnsTreeName = p.Value
		case AvTargetName:
			info.TargetName = p.Value
		case AvTimestamp:
			if len(p.Value) != 8 {
				return fmt.Errorf("av pair %d (%v) of %d bytes, want 8: %w", info.Pairs-1, p.ID, len(p.Value), wire.ErrMalformed)
			}
			info.Timestamp, info.HasTimestamp = binary.LittleEndian.Uint64(p.Value), true
		case AvFlags:
			if len(p.Value) != 4 {
				return fmt.Errorf("av pair %d (%v) of %d bytes, want 4: %w", info.Pairs-1, p.ID, len(p.Value), wire.ErrMalformed)
			}
			info.Flags, info.HasFlags = binary.LittleEndian.Uint32(p.Value), true
		}
	}
	return it.Err()
}

// AppendAVPair appends one AV pair; value is cut at MaxFieldLen bytes.
func AppendAVPair(dst []byte, id AVID, value []byte) []byte {
	n := capLen(len(value))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(id))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
	return append(dst, value[:n]...)
}

// AppendAVPairString appends one AV pair whose value is s in UTF-16LE (cut at MaxFieldLen bytes).
func AppendAVPairString(dst []byte, id AVID, s string) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(id))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(utf16Capped(s)))
	return appendUTF16Capped(dst, s)
}

// AppendAVTimestamp appends an MsvAvTimestamp pair holding the FILETIME ft.
func AppendAVTimestamp(dst []byte, ft uint64) []byte {
	dst = append(dst, byte(AvTimestamp), 0, 8, 0)
	return binary.LittleEndian.AppendUint64(dst, ft)
}

// AppendAVFlags appends an MsvAvFlags pair.
func AppendAVFlags(dst []byte, flags uint32) []byte {
	dst = append(dst, byte(AvFlags), 0, 4, 0)
	return binary.LittleEndian.AppendUint32(dst, flags)
}

// AppendAVEOL appends the MsvAvEOL pair that ends a list.
func AppendAVEOL(dst []byte) []byte { return append(dst, 0, 0, 0, 0) }
