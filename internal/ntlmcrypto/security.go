package ntlmcrypto

import (
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// SignatureSize is the size of an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1).
const SignatureSize = 16

// Magic constants of SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3), NUL included.
const (
	signClientMagic = "session key to client-to-server signing key magic constant\x00"
	signServerMagic = "session key to server-to-client signing key magic constant\x00"
	sealClientMagic = "session key to client-to-server sealing key magic constant\x00"
	sealServerMagic = "session key to server-to-client sealing key magic constant\x00"
)

// SignKey returns SIGNKEY for one direction under extended session security (MS-NLMP 3.4.5.2):
// MD5(ExportedSessionKey || magic constant).
func SignKey(exportedSessionKey Key, clientToServer bool) Key {
	magic := signServerMagic
	if clientToServer {
		magic = signClientMagic
	}
	h := md5.New()
	h.Write(exportedSessionKey[:])
	h.Write([]byte(magic))
	var k Key
	h.Sum(k[:0])
	return k
}

// SealKey returns SEALKEY for one direction under extended session security (MS-NLMP
// 3.4.5.3): MD5 of the ExportedSessionKey, cut to 7 bytes with Flag56 only or 5 bytes with
// neither Flag128 nor Flag56, followed by the magic constant.
func SealKey(flags ntlmssp.Flags, exportedSessionKey Key, clientToServer bool) Key {
	n := 16
	switch {
	case flags&ntlmssp.Flag128 != 0:
	case flags&ntlmssp.Flag56 != 0:
		n = 7
	default:
		n = 5
	}
	magic := sealServerMagic
	if clientToServer {
		magic = sealClientMagic
	}
	h := md5.New()
	h.Write(exportedSessionKey[:n])
	h.Write([]byte(magic))
	var k Key
	h.Sum(k[:0])
	return k
}

// Signer signs and seals the messages of one direction of an NTLM security context with
// extended session security (MS-NLMP 3.4.3, 3.4.4.2): the GSS_GetMIC and GSS_WrapEx of NTLM. Its
// RC4 handle and sequence number advance with every message, as the specification requires.
// SMB itself never uses it; SPNEGO's mechListMIC does (RFC 4178 section 5, MS-SPNG 3.1.5.1). It
// holds keys: do not log it.
type Signer struct {
	signKey Key
	seal    *rc4.Cipher
	keyExch bool
	seq     uint32
}

// NewSigner returns the Signer of one direction for the negotiated flags, which must include
// FlagExtendedSessionSecurity (the NTLMv1 signature without it is not implemented).
func NewSigner(flags ntlmssp.Flags, exportedSessionKey Key, clientToServer bool) (*Signer, error) {
	if flags&ntlmssp.FlagExtendedSessionSecurity == 0 {
		return nil, fmt.Errorf("ntlm signing without extended session security: %w", wire.ErrMalformed)
	}
	sk := SealKey(flags, exportedSessionKey, clientToServer)
	c, _ := rc4.NewCipher(sk[:]) // cannot fail: 16 bytes is a valid RC4 key size
	return &Signer{signKey: SignKey(exportedSessionKey, clientToServer), seal: c, keyExch: flags&ntlmssp.FlagKeyExch != 0}, nil
}

// Sign appends the NTLMSSP_MESSAGE_SIGNATURE of msg (GSS_GetMIC) to dst:
// Version 1, HMAC_MD5(SigningKey, SeqNum || msg)[0..7] (RC4-encrypted with the sealing handle
// when KEY_EXCH was negotiated), SeqNum. The sequence number then advances.
func (s *Signer) Sign(dst, msg []byte) []byte {
	mac, seq := s.checksum(msg)
	return s.appendSignature(dst, mac, seq)
}

// Seal encrypts msg in place with the sealing handle and appends its signature to dst
// (GSS_WrapEx, MS-NLMP 3.4.3): the message is encrypted first, then the signature computed
// over the plaintext takes the next bytes of the RC4 key stream.
func (s *Signer) Seal(dst, msg []byte) []byte {
	mac, seq := s.checksum(msg)
	s.seal.XORKeyStream(msg, msg)
	return s.appendSignature(dst, mac, seq)
}

// checksum returns HMAC_MD5(SigningKey, SeqNum || msg) and SeqNum as sent.
func (s *Signer) checksum(msg []byte) (mac Key, seq [4]byte) {
	binary.LittleEndian.PutUint32(seq[:], s.seq)
	return hmacMD5(s.signKey[:], seq[:], msg), seq
}

// appendSignature appends Version 1, the first 8 bytes of mac (RC4-encrypted with the sealing
// handle when KEY_EXCH was negotiated) and seq, then advances the sequence number.
func (s *Signer) appendSignature(dst []byte, mac Key, seq [4]byte) []byte {
	if s.keyExch {
		s.seal.XORKeyStream(mac[:8], mac[:8])
	}
	dst = append(dst, 1, 0, 0, 0)
	dst = append(dst, mac[:8]...)
	dst = append(dst, seq[:]...)
	s.seq++
	return dst
}

// Verify checks the signature a peer sent for msg (GSS_VerifyMIC), in constant time, and
// advances the sequence number and RC4 handle as Sign does.
func (s *Signer) Verify(msg, signature []byte) bool {
	var want [SignatureSize]byte
	s.Sign(want[:0], msg)
	return len(signature) == SignatureSize && subtle.ConstantTimeCompare(want[:], signature) == 1
}
