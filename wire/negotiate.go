package wire

import (
	"encoding/binary"
	"fmt"
)

// Dialect is an SMB2 dialect revision number (MS-SMB2 2.2.3, 2.2.4).
type Dialect uint16

// SMB2/3 dialect revisions.
const (
	Dialect202 Dialect = 0x0202 // SMB 2.0.2
	Dialect210 Dialect = 0x0210 // SMB 2.1
	Dialect300 Dialect = 0x0300 // SMB 3.0
	Dialect302 Dialect = 0x0302 // SMB 3.0.2
	Dialect311 Dialect = 0x0311 // SMB 3.1.1
	// DialectWildcard is answered by a server to an SMB1 multi-protocol negotiate that offered
	// "SMB 2.???" (MS-SMB2 2.2.4, 3.3.5.3.1).
	DialectWildcard Dialect = 0x02ff
)

// String returns the dialect as the specification names it ("2.0.2", "2.1", "3.0", "3.0.2",
// "3.1.1", "2.???" for the wildcard), or its value as 0xXXXX when unknown.
func (d Dialect) String() string {
	switch d {
	case Dialect202:
		return "2.0.2"
	case Dialect210:
		return "2.1"
	case Dialect300:
		return "3.0"
	case Dialect302:
		return "3.0.2"
	case Dialect311:
		return "3.1.1"
	case DialectWildcard:
		return "2.???"
	}
	return fmt.Sprintf("0x%04x", uint16(d))
}

// SecurityMode bits of NEGOTIATE (MS-SMB2 2.2.3, 2.2.4); SESSION_SETUP uses the same values in
// its one-byte SecurityMode (2.2.5).
const (
	NegotiateSigningEnabled  uint16 = 0x0001
	NegotiateSigningRequired uint16 = 0x0002
)

// Global capabilities (MS-SMB2 2.2.3, 2.2.4).
const (
	CapDFS               uint32 = 0x00000001
	CapLeasing           uint32 = 0x00000002
	CapLargeMTU          uint32 = 0x00000004
	CapMultiChannel      uint32 = 0x00000008
	CapPersistentHandles uint32 = 0x00000010
	CapDirectoryLeasing  uint32 = 0x00000020
	CapEncryption        uint32 = 0x00000040
	CapNotifications     uint32 = 0x00000080
)

// GUID is a 16-byte GUID in its wire order (MS-DTYP 2.3.4.2: Data1, Data2 and Data3
// little-endian, Data4 as bytes).
type GUID [16]byte

// IsZero reports whether every byte of g is zero.
func (g GUID) IsZero() bool { return g == GUID{} }

// String returns g in the registry form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (lowercase).
func (g GUID) String() string {
	var b [36]byte
	return string(AppendGUID(b[:0], g))
}

// AppendGUID appends the 36-character text form of g (MS-DTYP 2.3.4.3), lowercase, to dst.
func AppendGUID(dst []byte, g GUID) []byte {
	const hexDigits = "0123456789abcdef"
	hexByte := func(dst []byte, c byte) []byte { return append(dst, hexDigits[c>>4], hexDigits[c&0xf]) }
	// Data1 (4 bytes), Data2 and Data3 (2 bytes each) are little-endian on the wire.
	for i := 3; i >= 0; i-- {
		dst = hexByte(dst, g[i])
	}
	dst = append(dst, '-')
	dst = hexByte(hexByte(dst, g[5]), g[4])
	dst = append(dst, '-')
	dst = hexByte(hexByte(dst, g[7]), g[6])
	dst = append(dst, '-')
	dst = hexByte(hexByte(dst, g[8]), g[9])
	dst = append(dst, '-')
	for i := 10; i < 16; i++ {
		dst = hexByte(dst, g[i])
	}
	return dst
}

// MaxNegotiateListLen caps each list a NegotiateRequest encodes (dialects, ciphers, signing and
// compression algorithms); entries past it are not sent.
const MaxNegotiateListLen = 32

// MaxNetNameBytes caps the UTF-16 size of the NETNAME context's server name; a longer name is
// cut at a character boundary.
const MaxNetNameBytes = 512

// negotiateRequestFixed is the fixed part of the NEGOTIATE request body (MS-SMB2 2.2.3).
const negotiateRequestFixed = 36

