package smbcrypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// ccm is the CCM mode of NIST SP800-38C (also RFC 3610) over a 128-bit block cipher, with a
// nonce of nonceSize bytes (7..13) and a tag of tagSize bytes (4, 6, ..., 16). SMB uses an
// 11-byte nonce and a 16-byte tag (MS-SMB2 2.2.41: AES_CCM_Nonce; RFC 4309 via 3.1.4.3).
//
// The payload-length field is q = 15 - nonceSize bytes long, so the payload is limited to
// 2^(8q) - 1 bytes (2^32 - 1 for SMB). All work happens in fixed arrays, taken from a pool
// (the block cipher is an interface, so a stack array handed to it would escape): seal and
// open do not allocate once the pool is warm, and a ccm is safe for concurrent use.
type ccm struct {
	block     cipher.Block
	nonceSize int
	tagSize   int
}

func newCCM(b cipher.Block, nonceSize, tagSize int) (*ccm, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("smbcrypto: CCM needs a 128-bit block cipher")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, fmt.Errorf("smbcrypto: CCM nonce size %d, want 7..13", nonceSize)
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, fmt.Errorf("smbcrypto: CCM tag size %d, want 4, 6, ..., 16", tagSize)
	}
	return &ccm{block: b, nonceSize: nonceSize, tagSize: tagSize}, nil
}

// maxPayload returns the largest payload the length field can express.
func (c *ccm) maxPayload() uint64 {
	q := 15 - c.nonceSize
	if q >= 8 {
		return 1<<64 - 1
	}
	return 1<<(8*uint(q)) - 1
}

var ccmStates = sync.Pool{New: func() any { return new(ccmState) }}

// ccmState carries the CBC-MAC chaining value and the counter block through one operation.
type ccmState struct {
	mac  [16]byte // CBC-MAC chaining value Y_i
	ctr  [16]byte // counter block Ctr_i
	ks   [16]byte // keystream block
	blk  [16]byte // scratch block
	q    int      // length of the counter / payload-length field
	tagS [16]byte // S_0, the keystream that masks the tag
}

// start computes B_0 and the MAC over the formatted associated data (SP800-38C A.2.1, A.2.2)
// and sets up Ctr_0 and S_0 (A.3).
func (c *ccm) start(st *ccmState, nonce, aad []byte, plen int) {
	q := 15 - c.nonceSize
	st.q = q
	// B_0: flags | N | Q. Flags = 64*Adata + 8*((t-2)/2) + (q-1).
	var flags byte
	if len(aad) > 0 {
		flags |= 0x40
	}
	flags |= byte((c.tagSize-2)/2) << 3
	flags |= byte(q - 1)
	st.mac[0] = flags
	copy(st.mac[1:], nonce)
	putLen(st.mac[16-q:], uint64(plen))
	c.block.Encrypt(st.mac[:], st.mac[:])

	if len(aad) > 0 {
		// The associated data is prefixed with its encoded length and zero-padded to a
		// block boundary (A.2.2).
		var hdr [10]byte
		var h []byte
		switch a := uint64(len(aad)); {
		case a < 1<<16-1<<8:
			binary.BigEndian.PutUint16(hdr[:], uint16(a))
			h = hdr[:2]
		case a < 1<<32:
			hdr[0], hdr[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(hdr[2:], uint32(a))
			h = hdr[:6]
		default:
			hdr[0], hdr[1] = 0xff, 0xff
			binary.BigEndian.PutUint64(hdr[2:], a)
			h = hdr[:10]
		}
		n := copy(st.blk[:], h)
		k := copy(st.blk[n:], aad)
		clear(st.blk[n+k:])
		c.macBlock(st, st.blk[:])
		for rest := aad[k:]; len(rest) > 0; {
			k = copy(st.blk[:], rest)
			clear(st.blk[k:])
			c.macBlock(st, st.blk[:])
			rest = rest[k:]
		}
	}

	// Ctr_0 = flags' | N | 0, flags' = q-1; S_0 = E(Ctr_0) masks the tag.
	st.ctr = [16]byte{}
	st.ctr[0] = byte(q - 1)
	copy(st.ctr[1:], nonce)
	c.block.Encrypt(st.tagS[:], st.ctr[:])
}

// macBlock folds one 16-byte block into the CBC-MAC.
func (c *ccm) macBlock(st *ccmState, b []byte) {
	subtle.XORBytes(st.mac[:], st.mac[:], b)
	c.block.Encrypt(st.mac[:], st.mac[:])
}

// nextKeystream increments the counter field of Ctr and encrypts it into st.ks.
func (c *ccm) nextKeystream(st *ccmState) {
	for i := 15; i >= 16-st.q; i-- {
		st.ctr[i]++
		if st.ctr[i] != 0 {
			break
		}
	}
	c.block.Encrypt(st.ks[:], st.ctr[:])
}

// putLen writes v big-endian into all of b.
func putLen(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

// seal encrypts buf in place, authenticating nonce, aad and the plaintext, and writes the
// tag (tagSize bytes) into tag. aad must not overlap buf.
func (c *ccm) seal(buf, nonce, aad []byte, tag []byte) {
	st := ccmStates.Get().(*ccmState)
	defer ccmStates.Put(st)
	c.start(st, nonce, aad, len(buf))
	for p := buf; len(p) > 0; {
		n := min(len(p), 16)
		// MAC the plaintext block (zero-padded), then encrypt it.
		if n == 16 {
			c.macBlock(st, p[:16])
		} else {
			copy(st.blk[:], p[:n])
			clear(st.blk[n:])
			c.macBlock(st, st.blk[:])
		}
		c.nextKeystream(st)
		subtle.XORBytes(p[:n], p[:n], st.ks[:n])
		p = p[n:]
	}
	subtle.XORBytes(tag[:c.tagSize], st.mac[:c.tagSize], st.tagS[:c.tagSize])
	*st = ccmState{}
}

// open decrypts buf in place and checks tag in constant time. On failure buf is zeroed, so
// no unauthenticated plaintext is left behind.
func (c *ccm) open(buf, nonce, aad, tag []byte) bool {
	st := ccmStates.Get().(*ccmState)
	defer ccmStates.Put(st)
	c.start(st, nonce, aad, len(buf))
	for p := buf; len(p) > 0; {
		n := min(len(p), 16)
		c.nextKeystream(st)
		subtle.XORBytes(p[:n], p[:n], st.ks[:n])
		if n == 16 {
			c.macBlock(st, p[:16])
		} else {
			copy(st.blk[:], p[:n])
			clear(st.blk[n:])
			c.macBlock(st, st.blk[:])
		}
		p = p[n:]
	}
	want := st.blk[:c.tagSize]
	subtle.XORBytes(want, st.mac[:c.tagSize], st.tagS[:c.tagSize])
	ok := subtle.ConstantTimeCompare(want, tag) == 1
	*st = ccmState{}
	if !ok {
		clear(buf)
		return false
	}
	return true
}
