package wire

import (
	"encoding/binary"
	"fmt"
)

// NetBIOS name service NODE STATUS (NBSTAT) over UDP port 137 (RFC 1002 sections 4.2.17 and
// 4.2.18): a query for the wildcard name "*" makes a NetBIOS host list the names it has
// registered, with their suffixes and flags, followed by statistics that start with its MAC.

const (
	// NBStatPort is the NetBIOS name service port.
	NBStatPort = 137
	// NBStatRequestSize is the size of a NODE STATUS REQUEST.
	NBStatRequestSize = 12 + netBIOSEncodedNameSize + 4
	// MaxNBStatNames is the most names a NODE STATUS RESPONSE can list (one count byte).
	MaxNBStatNames = 255

	nbstatType    = 0x0021
	nbstatClassIN = 0x0001
	nbstatEntry   = 18 // 15 name bytes, suffix, 2 flag bytes
	nbstatMACSize = 6
)

// AppendNBStatRequest appends a NODE STATUS REQUEST for "*" with transaction id id (RFC 1002
// 4.2.17: opcode QUERY, no flags, one question of type NBSTAT, class IN).
func AppendNBStatRequest(dst []byte, id uint16) []byte {
	dst = binary.BigEndian.AppendUint16(dst, id)
	dst = append(dst, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) // flags, QDCOUNT 1, ANCOUNT, NSCOUNT, ARCOUNT
	dst = AppendNetBIOSName(dst, "*", 0)
	dst = binary.BigEndian.AppendUint16(dst, nbstatType)
	return binary.BigEndian.AppendUint16(dst, nbstatClassIN)
}

// NBStatName is one entry of a NODE STATUS RESPONSE's name table.
type NBStatName struct {
	Name   [15]byte // as sent, space-padded
	Suffix byte
	Flags  uint16 // bit 15 (0x8000) GROUP, 0x0400 ACTIVE, 0x0800 CONFLICT, 0x1000 DEREGISTERING, 0x0200 PERMANENT
}

// Group reports whether the name is a group name (else unique).
func (n *NBStatName) Group() bool { return n.Flags&0x8000 != 0 }

// Trimmed returns the name without its padding.
func (n *NBStatName) Trimmed() []byte {
	end := len(n.Name)
	for end > 0 && (n.Name[end-1] == ' ' || n.Name[end-1] == 0) {
		end--
	}
	return n.Name[:end]
}

// NBStatResponse is a NODE STATUS RESPONSE datagram (RFC 1002 4.2.18).
type NBStatResponse []byte

// Validate checks the header, the answer record and that every name entry and the MAC lie
// inside the datagram and the record's RDLENGTH.
func (r NBStatResponse) Validate() error {
	if len(r) < 12 {
		return fmt.Errorf("nbstat response: %w", ErrShort)
	}
	flags := binary.BigEndian.Uint16(r[2:])
	if flags&0x8000 == 0 {
		return fmt.Errorf("nbstat response: not a response (flags 0x%04x): %w", flags, ErrMalformed)
	}
	if rcode := flags & 0x000f; rcode != 0 {
		return fmt.Errorf("nbstat response: error rcode %d: %w", rcode, ErrMalformed)
	}
	if binary.BigEndian.Uint16(r[6:]) == 0 {
		return fmt.Errorf("nbstat response: no answer record: %w", ErrMalformed)
	}
	off, err := r.skipName(12)
	if err != nil {
		return err
	}
	if len(r) < off+10 {
		return fmt.Errorf("nbstat response: answer record: %w", ErrShort)
	}
	if t := binary.BigEndian.Uint16(r[off:]); t != nbstatType {
		return fmt.Errorf("nbstat response: answer of type 0x%04x: %w", t, ErrMalformed)
	}
	rdlen := int(binary.BigEndian.Uint16(r[off+8:]))
	rdata := off + 10
	if len(r) < rdata+rdlen || rdlen < 1 {
		return fmt.Errorf("nbstat response: RDLENGTH %d past the datagram: %w", rdlen, ErrBadOffset)
	}
	n := int(r[rdata])
	if 1+n*nbstatEntry > rdlen {
		return fmt.Errorf("nbstat response: %d names do not fit RDLENGTH %d: %w", n, rdlen, ErrBadOffset)
	}
	return nil
}

// skipName returns the offset after the (uncompressed or pointer) name at off.
func (r NBStatResponse) skipName(off int) (int, error) {
	for hops := 0; off < len(r); hops++ {
		l := int(r[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xc0 == 0xc0: // a pointer ends the name
			if off+2 > len(r) {
				return 0, fmt.Errorf("nbstat response: name pointer: %w", ErrShort)
			}
			return off + 2, nil
		case l&0xc0 != 0 || hops > 64:
			return 0, fmt.Errorf("nbstat response: name label 0x%02x: %w", l, ErrMalformed)
		}
		off += 1 + l
	}
	return 0, fmt.Errorf("nbstat response: name: %w", ErrShort)
}

// TransactionID returns the NAME_TRN_ID.
func (r NBStatResponse) TransactionID() uint16 { return binary.BigEndian.Uint16(r) }

// rdata returns the offset of the RDATA (after Validate).
func (r NBStatResponse) rdata() int {
	off, _ := r.skipName(12)
	return off + 10
}

// NumNames returns the count of name entries (after Validate).
func (r NBStatResponse) NumNames() int { return int(r[r.rdata()]) }

// Name fills n with entry i (0 <= i < NumNames).
func (r NBStatResponse) Name(i int, n *NBStatName) {
	e := r[r.rdata()+1+i*nbstatEntry:]
	copy(n.Name[:], e[:15])
	n.Suffix = e[15]
	n.Flags = binary.BigEndian.Uint16(e[16:])
}

// MAC returns the unit id (MAC address) that starts the statistics, and false when the
// statistics are cut short (some hosts send none).
func (r NBStatResponse) MAC() ([nbstatMACSize]byte, bool) {
	var mac [nbstatMACSize]byte
	rd := r.rdata()
	rdlen := int(binary.BigEndian.Uint16(r[rd-2:]))
	at := rd + 1 + r.NumNames()*nbstatEntry
	if at+nbstatMACSize > rd+rdlen {
		return mac, false
	}
	copy(mac[:], r[at:])
	return mac, true
}
