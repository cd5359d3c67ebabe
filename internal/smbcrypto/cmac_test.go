package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"fmt"
	"hash"
	"testing"
)

// RFC 4493 section 4 test vectors (AES-128, key 2b7e1516...).
const rfc4493Key = "2b7e151628aed2a6abf7158809cf4f3c"

// rfc4493Message is the 64-byte message of example 4; examples 1-3 use its first 0, 16 and 40
// bytes.
const rfc4493Message = `6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51
30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710`

var rfc4493 = []struct {
	n   int
	tag string
}{
	{0, "bb1d6929 e9593728 7fa37d12 9b756746"},
	{16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
	{40, "dfa66747 de9ae630 30ca3261 1497c827"},
	{64, "51f0bebf 7e3b9d92 fc497417 79363cfe"},
}

func TestCMACRFC4493(t *testing.T) {
	key := unhex(t, rfc4493Key)
	msg := unhex(t, rfc4493Message)
	for _, v := range rfc4493 {
		t.Run(fmt.Sprintf("%d bytes", v.n), func(t *testing.T) {
			want := unhex(t, v.tag)
			tag, err := CMAC(key, msg[:v.n])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tag[:], want) {
				t.Fatalf("CMAC = %x, want %x", tag, want)
			}
			// Every way of splitting the message across Writes gives the same tag.
			c, err := NewCMAC(key)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i <= v.n; i++ {
				for j := i; j <= v.n; j++ {
					c.Reset()
					c.Write(msg[:i])
					c.Write(msg[i:j])
					c.Write(msg[j:v.n])
					if got := c.Sum(nil); !bytes.Equal(got, want) {
						t.Fatalf("split %d/%d: %x, want %x", i, j, got, want)
					}
				}
			}
		})
	}
}

// TestCMACSubkeys checks the subkeys of RFC 4493 section 4 (Subkey Generation).
func TestCMACSubkeys(t *testing.T) {
	c, err := NewCMAC(unhex(t, rfc4493Key))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "fbeed618 35713366 7c85e08f 7236a8de"); !bytes.Equal(c.k1[:], want) {
		t.Errorf("K1 = %x, want %x", c.k1, want)
	}
	if want := unhex(t, "f7ddac30 6ae266cc f90bc11e e46d513b"); !bytes.Equal(c.k2[:], want) {
		t.Errorf("K2 = %x, want %x", c.k2, want)
	}
}

// TestCMACDoubling checks dbl on both branches against the definition.
func TestCMACDoubling(t *testing.T) {
	var v [16]byte
	v[15] = 1
	if got := dbl(v); got[15] != 2 || got[0] != 0 {
		t.Errorf("dbl(1) = %x", got)
	}
	v = [16]byte{0x80}
	if got := dbl(v); got != [16]byte{15: 0x87} {
		t.Errorf("dbl(msb) = %x, want ...87", got)
	}
}

func TestCMACHashInterface(t *testing.T) {
	c, err := NewCMAC(unhex(t, rfc4493Key))
	if err != nil {
		t.Fatal(err)
	}
	var h hash.Hash = c
	if h.Size() != 16 || h.BlockSize() != aes.BlockSize {
		t.Fatalf("Size %d BlockSize %d", h.Size(), h.BlockSize())
	}
	msg := unhex(t, rfc4493Message)
	h.Write(msg[:20])
	first := h.Sum([]byte("prefix"))
	if !bytes.HasPrefix(first, []byte("prefix")) || len(first) != 6+16 {
		t.Fatalf("Sum did not append: %x", first)
	}
	// Sum does not disturb the state: writing on continues the same message.
	h.Write(msg[20:40])
	if got, want := h.Sum(nil), unhex(t, rfc4493[2].tag); !bytes.Equal(got, want) {
		t.Fatalf("after Sum and more Writes: %x, want %x", got, want)
	}
}

func TestCMACKeySizes(t *testing.T) {
	for _, n := range []int{0, 8, 15, 17, 31, 33} {
		if _, err := NewCMAC(make([]byte, n)); err == nil {
			t.Errorf("NewCMAC accepted a %d-byte key", n)
		}
		if _, err := CMAC(make([]byte, n), nil); err == nil {
			t.Errorf("CMAC accepted a %d-byte key", n)
		}
	}
	for _, n := range []int{16, 24, 32} {
		if _, err := NewCMAC(make([]byte, n)); err != nil {
			t.Errorf("NewCMAC rejected a %d-byte key: %v", n, err)
		}
	}
}

func TestCMACAllocs(t *testing.T) {
	c, err := NewCMAC(unhex(t, rfc4493Key))
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1000)
	var tag [16]byte
	if n := testing.AllocsPerRun(100, func() {
		c.Reset()
		c.Write(msg)
		c.SumInto(&tag)
	}); n != 0 {
		t.Errorf("CMAC allocates %v times per message", n)
	}
}

func TestRedaction(t *testing.T) {
	key := bytes.Repeat([]byte{0xAB}, 16)
	c, _ := NewCMAC(key)
	s, _ := NewSigner(1, key)
	a, _ := NewCipher(2, key)
	k := Keys{Signing: key, Encryption: key, Decryption: key, Application: key}
	for _, v := range []any{c, s, a, k, &k} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			if out != "[redacted]" {
				t.Errorf("%T with %s printed %q", v, verb, out)
			}
		}
	}
}
