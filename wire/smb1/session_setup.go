package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// Client capability bits smbsweep announces in SESSION_SETUP_ANDX (MS-CIFS 2.2.4.53.1, MS-SMB
// 2.2.4.6.1): the NT LM 0.12 basics, large files and large READ_ANDX/WRITE_ANDX, plus
// CapExtendedSecurity in the extended form. CapUnicode is added only when the server
// announced it (see SessionSetupRequest).
const ClientCapabilities = CapNTSMBs | CapStatus32 | CapLargeFiles | CapLargeReadX | CapLargeWriteX |
	CapLevelIIOplocks | CapNTFind | CapRPCRemoteAPIs

// Action bits of the SESSION_SETUP_ANDX reply (MS-CIFS 2.2.4.53.2).
const (
	ActionGuest        uint16 = 0x0001 // SMB_SETUP_GUEST: logged on as guest
	ActionUseLanmanKey uint16 = 0x0002 // SMB_SETUP_USE_LANMAN_KEY
)

// Word counts of the SESSION_SETUP_ANDX forms.
const (
	wcSessionSetupNT       = 13 // MS-CIFS 2.2.4.53.1, non-extended request
	wcSessionSetupExt      = 12 // MS-SMB 2.2.4.6.1, extended-security request
	wcSessionSetupReplyNT  = 3  // MS-CIFS 2.2.4.53.2
	wcSessionSetupReplyExt = 4  // MS-SMB 2.2.4.6.2
)

// SessionSetupRequest is SMB_COM_SESSION_SETUP_ANDX (MS-CIFS 2.2.4.53.1) in either form:
//   - extended security (MS-SMB 2.2.4.6.1) when SecurityBlob is non-nil: WordCount 12, the GSS
//     (SPNEGO/NTLMSSP) token, then NativeOS and NativeLanMan; the header must have
//     Flags2ExtendedSecurity;
//   - otherwise the NT LM 0.12 form: WordCount 13, OEMPassword and UnicodePassword (with
//     NTLMv2 these are the LMv2 and NTLMv2 responses, MS-NLMP 3.3.2; both empty for an
//     anonymous logon), then AccountName, PrimaryDomain, NativeOS and NativeLanMan.
//
// Unicode selects UTF-16LE strings; set it exactly when the header has Flags2Unicode, which a
// client sets when the server announced CapUnicode (MS-CIFS 3.2.4.2.4). Strings are
// NUL-terminated, and Unicode ones are 2-byte aligned from the header start (the body follows
// the 32-byte header, so alignment is decided within the body). AndX chaining is not used.
type SessionSetupRequest struct {
	MaxBufferSize uint16
	MaxMpxCount   uint16
	VcNumber      uint16
	SessionKey    uint32 // the NEGOTIATE response's SessionKey
	Capabilities  uint32
	Unicode       bool

	SecurityBlob []byte // extended form

	OEMPassword     []byte // non-extended form: LMv2 response (or empty)
	UnicodePassword []byte // non-extended form: NTLMv2 response (or empty)
	AccountName     string
	PrimaryDomain   string

	NativeOS     string
	NativeLanMan string
}

// Extended reports whether the request has the extended-security form.
func (r *SessionSetupRequest) Extended() bool { return r.SecurityBlob != nil }

func (r *SessionSetupRequest) wordCount() int {
	if r.Extended() {
		return wcSessionSetupExt
	}
	return wcSessionSetupNT
}

// bytesSize returns the size of SMB_Data.Bytes.
func (r *SessionSetupRequest) bytesSize() int {
	start := 1 + 2*r.wordCount() + 2 // body offset of Bytes
	n := 0
	if r.Extended() {
		n = len(r.SecurityBlob)
	} else {
		n = len(r.OEMPassword) + len(r.UnicodePassword)
	}
	if r.Unicode && (HeaderSize+start+n)%2 == 1 {
		n++ // Pad
	}
	if !r.Extended() {
		n += stringSize(r.AccountName, r.Unicode) + stringSize(r.PrimaryDomain, r.Unicode)
	}
	return n + stringSize(r.NativeOS, r.Unicode) + stringSize(r.NativeLanMan, r.Unicode)
}