// NegotiateRequest is the SMB2 NEGOTIATE request (MS-SMB2 2.2.3).
//
// When Dialects contains Dialect311 the request carries negotiate contexts (2.2.3.1):
// PREAUTH_INTEGRITY_CAPABILITIES (SHA-512 with Salt) always, ENCRYPTION_CAPABILITIES,
// SIGNING_CAPABILITIES and COMPRESSION_CAPABILITIES when their lists are non-empty (in the order
// given), and NETNAME_NEGOTIATE_CONTEXT_ID when NetName is set. Without 3.1.1 the contexts are
// omitted and the ClientStartTime field is zero.
type NegotiateRequest struct {
	Dialects     []Dialect
	SecurityMode uint16 // NegotiateSigningEnabled / NegotiateSigningRequired
	Capabilities uint32 // Cap* bits
	ClientGUID   GUID   // random per connection (see DESIGN: Samba routes by ClientGuid)
	// Salt is the PREAUTH_INTEGRITY_CAPABILITIES salt (random per connection).
	Salt                  [32]byte
	Ciphers               []uint16 // Cipher* ids, in preference order
	SigningAlgorithms     []uint16 // Signing* ids, in preference order
	CompressionAlgorithms []uint16 // Compression* ids
	CompressionFlags      uint32   // CompressionFlagNone or CompressionFlagChained
	NetName               string   // server name for NETNAME_NEGOTIATE_CONTEXT_ID; "" omits it
}

// DefaultNegotiateRequest returns a request offering 2.0.2, 2.1, 3.0, 3.0.2 and 3.1.1 with
// signing enabled (not required), every cipher (AES-128-GCM, AES-128-CCM, AES-256-GCM,
// AES-256-CCM), every signing algorithm (AES-GMAC, AES-CMAC, HMAC-SHA256) and the LZNT1, LZ77,
// LZ77+Huffman and Pattern_V1 compression algorithms. The lists are freshly allocated (one
// allocation), so a caller may narrow or reorder them in place, e.g. to offer one dialect or
// one cipher per connection.
func DefaultNegotiateRequest(clientGUID GUID, salt [32]byte) NegotiateRequest {
	lists := new(struct {
		dialects [5]Dialect
		ciphers  [4]uint16
		signing  [3]uint16
		compress [4]uint16
	})
	lists.dialects = [5]Dialect{Dialect202, Dialect210, Dialect300, Dialect302, Dialect311}
	lists.ciphers = [4]uint16{CipherAES128GCM, CipherAES128CCM, CipherAES256GCM, CipherAES256CCM}
	lists.signing = [3]uint16{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256}
	lists.compress = [4]uint16{CompressionLZNT1, CompressionLZ77, CompressionLZ77Huffman, CompressionPatternV1}
	return NegotiateRequest{
		Dialects:              lists.dialects[:],
		SecurityMode:          NegotiateSigningEnabled,
		Capabilities:          CapDFS | CapLeasing | CapLargeMTU | CapEncryption,
		ClientGUID:            clientGUID,
		Salt:                  salt,
		Ciphers:               lists.ciphers[:],
		SigningAlgorithms:     lists.signing[:],
		CompressionAlgorithms: lists.compress[:],
		CompressionFlags:      CompressionFlagNone,
	}
}

func capList[T any](l []T) []T {
	if len(l) > MaxNegotiateListLen {
		return l[:MaxNegotiateListLen]
	}
	return l
}

// offers311 reports whether the (capped) dialect list contains 3.1.1.
func (r *NegotiateRequest) offers311() bool {
	for _, d := range capList(r.Dialects) {
		if d == Dialect311 {
			return true
		}
	}
	return false
}

// contextDataSizes returns the data length of each context the request carries, in order,
// with the context types; n is how many.
func (r *NegotiateRequest) contexts() (types [5]uint16, sizes [5]int, n int) {
	add := func(t uint16, size int) {
		types[n], sizes[n] = t, size
		n++
	}
	add(NegotiateContextPreauthIntegrity, 4+2+len(r.Salt))
	if c := capList(r.Ciphers); len(c) > 0 {
		add(NegotiateContextEncryption, 2+2*len(c))
	}
	if s := capList(r.SigningAlgorithms); len(s) > 0 {
		add(NegotiateContextSigning, 2+2*len(s))
	}
	if c := capList(r.CompressionAlgorithms); len(c) > 0 {
		add(NegotiateContextCompression, 8+2*len(c))
	}
	if r.NetName != "" {
		add(NegotiateContextNetname, smb2UTF16LenCapped(r.NetName, MaxNetNameBytes))
	}
	return types, sizes, n
}

