package smb1

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/smbsweep/smbsweep/wire"
)

// DialectNTLM012 is the NT LAN Manager dialect string (MS-CIFS 1.7, 2.2.4.52.1), the only
// dialect smbsweep offers.
const DialectNTLM012 = "NT LM 0.12"

// NoDialect is the DialectIndex a server returns when it accepts none of the offered dialects
// (MS-CIFS 2.2.4.52.2). DialectIndex also reports it for replies that carry no index at all.
const NoDialect uint16 = 0xffff

// dialectBufferFormat precedes each dialect string in the request (MS-CIFS 2.2.4.52.1).
const dialectBufferFormat byte = 0x02

// maxByteCount is the largest SMB_Data.ByteCount the 16-bit field carries.
const maxByteCount = 0xffff

// Word counts of the SMB_COM_NEGOTIATE response forms (MS-CIFS 2.2.4.52.2).
const (
	WordCountError  = 0  // error reply: no parameters (a SHOULD, see Validate)
	WordCountCore   = 1  // Core Protocol, or no dialect accepted: DialectIndex only
	WordCountLANMAN = 13 // LAN Manager 1.0 through 2.1
	WordCountNTLM   = 17 // NT LAN Manager ("NT LM 0.12")
)

// SecurityMode bits of the NT LAN Manager NEGOTIATE response (MS-CIFS 2.2.4.52.2).
const (
	SecurityModeUserSecurity               byte = 0x01 // NEGOTIATE_USER_SECURITY
	SecurityModeEncryptPasswords           byte = 0x02 // NEGOTIATE_ENCRYPT_PASSWORDS
	SecurityModeSecuritySignaturesEnabled  byte = 0x04 // NEGOTIATE_SECURITY_SIGNATURES_ENABLED
	SecurityModeSecuritySignaturesRequired byte = 0x08 // NEGOTIATE_SECURITY_SIGNATURES_REQUIRED
)

// NegotiateRequest is the SMB_COM_NEGOTIATE request body (MS-CIFS 2.2.4.52.1): WordCount 0,
// then ByteCount and one 0x02-prefixed, NUL-terminated ASCII string per dialect.
type NegotiateRequest struct {
	// Dialects in preference order; each must be non-empty ASCII without NUL, and all
	// together must fit the 16-bit ByteCount (see Validate).
	Dialects []string
}

// Size returns the encoded size of the body.
func (r *NegotiateRequest) Size() int {
	n := 1 + 2 // WordCount, ByteCount
	for _, d := range r.Dialects {
		n += 1 + len(d) + 1
	}
	return n
}

// Validate reports whether the dialect list can be encoded faithfully: AppendTo itself does
// not check.
func (r *NegotiateRequest) Validate() error {
	if len(r.Dialects) == 0 {
		return fmt.Errorf("negotiate request: no dialects: %w", wire.ErrMalformed)
	}
	for _, d := range r.Dialects {
		if d == "" {
			return fmt.Errorf("negotiate request: empty dialect: %w", wire.ErrMalformed)
		}
		for i := 0; i < len(d); i++ {
			if d[i] == 0 || d[i] >= utf8.RuneSelf {
				return fmt.Errorf("negotiate request: dialect %q: not NUL-free ASCII: %w", d, wire.ErrMalformed)
			}
		}
	}
	if n := r.Size() - 3; n > maxByteCount {
		return fmt.Errorf("negotiate request: byte count %d: %w", n, wire.ErrTooLarge)
	}
	return nil
}

// AppendTo appends the body (it follows a Header whose Command is CommandNegotiate).
func (r *NegotiateRequest) AppendTo(dst []byte) []byte {
	dst = append(dst, 0) // WordCount: no parameter words
	dst = binary.LittleEndian.AppendUint16(dst, uint16(r.Size()-3))
	for _, d := range r.Dialects {
		dst = append(dst, dialectBufferFormat)
		dst = append(dst, d...)
		dst = append(dst, 0)
	}
	return dst
}