// Size returns the encoded size of the body.
func (r *SessionSetupRequest) Size() int { return 1 + 2*r.wordCount() + 2 + r.bytesSize() }

// Validate reports whether the request fits its 16-bit length fields.
func (r *SessionSetupRequest) Validate() error {
	if r.bytesSize() > maxByteCount || len(r.SecurityBlob) > maxByteCount ||
		len(r.OEMPassword) > maxByteCount || len(r.UnicodePassword) > maxByteCount {
		return fmt.Errorf("session setup request: %d bytes of data: %w", r.bytesSize(), wire.ErrTooLarge)
	}
	return nil
}

// AppendTo appends the body (it follows a Header whose Command is CommandSessionSetupAndX).
func (r *SessionSetupRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	start := len(dst)
	dst = append(dst, byte(r.wordCount()), CommandNoAndX, 0, 0, 0)
	dst = le.AppendUint16(dst, r.MaxBufferSize)
	dst = le.AppendUint16(dst, r.MaxMpxCount)
	dst = le.AppendUint16(dst, r.VcNumber)
	dst = le.AppendUint32(dst, r.SessionKey)
	if r.Extended() {
		dst = le.AppendUint16(dst, uint16(len(r.SecurityBlob)))
	} else {
		dst = le.AppendUint16(dst, uint16(len(r.OEMPassword)))
		dst = le.AppendUint16(dst, uint16(len(r.UnicodePassword)))
	}
	dst = le.AppendUint32(dst, 0) // Reserved
	dst = le.AppendUint32(dst, r.Capabilities)
	dst = le.AppendUint16(dst, uint16(r.bytesSize()))
	if r.Extended() {
		dst = append(dst, r.SecurityBlob...)
	} else {
		dst = append(dst, r.OEMPassword...)
		dst = append(dst, r.UnicodePassword...)
	}
	if r.Unicode && (HeaderSize+len(dst)-start)%2 == 1 {
		dst = append(dst, 0)
	}
	if !r.Extended() {
		dst = appendString(dst, r.AccountName, r.Unicode)
		dst = appendString(dst, r.PrimaryDomain, r.Unicode)
	}
	dst = appendString(dst, r.NativeOS, r.Unicode)
	return appendString(dst, r.NativeLanMan, r.Unicode)
}

// stringSize returns the encoded size of a NUL-terminated SMB string (without alignment).
func stringSize(s string, unicode bool) int {
	if unicode {
		return wire.UTF16Len(s) + 2
	}
	return len(s) + 1
}

// appendString appends s NUL-terminated, as UTF-16LE when unicode, else as bytes (callers
// pass ASCII for OEM strings).
func appendString(dst []byte, s string, unicode bool) []byte {
	if unicode {
		return append(wire.AppendUTF16LE(dst, s), 0, 0)
	}
	return append(append(dst, s...), 0)
}

// SessionSetupResponse is the SMB_COM_SESSION_SETUP_ANDX reply in either form, as a view over
// the whole message: WordCount 4 is the extended-security form (MS-SMB 2.2.4.6.2: Action,
// SecurityBlob, NativeOS, NativeLanMan), WordCount 3 the NT LM 0.12 form (MS-CIFS 2.2.4.53.2:
// Action, NativeOS, NativeLanMan, PrimaryDomain). STATUS_MORE_PROCESSING_REQUIRED comes with
// the extended form and the server's NTLM CHALLENGE in SecurityBlob. An error reply has
// WordCount 0 and the accessors return zero values.
//
// Strings are UTF-16LE when the reply's Flags2 has Flags2Unicode; the raw accessors return
// them without terminator, the Append* accessors as UTF-8.
type SessionSetupResponse []byte

