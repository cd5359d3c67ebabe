package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// CCM vectors with the nonce and tag sizes of their sources: NIST SP800-38C Appendix C
// (Examples 1-4; Example 4 has 65536 bytes of associated data, the first size encoded with
// the 0xFFFE prefix) and RFC 3610 section 8 (Packet Vector #1). The SMB sizes (11-byte
// nonce, 16-byte tag) are covered by the published SMB messages in vectors_test.go.
var ccmVectors = []struct {
	name             string
	key, nonce       string
	aad              []byte // nil: use aadHex
	aadHex           string
	plaintext        string
	tagSize          int
	ciphertextAndTag string
}{
	{name: "SP800-38C C.1", key: "404142434445464748494a4b4c4d4e4f", nonce: "10111213141516",
		aadHex: "0001020304050607", plaintext: "20212223", tagSize: 4,
		ciphertextAndTag: "7162015b 4dac255d"},
	{name: "SP800-38C C.2", key: "404142434445464748494a4b4c4d4e4f", nonce: "1011121314151617",
		aadHex: "000102030405060708090a0b0c0d0e0f", plaintext: "202122232425262728292a2b2c2d2e2f", tagSize: 6,
		ciphertextAndTag: "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd"},
	{name: "SP800-38C C.3", key: "404142434445464748494a4b4c4d4e4f", nonce: "101112131415161718191a1b",
		aadHex:    "000102030405060708090a0b0c0d0e0f10111213",
		plaintext: "202122232425262728292a2b2c2d2e2f3031323334353637", tagSize: 8,
		ciphertextAndTag: "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951"},
	{name: "SP800-38C C.4", key: "404142434445464748494a4b4c4d4e4f", nonce: "101112131415161718191a1b1c",
		aad:       sp80038cExample4AAD(),
		plaintext: "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", tagSize: 14,
		ciphertextAndTag: "69915dad1e84c6376a68c2967e4dab615ae0fd1faec44cc484828529463ccf72 b4ac6bec93e8598e7f0dadbcea5b"},
	{name: "RFC 3610 packet vector #1", key: "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", nonce: "00000003020100a0a1a2a3a4a5",
		aadHex: "0001020304050607", plaintext: "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e", tagSize: 8,
		ciphertextAndTag: "588c979a61c663d2f066d0c2c0f989806d5f6b61dac384 17e8d12cfdf926e0"},
}

// sp80038cExample4AAD is the associated data of SP800-38C Example 4: the 256 bytes 00..ff
// repeated 256 times.
func sp80038cExample4AAD() []byte {
	a := make([]byte, 65536)
	for i := range a {
		a[i] = byte(i)
	}
	return a
}

func TestCCMVectors(t *testing.T) {
	for _, v := range ccmVectors {
		t.Run(v.name, func(t *testing.T) {
			b, err := aes.NewCipher(unhex(t, v.key))
			if err != nil {
				t.Fatal(err)
			}
			nonce := unhex(t, v.nonce)
			c, err := newCCM(b, len(nonce), v.tagSize)
			if err != nil {
				t.Fatal(err)
			}
			aad := v.aad
			if aad == nil {
				aad = unhex(t, v.aadHex)
			}
			pt := unhex(t, v.plaintext)
			want := unhex(t, v.ciphertextAndTag)

			buf := bytes.Clone(pt)
			tag := make([]byte, v.tagSize)
			c.seal(buf, nonce, aad, tag)
			if got := append(bytes.Clone(buf), tag...); !bytes.Equal(got, want) {
				t.Fatalf("seal = %x\nwant   %x", got, want)
			}
			if !c.open(buf, nonce, aad, tag) || !bytes.Equal(buf, pt) {
				t.Fatalf("open = %x, want %x", buf, pt)
			}
			// Any flipped bit of ciphertext, tag, nonce or AAD fails, and leaves no plaintext.
			ct := want[:len(pt)]
			for i := 0; i < 8*len(want); i++ {
				bad := bytes.Clone(want)
				bad[i/8] ^= 1 << (i % 8)
				out := bytes.Clone(bad[:len(pt)])
				if c.open(out, nonce, aad, bad[len(pt):]) {
					t.Fatalf("opened with bit %d flipped", i)
				}
				if !bytes.Equal(out, make([]byte, len(out))) {
					t.Fatalf("failed open left plaintext %x", out)
				}
			}
			badNonce := bytes.Clone(nonce)
			badNonce[0] ^= 0x80
			if c.open(bytes.Clone(ct), badNonce, aad, want[len(pt):]) {
				t.Error("opened with a different nonce")
			}
			badAAD := bytes.Clone(aad)
			badAAD[len(badAAD)-1] ^= 1
			if c.open(bytes.Clone(ct), nonce, badAAD, want[len(pt):]) {
				t.Error("opened with different associated data")
			}
		})
	}
}

