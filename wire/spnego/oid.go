package spnego

import (
	"bytes"
	"strconv"
)

// OID is an ASN.1 OBJECT IDENTIFIER held as the contents octets of its DER encoding (no tag or
// length), e.g. 2b 06 01 05 05 02 for 1.3.6.1.5.5.2. Decoded OIDs are views into the token.
type OID []byte

// Mechanism and protocol OIDs. Treat them as constants: never modify their bytes.
var (
	// OIDSPNEGO is SPNEGO itself, 1.3.6.1.5.5.2 (RFC 4178 section 3).
	OIDSPNEGO = OID{0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
	// OIDNTLMSSP is NTLMSSP, 1.3.6.1.4.1.311.2.2.10 (MS-SPNG 1.9, MS-NLMP 1.9).
	OIDNTLMSSP = OID{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}
	// OIDKerberos is Kerberos V5, 1.2.840.113554.1.2.2 (RFC 4121).
	OIDKerberos = OID{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	// OIDMSKerberos is Microsoft's legacy Kerberos OID, 1.2.840.48018.1.2.2 (MS-SPNG 1.9).
	OIDMSKerberos = OID{0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
	// OIDNegoEx is NEGOEX, 1.3.6.1.4.1.311.2.2.30 (MS-NEGOEX).
	OIDNegoEx = OID{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e}
)

// Equal reports whether o and p are the same OID.
func (o OID) Equal(p OID) bool { return bytes.Equal(o, p) }

// MechName returns the name smbsweep's records use for a mechanism OID (docs/schema.md,
// negotiate.security_mechanisms): "NTLMSSP", "Kerberos", "MS-Kerberos" (Microsoft's legacy
// Kerberos OID), "NEGOEX", or the dotted form for any other (e.g. "1.2.840.113554.1.2.2.3").
// The names follow the protocols' own spelling, as the other names in a record do.
func MechName(o OID) string {
	switch {
	case o.Equal(OIDNTLMSSP):
		return "NTLMSSP"
	case o.Equal(OIDKerberos):
		return "Kerberos"
	case o.Equal(OIDMSKerberos):
		return "MS-Kerberos"
	case o.Equal(OIDNegoEx):
		return "NEGOEX"
	}
	return o.String()
}

// String returns the dotted form of the OID, or "invalid-oid" when its encoding is invalid.
func (o OID) String() string {
	var buf [64]byte
	return string(o.AppendDotted(buf[:0]))
}

// valid reports whether o is a well-formed DER OID body: non-empty, every sub-identifier
// minimally encoded (no leading 0x80 octet), terminated, and small enough for a uint64.
func (o OID) valid() bool {
	if len(o) == 0 || o[len(o)-1]&0x80 != 0 {
		return false
	}
	start := true
	n := 0
	for _, c := range o {
		if start && c == 0x80 {
			return false
		}
		n++
		if n > 9 { // 9 septets = 63 bits
			return false
		}
		start = c&0x80 == 0
		if start {
			n = 0
		}
	}
	return true
}

// AppendDotted appends the dotted form of the OID ("invalid-oid" when it is not valid).
func (o OID) AppendDotted(dst []byte) []byte {
	if !o.valid() {
		return append(dst, "invalid-oid"...)
	}
	first := true
	var v uint64
	for _, c := range o {
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			// The first sub-identifier packs the first two arcs (X.690 8.19.4).
			switch {
			case v < 40:
				dst = append(dst, '0', '.')
			case v < 80:
				dst = append(dst, '1', '.')
				v -= 40
			default:
				dst = append(dst, '2', '.')
				v -= 80
			}
			first = false
		} else {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, v, 10)
		v = 0
	}
	return dst
}
