package ntlmcrypto

import (
	"crypto/des"

	//lint:ignore SA1019 NTLM is defined on MD4 (MS-NLMP 3.3.1); compatibility is the point.
	"golang.org/x/crypto/md4"
)

// NTLMv1 exists for one purpose: auditing legacy SMB1 servers that accept nothing better,
// behind an explicit opt-in of the caller (smb1conn.Options.AllowNTLMv1), and recorded as
// such. NTLMv1 responses can be cracked back to the NT hash; nothing in smbsweep sends them
// by default, and the LM response (LMOWFv1, the DES of the upper-cased password) is never
// computed: the LmChallengeResponse field repeats the NT response, as MS-NLMP 3.3.1 allows
// (NoLMResponseNTLMv1).

// NTLMv1ResponseSize is the size of an NTLMv1 NtChallengeResponse.
const NTLMv1ResponseSize = 24

// NTLMv1Response returns the NTLMv1 NtChallengeResponse (MS-NLMP 3.3.1, without
// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY): DESL(NTOWFv1, ServerChallenge), and the
// SessionBaseKey MD4(NTOWFv1) from which SMB1 signing derives its key.
func NTLMv1Response(ntHash Key, serverChallenge [8]byte) (resp [NTLMv1ResponseSize]byte, sessionBaseKey Key) {
	desl(resp[:], ntHash, serverChallenge)
	h := md4.New()
	h.Write(ntHash[:])
	h.Sum(sessionBaseKey[:0])
	return resp, sessionBaseKey
}

// desl is DESL (MS-NLMP 6): the 16-byte key padded to 21 bytes with zeros, split into three
// 7-byte DES keys, each encrypting data.
func desl(dst []byte, k Key, data [8]byte) {
	var k21 [21]byte
	copy(k21[:], k[:])
	for i := range 3 {
		key := desKey(k21[7*i : 7*i+7])
		c, _ := des.NewCipher(key[:]) // cannot fail: 8 bytes is the DES key size
		c.Encrypt(dst[8*i:8*i+8], data[:])
		clear(key[:])
	}
	clear(k21[:])
}

// desKey spreads 56 key bits over 8 bytes, one parity bit (left zero; DES ignores it) per byte.
func desKey(k []byte) (out [8]byte) {
	out[0] = k[0] & 0xfe
	out[1] = (k[0]<<7 | k[1]>>1) & 0xfe
	out[2] = (k[1]<<6 | k[2]>>2) & 0xfe
	out[3] = (k[2]<<5 | k[3]>>3) & 0xfe
	out[4] = (k[3]<<4 | k[4]>>4) & 0xfe
	out[5] = (k[4]<<3 | k[5]>>5) & 0xfe
	out[6] = (k[5]<<2 | k[6]>>6) & 0xfe
	out[7] = k[6] << 1
	return out
}
