package hostile

import (
	"encoding/binary"
	"time"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
)

var le = binary.LittleEndian

// DefaultSessionID is the SessionId the captured SESSION_SETUP replies carry.
const DefaultSessionID = 0x454c904d

// Offsets (from the start of the SMB2 message) of NEGOTIATE response fields (MS-SMB2 2.2.4)
// that hostile cases bend.
const (
	NegContextCount   = wire.HeaderSize + 6
	NegSystemTime     = wire.HeaderSize + 40
	NegServerStart    = wire.HeaderSize + 48
	NegSecBufOffset   = wire.HeaderSize + 56
	NegSecBufLength   = wire.HeaderSize + 58
	NegContextOffset  = wire.HeaderSize + 60
	HeaderStructSize  = 4  // SMB2 header StructureSize (64)
	BodyStructureSize = 64 // first field of every SMB2 body
)

// Patch makes a captured SMB2 reply answer req: MessageId from the request, and TreeId and
// SessionId too unless the reply is the one that assigns them (TREE_CONNECT, the first
// SESSION_SETUP). msg is changed in place and returned.
func Patch(msg []byte, req *Request) []byte {
	if len(msg) < wire.HeaderSize || le.Uint32(msg) != wire.ProtocolSMB2 {
		return msg
	}
	le.PutUint64(msg[24:], req.Header.MessageID)
	cmd := wire.Command(le.Uint16(msg[12:]))
	if cmd != wire.CmdTreeConnect {
		le.PutUint32(msg[36:], req.Header.TreeID)
	}
	if cmd != wire.CmdSessionSetup || req.Header.SessionID != 0 {
		le.PutUint64(msg[40:], req.Header.SessionID)
	}
	return msg
}

// Header returns a 64-byte SMB2 reply header answering req with status, granting one credit.
func Header(req *Request, status wire.NTStatus) []byte {
	h := wire.Header{
		Status:    status,
		Command:   req.Header.Command,
		Credits:   1,
		Flags:     wire.FlagServerToRedir,
		MessageID: req.Header.MessageID,
		TreeID:    req.Header.TreeID,
		SessionID: req.Header.SessionID,
	}
	return h.AppendTo(make([]byte, 0, 256))
}

// ErrorReply is an SMB2 ERROR response (MS-SMB2 2.2.2) with status.
func ErrorReply(req *Request, status wire.NTStatus) []byte {
	m := Header(req, status)
	m = le.AppendUint16(m, 9)
	m = append(m, 0, 0)       // ErrorContextCount, Reserved
	m = le.AppendUint32(m, 0) // ByteCount
	return append(m, 0)       // ErrorData: one byte when ByteCount is 0
}

// EmptyReply is the 4-byte body of TREE_DISCONNECT and LOGOFF responses.
func EmptyReply(req *Request) []byte {
	m := Header(req, wire.StatusSuccess)
	m = le.AppendUint16(m, 4)
	return le.AppendUint16(m, 0)
}

// SessionSetupReply is a SESSION_SETUP response (MS-SMB2 2.2.6) carrying secBuf.
func SessionSetupReply(req *Request, status wire.NTStatus, sessionID uint64, flags uint16, secBuf []byte) []byte {
	m := Header(req, status)
	le.PutUint64(m[40:], sessionID)
	m = le.AppendUint16(m, 9)
	m = le.AppendUint16(m, flags)
	m = le.AppendUint16(m, wire.HeaderSize+8)
	m = le.AppendUint16(m, uint16(len(secBuf)))
	return append(m, secBuf...)
}

// IoctlReply is an IOCTL response (MS-SMB2 2.2.32) to the request req with output, echoing
// the request's CtlCode and FileId.
func IoctlReply(req *Request, status wire.NTStatus, output []byte) []byte {
	const fixed = 48
	m := Header(req, status)
	body := req.Msg[wire.HeaderSize:]
	var ctl uint32
	var fid [16]byte
	if len(body) >= 24 {
		ctl = le.Uint32(body[4:])
		copy(fid[:], body[8:24])
	}
	m = le.AppendUint16(m, 49)
	m = le.AppendUint16(m, 0)
	m = le.AppendUint32(m, ctl)
	m = append(m, fid[:]...)
	m = le.AppendUint32(m, wire.HeaderSize+fixed) // InputOffset
	m = le.AppendUint32(m, 0)                     // InputCount
	m = le.AppendUint32(m, wire.HeaderSize+fixed) // OutputOffset
	m = le.AppendUint32(m, uint32(len(output)))
	m = le.AppendUint32(m, 0) // Flags
	m = le.AppendUint32(m, 0) // Reserved2
	return append(m, output...)
}

