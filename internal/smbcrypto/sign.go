package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/smbsweep/smbsweep/wire"
)

// SMB2 header offsets used by signing (MS-SMB2 2.2.1).
const (
	hdrOffCommand   = 12
	hdrOffFlags     = 16
	hdrOffMessageID = 24
	hdrOffSignature = 48
)

// SignatureSize is the size of the SMB2 header's Signature field (bytes 48..64).
const SignatureSize = 16

// SigningKeySize is the size of every SMB2 signing key: Session.SessionKey for HMAC-SHA256,
// Session.SigningKey or Channel.SigningKey for AES-128-CMAC and AES-128-GMAC.
const SigningKeySize = 16

// zeroSignature stands in for the Signature field while a signature is computed.
var zeroSignature [SignatureSize]byte

// SigningAlgorithm returns the signing algorithm (wire.Signing*) a connection uses (MS-SMB2
// 3.1.4.1): HMAC-SHA256 for 2.0.2 and 2.1, AES-128-CMAC for 3.0 and 3.0.2, and for 3.1.1 the
// algorithm the server chose in its SMB2_SIGNING_CAPABILITIES context when it sent one
// (negotiated true), AES-128-CMAC otherwise.
func SigningAlgorithm(dialect uint16, negotiatedAlg uint16, negotiated bool) uint16 {
	switch wire.Dialect(dialect) {
	case wire.Dialect202, wire.Dialect210:
		return wire.SigningHMACSHA256
	case wire.Dialect311:
		if negotiated {
			return negotiatedAlg
		}
	}
	return wire.SigningAESCMAC
}

// Signer signs and verifies SMB2 messages with one key and algorithm (MS-SMB2 3.1.4.1,
// 3.1.5.1). It keeps its MAC state between messages, so Sign and Verify on AES-CMAC and
// HMAC-SHA256 signers do not allocate; AES-128-GMAC uses the standard library's AES-GCM,
// whose tag computation does not allocate either (see TestSignerAllocs). A Signer is not safe
// for concurrent use.
//
// A Signer prints as [redacted] with any fmt verb.
type Signer struct {
	alg   uint16
	mac   hash.Hash   // HMAC-SHA256
	cmac  CMACState   // AES-128-CMAC
	gcm   cipher.AEAD // AES-128-GMAC
	sum   [sha256.Size]byte
	nonce [12]byte
	tag   [16]byte
}

// NewSigner returns a Signer for alg (wire.SigningHMACSHA256, wire.SigningAESCMAC or
// wire.SigningAESGMAC) and a 16-byte key: Session.SessionKey for HMAC-SHA256 (2.0.2, 2.1),
// the derived signing key for the AES algorithms (3.x). key is copied into the cipher or
// MAC state; the caller may clear its copy.
func NewSigner(alg uint16, key []byte) (*Signer, error) {
	if len(key) != SigningKeySize {
		return nil, fmt.Errorf("smbcrypto: signing key is %d bytes, want %d", len(key), SigningKeySize)
	}
	s := &Signer{alg: alg}
	switch alg {
	case wire.SigningHMACSHA256:
		s.mac = hmac.New(sha256.New, key)
	case wire.SigningAESCMAC:
		if err := s.cmac.init(key); err != nil {
			return nil, err
		}
	case wire.SigningAESGMAC:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("smbcrypto: AES-GMAC key: %w", err)
		}
		if s.gcm, err = cipher.NewGCM(b); err != nil {
			return nil, fmt.Errorf("smbcrypto: AES-GMAC: %w", err)
		}
	default:
		return nil, fmt.Errorf("smbcrypto: unknown signing algorithm %#04x", alg)
	}
	return s, nil
}

// Algorithm returns the signer's algorithm id (wire.Signing*).
func (s *Signer) Algorithm() uint16 { return s.alg }

// Format prints the signer as [redacted] whatever the verb.
func (s *Signer) Format(f fmt.State, _ rune) { redact(f) }

// checkHeader reports why msg cannot be signed: it must hold at least a whole SMB2 sync or
// async header with the SMB2 ProtocolId.
func checkHeader(msg []byte) error {
	if len(msg) < wire.HeaderSize {
		return fmt.Errorf("smbcrypto: sign: %d-byte message: %w", len(msg), wire.ErrShort)
	}
	if p := binary.LittleEndian.Uint32(msg); p != wire.ProtocolSMB2 {
		return fmt.Errorf("smbcrypto: sign: protocol id %08x: %w", p, wire.ErrBadProtocol)
	}
	return nil
}

