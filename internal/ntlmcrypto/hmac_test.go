package ntlmcrypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// refHMACMD5 is HMAC-MD5 from the standard library, the reference for hmacMD5.
func refHMACMD5(key []byte, parts ...[]byte) (out Key) {
	mac := hmac.New(md5.New, key)
	for _, p := range parts {
		mac.Write(p)
	}
	mac.Sum(out[:0])
	return out
}

// TestHMACMD5MatchesCryptoHMAC compares hmacMD5 with crypto/hmac for every message length
// 0..2000, random keys of 0..200 bytes (so keys longer than the 64-byte block, which HMAC
// hashes first, are covered) and the message cut into 0 to 3 random parts.
func TestHMACMD5MatchesCryptoHMAC(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0x6e746c6d))
	fill := func(b []byte) {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
	for n := 0; n <= 2000; n++ {
		klen := rng.IntN(201)
		if n < 200 {
			klen = n // every key length 0..199 at least once
		}
		key := make([]byte, klen)
		fill(key)
		msg := make([]byte, n)
		fill(msg)
		var parts [][]byte
		if n > 0 || rng.IntN(2) == 0 {
			cuts := rng.IntN(3)
			rest := msg
			for range cuts {
				c := rng.IntN(len(rest) + 1)
				parts = append(parts, rest[:c])
				rest = rest[c:]
			}
			parts = append(parts, rest)
		}
		if got, want := hmacMD5(key, parts...), refHMACMD5(key, msg); got != want {
			t.Fatalf("seed %#x: key %d bytes, message %d bytes in %d parts: got %x, want %x",
				seed, len(key), n, len(parts), got[:], want[:])
		}
	}
}

// TestHMACMD5RFC2202 checks hmacMD5 against test cases 1, 2 and 6 of RFC 2202 section 2.
func TestHMACMD5RFC2202(t *testing.T) {
	for _, c := range []struct {
		key, data []byte
		want      string
	}{
		{bytes.Repeat([]byte{0x0b}, 16), []byte("Hi There"), "9294727a3638bb1c13f48ef8158bfc9d"},
		{[]byte("Jefe"), []byte("what do ya want for nothing?"), "750c783e6ab0b503eaa86e310a5db738"},
		{bytes.Repeat([]byte{0xaa}, 80), []byte("Test Using Larger Than Block-Size Key - Hash Key First"), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
	} {
		if got := hmacMD5(c.key, c.data); hexs(got[:]) != c.want {
			t.Errorf("key %d bytes, %q: got %x, want %s", len(c.key), c.data, got[:], c.want)
		}
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// TestComputeNTLMv2ResponseAllocs asserts that the NTLMv2 response of
// BenchmarkComputeNTLMv2Response, and the other HMAC-MD5 users, allocate nothing.
func TestComputeNTLMv2ResponseAllocs(t *testing.T) {
	ch := ntlmssp.Challenge(readHexFile(t, "windows-2008r2-challenge.hex"))
	in := NTLMv2Input{ResponseKeyNT: NTOWFv2("P@ssw0rd", "Administrator", "WS2008R2"), ServerChallenge: ch.ServerChallenge(),
		TargetInfo: ch.TargetInfo(), IncludeMIC: true}
	buf := make([]byte, 0, 1024)
	var base Key
	var err error
	if n := testing.AllocsPerRun(100, func() {
		buf, base, err = ComputeNTLMv2Response(buf[:0], &in)
	}); n != 0 {
		t.Errorf("ComputeNTLMv2Response: %v allocs", n)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := VerifyNTLMv2Response(in.ResponseKeyNT, in.ServerChallenge, buf); !ok || got != base {
		t.Fatalf("response does not verify (ok %v) or session key differs", ok)
	}
	auth := readHexFile(t, "windows7-authenticate-mic.hex")
	var sink byte
	for name, f := range map[string]func(){
		"VerifyNTLMv2Response": func() { k, _ := VerifyNTLMv2Response(in.ResponseKeyNT, in.ServerChallenge, buf); sink ^= k[0] },
		"LMv2Response":         func() { sink ^= LMv2Response(buf[:0], in.ResponseKeyNT, in.ServerChallenge, in.ClientChallenge)[0] },
		"MIC":                  func() { k, _ := MIC(base, buf, ch, auth); sink ^= k[0] },
		"NTOWFv2FromHash":      func() { sink ^= NTOWFv2FromHash(base, "ADMINISTRATOR", "WS2008R2")[0] },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs", name, n)
		}
	}
	_ = sink
}

// TestComputeNTLMv2ResponseLongTargetInfo uses a TargetInfo of 60 pairs (about 4 KB, far more
// than any buffer on the stack) and checks the response byte for byte against a construction
// with crypto/hmac; it must allocate nothing either when dst has room.
func TestComputeNTLMv2ResponseLongTargetInfo(t *testing.T) {
	var ti []byte
	for i := range 60 {
		v := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 30+i%7)
		ti = ntlmssp.AppendAVPair(ti, ntlmssp.AvDnsComputerName+ntlmssp.AVID(i%3), v)
	}
	ti = ntlmssp.AppendAVEOL(ti)
	in := NTLMv2Input{ResponseKeyNT: NTOWFv2("Secret123", "user", "DOMAIN"), ServerChallenge: [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
		ClientChallenge: [8]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11}, Time: 0x01d9_0000_1234_5678, TargetInfo: ti}

	// temp = 0x01 0x01 Z(6) Time ClientChallenge Z(4) AvPairs Z(4); without MsvAvFlags and
	// without IncludeMIC the AvPairs are the TargetInfo as sent.
	temp := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	temp = binary.LittleEndian.AppendUint64(temp, in.Time)
	temp = append(temp, in.ClientChallenge[:]...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, ti...)
	temp = append(temp, 0, 0, 0, 0)
	proof := refHMACMD5(in.ResponseKeyNT[:], in.ServerChallenge[:], temp)
	want := append(proof[:len(proof):len(proof)], temp...)
	wantBase := refHMACMD5(in.ResponseKeyNT[:], proof[:])
	if len(want) < 4000 {
		t.Fatalf("test TargetInfo too short: response of %d bytes", len(want))
	}

	prefix := []byte("prefix")
	got, base, err := ComputeNTLMv2Response(prefix, &in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("response differs from the crypto/hmac construction")
	}
	if base != wantBase {
		t.Fatalf("session base key %x, want %x", base[:], wantBase[:])
	}

	buf := make([]byte, 0, 8192)
	if n := testing.AllocsPerRun(50, func() {
		buf, base, err = ComputeNTLMv2Response(buf[:0], &in)
	}); n != 0 {
		t.Errorf("long TargetInfo: %v allocs", n)
	}
	if err != nil || !bytes.Equal(buf, want) || base != wantBase {
		t.Fatalf("response in a reused buffer differs (err %v)", err)
	}
}
