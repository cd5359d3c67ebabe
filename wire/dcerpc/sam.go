package dcerpc

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/smbsweep/smbsweep/wire"
)

// NDR types shared by the LSA (MS-LSAD, MS-LSAT) and SAMR (MS-SAMR) calls: context handles,
// SIDs (MS-DTYP 2.4.2.3 RPC_SID) and RPC_UNICODE_STRING (MS-DTYP 2.3.10).

// HandleSize is the wire size of a context handle (MS-RPCE 2.2.4.11, C706 appendix N).
const HandleSize = 20

// Handle is an RPC context handle: opaque to the client, returned by an open call and passed
// back to later calls on the same association.
type Handle [HandleSize]byte

// IsZero reports whether h is the NULL context handle (all zero), which a failed open returns.
func (h Handle) IsZero() bool { return h == Handle{} }

// MaxSubAuthorities is the largest SubAuthorityCount of a SID (MS-DTYP 2.4.2.3).
const MaxSubAuthorities = 15

// SID is a security identifier (MS-DTYP 2.4.2.3), held in a fixed array so that decoding does
// not allocate.
type SID struct {
	Revision  uint8
	SubCount  uint8
	Authority [6]byte // IdentifierAuthority, big-endian
	Sub       [MaxSubAuthorities]uint32
}

// Subs returns the sub-authorities in use.
func (s *SID) Subs() []uint32 { return s.Sub[:min(int(s.SubCount), MaxSubAuthorities)] }

// WithRID returns s with rid appended as a further sub-authority (a domain SID plus a relative
// identifier names an account of the domain), and false when s already has the maximum.
func (s SID) WithRID(rid uint32) (SID, bool) {
	if s.SubCount >= MaxSubAuthorities {
		return s, false
	}
	s.Sub[s.SubCount] = rid
	s.SubCount++
	return s, true
}

// RID returns the last sub-authority (the relative identifier of an account SID).
func (s *SID) RID() uint32 {
	if s.SubCount == 0 {
		return 0
	}
	return s.Sub[s.SubCount-1]
}

// String returns the SID in the S-R-I-S... form of MS-DTYP 2.4.2.1, e.g. "S-1-5-21-1-2-3". An
// authority of 2^32 or more is written in hex, as the specification says.
func (s *SID) String() string {
	b := make([]byte, 0, 16+11*int(s.SubCount))
	b = append(b, "S-"...)
	b = strconv.AppendUint(b, uint64(s.Revision), 10)
	var auth uint64
	for _, x := range s.Authority {
		auth = auth<<8 | uint64(x)
	}
	b = append(b, '-')
	if auth >= 1<<32 {
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, auth, 16)
	} else {
		b = strconv.AppendUint(b, auth, 10)
	}
	for _, sub := range s.Subs() {
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(sub), 10)
	}
	return string(b)
}

// ndrSize is the NDR size of s as a conformant structure: its maximum count, then the body.
func (s *SID) ndrSize() int { return 4 + 8 + 4*int(min(s.SubCount, MaxSubAuthorities)) }

// appendNDR appends s as an RPC_SID (conformant structure: the conformance, SubAuthorityCount
// as uint32, comes first). dst must be 4-aligned relative to the stub start.
func (s *SID) appendNDR(dst []byte) []byte {
	n := min(s.SubCount, MaxSubAuthorities)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, s.Revision, n)
	dst = append(dst, s.Authority[:]...)
	for _, sub := range s.Sub[:n] {
		dst = binary.LittleEndian.AppendUint32(dst, sub)
	}
	return dst
}

// ParseSID parses the S-R-I-S... form (decimal authority only).
func ParseSID(str string) (SID, error) {
	var s SID
	rest, ok := cutPrefixFold(str, "S-")
	if !ok {
		return s, fmt.Errorf("SID %q: want S-1-5-21-...: %w", str, wire.ErrMalformed)
	}
	fields := splitDash(rest)
	if len(fields) < 2 || len(fields)-2 > MaxSubAuthorities {
		return s, fmt.Errorf("SID %q: want S-revision-authority and at most %d sub-authorities: %w", str, MaxSubAuthorities, wire.ErrMalformed)
	}
	rev, err := strconv.ParseUint(fields[0], 10, 8)
	if err != nil {
		return s, fmt.Errorf("SID %q: revision: %w", str, wire.ErrMalformed)
	}
	auth, err := strconv.ParseUint(fields[1], 10, 48)
	if err != nil {
		return s, fmt.Errorf("SID %q: authority: %w", str, wire.ErrMalformed)
	}
	s.Revision = uint8(rev)
	for i := 5; i >= 0; i-- {
		s.Authority[i] = byte(auth)
		auth >>= 8
	}
	for _, f := range fields[2:] {
		v, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return s, fmt.Errorf("SID %q: sub-authority %q: %w", str, f, wire.ErrMalformed)
		}
		s.Sub[s.SubCount] = uint32(v)
		s.SubCount++
	}
	return s, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) {
		return s, false
	}
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if a|0x20 != b|0x20 {
			return s, false
		}
	}
	return s[len(prefix):], true
}