// Header fields smbsweep uses for its NEGOTIATE request.
//
// ProbeFlags2 announces what a current Windows client announces, so that servers pick the
// reply form the probe decodes best:
//   - Flags2ExtendedSecurity asks for the MS-SMB 2.2.4.5.2.1 form (ServerGUID and SPNEGO
//     blob) where the server supports it;
//   - Flags2NTStatus asks for 32-bit NT status codes, so an error reply names its reason;
//   - Flags2Unicode and Flags2LongNames are what every NT-era client sends; a server that
//     answers in the non-extended form then sends its names in UTF-16.
//
// Flags2SecuritySignature is deliberately not set: the probe never signs, and the server's
// signing policy is read from the SecurityMode of its reply, which does not depend on it.
const (
	ProbeFlags  = FlagsCaseInsensitive | FlagsCanonicalizedPaths
	ProbeFlags2 = Flags2Unicode | Flags2NTStatus | Flags2ExtendedSecurity | Flags2LongNames
	// ProbePIDLow is the process ID the probe sends; any value serves on a fresh connection.
	ProbePIDLow uint16 = 0xfeff
)

// NegotiateRequestHeader returns the header smbsweep sends before a NEGOTIATE body: command
// SMB_COM_NEGOTIATE, ProbeFlags, ProbeFlags2, PID ProbePIDLow, TID/UID 0 and the given MID.
func NegotiateRequestHeader(mid uint16) Header {
	return Header{
		Command: CommandNegotiate,
		Flags:   ProbeFlags,
		Flags2:  ProbeFlags2,
		PIDLow:  ProbePIDLow,
		MID:     mid,
	}
}

// AppendNegotiateMessage appends a whole SMB_COM_NEGOTIATE request: h (whose Command should be
// CommandNegotiate) followed by r. The caller adds only the NetBIOS session header.
func AppendNegotiateMessage(dst []byte, h *Header, r *NegotiateRequest) []byte {
	return r.AppendTo(h.AppendTo(dst))
}

// probeDialects is the dialect list of the probe: exactly one, "NT LM 0.12" (ProbeDialects).
var probeDialects = []string{DialectNTLM012}

// ProbeNegotiateSize is the size of the message AppendProbeNegotiate appends.
const ProbeNegotiateSize = HeaderSize + 3 + 1 + len(DialectNTLM012) + 1

// AppendProbeNegotiate appends smbsweep's SMB1 probe: a whole SMB_COM_NEGOTIATE request offering
// only "NT LM 0.12", with NegotiateRequestHeader(0). The caller adds the NetBIOS header.
func AppendProbeNegotiate(dst []byte) []byte {
	h := NegotiateRequestHeader(0)
	r := NegotiateRequest{Dialects: probeDialects}
	return AppendNegotiateMessage(dst, &h, &r)
}

// Offsets into a NEGOTIATE response, from the start of the SMB header (MS-CIFS 2.2.3.1,
// 2.2.4.52.2; MS-SMB 2.2.4.5.2).
const (
	offCommand         = 4
	offStatus          = 5
	offFlags           = 9
	offFlags2          = 10
	offWordCount       = HeaderSize
	offDialectIndex    = HeaderSize + 1
	offSecurityMode    = offDialectIndex + 2
	offMaxMpxCount     = offSecurityMode + 1
	offMaxNumberVcs    = offMaxMpxCount + 2
	offMaxBufferSize   = offMaxNumberVcs + 2
	offMaxRawSize      = offMaxBufferSize + 4
	offSessionKey      = offMaxRawSize + 4
	offCapabilities    = offSessionKey + 4
	offSystemTime      = offCapabilities + 4 // FILETIME: LowDateTime, then HighDateTime
	offServerTimeZone  = offSystemTime + 8
	offChallengeLength = offServerTimeZone + 2
	offNTByteCount     = offChallengeLength + 1 // = HeaderSize + 1 + 2*WordCountNTLM
	offNTBytes         = offNTByteCount + 2

	guidSize = 16
)

