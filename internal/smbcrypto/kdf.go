package smbcrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// maxKDFBits caps the output of KDF; SMB needs at most 256 bits.
const maxKDFBits = 256 * 64

// KDF derives bits bits of key material from key with the NIST SP800-108 key derivation
// function in counter mode (section 5.1), using HMAC-SHA256 as the PRF, a 32-bit counter
// (r = 32) placed before the fixed input data, and the fixed input data laid out as
// section 5 recommends:
//
//	K(i) = HMAC-SHA256(key, [i]_32 || label || 0x00 || context || [bits]_32), i = 1, 2, ...
//
// with the K(i) concatenated and cut to bits bits. This is the KDF MS-SMB2 3.1.4.2 names. The
// labels and contexts SMB passes already end in their own NUL (e.g. "SMB2AESCMAC\x00"); the
// 0x00 separator is added here in addition, as the specification requires.
//
// bits must be a positive multiple of 8 no larger than 16384.
func KDF(key, label, context []byte, bits int) ([]byte, error) {
	if bits <= 0 || bits%8 != 0 || bits > maxKDFBits {
		return nil, fmt.Errorf("smbcrypto: KDF output of %d bits: want a positive multiple of 8 up to %d", bits, maxKDFBits)
	}
	fixed := make([]byte, 0, len(label)+1+len(context)+4)
	fixed = append(fixed, label...)
	fixed = append(fixed, 0)
	fixed = append(fixed, context...)
	fixed = binary.BigEndian.AppendUint32(fixed, uint32(bits))
	return kdfCounter(key, fixed, bits/8), nil
}

// kdfCounter is SP800-108 counter mode with HMAC-SHA256 and r = 32 over an already assembled
// fixed input: the concatenation of HMAC(key, [i]_32 || fixed) for i = 1, 2, ..., cut to n
// bytes. It is split out so that the NIST CAVP vectors, whose fixed input is an opaque
// string, can test it directly.
func kdfCounter(key, fixed []byte, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	mac := hmac.New(sha256.New, key)
	var ctr [4]byte
	for i := uint32(1); len(out) < n; i++ {
		mac.Reset()
		binary.BigEndian.PutUint32(ctr[:], i)
		mac.Write(ctr[:])
		mac.Write(fixed)
		out = mac.Sum(out)
	}
	clear(out[n:cap(out)])
	return out[:n:n]
}

// Labels and contexts of the SMB 3.x key derivations, each with its terminating NUL as
// MS-SMB2 3.2.5.3.1 and 3.3.5.5.3 count it in the string's length. Note the space in
// "ServerIn ".
var (
	label30Signing    = []byte("SMB2AESCMAC\x00")
	context30Signing  = []byte("SmbSign\x00")
	label30Cipher     = []byte("SMB2AESCCM\x00")
	context30C2S      = []byte("ServerIn \x00")
	context30S2C      = []byte("ServerOut\x00")
	label30App        = []byte("SMB2APP\x00")
	context30App      = []byte("SmbRpc\x00")
	label311Signing   = []byte("SMBSigningKey\x00")
	label311C2SCipher = []byte("SMBC2SCipherKey\x00")
	label311S2CCipher = []byte("SMBS2CCipherKey\x00")
	label311App       = []byte("SMBAppKey\x00")
)

// PreauthHashSize is the size of the SMB 3.1.1 preauthentication integrity hash (SHA-512).
const PreauthHashSize = 64

// Keys are the keys of one SMB session (MS-SMB2 3.2.1.3, 3.2.5.3.1), from the client's point
// of view: Encryption protects client-to-server messages and Decryption server-to-client
// ones. A server uses them the other way round (MS-SMB2 3.3.5.5.3 names the same
// client-to-server key its DecryptionKey).
//
// Keys prints as [redacted] with any fmt verb.
type Keys struct {
	// Signing is Session.SigningKey (16 bytes). For 2.0.2 and 2.1 it is the session key
	// itself (MS-SMB2 3.2.5.3.1: those dialects sign with Session.SessionKey).
	Signing []byte
	// Encryption is the client-to-server cipher key, Session.EncryptionKey: 16 bytes, or 32
	// for AES-256-CCM and AES-256-GCM. Nil for 2.0.2 and 2.1.
	Encryption []byte
	// Decryption is the server-to-client cipher key, Session.DecryptionKey; sized as
	// Encryption.
	Decryption []byte
	// Application is Session.ApplicationKey (16 bytes), returned to callers such as RPC over
	// named pipes. Nil for 2.0.2 and 2.1.
	Application []byte
}

// Format prints the keys as [redacted] whatever the verb.
func (k Keys) Format(f fmt.State, _ rune) { redact(f) }

// Zero overwrites the key bytes.
func (k *Keys) Zero() {
	clear(k.Signing)
	clear(k.Encryption)
	clear(k.Decryption)
	clear(k.Application)
}

// SessionKey returns Session.SessionKey as MS-SMB2 3.2.1.3 defines it: the first 16 bytes of
// the cryptographic key of the authenticated context, right-padded with zero bytes when the
// key is shorter.
func SessionKey(fullSessionKey []byte) [16]byte {
	var k [16]byte
	copy(k[:], fullSessionKey)
	return k
}

// CipherKeySize returns the size in bytes of the encryption keys for cipherID: 32 for
// AES-256-CCM and AES-256-GCM, 16 otherwise (including CipherNone, for which SMB 3.x still
// derives 128-bit keys).
func CipherKeySize(cipherID uint16) int {
	if cipherID == wire.CipherAES256CCM || cipherID == wire.CipherAES256GCM {
		return 32
	}
	return 16
}