// Size returns the encoded size of the request body.
func (r *NegotiateRequest) Size() int {
	n := negotiateRequestFixed + 2*len(capList(r.Dialects))
	if !r.offers311() {
		return n
	}
	_, sizes, count := r.contexts()
	for i := 0; i < count; i++ {
		n = smb2Align8(n) + 8 + sizes[i]
	}
	return n
}

// AppendTo appends the request body to dst. The body must directly follow the 64-byte SMB2
// header in the message, since NegotiateContextOffset counts from the header.
func (r *NegotiateRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	start := len(dst)
	dialects := capList(r.Dialects)
	with311 := r.offers311()
	dst = le.AppendUint16(dst, negotiateRequestFixed)
	dst = le.AppendUint16(dst, uint16(len(dialects)))
	dst = le.AppendUint16(dst, r.SecurityMode)
	dst = le.AppendUint16(dst, 0) // Reserved
	dst = le.AppendUint32(dst, r.Capabilities)
	dst = append(dst, r.ClientGUID[:]...)
	types, sizes, count := r.contexts()
	if with311 {
		ctxOff := HeaderSize + smb2Align8(negotiateRequestFixed+2*len(dialects))
		dst = le.AppendUint32(dst, uint32(ctxOff))
		dst = le.AppendUint16(dst, uint16(count))
		dst = le.AppendUint16(dst, 0) // Reserved2
	} else {
		dst = le.AppendUint64(dst, 0) // ClientStartTime
	}
	for _, d := range dialects {
		dst = le.AppendUint16(dst, uint16(d))
	}
	if !with311 {
		return dst
	}
	for i := 0; i < count; i++ {
		dst = smb2AppendPad8(dst, start)
		dst = le.AppendUint16(dst, types[i])
		dst = le.AppendUint16(dst, uint16(sizes[i]))
		dst = le.AppendUint32(dst, 0) // Reserved
		switch types[i] {
		case NegotiateContextPreauthIntegrity:
			dst = le.AppendUint16(dst, 1) // HashAlgorithmCount
			dst = le.AppendUint16(dst, uint16(len(r.Salt)))
			dst = le.AppendUint16(dst, HashSHA512)
			dst = append(dst, r.Salt[:]...)
		case NegotiateContextEncryption:
			dst = appendUint16List(dst, capList(r.Ciphers))
		case NegotiateContextSigning:
			dst = appendUint16List(dst, capList(r.SigningAlgorithms))
		case NegotiateContextCompression:
			algs := capList(r.CompressionAlgorithms)
			dst = le.AppendUint16(dst, uint16(len(algs)))
			dst = le.AppendUint16(dst, 0) // Padding
			dst = le.AppendUint32(dst, r.CompressionFlags)
			for _, a := range algs {
				dst = le.AppendUint16(dst, a)
			}
		case NegotiateContextNetname:
			dst = smb2AppendUTF16Capped(dst, r.NetName, MaxNetNameBytes)
		}
	}
	return dst
}

// appendUint16List appends a 16-bit count followed by the values.
func appendUint16List(dst []byte, l []uint16) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(l)))
	for _, v := range l {
		dst = binary.LittleEndian.AppendUint16(dst, v)
	}
	return dst
}

// negotiateResponseFixed is the fixed part of the NEGOTIATE response body (MS-SMB2 2.2.4);
// its StructureSize is 65 because the variable buffer follows.
const negotiateResponseFixed = 64

// MaxNegotiateContexts caps the NegotiateContextCount accepted in a response.
const MaxNegotiateContexts = 32

// NegotiateResponse is the SMB2 NEGOTIATE response (MS-SMB2 2.2.4): a view over the whole
// message, SMB2 header included. Call Validate before any accessor. Validate does not look at
// the header's Status: a failed NEGOTIATE carries an ERROR body (2.2.2) and fails Validate on
// its StructureSize.
type NegotiateResponse []byte

