package smbcrypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// NIST CAVP KBKDF (SP800-108) counter-mode vectors, file KDFCTR_gen.rsp (CAVS 14.4), group
// [PRF=HMAC_SHA256] [CTRLOCATION=BEFORE_FIXED] [RLEN=32_BITS]. The fixed input data there is
// an opaque string, so these test kdfCounter; KDF adds the label/context layout on top.
var cavpKDFCounter = []struct {
	name, ki, fixed, ko string
}{
	{"COUNT=0 L=128", "dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0",
		"01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b864a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac",
		"10621342bfb0fd40046c0e29f2cfdbf0"},
	{"L=128", "32c4003872a146194023eac1bda74ddf2b66977dad8a554b974ca2a62f7e4f43",
		"33d8cf6d0c759fb622d867ea8cf1285de4020af81cc287addf38cc2da4643e6db3b215ad3e33bfc47877c3620e336887c3c9ad4a1c6c0476b0f90a33",
		"f593af0e1a492a7b904a2662897fa1c1"},
	{"L=256", "e204d6d466aad507ffaf6d6dab0a5b26152c9e21e764370464e360c8fbc765c6",
		"7b03b98d9f94b899e591f3ef264b71b193fba7043c7e953cde23bc5384bc1a6293580115fae3495fd845dadbd02bd6455cf48d0f62b33e62364a3a80",
		"770dfab6a6a4a4bee0257ff335213f78d8287b4fd537d5c1fffa956910e7c779"},
	{"COUNT=30 L=320 (two PRF blocks)", "c4bedbddb66493e7c7259a3bbbc25f8c7e0ca7fe284d92d431d9cd99a0d214ac",
		"1c69c54766791e315c2cc5c47ecd3ffab87d0d273dd920e70955814c220eacace6a5946542da3dfe24ff626b4897898cafb7db83bdff3c14fa46fd4b",
		"1da47638d6c9c4d04d74d4640bbd42ab814d9e8cc22f4326695239f96b0693f12d0dd1152cf44430"},
}

func TestKDFCounterCAVP(t *testing.T) {
	for _, v := range cavpKDFCounter {
		t.Run(v.name, func(t *testing.T) {
			want := unhex(t, v.ko)
			got := kdfCounter(unhex(t, v.ki), unhex(t, v.fixed), len(want))
			if !bytes.Equal(got, want) {
				t.Fatalf("KO = %x, want %x", got, want)
			}
			if cap(got) != len(got) {
				t.Errorf("result has spare capacity %d", cap(got)-len(got))
			}
		})
	}
}

// TestKDFLayout checks KDF's fixed input (label, 0x00, context, [L]_32) against a direct
// HMAC computation written from SP800-108 section 5.1, for one and two PRF blocks.
func TestKDFLayout(t *testing.T) {
	key := []byte("0123456789abcdef")
	label := []byte("SMBC2SCipherKey\x00")
	ctx := bytes.Repeat([]byte{0x5a}, 64)
	for _, bits := range []int{128, 256, 384} {
		var want []byte
		for i := byte(1); len(want) < bits/8; i++ {
			m := hmac.New(sha256.New, key)
			m.Write([]byte{0, 0, 0, i})
			m.Write(label)
			m.Write([]byte{0})
			m.Write(ctx)
			m.Write([]byte{0, 0, byte(bits >> 8), byte(bits)})
			want = m.Sum(want)
		}
		got, err := KDF(key, label, ctx, bits)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[:bits/8]) {
			t.Errorf("KDF(%d) = %x, want %x", bits, got, want[:bits/8])
		}
	}
	// L is part of the input: the 128-bit key is not a prefix of the 256-bit one.
	k128, _ := KDF(key, label, ctx, 128)
	k256, _ := KDF(key, label, ctx, 256)
	if bytes.Equal(k128, k256[:16]) {
		t.Error("KDF ignores L")
	}
}

func TestKDFBadLength(t *testing.T) {
	for _, bits := range []int{0, -8, 7, 129, maxKDFBits + 8} {
		if k, err := KDF([]byte("k"), nil, nil, bits); err == nil {
			t.Errorf("KDF accepted %d bits (%x)", bits, k)
		}
	}
}

