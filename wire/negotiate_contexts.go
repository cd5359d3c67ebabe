package wire

import (
	"encoding/binary"
	"fmt"
)

// Negotiate context types (MS-SMB2 2.2.3.1).
const (
	NegotiateContextPreauthIntegrity uint16 = 0x0001
	NegotiateContextEncryption       uint16 = 0x0002
	NegotiateContextCompression      uint16 = 0x0003
	NegotiateContextNetname          uint16 = 0x0005
	NegotiateContextTransport        uint16 = 0x0006
	NegotiateContextRDMATransform    uint16 = 0x0007
	NegotiateContextSigning          uint16 = 0x0008
	// NegotiateContextPOSIX is Samba's SMB3 POSIX extensions context (not in MS-SMB2).
	NegotiateContextPOSIX uint16 = 0x0100
)

// Preauthentication integrity hash algorithm ids (MS-SMB2 2.2.3.1.1).
const HashSHA512 uint16 = 0x0001

// Cipher ids (MS-SMB2 2.2.3.1.2). A response carrying 0 means no common cipher.
const (
	CipherNone      uint16 = 0x0000
	CipherAES128CCM uint16 = 0x0001
	CipherAES128GCM uint16 = 0x0002
	CipherAES256CCM uint16 = 0x0003
	CipherAES256GCM uint16 = 0x0004
)

// Compression algorithm ids and capability flags (MS-SMB2 2.2.3.1.3).
const (
	CompressionNone        uint16 = 0x0000
	CompressionLZNT1       uint16 = 0x0001
	CompressionLZ77        uint16 = 0x0002
	CompressionLZ77Huffman uint16 = 0x0003
	CompressionPatternV1   uint16 = 0x0004
	CompressionLZ4         uint16 = 0x0005

	CompressionFlagNone    uint32 = 0x00000000
	CompressionFlagChained uint32 = 0x00000001
)

// TransportAcceptTransportLevelSecurity is the SMB2_TRANSPORT_CAPABILITIES flag
// SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY (MS-SMB2 2.2.3.1.5).
const TransportAcceptTransportLevelSecurity uint32 = 0x00000001

// RDMA transform ids (MS-SMB2 2.2.3.1.6).
const (
	RDMATransformNone       uint16 = 0x0000
	RDMATransformEncryption uint16 = 0x0001
	RDMATransformSigning    uint16 = 0x0002
)

// Signing algorithm ids (MS-SMB2 2.2.3.1.7).
const (
	SigningHMACSHA256 uint16 = 0x0000
	SigningAESCMAC    uint16 = 0x0001
	SigningAESGMAC    uint16 = 0x0002
)

// NegotiateContext is one SMB2_NEGOTIATE_CONTEXT (MS-SMB2 2.2.3.1): its ContextType and its
// Data, a subslice of the message.
type NegotiateContext struct {
	Type uint16
	Data []byte
}

// NegotiateContextIter walks a negotiate context list: each context starts 8-byte aligned
// (relative to the SMB2 header) after the previous one; no padding is needed after the last.
// The zero value yields nothing.
type NegotiateContextIter struct {
	msg  []byte
	off  uint64 // header-relative offset of the next context
	left int
	idx  int
	err  error
}

// NewNegotiateContextIter returns an iterator over count contexts starting at header-relative
// offset off of msg (a whole SMB2 message). count is capped at MaxNegotiateContexts.
func NewNegotiateContextIter(msg []byte, off uint32, count int) NegotiateContextIter {
	if count > MaxNegotiateContexts {
		count = MaxNegotiateContexts
	}
	if count < 0 {
		count = 0
	}
	return NegotiateContextIter{msg: msg, off: uint64(off), left: count}
}

// Next stores the next context in c and reports whether there was one. It stops at the first
// context that does not fit in the message; Err then says why.
func (it *NegotiateContextIter) Next(c *NegotiateContext) bool {
	if it.left <= 0 || it.err != nil {
		return false
	}
	n := uint64(len(it.msg))
	if it.off > n || n-it.off < 8 {
		it.err = fmt.Errorf("negotiate context %d at offset %d in %d bytes: %w", it.idx, it.off, n, ErrBadOffset)
		return false
	}
	le := binary.LittleEndian
	typ := le.Uint16(it.msg[it.off:])
	dl := uint64(le.Uint16(it.msg[it.off+2:]))
	start := it.off + 8
	if dl > n-start {
		it.err = fmt.Errorf("negotiate context %d (type 0x%04x) data length %d at offset %d in %d bytes: %w",
			it.idx, typ, dl, start, n, ErrBadOffset)
		return false
	}
	c.Type, c.Data = typ, it.msg[start:start+dl:start+dl]
	it.off = (start + dl + 7) &^ 7
	it.left--
	it.idx++
	return true
}