func splitDash(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '-' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// u16 reads an aligned uint16 (an NDR enum is a 16-bit value on the wire, C706 14.2.5).
func (r *ndrReader) u16(what string) (uint16, error) {
	at, ok := r.take(2, 2)
	if !ok {
		return 0, r.short(what, at)
	}
	return binary.LittleEndian.Uint16(r.b[at:]), nil
}

// i64 reads an 8-aligned hyper.
func (r *ndrReader) i64(what string) (int64, error) {
	at, ok := r.take(8, 8)
	if !ok {
		return 0, r.short(what, at)
	}
	return int64(binary.LittleEndian.Uint64(r.b[at:])), nil
}

// oldLargeInteger reads an OLD_LARGE_INTEGER (MS-SAMR 2.2.2.2: LowPart, HighPart, 4-aligned).
func (r *ndrReader) oldLargeInteger(what string) (int64, error) {
	lo, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	hi, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	return int64(uint64(hi)<<32 | uint64(lo)), nil
}

// handle reads a context handle (4-aligned: a uint32 attributes word and a UUID).
func (r *ndrReader) handle(what string) (Handle, error) {
	var h Handle
	at, ok := r.take(4, HandleSize)
	if !ok {
		return h, r.short(what, at)
	}
	copy(h[:], r.b[at:])
	return h, nil
}

// sid reads an RPC_SID conformant structure: the conformance (uint32), Revision,
// SubAuthorityCount, IdentifierAuthority and the sub-authorities. The conformance must equal
// SubAuthorityCount, which must be at most MaxSubAuthorities.
func (r *ndrReader) sid(what string, s *SID) error {
	n, err := r.u32(what)
	if err != nil {
		return err
	}
	if n > MaxSubAuthorities {
		return fmt.Errorf("%s: %d sub-authorities > %d: %w", what, n, MaxSubAuthorities, wire.ErrTooLarge)
	}
	if r.off+8+4*int(n) > len(r.b) {
		return fmt.Errorf("%s: %d sub-authorities at %d: stub of %d bytes: %w", what, n, r.off, len(r.b), wire.ErrShort)
	}
	b := r.b[r.off:]
	if b[1] != uint8(n) {
		return fmt.Errorf("%s: SubAuthorityCount %d, conformance %d: %w", what, b[1], n, wire.ErrMalformed)
	}
	*s = SID{Revision: b[0], SubCount: b[1]}
	copy(s.Authority[:], b[2:8])
	for i := range int(n) {
		s.Sub[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	r.off += 8 + 4*int(n)
	return nil
}

// ustringHeader is the fixed part of an RPC_UNICODE_STRING (MS-DTYP 2.3.10): Length and
// MaximumLength in bytes and the Buffer pointer, whose characters are deferred.
type ustringHeader struct {
	length, maxLength uint16
	ptr               uint32
}

// ustrHeader reads the fixed part of an RPC_UNICODE_STRING, a structure aligned to 4 (it
// holds a pointer).
func (r *ndrReader) ustrHeader(what string) (ustringHeader, error) {
	r.off = (r.off + 3) &^ 3
	l, err := r.u16(what)
	if err != nil {
		return ustringHeader{}, err
	}
	m, err := r.u16(what)
	if err != nil {
		return ustringHeader{}, err
	}
	p, err := r.u32(what)
	if err != nil {
		return ustringHeader{}, err
	}
	if l > m || l%2 != 0 {
		return ustringHeader{}, fmt.Errorf("%s: Length %d, MaximumLength %d: %w", what, l, m, wire.ErrMalformed)
	}
	return ustringHeader{length: l, maxLength: m, ptr: p}, nil
}

// ustrBody reads the deferred characters of an RPC_UNICODE_STRING whose header is h (nothing
// for a NULL Buffer): a conformant varying array of WCHAR (maximum count, offset 0, actual
// count), actual count = Length/2 <= maximum count <= maxChars. It returns the characters as
// UTF-16LE (a view, not NUL-terminated; nil for a NULL Buffer, non-nil empty for "").
func (r *ndrReader) ustrBody(what string, h ustringHeader, maxChars uint32) ([]byte, error) {
	if h.ptr == 0 {
		if h.length != 0 {
			return nil, fmt.Errorf("%s: Length %d with a NULL Buffer: %w", what, h.length, wire.ErrMalformed)
		}
		return nil, nil
	}
	s, err := r.wchars(what, maxChars)
	if err != nil {
		return nil, err
	}
	if len(s) != int(h.length) {
		return nil, fmt.Errorf("%s: actual count %d for Length %d: %w", what, len(s)/2, h.length, wire.ErrMalformed)
	}
	return s, nil
}

// ptrSID reads the deferred RPC_SID of a unique pointer ptr into s (nothing for NULL), and
// reports whether there was one.
func (r *ndrReader) ptrSID(what string, ptr uint32, s *SID) (bool, error) {
	if ptr == 0 {
		*s = SID{}
		return false, nil
	}
	return true, r.sid(what, s)
}

// end checks that at most 7 bytes of padding follow the last field.
func (r *ndrReader) end(what string) error {
	if extra := len(r.b) - r.off; extra > 7 {
		return fmt.Errorf("%s: %d bytes after the return value: %w", what, extra, wire.ErrMalformed)
	}
	return nil
}

// appendUStringHeader appends an RPC_UNICODE_STRING's fixed part for units UTF-16 code units
// with Buffer pointer ref (0 for NULL). The characters go later with appendUStringBody.
func appendUStringHeader(dst []byte, units int, ref uint32) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(2*units))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(2*units))
	return binary.LittleEndian.AppendUint32(dst, ref)
}