// DeriveKeys derives a session's keys from the GSS session key (MS-SMB2 3.2.5.3.1 for the
// client, 3.3.5.5.3 for the server; KDF as in 3.1.4.2).
//
// sessionKey is the full cryptographic key of the authenticated context
// (Session.FullSessionKey: 16 bytes from NTLM, 16 or 32 from Kerberos). dialect is the
// negotiated dialect revision (wire.Dialect*). preauthHash is
// Session.PreauthIntegrityHashValue, required (64 bytes) for 3.1.1 and ignored otherwise.
// cipherID is Connection.CipherId (wire.Cipher*); it matters only for 3.1.1, since 3.0 and
// 3.0.2 always use AES-128-CCM.
//
// What is implemented, and why:
//   - 2.0.2 and 2.1 derive nothing: Signing is Session.SessionKey (the first 16 bytes of
//     sessionKey, zero-padded), the HMAC-SHA256 signing key; there is no encryption.
//   - 3.0 and 3.0.2: every key is KDF(Session.SessionKey, label, context, 128) with the fixed
//     labels and contexts "SMB2AESCMAC"/"SmbSign", "SMB2AESCCM"/"ServerIn " (client to
//     server), "SMB2AESCCM"/"ServerOut" (server to client), "SMB2APP"/"SmbRpc".
//   - 3.1.1: the labels "SMBSigningKey", "SMBC2SCipherKey", "SMBS2CCipherKey" and
//     "SMBAppKey" with the preauth hash as context. The signing and application keys are
//     always KDF(Session.SessionKey, ..., 128). The two cipher keys are
//     KDF(Session.SessionKey, ..., 128) for the AES-128 ciphers, and for AES-256-CCM and
//     AES-256-GCM KDF(Session.FullSessionKey, ..., 256): MS-SMB2 3.2.5.3.1 makes the full
//     key (not its first 16 bytes) the derivation key of the cipher keys when the cipher is
//     AES-256, and 3.1.4.2 sets L = 256 for it. MS-SMB2 3.1.4.2 words L as depending on the
//     cipher alone, which read literally would also give the signing key L = 256; Samba
//     (libcli/smb/smb2_signing.c, smb2_signing_key_create), which interoperates with Windows
//     on AES-256, derives signing and application keys with a 16-byte input and a 16-byte
//     output (L = 128) whatever the cipher, and so does this function. The Linux client
//     (fs/smb/client/smb2transport.c) instead feeds L = 256 to every derivation when an
//     AES-256 cipher is negotiated; with an AES-128 cipher, and for the cipher keys, all
//     agree.
//
// The published examples this is tested against are in vectors_test.go.
func DeriveKeys(dialect uint16, sessionKey, preauthHash []byte, cipherID uint16) (Keys, error) {
	if len(sessionKey) == 0 {
		return Keys{}, fmt.Errorf("smbcrypto: derive keys: empty session key")
	}
	sk := SessionKey(sessionKey)
	defer clear(sk[:])
	switch wire.Dialect(dialect) {
	case wire.Dialect202, wire.Dialect210:
		return Keys{Signing: append([]byte(nil), sk[:]...)}, nil
	case wire.Dialect300, wire.Dialect302:
		var k Keys
		var err error
		if k.Signing, err = KDF(sk[:], label30Signing, context30Signing, 128); err != nil {
			return Keys{}, err
		}
		if k.Encryption, err = KDF(sk[:], label30Cipher, context30C2S, 128); err != nil {
			return Keys{}, err
		}
		if k.Decryption, err = KDF(sk[:], label30Cipher, context30S2C, 128); err != nil {
			return Keys{}, err
		}
		if k.Application, err = KDF(sk[:], label30App, context30App, 128); err != nil {
			return Keys{}, err
		}
		return k, nil
	case wire.Dialect311:
		if len(preauthHash) != PreauthHashSize {
			return Keys{}, fmt.Errorf("smbcrypto: derive keys: preauth integrity hash is %d bytes, want %d", len(preauthHash), PreauthHashSize)
		}
		switch cipherID {
		case wire.CipherNone, wire.CipherAES128CCM, wire.CipherAES128GCM, wire.CipherAES256CCM, wire.CipherAES256GCM:
		default:
			return Keys{}, fmt.Errorf("smbcrypto: derive keys: unknown cipher id %#04x", cipherID)
		}
		cipherKDFKey, bits := sk[:], 128
		if CipherKeySize(cipherID) == 32 {
			cipherKDFKey, bits = sessionKey, 256
		}
		var k Keys
		var err error
		if k.Signing, err = KDF(sk[:], label311Signing, preauthHash, 128); err != nil {
			return Keys{}, err
		}
		if k.Encryption, err = KDF(cipherKDFKey, label311C2SCipher, preauthHash, bits); err != nil {
			return Keys{}, err
		}
		if k.Decryption, err = KDF(cipherKDFKey, label311S2CCipher, preauthHash, bits); err != nil {
			return Keys{}, err
		}
		if k.Application, err = KDF(sk[:], label311App, preauthHash, 128); err != nil {
			return Keys{}, err
		}
		return k, nil
	}
	return Keys{}, fmt.Errorf("smbcrypto: derive keys: unsupported dialect %#04x", dialect)
}
