package smbcrypto

import (
	"crypto/sha512"
	"encoding/hex"
)

// PreauthHash is an SMB 3.1.1 preauthentication integrity hash value
// (Connection.PreauthIntegrityHashValue or Session.PreauthIntegrityHashValue, MS-SMB2
// 3.2.1.2, 3.2.1.3) and the SHA-512 chain that advances it (MS-SMB2 3.2.4.2.2.2, 3.2.5.2,
// 3.2.5.3, 3.3.5.4, 3.3.5.5). The zero value is the initial value of 64 zero bytes.
//
// It is a plain value: assigning or passing it copies the hash. After the NEGOTIATE exchange
// the connection's value is copied into each new session (Clone makes that explicit), and
// the two then advance separately.
type PreauthHash struct {
	v [PreauthHashSize]byte
}

// Update replaces the value H with SHA-512(H || msg). msg is a whole SMB2 message as sent or
// received: the NEGOTIATE request and response for the connection; every SESSION_SETUP
// request, and every SESSION_SETUP response except the final successful one, for a session.
func (p *PreauthHash) Update(msg []byte) {
	h := sha512.New()
	h.Write(p.v[:])
	h.Write(msg)
	h.Sum(p.v[:0])
}

// Clone returns a copy that advances independently of p.
func (p PreauthHash) Clone() PreauthHash { return p }

// Value returns the current hash value, the context of the 3.1.1 key derivations.
func (p PreauthHash) Value() [PreauthHashSize]byte { return p.v }

// Reset sets the value back to 64 zero bytes.
func (p *PreauthHash) Reset() { p.v = [PreauthHashSize]byte{} }

// String returns the value in lowercase hex, as the result schema reports it. The value is a
// hash of messages that travel in the clear and only the public context of the key
// derivations, so it is not secret.
func (p PreauthHash) String() string { return hex.EncodeToString(p.v[:]) }
