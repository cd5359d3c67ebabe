package wire

import (
	"encoding/binary"
	"fmt"
)

// SessionSetupFlagBinding is the SESSION_SETUP request flag SMB2_SESSION_FLAG_BINDING
// (MS-SMB2 2.2.5): bind an existing session to a new connection.
const SessionSetupFlagBinding uint8 = 0x01

// Session flags of the SESSION_SETUP response (MS-SMB2 2.2.6).
const (
	SessionFlagIsGuest     uint16 = 0x0001
	SessionFlagIsNull      uint16 = 0x0002
	SessionFlagEncryptData uint16 = 0x0004
)

// sessionSetupRequestFixed is the fixed part of the SESSION_SETUP request body; the security
// buffer follows at header-relative offset 64+24.
const sessionSetupRequestFixed = 24

// MaxSecurityBufferLength is the largest security buffer a SESSION_SETUP request can carry
// (its length field is 16 bits); a longer SecurityBuffer is cut to it.
const MaxSecurityBufferLength = 0xffff

// SessionSetupRequest is the SMB2 SESSION_SETUP request (MS-SMB2 2.2.5). SecurityBuffer holds
// the caller's GSS token (SPNEGO / NTLMSSP), copied as is.
type SessionSetupRequest struct {
	Flags             uint8 // SessionSetupFlagBinding or 0
	SecurityMode      uint8 // low byte of NegotiateSigningEnabled / NegotiateSigningRequired
	Capabilities      uint32
	Channel           uint32
	PreviousSessionID uint64
	SecurityBuffer    []byte
}

func (r *SessionSetupRequest) token() []byte {
	if len(r.SecurityBuffer) > MaxSecurityBufferLength {
		return r.SecurityBuffer[:MaxSecurityBufferLength]
	}
	return r.SecurityBuffer
}

// Size returns the encoded size of the request body. An empty security buffer is still sent as
// one zero byte, since StructureSize 25 counts one byte of Buffer.
func (r *SessionSetupRequest) Size() int {
	return sessionSetupRequestFixed + max(len(r.token()), 1)
}

// AppendTo appends the request body to dst; it must directly follow the SMB2 header.
func (r *SessionSetupRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	tok := r.token()
	dst = le.AppendUint16(dst, 25)
	dst = append(dst, r.Flags, r.SecurityMode)
	dst = le.AppendUint32(dst, r.Capabilities)
	dst = le.AppendUint32(dst, r.Channel)
	dst = le.AppendUint16(dst, HeaderSize+sessionSetupRequestFixed)
	dst = le.AppendUint16(dst, uint16(len(tok)))
	dst = le.AppendUint64(dst, r.PreviousSessionID)
	if len(tok) == 0 {
		return append(dst, 0)
	}
	return append(dst, tok...)
}

// sessionSetupResponseFixed is the fixed part of the SESSION_SETUP response body.
const sessionSetupResponseFixed = 8

// SessionSetupResponse is the SMB2 SESSION_SETUP response (MS-SMB2 2.2.6): a view over the whole
// message. Validate does not look at the header's Status; note that an ERROR body (2.2.2) has
// the same StructureSize (9), so callers must check Status (STATUS_SUCCESS or
// STATUS_MORE_PROCESSING_REQUIRED) before trusting the fields.
type SessionSetupResponse []byte

// Validate checks the header, the fixed body and the security buffer's bounds.
func (r SessionSetupResponse) Validate() error {
	const what = "session setup response"
	if err := validateSMB2Response(r, CmdSessionSetup, 9, sessionSetupResponseFixed, what); err != nil {
		return err
	}
	le := binary.LittleEndian
	off, n := le.Uint16(r[HeaderSize+4:]), le.Uint16(r[HeaderSize+6:])
	if !smb2BufferInBounds(len(r), uint64(off), uint64(n), HeaderSize+sessionSetupResponseFixed) {
		return fmt.Errorf("%s: security buffer offset %d length %d in %d bytes: %w", what, off, n, len(r), ErrBadOffset)
	}
	return nil
}

// SessionFlags returns the SessionFlag* bits.
func (r SessionSetupResponse) SessionFlags() uint16 {
	return binary.LittleEndian.Uint16(r[HeaderSize+2:])
}

// SecurityBuffer returns the server's GSS token, nil if empty.
func (r SessionSetupResponse) SecurityBuffer() []byte {
	le := binary.LittleEndian
	off, n := int(le.Uint16(r[HeaderSize+4:])), int(le.Uint16(r[HeaderSize+6:]))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}
