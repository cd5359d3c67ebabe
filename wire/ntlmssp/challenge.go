package ntlmssp

import (
	"encoding/binary"
	"fmt"
)

// Sizes of the CHALLENGE_MESSAGE fixed header (MS-NLMP 2.2.1.2): the oldest servers stop after
// ServerChallenge (32 bytes); TargetInfoFields end at 48; the Version field ends at 56.
const (
	challengeMinSize           = 32
	challengeHeaderSize        = 48
	challengeHeaderSizeVersion = challengeHeaderSize + VersionSize
)

// Challenge is a view of the CHALLENGE_MESSAGE a server answers the NEGOTIATE_MESSAGE with
// (MS-NLMP 2.2.1.2). Accessors are valid only after Validate returned nil.
//
// A message shorter than 48 bytes (pre-NTLMv2 servers) is accepted and has no TargetInfo.
type Challenge []byte

// Validate checks the signature, the message type, and that the TargetName and TargetInfo
// payloads lie inside the message without overlapping its fixed header. It does not look
// inside TargetInfo: DecodeAVInfo and AVPairIter check the AV pairs.
func (c Challenge) Validate() error {
	const what = "ntlm challenge"
	if err := checkHeader(c, MessageChallenge, challengeMinSize, what); err != nil {
		return err
	}
	h := c.headerEnd()
	if err := readField(c[12:]).check(len(c), h, what, "target name"); err != nil {
		return err
	}
	if len(c) >= challengeHeaderSize {
		return readField(c[40:]).check(len(c), h, what, "target info")
	}
	return nil
}

// headerEnd returns where the fixed header ends and the payload may begin.
func (c Challenge) headerEnd() int {
	switch {
	case c.hasVersion():
		return challengeHeaderSizeVersion
	case len(c) >= challengeHeaderSize:
		return challengeHeaderSize
	}
	return challengeMinSize
}

// hasVersion reports whether the Version field is present: FlagVersion is set, the message is
// long enough, and no payload starts before the field ends (a server that sets the flag but
// places its payload at byte 48 has no Version field).
func (c Challenge) hasVersion() bool {
	if len(c) < challengeHeaderSizeVersion || c.Flags()&FlagVersion == 0 {
		return false
	}
	for _, at := range [...]int{12, 40} {
		if f := readField(c[at:]); f.len != 0 && f.off < challengeHeaderSizeVersion {
			return false
		}
	}
	return true
}

// Flags returns NegotiateFlags: the flags the server accepted.
func (c Challenge) Flags() Flags { return Flags(binary.LittleEndian.Uint32(c[20:])) }

// ServerChallenge returns the server's 8-byte nonce.
func (c Challenge) ServerChallenge() (ch [8]byte) {
	copy(ch[:], c[24:32])
	return ch
}

// TargetName returns the TargetName payload, nil when empty. It is UTF-16LE when Flags has
// FlagUnicode (decode with wire.DecodeUTF16LE), else OEM bytes.
func (c Challenge) TargetName() []byte { return readField(c[12:]).bytes(c) }

// TargetInfo returns the TargetInfo payload (a list of AV pairs), nil when empty or absent.
func (c Challenge) TargetInfo() []byte {
	if len(c) < challengeHeaderSize {
		return nil
	}
	return readField(c[40:]).bytes(c)
}

// Version returns the server's Version field and whether it is present (see hasVersion).
func (c Challenge) Version() (Version, bool) {
	if !c.hasVersion() {
		return Version{}, false
	}
	return decodeVersion(c[48:]), true
}

// AVInfo decodes TargetInfo into info; see DecodeAVInfo.
func (c Challenge) AVInfo(info *AVInfo) error {
	if err := DecodeAVInfo(c.TargetInfo(), info); err != nil {
		return fmt.Errorf("ntlm challenge: %w", err)
	}
	return nil
}

// ChallengeBuilder encodes a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). smbsweep never sends one;
// it exists for tests and fake servers. TargetName and TargetInfo are raw payloads (TargetName
// UTF-16LE when Flags has FlagUnicode; TargetInfo built with AppendAVPair and AppendAVEOL), each
// cut at MaxFieldLen. The Version field is written when Flags has FlagVersion.
type ChallengeBuilder struct {
	Flags           Flags
	ServerChallenge [8]byte
	TargetName      []byte
	TargetInfo      []byte
	Version         Version
}

func (b *ChallengeBuilder) headerSize() int {
	if b.Flags&FlagVersion != 0 {
		return challengeHeaderSizeVersion
	}
	return challengeHeaderSize
}

// Size returns the encoded size of the message.
func (b *ChallengeBuilder) Size() int {
	return b.headerSize() + capLen(len(b.TargetName)) + capLen(len(b.TargetInfo))
}

// AppendTo appends the encoded message to dst.
func (b *ChallengeBuilder) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	tn, ti := capLen(len(b.TargetName)), capLen(len(b.TargetInfo))
	off := b.headerSize()
	dst = append(dst, Signature...)
	dst = le.AppendUint32(dst, uint32(MessageChallenge))
	dst = appendField(dst, tn, off)
	dst = le.AppendUint32(dst, uint32(b.Flags))
	dst = append(dst, b.ServerChallenge[:]...)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // Reserved
	dst = appendField(dst, ti, off+tn)
	if b.Flags&FlagVersion != 0 {
		dst = b.Version.appendTo(dst)
	}
	dst = append(dst, b.TargetName[:tn]...)
	return append(dst, b.TargetInfo[:ti]...)
}
