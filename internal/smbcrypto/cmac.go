package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// CMACSize is the size of an AES-CMAC tag in bytes (RFC 4493 section 2.4).
const CMACSize = 16

// CMACState computes AES-CMAC (RFC 4493; NIST SP800-38B with AES) incrementally. It
// implements hash.Hash. Its buffers are fixed arrays, so once created it writes and sums
// without allocating (SumInto; Sum allocates only when its argument lacks capacity).
//
// SMB uses AES-128-CMAC; the construction works for any AES key size and NewCMAC accepts
// 16-, 24- and 32-byte keys. The zero value is not usable: create states with NewCMAC.
type CMACState struct {
	block  cipher.Block
	k1, k2 [16]byte // subkeys (RFC 4493 section 2.3)
	x      [16]byte // chaining value over the blocks already processed
	buf    [16]byte // the last, possibly complete, block: kept back until Sum
	nbuf   int
	last   [16]byte // scratch for the final block, kept here so that it does not escape
}

// NewCMAC returns an AES-CMAC state for key, which must be 16, 24 or 32 bytes.
func NewCMAC(key []byte) (*CMACState, error) {
	c := new(CMACState)
	if err := c.init(key); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CMACState) init(key []byte) error {
	b, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("smbcrypto: AES-CMAC key must be 16, 24 or 32 bytes, got %d", len(key))
	}
	c.block = b
	// Subkey generation (RFC 4493 section 2.3): L = AES-K(0^128); K1 = L<<1 (xor Rb when the
	// msb of L is set); K2 = K1<<1 likewise.
	var l [16]byte
	b.Encrypt(l[:], l[:])
	c.k1 = dbl(l)
	c.k2 = dbl(c.k1)
	clear(l[:])
	c.Reset()
	return nil
}

// dbl doubles v in GF(2^128) as RFC 4493 section 2.3 does: a one-bit left shift, and the
// constant Rb = 0x87 folded into the last byte when the bit shifted out was set, in
// constant time.
func dbl(v [16]byte) [16]byte {
	var out [16]byte
	carry := v[0] >> 7
	for i := 0; i < 15; i++ {
		out[i] = v[i]<<1 | v[i+1]>>7
	}
	out[15] = v[15]<<1 ^ (0x87 & -carry)
	return out
}

// Reset discards the message written so far; the key is kept.
func (c *CMACState) Reset() {
	c.x = [16]byte{}
	c.buf = [16]byte{}
	c.nbuf = 0
}

// Size returns CMACSize.
func (c *CMACState) Size() int { return CMACSize }

// BlockSize returns the AES block size.
func (c *CMACState) BlockSize() int { return aes.BlockSize }

// Write adds p to the message. It never fails.
func (c *CMACState) Write(p []byte) (int, error) {
	n := len(p)
	if c.nbuf < 16 {
		k := copy(c.buf[c.nbuf:], p)
		c.nbuf += k
		p = p[k:]
	}
	if len(p) == 0 {
		// The buffered block may be the last one: it is processed only once more data
		// shows that it is not.
		return n, nil
	}
	subtle.XORBytes(c.x[:], c.x[:], c.buf[:])
	c.block.Encrypt(c.x[:], c.x[:])
	for len(p) > 16 {
		subtle.XORBytes(c.x[:], c.x[:], p[:16])
		c.block.Encrypt(c.x[:], c.x[:])
		p = p[16:]
	}
	c.nbuf = copy(c.buf[:], p)
	return n, nil
}

// SumInto writes the tag of the message written so far into out without changing the state.
func (c *CMACState) SumInto(out *[16]byte) {
	// RFC 4493 section 2.4 steps 4 and 6: the last block is xored with K1 when complete,
	// otherwise padded with 10* and xored with K2; then one more AES over it.
	last := &c.last
	if c.nbuf == 16 {
		subtle.XORBytes(last[:], c.buf[:], c.k1[:])
	} else {
		*last = [16]byte{}
		copy(last[:], c.buf[:c.nbuf])
		last[c.nbuf] = 0x80
		subtle.XORBytes(last[:], last[:], c.k2[:])
	}
	subtle.XORBytes(last[:], last[:], c.x[:])
	c.block.Encrypt(last[:], last[:])
	*out = *last
}

// Sum appends the tag of the message written so far to b without changing the state.
func (c *CMACState) Sum(b []byte) []byte {
	var t [16]byte
	c.SumInto(&t)
	return append(b, t[:]...)
}

// Format prints the state as [redacted] whatever the verb, so that a stray %v cannot print
// the subkeys.
func (c *CMACState) Format(f fmt.State, _ rune) { redact(f) }

// CMAC returns the AES-CMAC tag of msg under key (RFC 4493), which must be 16, 24 or 32 bytes.
func CMAC(key, msg []byte) ([16]byte, error) {
	var c CMACState
	var tag [16]byte
	if err := c.init(key); err != nil {
		return tag, err
	}
	c.Write(msg)
	c.SumInto(&tag)
	return tag, nil
}

// redact writes the placeholder that every key-holding type prints instead of its fields.
func redact(f fmt.State) { _, _ = f.Write([]byte("[redacted]")) }