// NegotiateResponse is the SMB_COM_NEGOTIATE response (MS-CIFS 2.2.4.52.2; MS-SMB 2.2.4.5.2) as
// a view over the whole SMB1 message, header included. Call Validate first; the accessors
// assume it returned nil and never panic after that.
//
// Which fields exist depends on WordCount: the NT fields (SecurityMode through
// ChallengeLength, ServerGUID, SecurityBlob, Challenge, names) only with WordCountNTLM; other
// forms report zero values for them. DialectIndex exists from WordCountCore up.
type NegotiateResponse []byte

// Validate checks the header (protocol, SMB_COM_NEGOTIATE, reply flag), that WordCount and
// ByteCount lie within the message, and that the word count is one this codec reads:
//   - 17 (NT LAN Manager): with CAP_EXTENDED_SECURITY, ByteCount must hold the ServerGUID;
//     otherwise it must hold ChallengeLength bytes of challenge;
//   - 13 (LAN Manager) and 1 (Core, or NoDialect): only DialectIndex is read;
//   - 0: an error reply, accepted only when Status is non-zero.
//
// A reply with a non-zero Status and any other word count is accepted too, so an error is
// reported through Status instead of being lost as a decode failure. Bytes after the
// SMB_Data block are ignored.
func (r NegotiateResponse) Validate() error {
	if len(r) < HeaderSize+1 {
		return fmt.Errorf("negotiate response: %d bytes: %w", len(r), wire.ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(r[0:4]); p != wire.ProtocolSMB1 {
		return fmt.Errorf("negotiate response: protocol id %08x: %w", p, wire.ErrBadProtocol)
	}
	if c := r[offCommand]; c != CommandNegotiate {
		return fmt.Errorf("negotiate response: command 0x%02x: %w", c, wire.ErrBadCommand)
	}
	if r[offFlags]&FlagsReply == 0 {
		return fmt.Errorf("negotiate response: reply flag not set: %w", wire.ErrMalformed)
	}
	wc := int(r[offWordCount])
	bcOff := offWordCount + 1 + 2*wc
	if len(r) < bcOff+2 {
		return fmt.Errorf("negotiate response: word count %d needs %d bytes, have %d: %w",
			wc, bcOff+2, len(r), wire.ErrShort)
	}
	bc := int(le.Uint16(r[bcOff:]))
	if bcOff+2+bc > len(r) {
		return fmt.Errorf("negotiate response: byte count %d at offset %d past end %d: %w",
			bc, bcOff, len(r), wire.ErrBadOffset)
	}
	status := le.Uint32(r[offStatus:])
	switch wc {
	case WordCountNTLM:
		if le.Uint32(r[offCapabilities:])&CapExtendedSecurity != 0 {
			if bc < guidSize {
				return fmt.Errorf("negotiate response: byte count %d cannot hold the server guid: %w",
					bc, wire.ErrBadOffset)
			}
		} else if cl := int(r[offChallengeLength]); cl > bc {
			return fmt.Errorf("negotiate response: challenge length %d exceeds byte count %d: %w",
				cl, bc, wire.ErrBadOffset)
		}
	case WordCountCore, WordCountLANMAN:
	case WordCountError:
		if status == 0 {
			return fmt.Errorf("negotiate response: word count 0 with success status: %w", wire.ErrMalformed)
		}
	default:
		if status == 0 {
			return fmt.Errorf("negotiate response: word count %d: %w", wc, wire.ErrBadStructureSize)
		}
	}
	return nil
}

// Status returns the header's Status field; read it as an NT status when UsesNTStatus.
func (r NegotiateResponse) Status() Status {
	return Status(binary.LittleEndian.Uint32(r[offStatus:]))
}

// Flags2 returns the header's Flags2.
func (r NegotiateResponse) Flags2() uint16 { return binary.LittleEndian.Uint16(r[offFlags2:]) }

// UsesNTStatus reports whether Status is a 32-bit NT status (Flags2NTStatus) rather than an
// SMB_ERROR class and code.
func (r NegotiateResponse) UsesNTStatus() bool { return r.Flags2()&Flags2NTStatus != 0 }

// Err returns nil when Status is success, else the status as a wire.NTStatus or a DOSError.
func (r NegotiateResponse) Err() error { return r.Status().Err(r.UsesNTStatus()) }

// WordCount returns SMB_Parameters.WordCount, which selects the response form.
func (r NegotiateResponse) WordCount() int { return int(r[offWordCount]) }

// Bytes returns SMB_Data.Bytes (ByteCount bytes).
func (r NegotiateResponse) Bytes() []byte {
	off := offWordCount + 1 + 2*r.WordCount()
	bc := int(binary.LittleEndian.Uint16(r[off:]))
	return r[off+2 : off+2+bc : off+2+bc]
}

// DialectIndex returns the index of the accepted dialect in the request's list, NoDialect
// when the server accepted none, and also NoDialect for an error reply without parameters.
func (r NegotiateResponse) DialectIndex() uint16 {
	if r.WordCount() < WordCountCore {
		return NoDialect
	}
	return binary.LittleEndian.Uint16(r[offDialectIndex:])
}

// DialectAccepted reports whether the server selected a dialect: success status and a
// DialectIndex other than NoDialect. It does not say which, nor whether the index lies inside
// the request's list; for smbsweep's one-dialect probe use ProbeAccepted.
func (r NegotiateResponse) DialectAccepted() bool {
	return r.Status() == 0 && r.DialectIndex() != NoDialect
}

// AcceptedNTLM012 reports whether the reply accepts "NT LM 0.12" offered at index 0 of a list
// of offered dialects: success status, DialectIndex 0 (which must lie inside the offer, so
// offered >= 1) and the NT LAN Manager form (WordCount 17), the only form an NT LM 0.12
// selection takes (MS-CIFS 2.2.4.52.2). For smbsweep's probe, AcceptedNTLM012(1) means SMB1
// "NT LM 0.12" is enabled. A reply with another form or an index outside the offer selected
// something that was not offered, whatever DialectAccepted says; Form names its form.
func (r NegotiateResponse) AcceptedNTLM012(offered int) bool {
	return offered >= 1 && r.Status() == 0 && r.DialectIndex() == 0 && r.NTLanManager()
}

// Form names the reply's form by its WordCount: "NT" (17), "LANMAN" (13), "Core" (1), "error"
// (0), else "WordCount N" (accepted by Validate only with an error status).
func (r NegotiateResponse) Form() string {
	switch wc := r.WordCount(); wc {
	case WordCountNTLM:
		return "NT"
	case WordCountLANMAN:
		return "LANMAN"
	case WordCountCore:
		return "Core"
	case WordCountError:
		return "error"
	default:
		return "WordCount " + strconv.Itoa(wc)
	}
}

// ProbeDialects is the number of dialects smbsweep's probe (AppendProbeNegotiate) offers.
const ProbeDialects = 1

// NTLanManager reports whether the reply has the NT LAN Manager form (WordCount 17), the only
// one whose NT fields the accessors below return.
func (r NegotiateResponse) NTLanManager() bool { return r.WordCount() == WordCountNTLM }

// nt returns the parameter bytes from offset off when the reply has the NT form, else nil.
func (r NegotiateResponse) nt(off int) []byte {
	if !r.NTLanManager() {
		return nil
	}
	return r[off:]
}

// SecurityMode returns the SecurityMode bits (SecurityMode*), 0 without the NT form.
func (r NegotiateResponse) SecurityMode() byte {
	if b := r.nt(offSecurityMode); b != nil {
		return b[0]
	}
	return 0
}

// SigningEnabled reports the NEGOTIATE_SECURITY_SIGNATURES_ENABLED bit.
func (r NegotiateResponse) SigningEnabled() bool {
	return r.SecurityMode()&SecurityModeSecuritySignaturesEnabled != 0
}

// SigningRequired reports the NEGOTIATE_SECURITY_SIGNATURES_REQUIRED bit.
func (r NegotiateResponse) SigningRequired() bool {
	return r.SecurityMode()&SecurityModeSecuritySignaturesRequired != 0
}

func (r NegotiateResponse) u16(off int) uint16 {
	if b := r.nt(off); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r NegotiateResponse) u32(off int) uint32 {
	if b := r.nt(off); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// MaxMpxCount returns the maximum number of outstanding requests the server accepts.
func (r NegotiateResponse) MaxMpxCount() uint16 { return r.u16(offMaxMpxCount) }

// MaxNumberVcs returns the maximum number of virtual circuits per client.
func (r NegotiateResponse) MaxNumberVcs() uint16 { return r.u16(offMaxNumberVcs) }

// MaxBufferSize returns the largest SMB message the server accepts.
func (r NegotiateResponse) MaxBufferSize() uint32 { return r.u32(offMaxBufferSize) }

// MaxRawSize returns the largest raw-mode transfer the server accepts.
func (r NegotiateResponse) MaxRawSize() uint32 { return r.u32(offMaxRawSize) }

// SessionKey returns the server's per-connection SessionKey.
func (r NegotiateResponse) SessionKey() uint32 { return r.u32(offSessionKey) }

// Capabilities returns the server capability bits (Cap*); see AppendCapabilityNames.
func (r NegotiateResponse) Capabilities() uint32 { return r.u32(offCapabilities) }

// SystemTime returns the server's time as a FILETIME (MS-DTYP 2.3.3), assembled from the
// spec's LowDateTime and HighDateTime halves; wire.FiletimeToTime converts it (0 = unset).
func (r NegotiateResponse) SystemTime() uint64 {
	lo, hi := r.u32(offSystemTime), r.u32(offSystemTime+4)
	return uint64(hi)<<32 | uint64(lo)
}

// ServerTimeZone returns the server's time zone offset in minutes, as sent.
func (r NegotiateResponse) ServerTimeZone() int16 { return int16(r.u16(offServerTimeZone)) }

// ChallengeLength returns the ChallengeLength field (0 in the extended-security form).
func (r NegotiateResponse) ChallengeLength() byte {
	if b := r.nt(offChallengeLength); b != nil {
		return b[0]
	}
	return 0
}

// ExtendedSecurity reports whether the reply has the extended-security form (MS-SMB
// 2.2.4.5.2.1): NT form with CAP_EXTENDED_SECURITY. Per MS-SMB 3.2.5.2 the capability bit,
// not Flags2, decides the layout; Flags2 tells whether the server also set
// Flags2ExtendedSecurity.
func (r NegotiateResponse) ExtendedSecurity() bool {
	return r.Capabilities()&CapExtendedSecurity != 0
}

// ServerGUID returns the server's GUID in its wire (MS-DTYP 2.3.4.2) byte order; zero unless
// ExtendedSecurity.
func (r NegotiateResponse) ServerGUID() (g [16]byte) {
	if r.ExtendedSecurity() {
		copy(g[:], r[offNTBytes:])
	}
	return g
}

// SecurityBlob returns the server's initial GSS token (SPNEGO NegTokenInit, RFC 4178), which
// may be empty; nil unless ExtendedSecurity. It is a view into r.
func (r NegotiateResponse) SecurityBlob() []byte {
	if !r.ExtendedSecurity() {
		return nil
	}
	return r.Bytes()[guidSize:]
}

// Challenge returns the EncryptionKey (ChallengeLength bytes, normally the 8-byte NTLM
// challenge) of the non-extended NT form; nil otherwise. It is a view into r.
func (r NegotiateResponse) Challenge() []byte {
	if !r.NTLanManager() || r.ExtendedSecurity() {
		return nil
	}
	cl := int(r[offChallengeLength])
	return r.Bytes()[:cl:cl]
}

// Unicode reports whether the server's names in this reply are UTF-16LE: Flags2Unicode, or the
// CAP_UNICODE capability of the NT form; otherwise they are in an OEM code page.
//
// Flags2 alone does not decide: Samba echoes the request's Flags2Unicode bit in its reply but
// writes DomainName and ServerName in UTF-16 whenever it announces CAP_UNICODE (captured in
// testdata/samba-4.17-nt1-negotiate-non-extended.bin), and Wireshark likewise decodes the names
// of an NT LM 0.12 reply as Unicode when the server announces CAP_UNICODE.
func (r NegotiateResponse) Unicode() bool {
	return r.Flags2()&Flags2Unicode != 0 || r.Capabilities()&CapUnicode != 0
}

// DomainName returns the raw DomainName of the non-extended NT form, without its terminator
// (UTF-16LE when Unicode, else OEM); nil otherwise. See AppendDomainName.
func (r NegotiateResponse) DomainName() []byte {
	d, _ := r.names()
	return d
}

// ServerName returns the raw ServerName of the non-extended NT form, without its terminator;
// nil when absent (MS-SMB 2.2.4.5.2.2: present only if bytes follow DomainName).
func (r NegotiateResponse) ServerName() []byte {
	_, s := r.names()
	return s
}

// AppendDomainName appends DomainName as UTF-8 (see AppendString).
func (r NegotiateResponse) AppendDomainName(dst []byte) []byte {
	return AppendString(dst, r.DomainName(), r.Unicode())
}

// AppendServerName appends ServerName as UTF-8 (see AppendString).
func (r NegotiateResponse) AppendServerName(dst []byte) []byte {
	return AppendString(dst, r.ServerName(), r.Unicode())
}

// names splits the non-extended SMB_Data after the challenge into DomainName and ServerName.
//
// Unicode strings in SMB_Data are nominally 2-byte aligned from the header start, which would
// need a pad byte here (the data starts at an odd offset), but Windows and Samba send the names
// unpadded. Both names are whole UTF-16 units, so an odd number of bytes left after an
// odd-offset challenge means a pad byte is present, and it is skipped.
func (r NegotiateResponse) names() (domain, server []byte) {
	if !r.NTLanManager() || r.ExtendedSecurity() {
		return nil, nil
	}
	cl := int(r[offChallengeLength])
	rest := r.Bytes()[cl:]
	if !r.Unicode() {
		domain, rest = cutOEMZ(rest)
		server, _ = cutOEMZ(rest)
		return domain, server
	}
	if (offNTBytes+cl)%2 == 1 && len(rest)%2 == 1 {
		rest = rest[1:]
	}
	domain, rest = cutUTF16Z(rest)
	server, _ = cutUTF16Z(rest)
	return domain, server
}

// cutOEMZ splits b at its first NUL; without one, all of b is the string.
func cutOEMZ(b []byte) (s, rest []byte) {
	for i, c := range b {
		if c == 0 {
			return b[:i:i], b[i+1:]
		}
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// cutUTF16Z splits b at its first 2-byte-aligned UTF-16 NUL; without one, all of b (an odd
// trailing byte included, decoded later as U+FFFD) is the string.
func cutUTF16Z(b []byte) (s, rest []byte) {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return b[:i:i], b[i+2:]
		}
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// AppendString appends the UTF-8 form of an SMB string: UTF-16LE when unicode (unpaired
// surrogates and an odd trailing byte become U+FFFD), else OEM bytes, of which ASCII is kept
// and every other byte becomes U+FFFD because the server's code page is unknown. Output is
// not sanitised for terminals or CSV; that is the output layer's job.
func AppendString(dst, raw []byte, unicode bool) []byte {
	if unicode {
		return wire.AppendUTF8FromUTF16LE(dst, raw)
	}
	for _, c := range raw {
		if c < utf8.RuneSelf {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
	}
	return dst
}