// Err returns the error that stopped the iteration, if any.
func (it *NegotiateContextIter) Err() error { return it.err }

// Uint16List is a view over a packed array of little-endian 16-bit ids.
type Uint16List []byte

// Len returns the number of ids.
func (l Uint16List) Len() int { return len(l) / 2 }

// At returns the i'th id; i must be in [0, Len()).
func (l Uint16List) At(i int) uint16 { return binary.LittleEndian.Uint16(l[2*i:]) }

// countedList returns the count*2 bytes at d[at:], checking they are inside d.
func countedList(d []byte, at int, count int, what string) (Uint16List, error) {
	if 2*count > len(d)-at {
		return nil, fmt.Errorf("%s: %d ids in %d bytes: %w", what, count, len(d)-at, ErrBadOffset)
	}
	return Uint16List(d[at : at+2*count : at+2*count]), nil
}

// ParsePreauthIntegrityCapabilities decodes SMB2_PREAUTH_INTEGRITY_CAPABILITIES data
// (MS-SMB2 2.2.3.1.1): the hash algorithm ids and the salt.
func ParsePreauthIntegrityCapabilities(d []byte) (hashes Uint16List, salt []byte, err error) {
	const what = "preauth integrity context"
	if len(d) < 4 {
		return nil, nil, fmt.Errorf("%s: %w", what, ErrShort)
	}
	le := binary.LittleEndian
	hc, sl := int(le.Uint16(d)), int(le.Uint16(d[2:]))
	if hashes, err = countedList(d, 4, hc, what); err != nil {
		return nil, nil, err
	}
	at := 4 + 2*hc
	if sl > len(d)-at {
		return nil, nil, fmt.Errorf("%s: salt length %d in %d bytes: %w", what, sl, len(d)-at, ErrBadOffset)
	}
	return hashes, d[at : at+sl : at+sl], nil
}

// ParseEncryptionCapabilities decodes SMB2_ENCRYPTION_CAPABILITIES data (MS-SMB2 2.2.3.1.2);
// a response carries exactly one cipher.
func ParseEncryptionCapabilities(d []byte) (Uint16List, error) {
	const what = "encryption context"
	if len(d) < 2 {
		return nil, fmt.Errorf("%s: %w", what, ErrShort)
	}
	return countedList(d, 2, int(binary.LittleEndian.Uint16(d)), what)
}

// ParseSigningCapabilities decodes SMB2_SIGNING_CAPABILITIES data (MS-SMB2 2.2.3.1.7).
func ParseSigningCapabilities(d []byte) (Uint16List, error) {
	const what = "signing context"
	if len(d) < 2 {
		return nil, fmt.Errorf("%s: %w", what, ErrShort)
	}
	return countedList(d, 2, int(binary.LittleEndian.Uint16(d)), what)
}

// ParseCompressionCapabilities decodes SMB2_COMPRESSION_CAPABILITIES data (MS-SMB2 2.2.3.1.3).
func ParseCompressionCapabilities(d []byte) (flags uint32, algs Uint16List, err error) {
	const what = "compression context"
	if len(d) < 8 {
		return 0, nil, fmt.Errorf("%s: %w", what, ErrShort)
	}
	le := binary.LittleEndian
	algs, err = countedList(d, 8, int(le.Uint16(d)), what)
	if err != nil {
		return 0, nil, err
	}
	return le.Uint32(d[4:]), algs, nil
}

// ParseRDMATransformCapabilities decodes SMB2_RDMA_TRANSFORM_CAPABILITIES data
// (MS-SMB2 2.2.3.1.6).
func ParseRDMATransformCapabilities(d []byte) (Uint16List, error) {
	const what = "rdma transform context"
	if len(d) < 8 {
		return nil, fmt.Errorf("%s: %w", what, ErrShort)
	}
	return countedList(d, 8, int(binary.LittleEndian.Uint16(d)), what)
}

// ParseTransportCapabilities decodes SMB2_TRANSPORT_CAPABILITIES data (MS-SMB2 2.2.3.1.5).
func ParseTransportCapabilities(d []byte) (flags uint32, err error) {
	if len(d) < 4 {
		return 0, fmt.Errorf("transport context: %w", ErrShort)
	}
	return binary.LittleEndian.Uint32(d), nil
}