// ReadReply is a READ response (MS-SMB2 2.2.20) carrying data.
func ReadReply(req *Request, status wire.NTStatus, data []byte) []byte {
	m := Header(req, status)
	m = le.AppendUint16(m, 17)
	m = append(m, wire.HeaderSize+16, 0) // DataOffset, Reserved
	m = le.AppendUint32(m, uint32(len(data)))
	m = le.AppendUint32(m, 0) // DataRemaining
	m = le.AppendUint32(m, 0) // Reserved2
	return append(m, data...)
}

// PutU16 returns a mutation writing v at off (ignored when off is out of range).
func PutU16(off int, v uint16) func([]byte) []byte {
	return func(b []byte) []byte {
		if off >= 0 && off+2 <= len(b) {
			le.PutUint16(b[off:], v)
		}
		return b
	}
}

// PutU32 returns a mutation writing v at off (ignored when off is out of range).
func PutU32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte {
		if off >= 0 && off+4 <= len(b) {
			le.PutUint32(b[off:], v)
		}
		return b
	}
}

// PutU64 returns a mutation writing v at off (ignored when off is out of range).
func PutU64(off int, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		if off >= 0 && off+8 <= len(b) {
			le.PutUint64(b[off:], v)
		}
		return b
	}
}

// --- NTLM and SPNEGO ---

// NTLMNames are what a CHALLENGE's AV pairs say about the server (MS-NLMP 2.2.2.1).
type NTLMNames struct {
	NbComputer, NbDomain, DNSComputer, DNSDomain, DNSTree string
	// Timestamp is the MsvAvTimestamp FILETIME; 0 leaves the pair out (a server whose clock
	// is unset).
	Timestamp uint64
}

// SambaNames are the names the captured CHALLENGE carries.
func SambaNames() NTLMNames {
	return NTLMNames{NbComputer: "SWEEP-DEFAULT", NbDomain: "SWEEP-DEFAULT", DNSComputer: "vm",
		Timestamp: wire.TimeToFiletime(time.Now())}
}

// TargetInfo encodes n as AV pairs ending in MsvAvEOL.
func TargetInfo(n NTLMNames) []byte {
	var b []byte
	b = ntlmssp.AppendAVPairString(b, ntlmssp.AvNbDomainName, n.NbDomain)
	b = ntlmssp.AppendAVPairString(b, ntlmssp.AvNbComputerName, n.NbComputer)
	b = ntlmssp.AppendAVPairString(b, ntlmssp.AvDnsDomainName, n.DNSDomain)
	b = ntlmssp.AppendAVPairString(b, ntlmssp.AvDnsComputerName, n.DNSComputer)
	if n.DNSTree != "" {
		b = ntlmssp.AppendAVPairString(b, ntlmssp.AvDnsTreeName, n.DNSTree)
	}
	if n.Timestamp != 0 {
		b = ntlmssp.AppendAVTimestamp(b, n.Timestamp)
	}
	return ntlmssp.AppendAVEOL(b)
}

// BuildChallenge encodes a CHALLENGE_MESSAGE with the captured one's flags, version and target
// name and the given raw TargetInfo (use TargetInfo, or bytes bent on purpose).
func BuildChallenge(targetInfo []byte) []byte {
	c := ntlmssp.Challenge(Capture(CapChallenge))
	if err := c.Validate(); err != nil {
		panic("hostile: captured CHALLENGE does not validate: " + err.Error())
	}
	b := ntlmssp.ChallengeBuilder{
		Flags:           c.Flags(),
		ServerChallenge: c.ServerChallenge(),
		TargetName:      c.TargetName(),
		TargetInfo:      targetInfo,
	}
	if v, ok := c.Version(); ok {
		b.Version = v
	}
	return b.AppendTo(nil)
}

// DERStyle says how a DER builder writes lengths.
type DERStyle int

// Length styles: minimal (DER), non-minimal (BER long form with a redundant leading zero
// octet) and indefinite (BER 0x80 ... 00 00, constructed elements only).
const (
	DERMinimal DERStyle = iota
	DERNonMinimal
	DERIndefinite
)

// tlv encodes one element; constructed tags follow style, primitive ones stay minimal unless
// style is DERNonMinimal.
func tlv(tag byte, contents []byte, style DERStyle) []byte {
	out := []byte{tag}
	constructed := tag&0x20 != 0
	switch {
	case style == DERIndefinite && constructed:
		out = append(out, 0x80)
		out = append(out, contents...)
		return append(out, 0, 0)
	case style == DERNonMinimal:
		n := len(contents)
		out = append(out, 0x83, 0, byte(n>>8), byte(n))
	default:
		n := len(contents)
		switch {
		case n < 0x80:
			out = append(out, byte(n))
		case n <= 0xff:
			out = append(out, 0x81, byte(n))
		default:
			out = append(out, 0x82, byte(n>>8), byte(n))
		}
	}
	return append(out, contents...)
}