// Validate checks the header, the fixed body, the security buffer and, for dialect 3.1.1, the
// framing of every negotiate context (count capped, each context inside the message).
func (r NegotiateResponse) Validate() error {
	const what = "negotiate response"
	if err := validateSMB2Response(r, CmdNegotiate, 65, negotiateResponseFixed, what); err != nil {
		return err
	}
	le := binary.LittleEndian
	b := r[HeaderSize:]
	off, n := le.Uint16(b[56:]), le.Uint16(b[58:])
	if !smb2BufferInBounds(len(r), uint64(off), uint64(n), HeaderSize+negotiateResponseFixed) {
		return fmt.Errorf("%s: security buffer offset %d length %d in %d bytes: %w", what, off, n, len(r), ErrBadOffset)
	}
	if r.DialectRevision() != Dialect311 {
		return nil
	}
	count := int(le.Uint16(b[6:]))
	if count > MaxNegotiateContexts {
		return fmt.Errorf("%s: %d negotiate contexts: %w", what, count, ErrTooLarge)
	}
	if count == 0 {
		return nil
	}
	ctxOff := le.Uint32(b[60:])
	if ctxOff < HeaderSize+negotiateResponseFixed || uint64(ctxOff) >= uint64(len(r)) {
		return fmt.Errorf("%s: negotiate context offset %d in %d bytes: %w", what, ctxOff, len(r), ErrBadOffset)
	}
	it := r.ContextList()
	var c NegotiateContext
	for it.Next(&c) {
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// SecurityMode returns the server's NegotiateSigning* bits.
func (r NegotiateResponse) SecurityMode() uint16 {
	return binary.LittleEndian.Uint16(r[HeaderSize+2:])
}

// SigningEnabled reports whether SMB2_NEGOTIATE_SIGNING_ENABLED is set.
func (r NegotiateResponse) SigningEnabled() bool {
	return r.SecurityMode()&NegotiateSigningEnabled != 0
}

// SigningRequired reports whether SMB2_NEGOTIATE_SIGNING_REQUIRED is set.
func (r NegotiateResponse) SigningRequired() bool {
	return r.SecurityMode()&NegotiateSigningRequired != 0
}

// DialectRevision returns the dialect the server selected.
func (r NegotiateResponse) DialectRevision() Dialect {
	return Dialect(binary.LittleEndian.Uint16(r[HeaderSize+4:]))
}

// NegotiateContextCount returns the raw NegotiateContextCount field (meaningful for 3.1.1 only).
func (r NegotiateResponse) NegotiateContextCount() uint16 {
	return binary.LittleEndian.Uint16(r[HeaderSize+6:])
}

// ServerGUID returns the server's GUID.
func (r NegotiateResponse) ServerGUID() GUID {
	return GUID(r[HeaderSize+8 : HeaderSize+24])
}

// Capabilities returns the server's Cap* bits.
func (r NegotiateResponse) Capabilities() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+24:])
}

// MaxTransactSize returns the largest transact buffer the server accepts.
func (r NegotiateResponse) MaxTransactSize() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+28:])
}

// MaxReadSize returns the largest READ length the server accepts.
func (r NegotiateResponse) MaxReadSize() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+32:])
}

// MaxWriteSize returns the largest WRITE length the server accepts.
func (r NegotiateResponse) MaxWriteSize() uint32 {
	return binary.LittleEndian.Uint32(r[HeaderSize+36:])
}

// SystemTime returns the server's clock as a raw FILETIME (see FiletimeToTime).
func (r NegotiateResponse) SystemTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+40:])
}

// ServerStartTime returns the server's boot time as a raw FILETIME; most servers send 0,
// which FiletimeToTime reports as unknown.
func (r NegotiateResponse) ServerStartTime() uint64 {
	return binary.LittleEndian.Uint64(r[HeaderSize+48:])
}