// Sign computes the signature of msg, a single SMB2 message starting with its 64-byte header
// (for a message in a compounded chain: from its header up to the next one, padding
// included, MS-SMB2 3.1.4.1), and writes it into the header's Signature field. It changes no
// other byte: the caller sets SMB2_FLAGS_SIGNED in Flags before signing, since Flags is
// covered by the signature.
func (s *Signer) Sign(msg []byte) error {
	if err := checkHeader(msg); err != nil {
		return err
	}
	sig := msg[hdrOffSignature : hdrOffSignature+SignatureSize]
	clear(sig)
	s.compute(msg)
	copy(sig, s.tag[:])
	return nil
}

// Verify reports, in constant time with respect to the signature's value, whether the
// Signature field of msg holds the signature of msg. A message shorter than an SMB2 header,
// or without the SMB2 ProtocolId, does not verify.
//
// For AES-128-GMAC the signature field is zeroed while the tag is computed (the standard
// library's GCM takes its additional data as one slice) and restored before Verify returns;
// msg must not be read concurrently. The other algorithms never write to msg.
func (s *Signer) Verify(msg []byte) bool {
	if checkHeader(msg) != nil {
		return false
	}
	var got [SignatureSize]byte
	sig := msg[hdrOffSignature : hdrOffSignature+SignatureSize]
	copy(got[:], sig)
	if s.alg == wire.SigningAESGMAC {
		clear(sig)
		s.compute(msg)
		copy(sig, got[:])
	} else {
		s.compute(msg)
	}
	return subtle.ConstantTimeCompare(got[:], s.tag[:]) == 1
}

// compute leaves in s.tag the signature of msg with its Signature field taken as zero. For
// AES-128-GMAC the field must actually be zero in msg.
func (s *Signer) compute(msg []byte) {
	switch s.alg {
	case wire.SigningHMACSHA256:
		// MS-SMB2 3.1.4.1: the first 16 bytes of HMAC-SHA256 over the message.
		s.mac.Reset()
		s.mac.Write(msg[:hdrOffSignature])
		s.mac.Write(zeroSignature[:])
		s.mac.Write(msg[hdrOffSignature+SignatureSize:])
		s.mac.Sum(s.sum[:0])
		copy(s.tag[:], s.sum[:SignatureSize])
	case wire.SigningAESCMAC:
		s.cmac.Reset()
		s.cmac.Write(msg[:hdrOffSignature])
		s.cmac.Write(zeroSignature[:])
		s.cmac.Write(msg[hdrOffSignature+SignatureSize:])
		s.cmac.SumInto(&s.tag)
	case wire.SigningAESGMAC:
		gmacNonce(&s.nonce, msg)
		// RFC 4543: GMAC is GCM with the message as additional data and no plaintext; the
		// GCM tag is the MAC.
		s.gcm.Seal(s.tag[:0], s.nonce[:], nil, msg)
	}
}

// gmacNonce builds the 12-byte AES-GMAC signing nonce of msg (MS-SMB2 3.1.4.1): the
// MessageId (8 bytes, as in the header, little-endian), then a 32-bit little-endian word whose
// least significant bit is 1 when the sender is the server and whose next bit is 1 when the
// message is an SMB2 CANCEL request; the other 30 bits are zero.
//
// The sender's role is read from the header's SMB2_FLAGS_SERVER_TO_REDIR bit, which servers
// set on every message they send and clients never set (MS-SMB2 2.2.1.2); since that bit is
// itself signed, flipping it invalidates the signature. A receiver must still check that the
// bit says what it expects (a client accepts only messages with it set), or a message could
// be reflected back to its sender.
func gmacNonce(nonce *[12]byte, msg []byte) {
	copy(nonce[:8], msg[hdrOffMessageID:hdrOffMessageID+8])
	var w uint32
	if binary.LittleEndian.Uint32(msg[hdrOffFlags:])&wire.FlagServerToRedir != 0 {
		w |= 1
	}
	if wire.Command(binary.LittleEndian.Uint16(msg[hdrOffCommand:])) == wire.CmdCancel {
		w |= 2
	}
	binary.LittleEndian.PutUint32(nonce[8:], w)
}

// Sign signs msg with a one-off Signer (see Signer.Sign). Reuse a Signer to avoid the
// per-call key setup.
func Sign(alg uint16, key, msg []byte) error {
	s, err := NewSigner(alg, key)
	if err != nil {
		return err
	}
	return s.Sign(msg)
}

// Verify checks msg's signature with a one-off Signer (see Signer.Verify). It returns false
// when the algorithm or key is unusable.
func Verify(alg uint16, key, msg []byte) bool {
	s, err := NewSigner(alg, key)
	if err != nil {
		return false
	}
	return s.Verify(msg)
}
