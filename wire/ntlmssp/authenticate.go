package ntlmssp

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// Layout of the AUTHENTICATE_MESSAGE fixed header (MS-NLMP 2.2.1.3): 64 bytes up to and
// including NegotiateFlags, then the 8-byte Version field, then the 16-byte MIC.
const (
	authenticateHeaderSize = 64
	// MICOffset is the offset of the MIC field in an AUTHENTICATE_MESSAGE that carries one.
	MICOffset = authenticateHeaderSize + VersionSize
	// MICSize is the size of the MIC field.
	MICSize                       = 16
	authenticateHeaderSizeVersion = MICOffset
	authenticateHeaderSizeMIC     = MICOffset + MICSize
)

// Authenticate is the AUTHENTICATE_MESSAGE a client sends in answer to the CHALLENGE_MESSAGE
// (MS-NLMP 2.2.1.3).
//
// Domain, User and Workstation are written as UTF-16LE, so Flags must include FlagUnicode.
// The Version field is written when Flags has FlagVersion or IncludeMIC is set (the MIC sits
// after it, at MICOffset); the MIC field is written when IncludeMIC is set. To fill in a MIC,
// encode with a zero MIC, compute it with ntlmcrypto.MIC over the encoded bytes, then store it
// with PutMIC.
//
// The payload is laid out in the order Windows uses (MS-NLMP 4.2.4.3): Domain, User,
// Workstation, LmChallengeResponse, NtChallengeResponse, EncryptedRandomSessionKey, so the
// UTF-16 strings stay 2-byte aligned. Every field longer than MaxFieldLen bytes is cut at
// MaxFieldLen by AppendTo; Check reports such fields instead.
type Authenticate struct {
	Flags                     Flags
	LmChallengeResponse       []byte
	NtChallengeResponse       []byte
	Domain                    string
	User                      string
	Workstation               string
	EncryptedRandomSessionKey []byte
	Version                   Version
	MIC                       [MICSize]byte
	IncludeMIC                bool
}

// lmAnonymous is the Z(1) LmChallengeResponse of an anonymous AUTHENTICATE_MESSAGE.
var lmAnonymous = [1]byte{}

// AnonymousAuthenticate returns the AUTHENTICATE_MESSAGE of an anonymous (null session)
// authentication (MS-NLMP 3.1.5.1.2, 3.3.1 and 3.3.2: "Special case for anonymous
// authentication"): empty user and domain, empty NtChallengeResponse, an LmChallengeResponse
// of a single zero byte, no session key, and FlagAnonymous set.
//
// negotiated is the set of flags both sides agreed on, normally the flags of the client's
// NEGOTIATE_MESSAGE masked by Challenge.Flags. FlagKeyExch is cleared, since an anonymous
// session has no session key to exchange.
func AnonymousAuthenticate(negotiated Flags) Authenticate {
	return Authenticate{
		Flags:               negotiated&^FlagKeyExch | FlagAnonymous,
		LmChallengeResponse: lmAnonymous[:],
		Version:             DefaultVersion,
	}
}

// hasVersion reports whether the encoded message carries the Version field.
func (a *Authenticate) hasVersion() bool { return a.Flags&FlagVersion != 0 || a.IncludeMIC }

func (a *Authenticate) headerSize() int {
	switch {
	case a.IncludeMIC:
		return authenticateHeaderSizeMIC
	case a.hasVersion():
		return authenticateHeaderSizeVersion
	}
	return authenticateHeaderSize
}

// Size returns the encoded size of the message.
func (a *Authenticate) Size() int {
	return a.headerSize() + utf16Capped(a.Domain) + utf16Capped(a.User) + utf16Capped(a.Workstation) +
		capLen(len(a.LmChallengeResponse)) + capLen(len(a.NtChallengeResponse)) +
		capLen(len(a.EncryptedRandomSessionKey))
}

// Check reports a field too long for its 16-bit length (ErrTooLarge); AppendTo would cut it.
func (a *Authenticate) Check() error {
	for _, f := range [...]struct {
		name string
		n    int
	}{
		{"lm challenge response", len(a.LmChallengeResponse)},
		{"nt challenge response", len(a.NtChallengeResponse)},
		{"domain", wire.UTF16Len(a.Domain)},
		{"user", wire.UTF16Len(a.User)},
		{"workstation", wire.UTF16Len(a.Workstation)},
		{"encrypted random session key", len(a.EncryptedRandomSessionKey)},
	} {
		if f.n > MaxFieldLen {
			return fmt.Errorf("ntlm authenticate: %s of %d bytes: %w", f.name, f.n, wire.ErrTooLarge)
		}
	}
	return nil
}

// AppendTo appends the encoded message to dst. Offsets are relative to the message start.
func (a *Authenticate) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dl, ul, wl := utf16Capped(a.Domain), utf16Capped(a.User), utf16Capped(a.Workstation)
	lml, ntl, kl := capLen(len(a.LmChallengeResponse)), capLen(len(a.NtChallengeResponse)),
		capLen(len(a.EncryptedRandomSessionKey))
	dOff := a.headerSize()
	uOff := dOff + dl
	wOff := uOff + ul
	lmOff := wOff + wl
	ntOff := lmOff + lml
	kOff := ntOff + ntl

	dst = append(dst, Signature...)
	dst = le.AppendUint32(dst, uint32(MessageAuthenticate))
	dst = appendField(dst, lml, lmOff)
	dst = appendField(dst, ntl, ntOff)
	dst = appendField(dst, dl, dOff)
	dst = appendField(dst, ul, uOff)
	dst = appendField(dst, wl, wOff)
	dst = appendField(dst, kl, kOff)
	dst = le.AppendUint32(dst, uint32(a.Flags))
	if a.hasVersion() {
		dst = a.Version.appendTo(dst)
	}
	if a.IncludeMIC {
		dst = append(dst, a.MIC[:]...)
	}
	dst = appendUTF16Capped(dst, a.Domain)
	dst = appendUTF16Capped(dst, a.User)
	dst = appendUTF16Capped(dst, a.Workstation)
	dst = append(dst, a.LmChallengeResponse[:lml]...)
	dst = append(dst, a.NtChallengeResponse[:ntl]...)
	return append(dst, a.EncryptedRandomSessionKey[:kl]...)
}