func TestDeriveKeys2x(t *testing.T) {
	for _, d := range []wire.Dialect{wire.Dialect202, wire.Dialect210} {
		k, err := DeriveKeys(uint16(d), []byte("0123456789abcdefEXTRA"), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(k.Signing) != "0123456789abcdef" || k.Encryption != nil || k.Decryption != nil || k.Application != nil {
			t.Errorf("dialect %v: got signing %q and cipher keys %v %v", d, k.Signing, k.Encryption != nil, k.Decryption != nil)
		}
	}
	// A short key is zero-padded to 16 bytes (MS-SMB2 3.2.1.3).
	k, err := DeriveKeys(uint16(wire.Dialect210), []byte{1, 2, 3}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Signing, []byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("padded signing key %x", k.Signing)
	}
}

// TestDeriveKeys256 checks the AES-256 rules: cipher keys are 32 bytes derived with L = 256
// from the full session key; signing and application keys stay 128-bit keys derived from
// the first 16 bytes.
func TestDeriveKeys256(t *testing.T) {
	full := make([]byte, 32)
	for i := range full {
		full[i] = byte(i + 1)
	}
	preauth := bytes.Repeat([]byte{0x11}, 64)
	for _, cipherID := range []uint16{wire.CipherAES256CCM, wire.CipherAES256GCM} {
		k, err := DeriveKeys(uint16(wire.Dialect311), full, preauth, cipherID)
		if err != nil {
			t.Fatal(err)
		}
		wantEnc, _ := KDF(full, label311C2SCipher, preauth, 256)
		wantDec, _ := KDF(full, label311S2CCipher, preauth, 256)
		wantSign, _ := KDF(full[:16], label311Signing, preauth, 128)
		wantApp, _ := KDF(full[:16], label311App, preauth, 128)
		if len(k.Encryption) != 32 || !bytes.Equal(k.Encryption, wantEnc) || !bytes.Equal(k.Decryption, wantDec) {
			t.Errorf("cipher %d: cipher keys not KDF(FullSessionKey, 256)", cipherID)
		}
		if !bytes.Equal(k.Signing, wantSign) || !bytes.Equal(k.Application, wantApp) {
			t.Errorf("cipher %d: signing/application keys not KDF(SessionKey, 128)", cipherID)
		}
		// Every AES-256 key works with NewCipher.
		if _, err := NewCipher(cipherID, k.Encryption); err != nil {
			t.Error(err)
		}
	}
	// With an AES-128 cipher the bytes past 16 are ignored entirely.
	a, _ := DeriveKeys(uint16(wire.Dialect311), full, preauth, wire.CipherAES128GCM)
	b, _ := DeriveKeys(uint16(wire.Dialect311), full[:16], preauth, wire.CipherAES128GCM)
	if !bytes.Equal(a.Encryption, b.Encryption) || !bytes.Equal(a.Signing, b.Signing) || len(a.Encryption) != 16 {
		t.Error("AES-128 derivation depends on bytes past the 16-byte session key")
	}
}

func TestDeriveKeysErrors(t *testing.T) {
	preauth := make([]byte, 64)
	cases := []struct {
		name    string
		dialect uint16
		key     []byte
		preauth []byte
		cipher  uint16
	}{
		{"empty key", uint16(wire.Dialect300), nil, nil, 1},
		{"3.1.1 without preauth", uint16(wire.Dialect311), []byte("0123456789abcdef"), nil, 2},
		{"3.1.1 short preauth", uint16(wire.Dialect311), []byte("0123456789abcdef"), preauth[:63], 2},
		{"3.1.1 unknown cipher", uint16(wire.Dialect311), []byte("0123456789abcdef"), preauth, 9},
		{"wildcard dialect", uint16(wire.DialectWildcard), []byte("0123456789abcdef"), preauth, 1},
		{"unknown dialect", 0x0400, []byte("0123456789abcdef"), preauth, 1},
	}
	for _, c := range cases {
		if _, err := DeriveKeys(c.dialect, c.key, c.preauth, c.cipher); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestKeysZero(t *testing.T) {
	k, err := DeriveKeys(uint16(wire.Dialect300), []byte("0123456789abcdef"), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	for _, b := range [][]byte{k.Signing, k.Encryption, k.Decryption, k.Application} {
		if !bytes.Equal(b, make([]byte, len(b))) || len(b) != 16 {
			t.Errorf("not zeroed: %d bytes", len(b))
		}
	}
}

func TestSessionKeyAndCipherKeySize(t *testing.T) {
	if k := SessionKey(bytes.Repeat([]byte{7}, 32)); k != [16]byte(bytes.Repeat([]byte{7}, 16)) {
		t.Errorf("SessionKey(32 bytes) = %x", k)
	}
	for id, want := range map[uint16]int{0: 16, 1: 16, 2: 16, 3: 32, 4: 32} {
		if got := CipherKeySize(id); got != want {
			t.Errorf("CipherKeySize(%d) = %d, want %d", id, got, want)
		}
	}
}