func TestCCMParameters(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, p := range [][2]int{{6, 16}, {14, 16}, {11, 3}, {11, 5}, {11, 18}, {11, 0}} {
		if _, err := newCCM(b, p[0], p[1]); err == nil {
			t.Errorf("newCCM accepted nonce %d tag %d", p[0], p[1])
		}
	}
	c, err := newCCM(b, 11, 16)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.maxPayload(); got != 1<<32-1 {
		t.Errorf("max payload with an 11-byte nonce %d", got)
	}
}

// TestCCMLengths round-trips every payload length around block boundaries and AAD lengths
// around the two-byte length encoding's limit, with the SMB sizes.
func TestCCMLengths(t *testing.T) {
	b, _ := aes.NewCipher(bytes.Repeat([]byte{3}, 32))
	c, err := newCCM(b, 11, 16)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{9}, 11)
	for _, alen := range []int{0, 1, 14, 15, 16, 17, 32, 65279, 65280} {
		aad := bytes.Repeat([]byte{0xaa}, alen)
		for plen := 0; plen <= 49; plen++ {
			pt := bytes.Repeat([]byte{byte(plen)}, plen)
			buf := bytes.Clone(pt)
			var tag [16]byte
			c.seal(buf, nonce, aad, tag[:])
			if plen > 0 && bytes.Equal(buf, pt) {
				t.Fatalf("aad %d plen %d: not encrypted", alen, plen)
			}
			if !c.open(buf, nonce, aad, tag[:]) || !bytes.Equal(buf, pt) {
				t.Fatalf("aad %d plen %d: round trip failed", alen, plen)
			}
		}
	}
}

// referenceCCM is a second, independent CCM written straight from SP800-38C section 6.1 and
// Appendix A with the standard library's CBC and CTR modes: format B_0, the encoded
// associated data and the payload into one buffer, take the last CBC-MAC block with a zero
// IV, and draw S_0, S_1, ... from CTR mode started at Ctr_0.
func referenceCCM(t *testing.T, key, nonce, aad, pt []byte, tagSize int) (ct, tag []byte) {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	q := 15 - len(nonce)
	pad := func(x []byte) []byte {
		for len(x)%16 != 0 {
			x = append(x, 0)
		}
		return x
	}
	b0 := make([]byte, 16)
	if len(aad) > 0 {
		b0[0] = 0x40
	}
	b0[0] |= byte((tagSize-2)/2)<<3 | byte(q-1)
	copy(b0[1:], nonce)
	for i, n := 15, len(pt); i > 15-q; i, n = i-1, n>>8 {
		b0[i] = byte(n)
	}
	data := b0
	if a := len(aad); a > 0 {
		var enc []byte
		switch {
		case a < 0xff00:
			enc = []byte{byte(a >> 8), byte(a)}
		default:
			enc = []byte{0xff, 0xfe, byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}
		}
		data = append(data, pad(append(enc, aad...))...)
	}
	data = append(data, pad(bytes.Clone(pt))...)
	mac := make([]byte, len(data))
	cipher.NewCBCEncrypter(b, make([]byte, 16)).CryptBlocks(mac, data)
	t0 := mac[len(mac)-16:]

	ctr0 := make([]byte, 16)
	ctr0[0] = byte(q - 1)
	copy(ctr0[1:], nonce)
	stream := make([]byte, 16+len(pt))
	copy(stream[16:], pt)
	cipher.NewCTR(b, ctr0).XORKeyStream(stream, stream)
	tag = make([]byte, tagSize)
	for i := range tag {
		tag[i] = t0[i] ^ stream[i]
	}
	return stream[16:], tag
}

// TestCCMAgainstReference compares ccm with referenceCCM across the associated-data lengths
// where the length encoding changes (2 bytes below 0xFF00, 0xFFFE and 4 bytes from there),
// and payload lengths around block boundaries, with the SMB nonce and tag sizes and others.
func TestCCMAgainstReference(t *testing.T) {
	key := bytes.Repeat([]byte{0x3c}, 16)
	for _, sz := range [][2]int{{11, 16}, {7, 4}, {13, 8}} {
		b, _ := aes.NewCipher(key)
		c, err := newCCM(b, sz[0], sz[1])
		if err != nil {
			t.Fatal(err)
		}
		nonce := bytes.Repeat([]byte{0x5e}, sz[0])
		for _, alen := range []int{0, 1, 15, 16, 17, 0xfeff, 0xff00, 0xffff, 0x10000, 70000} {
			aad := make([]byte, alen)
			for i := range aad {
				aad[i] = byte(i * 31)
			}
			for _, plen := range []int{0, 1, 15, 16, 17, 33, 100} {
				pt := bytes.Repeat([]byte{byte(plen + 1)}, plen)
				wantCT, wantTag := referenceCCM(t, key, nonce, aad, pt, sz[1])
				buf := bytes.Clone(pt)
				tag := make([]byte, sz[1])
				c.seal(buf, nonce, aad, tag)
				if !bytes.Equal(buf, wantCT) || !bytes.Equal(tag, wantTag) {
					t.Fatalf("nonce %d tag %d aad %d payload %d: differs from the reference", sz[0], sz[1], alen, plen)
				}
			}
		}
	}
}