// appendUStringBody appends the deferred conformant varying array of an RPC_UNICODE_STRING
// (not NUL-terminated), padded to 4 bytes counted from start.
func appendUStringBody(dst []byte, s string, units, start int) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(units))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(units))
	dst = appendUTF16Units(dst, s, units)
	return pad4(dst, start)
}

// appendServerName appends a [unique, string] wchar_t* server name: a NULL pointer for "", or
// the referent, the conformant varying string with its NUL, padded to 4 from start.
func appendServerName(dst []byte, name string, start int) []byte {
	if name == "" {
		return binary.LittleEndian.AppendUint32(dst, 0)
	}
	units := utf16Units(name, MaxStringChars-1)
	dst = binary.LittleEndian.AppendUint32(dst, refServerName)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(units+1))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(units+1))
	dst = appendUTF16Units(dst, name, units)
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	return pad4(dst, start)
}

// serverNameSize is the size appendServerName appends.
func serverNameSize(name string) int {
	if name == "" {
		return 4
	}
	return 16 + (2*(utf16Units(name, MaxStringChars-1)+1)+3)&^3
}

// HandleStatusResponse is the NDR stub of a reply that is a context handle and an NTSTATUS:
// LsarOpenPolicy2, LsarClose, SamrConnect2, SamrOpenDomain, SamrCloseHandle.
type HandleStatusResponse []byte

// Decode returns the handle and the status. A failed open returns the NULL handle.
func (r HandleStatusResponse) Decode() (Handle, uint32, error) {
	const what = "handle response"
	rd := ndrReader{b: r}
	h, err := rd.handle(what + ": handle")
	if err != nil {
		return h, 0, err
	}
	st, err := rd.u32(what + ": return value")
	if err != nil {
		return h, 0, err
	}
	return h, st, rd.end(what)
}

// appendHandle appends a context handle.
func appendHandle(dst []byte, h *Handle) []byte { return append(dst, h[:]...) }

// HandleRequest is the stub of a call whose only [in] parameter is a context handle:
// LsarClose (MS-LSAD 3.1.4.9.4) and SamrCloseHandle (MS-SAMR 3.1.5.13.1).
type HandleRequest struct{ Handle Handle }

// Size returns the encoded size.
func (r *HandleRequest) Size() int { return HandleSize }

// AppendTo appends the stub.
func (r *HandleRequest) AppendTo(dst []byte) []byte { return appendHandle(dst, &r.Handle) }

// NTSTATUS values the LSA and SAMR replies carry (MS-ERREF 2.3.1) that callers tell apart.
const (
	StatusSuccess       uint32 = 0x00000000
	StatusMoreEntries   uint32 = 0x00000105
	StatusSomeNotMapped uint32 = 0x00000107
	StatusAccessDenied  uint32 = 0xC0000022
	StatusNoneMapped    uint32 = 0xC0000073
	StatusNoSuchDomain  uint32 = 0xC00000DF
)