// NegTokenRespChallenge wraps an NTLM CHALLENGE in a SPNEGO NegTokenResp as a server sends it
// (RFC 4178 4.2.2: negState accept-incomplete, supportedMech NTLMSSP, responseToken), with
// lengths written in style.
func NegTokenRespChallenge(challenge []byte, style DERStyle) []byte {
	negState := tlv(0xa0, tlv(0x0a, []byte{1}, style), style)
	mech := tlv(0xa1, tlv(0x06, spnego.OIDNTLMSSP, style), style)
	token := tlv(0xa2, tlv(0x04, challenge, style), style)
	seq := tlv(0x30, append(append(negState, mech...), token...), style)
	return tlv(0xa1, seq, style)
}

// --- DCE/RPC and SRVSVC ---

// ShareInfo is one SHARE_INFO_1 entry (MS-SRVS 2.2.4.23).
type ShareInfo struct {
	Name   string
	Type   uint32
	Remark string
}

// NetShareEnumStub encodes the NDR stub of a NetrShareEnum level 1 response (MS-SRVS 3.1.4.8):
// the share list, TotalEntries = len(shares), a resume handle of 0 and the WERROR werr.
func NetShareEnumStub(shares []ShareInfo, werr uint32) []byte {
	ref := uint32(0x0002000c)
	next := func() uint32 { r := ref; ref += 4; return r }
	b := le.AppendUint32(nil, 1) // Level
	b = le.AppendUint32(b, 1)    // union switch
	b = le.AppendUint32(b, next())
	b = le.AppendUint32(b, uint32(len(shares))) // EntriesRead
	b = le.AppendUint32(b, next())              // array pointer
	b = le.AppendUint32(b, uint32(len(shares))) // conformant MaxCount
	for _, s := range shares {
		b = le.AppendUint32(b, next())
		b = le.AppendUint32(b, s.Type)
		b = le.AppendUint32(b, next())
	}
	for _, s := range shares {
		b = appendNDRString(b, s.Name)
		b = appendNDRString(b, s.Remark)
	}
	b = le.AppendUint32(b, uint32(len(shares))) // TotalEntries
	b = le.AppendUint32(b, next())              // ResumeHandle pointer
	b = le.AppendUint32(b, 0)
	return le.AppendUint32(b, werr)
}

// appendNDRString appends a conformant varying UTF-16 string with its terminating NUL, padded
// to 4 bytes.
func appendNDRString(b []byte, s string) []byte {
	chars := wire.AppendUTF16LE(nil, s)
	n := uint32(len(chars)/2 + 1)
	b = le.AppendUint32(b, n)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, n)
	b = append(b, chars...)
	b = append(b, 0, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// Offsets inside a NetShareEnumStub of the counts a hostile case inflates.
const (
	StubEntriesRead = 12
	StubMaxCount    = 20
)

// ResponsePDU is one DCE/RPC RESPONSE fragment (C706 12.6.4.10) with flags (FIRST_FRAG 0x01,
// LAST_FRAG 0x02) carrying stub.
func ResponsePDU(callID uint32, flags uint8, allocHint int, stub []byte) []byte {
	b := []byte{5, 0, 2, flags, 0x10, 0, 0, 0}
	b = le.AppendUint16(b, uint16(24+len(stub)))
	b = le.AppendUint16(b, 0) // auth_length
	b = le.AppendUint32(b, callID)
	b = le.AppendUint32(b, uint32(allocHint))
	b = le.AppendUint16(b, 0) // p_cont_id
	b = append(b, 0, 0)       // cancel_count, reserved
	return append(b, stub...)
}

// ResponseFragments splits stub into RESPONSE fragments of at most maxStub stub bytes each
// (0: one fragment) and returns them concatenated, as a pipe delivers them.
func ResponseFragments(callID uint32, stub []byte, maxStub int) []byte {
	if maxStub <= 0 {
		maxStub = len(stub)
	}
	var out []byte
	for off := 0; ; {
		n := min(maxStub, len(stub)-off)
		var flags uint8
		if off == 0 {
			flags |= 0x01
		}
		if off+n == len(stub) {
			flags |= 0x02
		}
		out = append(out, ResponsePDU(callID, flags, len(stub)-off, stub[off:off+n])...)
		off += n
		if off >= len(stub) {
			return out
		}
	}
}

// BindNak is a BIND_NAK PDU (C706 12.6.4.5) for call callID with provider_reject_reason reason
// and no versions list: 16-byte header, then the 2-byte reason.
func BindNak(callID uint32, reason uint16) []byte {
	b := []byte{5, 0, 13, 0x03, 0x10, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	le.PutUint32(b[12:], callID)
	le.PutUint16(b[16:], reason)
	return b
}