// ParseNetnameContext returns the UTF-16LE server name carried by
// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID data (MS-SMB2 2.2.3.1.4), without a trailing NUL if one
// was sent. Decode it with DecodeUTF16LE or AppendUTF8FromUTF16LE.
func ParseNetnameContext(d []byte) []byte {
	d = d[:len(d)&^1]
	if len(d) >= 2 && d[len(d)-2] == 0 && d[len(d)-1] == 0 {
		d = d[:len(d)-2]
	}
	return d
}

// NegotiateContexts is the fixed-size summary of a NEGOTIATE response's contexts, filled by
// NegotiateResponse.Contexts without allocating. A field is meaningful only when Has reports
// its context present. When a context type repeats, the first occurrence wins.
type NegotiateContexts struct {
	// Present has bit 1<<type set for every context type below 32 that was seen.
	Present uint32
	// Unknown counts contexts of types this package does not decode (e.g. Samba's POSIX).
	Unknown int

	PreauthHash    uint16 // the first hash id (the server picks one)
	PreauthSaltLen int    // length of the server's salt

	Cipher           uint16 // the cipher chosen; CipherNone means no common cipher
	SigningAlgorithm uint16

	CompressionFlags uint32
	Compression      [8]uint16 // the first NCompression algorithm ids
	NCompression     int

	RDMATransforms  [4]uint16
	NRDMATransforms int

	TransportFlags uint32

	// NetNameLen is the UTF-16 byte length of a NETNAME context (servers do not normally send one).
	NetNameLen int
}

// Has reports whether a context of type t was seen.
func (c *NegotiateContexts) Has(t uint16) bool { return t < 32 && c.Present&(1<<t) != 0 }

// add decodes one context into c: the first of each type counts, unknown types are counted.
func (c *NegotiateContexts) add(nc NegotiateContext) error {
	if nc.Type >= 32 {
		c.Unknown++
		return nil
	}
	if c.Has(nc.Type) {
		return nil
	}
	var known bool
	var err error
	switch nc.Type {
	case NegotiateContextPreauthIntegrity, NegotiateContextEncryption, NegotiateContextSigning:
		known, err = true, c.addSecurity(nc)
	case NegotiateContextCompression, NegotiateContextRDMATransform, NegotiateContextTransport, NegotiateContextNetname:
		known, err = true, c.addTransport(nc)
	}
	if err != nil {
		return err
	}
	if !known {
		c.Unknown++
		return nil
	}
	c.Present |= 1 << nc.Type
	return nil
}

// addSecurity decodes a preauth integrity, encryption or signing context: the server's
// choice is the first (only) entry.
func (c *NegotiateContexts) addSecurity(nc NegotiateContext) error {
	switch nc.Type {
	case NegotiateContextPreauthIntegrity:
		hashes, salt, err := ParsePreauthIntegrityCapabilities(nc.Data)
		if err != nil {
			return err
		}
		if hashes.Len() > 0 {
			c.PreauthHash = hashes.At(0)
		}
		c.PreauthSaltLen = len(salt)
	case NegotiateContextEncryption:
		ciphers, err := ParseEncryptionCapabilities(nc.Data)
		if err != nil {
			return err
		}
		if ciphers.Len() > 0 {
			c.Cipher = ciphers.At(0)
		}
	case NegotiateContextSigning:
		algs, err := ParseSigningCapabilities(nc.Data)
		if err != nil {
			return err
		}
		if algs.Len() > 0 {
			c.SigningAlgorithm = algs.At(0)
		}
	}
	return nil
}

// addTransport decodes a compression, RDMA transform, transport or netname context.
func (c *NegotiateContexts) addTransport(nc NegotiateContext) error {
	switch nc.Type {
	case NegotiateContextCompression:
		flags, algs, err := ParseCompressionCapabilities(nc.Data)
		if err != nil {
			return err
		}
		c.CompressionFlags = flags
		for i := 0; i < algs.Len() && c.NCompression < len(c.Compression); i++ {
			c.Compression[c.NCompression] = algs.At(i)
			c.NCompression++
		}
	case NegotiateContextRDMATransform:
		ids, err := ParseRDMATransformCapabilities(nc.Data)
		if err != nil {
			return err
		}
		for i := 0; i < ids.Len() && c.NRDMATransforms < len(c.RDMATransforms); i++ {
			c.RDMATransforms[c.NRDMATransforms] = ids.At(i)
			c.NRDMATransforms++
		}
	case NegotiateContextTransport:
		flags, err := ParseTransportCapabilities(nc.Data)
		if err != nil {
			return err
		}
		c.TransportFlags = flags
	case NegotiateContextNetname:
		c.NetNameLen = len(ParseNetnameContext(nc.Data))
	}
	return nil
}