// SecurityBuffer returns the server's GSS token (usually a SPNEGO negTokenInit), nil if empty.
func (r NegotiateResponse) SecurityBuffer() []byte {
	le := binary.LittleEndian
	off, n := int(le.Uint16(r[HeaderSize+56:])), int(le.Uint16(r[HeaderSize+58:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}

// ContextList returns an iterator over the negotiate contexts; it yields nothing unless the
// selected dialect is 3.1.1.
func (r NegotiateResponse) ContextList() NegotiateContextIter {
	if r.DialectRevision() != Dialect311 {
		return NegotiateContextIter{}
	}
	le := binary.LittleEndian
	count := int(le.Uint16(r[HeaderSize+6:]))
	if count > MaxNegotiateContexts {
		count = MaxNegotiateContexts
	}
	return NegotiateContextIter{msg: r, off: uint64(le.Uint32(r[HeaderSize+60:])), left: count}
}

// Contexts decodes the negotiate contexts the server chose into c (zeroed first). It decodes
// each known context's data and returns the first error met; for a dialect other than 3.1.1
// it leaves c empty and returns nil.
func (r NegotiateResponse) Contexts(c *NegotiateContexts) error {
	*c = NegotiateContexts{}
	it := r.ContextList()
	var nc NegotiateContext
	for it.Next(&nc) {
		if err := c.add(nc); err != nil {
			return fmt.Errorf("negotiate response: %w", err)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("negotiate response: %w", err)
	}
	return nil
}

// Helpers shared by the SMB2 message codecs of this package.

// validateSMB2Response checks what every response view needs before its accessors can run:
// an SMB2 header, the expected command, the body's StructureSize, and at least fixed body bytes.
func validateSMB2Response(r []byte, cmd Command, structSize uint16, fixed int, what string) error {
	if len(r) < HeaderSize+2 {
		return fmt.Errorf("%s: %d bytes: %w", what, len(r), ErrShort)
	}
	le := binary.LittleEndian
	if p := le.Uint32(r); p != ProtocolSMB2 {
		return fmt.Errorf("%s: protocol id %08x: %w", what, p, ErrBadProtocol)
	}
	if s := le.Uint16(r[4:]); s != HeaderSize {
		return fmt.Errorf("%s: header structure size %d: %w", what, s, ErrBadStructureSize)
	}
	if c := Command(le.Uint16(r[12:])); c != cmd {
		return fmt.Errorf("%s: command %v: %w", what, c, ErrBadCommand)
	}
	if s := le.Uint16(r[HeaderSize:]); s != structSize {
		return fmt.Errorf("%s: structure size %d: %w", what, s, ErrBadStructureSize)
	}
	if len(r) < HeaderSize+fixed {
		return fmt.Errorf("%s: %d bytes, need %d: %w", what, len(r), HeaderSize+fixed, ErrShort)
	}
	return nil
}

// smb2BufferInBounds reports whether a variable buffer of n bytes at offset off (from the
// header start) lies inside a message of msgLen bytes and, when non-empty, does not overlap
// the header and fixed body that end at minOff. An empty buffer may carry any offset.
func smb2BufferInBounds(msgLen int, off, n uint64, minOff int) bool {
	if n == 0 {
		return true
	}
	return off >= uint64(minOff) && off <= uint64(msgLen) && n <= uint64(msgLen)-off
}

// smb2Align8 rounds n up to a multiple of 8.
func smb2Align8(n int) int { return (n + 7) &^ 7 }

// smb2AppendPad8 appends zero bytes until the body that began at dst[start] is a multiple of 8
// long; since the 64-byte header precedes the body, that keeps header-relative offsets aligned.
func smb2AppendPad8(dst []byte, start int) []byte {
	for (len(dst)-start)%8 != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// smb2UTF16LenCapped returns the UTF-16LE size of s, cut at a character boundary so that it
// does not exceed maxBytes.
func smb2UTF16LenCapped(s string, maxBytes int) int {
	n := 0
	for _, c := range s {
		w := 2
		if c >= 0x10000 {
			w = 4
		}
		if n+w > maxBytes {
			break
		}
		n += w
	}
	return n
}

// smb2AppendUTF16Capped appends s as UTF-16LE, stopping before the first character that would
// exceed maxBytes (the same cut as smb2UTF16LenCapped).
func smb2AppendUTF16Capped(dst []byte, s string, maxBytes int) []byte {
	n := 0
	for i, c := range s {
		w := 2
		if c >= 0x10000 {
			w = 4
		}
		if n+w > maxBytes {
			return AppendUTF16LE(dst, s[:i])
		}
		n += w
	}
	return AppendUTF16LE(dst, s)
}
