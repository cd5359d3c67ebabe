package smbcrypto

import (
	"fmt"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

const benchSize = 64 << 10

var signingNames = map[uint16]string{
	wire.SigningHMACSHA256: "HMAC-SHA256",
	wire.SigningAESCMAC:    "AES-CMAC",
	wire.SigningAESGMAC:    "AES-GMAC",
}

var cipherNames = map[uint16]string{
	wire.CipherAES128CCM: "AES-128-CCM",
	wire.CipherAES128GCM: "AES-128-GCM",
	wire.CipherAES256CCM: "AES-256-CCM",
	wire.CipherAES256GCM: "AES-256-GCM",
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range allSigning {
		b.Run(signingNames[alg], func(b *testing.B) {
			s, _ := NewSigner(alg, testKey(1))
			msg := testMessage(benchSize, wire.CmdWrite, wire.FlagSigned, 1)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range allSigning {
		b.Run(signingNames[alg], func(b *testing.B) {
			s, _ := NewSigner(alg, testKey(1))
			msg := testMessage(benchSize, wire.CmdWrite, wire.FlagSigned, 1)
			if err := s.Sign(msg); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if !s.Verify(msg) {
					b.Fatal("does not verify")
				}
			}
		})
	}
}

func BenchmarkSealMessage(b *testing.B) {
	for _, id := range allCiphers {
		b.Run(cipherNames[id], func(b *testing.B) {
			c := testCipher(b, id, 2)
			pt := testMessage(benchSize, wire.CmdWrite, 0, 1)
			nonce := testNonce(c, 1)
			buf := make([]byte, 0, TransformHeaderSize+benchSize+TagSize)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SealMessage(buf, c, nonce, 1, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpenMessage(b *testing.B) {
	for _, id := range allCiphers {
		b.Run(cipherNames[id], func(b *testing.B) {
			c := testCipher(b, id, 2)
			msg, err := SealMessage(nil, c, testNonce(c, 1), 1, testMessage(benchSize, wire.CmdWrite, 0, 1))
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, 0, benchSize+TagSize)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := OpenMessage(c, msg, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDeriveKeys(b *testing.B) {
	preauth := make([]byte, 64)
	for _, id := range []uint16{wire.CipherAES128GCM, wire.CipherAES256GCM} {
		b.Run(fmt.Sprint(cipherNames[id]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DeriveKeys(uint16(wire.Dialect311), testKey(3), preauth, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPreauthUpdate(b *testing.B) {
	msg := testMessage(300, wire.CmdSessionSetup, 0, 1)
	var p PreauthHash
	b.ReportAllocs()
	for b.Loop() {
		p.Update(msg)
	}
}