// Validate checks the header, WordCount (3 or 4, or an error reply), ByteCount, the
// SecurityBlobLength against ByteCount and the AndX header.
func (r SessionSetupResponse) Validate() error {
	const what = "session setup response"
	g := Reply(r)
	if err := g.validateForm(CommandSessionSetupAndX, wcSessionSetupReplyNT, what); err != nil {
		return err
	}
	if g.isError(wcSessionSetupReplyNT) {
		return g.checkAndX(what)
	}
	switch wc := g.WordCount(); wc {
	case wcSessionSetupReplyNT:
	case wcSessionSetupReplyExt:
		if n := int(g.word16(6)); n > len(g.Bytes()) {
			return fmt.Errorf("%s: security blob of %d bytes, byte count %d: %w", what, n, len(g.Bytes()), wire.ErrBadOffset)
		}
	default:
		return fmt.Errorf("%s: word count %d: %w", what, wc, wire.ErrBadStructureSize)
	}
	return g.checkAndX(what)
}

// Reply returns the generic view (status, header fields).
func (r SessionSetupResponse) Reply() Reply { return Reply(r) }

// Err returns nil for success, else the status (STATUS_MORE_PROCESSING_REQUIRED included).
func (r SessionSetupResponse) Err() error { return Reply(r).Err() }

// MoreProcessingRequired reports the STATUS_MORE_PROCESSING_REQUIRED of an unfinished GSS
// exchange (the extended form's first round).
func (r SessionSetupResponse) MoreProcessingRequired() bool {
	return Reply(r).UsesNTStatus() && Reply(r).Status() == statusMoreProcessingRequired
}

// UID returns the user ID the server assigned (header UID).
func (r SessionSetupResponse) UID() uint16 { return Reply(r).UID() }

// Extended reports whether the reply has the extended-security form.
func (r SessionSetupResponse) Extended() bool { return Reply(r).WordCount() == wcSessionSetupReplyExt }

// Action returns the Action bits (ActionGuest).
func (r SessionSetupResponse) Action() uint16 { return Reply(r).word16(4) }

// Guest reports SMB_SETUP_GUEST: the server logged the user on as guest.
func (r SessionSetupResponse) Guest() bool { return r.Action()&ActionGuest != 0 }

// SecurityBlob returns the server's GSS token of the extended form (nil otherwise), a view.
func (r SessionSetupResponse) SecurityBlob() []byte {
	if !r.Extended() {
		return nil
	}
	n := int(Reply(r).word16(6))
	return Reply(r).Bytes()[:n:n]
}

// strings returns the raw NativeOS, NativeLanMan and PrimaryDomain.
func (r SessionSetupResponse) strings() (os, lanman, domain []byte) {
	g := Reply(r)
	if g.WordCount() != wcSessionSetupReplyNT && g.WordCount() != wcSessionSetupReplyExt {
		return nil, nil, nil
	}
	off := g.bytesOff() + len(r.SecurityBlob())
	end := g.bytesOff() + len(g.Bytes())
	u := g.Unicode()
	os, off = stringAt(r, off, end, u)
	lanman, off = stringAt(r, off, end, u)
	domain, _ = stringAt(r, off, end, u)
	return os, lanman, domain
}

// NativeOS returns the raw NativeOS string (without terminator), a view.
func (r SessionSetupResponse) NativeOS() []byte { os, _, _ := r.strings(); return os }

// NativeLanMan returns the raw NativeLanMan string, a view.
func (r SessionSetupResponse) NativeLanMan() []byte { _, l, _ := r.strings(); return l }

// PrimaryDomain returns the raw PrimaryDomain string (the NT LM 0.12 form; some servers send
// it in the extended form too), a view; nil when absent.
func (r SessionSetupResponse) PrimaryDomain() []byte { _, _, d := r.strings(); return d }

// AppendNativeOS appends NativeOS as UTF-8 (see AppendString).
func (r SessionSetupResponse) AppendNativeOS(dst []byte) []byte {
	return AppendString(dst, r.NativeOS(), Reply(r).Unicode())
}

// AppendNativeLanMan appends NativeLanMan as UTF-8.
func (r SessionSetupResponse) AppendNativeLanMan(dst []byte) []byte {
	return AppendString(dst, r.NativeLanMan(), Reply(r).Unicode())
}

// AppendPrimaryDomain appends PrimaryDomain as UTF-8.
func (r SessionSetupResponse) AppendPrimaryDomain(dst []byte) []byte {
	return AppendString(dst, r.PrimaryDomain(), Reply(r).Unicode())
}