// PutMIC stores mic in the MIC field of the encoded AUTHENTICATE_MESSAGE msg, which must have
// been encoded with IncludeMIC.
func PutMIC(msg []byte, mic [MICSize]byte) error {
	m := AuthenticateMessage(msg)
	if err := m.Validate(); err != nil {
		return err
	}
	if !m.hasMICField() {
		return fmt.Errorf("ntlm authenticate: no room for a MIC before the payload: %w", wire.ErrMalformed)
	}
	copy(msg[MICOffset:], mic[:])
	return nil
}

// AuthenticateMessage is a view of a received AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), for
// tests and fake servers. Accessors are valid only after Validate returned nil.
type AuthenticateMessage []byte

// Offsets of the six payload descriptors in the fixed header.
const (
	authLmAt          = 12
	authNtAt          = 20
	authDomainAt      = 28
	authUserAt        = 36
	authWorkstationAt = 44
	authKeyAt         = 52
)

// Validate checks the signature, the message type and the six payload fields.
func (m AuthenticateMessage) Validate() error {
	const what = "ntlm authenticate"
	if err := checkHeader(m, MessageAuthenticate, authenticateHeaderSize, what); err != nil {
		return err
	}
	for _, f := range [...]struct {
		at   int
		name string
	}{
		{authLmAt, "lm challenge response"},
		{authNtAt, "nt challenge response"},
		{authDomainAt, "domain"},
		{authUserAt, "user"},
		{authWorkstationAt, "workstation"},
		{authKeyAt, "encrypted random session key"},
	} {
		if err := readField(m[f.at:]).check(len(m), authenticateHeaderSize, what, f.name); err != nil {
			return err
		}
	}
	return nil
}

// payloadStart returns the lowest offset of a non-empty payload field, or len(m) if none.
func (m AuthenticateMessage) payloadStart() int {
	start := len(m)
	for _, at := range [...]int{authLmAt, authNtAt, authDomainAt, authUserAt, authWorkstationAt, authKeyAt} {
		if f := readField(m[at:]); f.len != 0 && int(f.off) < start {
			start = int(f.off)
		}
	}
	return start
}

// hasMICField reports whether the fixed header is long enough to hold a MIC: no payload field
// starts before byte 88. The MsvAvFlags pair inside the NTLMv2 response is what tells a server
// that the MIC is meant to be checked.
func (m AuthenticateMessage) hasMICField() bool {
	return len(m) >= authenticateHeaderSizeMIC && m.payloadStart() >= authenticateHeaderSizeMIC
}

// Flags returns NegotiateFlags.
func (m AuthenticateMessage) Flags() Flags { return Flags(binary.LittleEndian.Uint32(m[60:])) }

// LmChallengeResponse returns the LmChallengeResponse payload, nil when empty.
func (m AuthenticateMessage) LmChallengeResponse() []byte { return readField(m[authLmAt:]).bytes(m) }

// NtChallengeResponse returns the NtChallengeResponse payload, nil when empty.
func (m AuthenticateMessage) NtChallengeResponse() []byte { return readField(m[authNtAt:]).bytes(m) }

// Domain returns the DomainName payload (UTF-16LE when FlagUnicode), nil when empty.
func (m AuthenticateMessage) Domain() []byte { return readField(m[authDomainAt:]).bytes(m) }

// User returns the UserName payload (UTF-16LE when FlagUnicode), nil when empty.
func (m AuthenticateMessage) User() []byte { return readField(m[authUserAt:]).bytes(m) }

// Workstation returns the Workstation payload (UTF-16LE when FlagUnicode), nil when empty.
func (m AuthenticateMessage) Workstation() []byte {
	return readField(m[authWorkstationAt:]).bytes(m)
}

// EncryptedRandomSessionKey returns the EncryptedRandomSessionKey payload, nil when empty.
func (m AuthenticateMessage) EncryptedRandomSessionKey() []byte {
	return readField(m[authKeyAt:]).bytes(m)
}

// Version returns the Version field and whether it is present: FlagVersion set and no payload
// starting before the field ends.
func (m AuthenticateMessage) Version() (Version, bool) {
	if m.Flags()&FlagVersion == 0 || len(m) < authenticateHeaderSizeVersion ||
		m.payloadStart() < authenticateHeaderSizeVersion {
		return Version{}, false
	}
	return decodeVersion(m[authenticateHeaderSize:]), true
}

// MIC returns the MIC field and whether the header has room for one (see hasMICField).
func (m AuthenticateMessage) MIC() (mic [MICSize]byte, ok bool) {
	if !m.hasMICField() {
		return mic, false
	}
	copy(mic[:], m[MICOffset:])
	return mic, true
}
