package ntlmssp

import "strconv"

// Flags is the NegotiateFlags field shared by the three NTLM messages (MS-NLMP 2.2.2.5).
type Flags uint32

// NegotiateFlags bits (MS-NLMP 2.2.2.5). The comment gives the specification's name and letter.
const (
	FlagUnicode                 Flags = 0x00000001 // NTLMSSP_NEGOTIATE_UNICODE (A)
	FlagOEM                     Flags = 0x00000002 // NTLM_NEGOTIATE_OEM (B)
	FlagRequestTarget           Flags = 0x00000004 // NTLMSSP_REQUEST_TARGET (C)
	FlagSign                    Flags = 0x00000010 // NTLMSSP_NEGOTIATE_SIGN (D)
	FlagSeal                    Flags = 0x00000020 // NTLMSSP_NEGOTIATE_SEAL (E)
	FlagDatagram                Flags = 0x00000040 // NTLMSSP_NEGOTIATE_DATAGRAM (F)
	FlagLMKey                   Flags = 0x00000080 // NTLMSSP_NEGOTIATE_LM_KEY (G)
	FlagNTLM                    Flags = 0x00000200 // NTLMSSP_NEGOTIATE_NTLM (H)
	FlagAnonymous               Flags = 0x00000800 // NTLMSSP_NEGOTIATE_ANONYMOUS (J)
	FlagOEMDomainSupplied       Flags = 0x00001000 // NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED (K)
	FlagOEMWorkstationSupplied  Flags = 0x00002000 // NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED (L)
	FlagAlwaysSign              Flags = 0x00008000 // NTLMSSP_NEGOTIATE_ALWAYS_SIGN (M)
	FlagTargetTypeDomain        Flags = 0x00010000 // NTLMSSP_TARGET_TYPE_DOMAIN (N)
	FlagTargetTypeServer        Flags = 0x00020000 // NTLMSSP_TARGET_TYPE_SERVER (O)
	FlagExtendedSessionSecurity Flags = 0x00080000 // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (P)
	FlagIdentify                Flags = 0x00100000 // NTLMSSP_NEGOTIATE_IDENTIFY (Q)
	FlagRequestNonNTSessionKey  Flags = 0x00400000 // NTLMSSP_REQUEST_NON_NT_SESSION_KEY (R)
	FlagTargetInfo              Flags = 0x00800000 // NTLMSSP_NEGOTIATE_TARGET_INFO (S)
	FlagVersion                 Flags = 0x02000000 // NTLMSSP_NEGOTIATE_VERSION (T)
	Flag128                     Flags = 0x20000000 // NTLMSSP_NEGOTIATE_128 (U)
	FlagKeyExch                 Flags = 0x40000000 // NTLMSSP_NEGOTIATE_KEY_EXCH (V)
	Flag56                      Flags = 0x80000000 // NTLMSSP_NEGOTIATE_56 (W)
)

// DefaultNegotiateFlags are the flags smbsweep's anonymous (null) and guest probes offer in
// their NEGOTIATE_MESSAGE. Only what the client really does is claimed:
//
//   - UNICODE: every string it sends is UTF-16LE. OEM is not offered, since it neither encodes
//     nor decodes OEM code-page strings; a server must then answer in Unicode.
//   - REQUEST_TARGET, TARGET_INFO: requests, not capabilities; they make the server return its
//     TargetName and the AV pairs (NetBIOS and DNS names, timestamp) the scanner reports.
//   - NTLM, EXTENDED_SESSIONSECURITY, 128: the client authenticates with NTLM (v2 when it has
//     credentials) and derives 128-bit keys the NTLMv2 way (MS-NLMP 3.4.5); servers whose
//     NtlmMinServerSec policy demands 128-bit or extended session security accept it.
//   - VERSION: the client sends a Version field, and the flag makes the server send its own,
//     which is reported as the NTLM-reported OS version.
//
// Deliberately not offered: SIGN, SEAL, ALWAYS_SIGN, 56, KEY_EXCH, LM_KEY, DATAGRAM, IDENTIFY.
// The client implements no NTLM message signing or sealing (GSS_GetMIC/GSS_Wrap); SMB signing
// is SMB's own, and null and guest sessions must not be signed anyway. An anonymous session has
// no session key to exchange. A credentialed logon adds FlagKeyExch (ntlmcrypto.NTLMv2Auth sends
// the EncryptedRandomSessionKey) and FlagSign when it sends a MIC, whose SPNEGO mechListMIC is
// an NTLM signature (ntlmcrypto.Signer).
const DefaultNegotiateFlags = FlagUnicode | FlagRequestTarget | FlagNTLM |
	FlagExtendedSessionSecurity | FlagTargetInfo | FlagVersion | Flag128

var flagNames = [32]string{
	0:  "UNICODE",
	1:  "OEM",
	2:  "REQUEST_TARGET",
	4:  "SIGN",
	5:  "SEAL",
	6:  "DATAGRAM",
	7:  "LM_KEY",
	9:  "NTLM",
	11: "ANONYMOUS",
	12: "OEM_DOMAIN_SUPPLIED",
	13: "OEM_WORKSTATION_SUPPLIED",
	15: "ALWAYS_SIGN",
	16: "TARGET_TYPE_DOMAIN",
	17: "TARGET_TYPE_SERVER",
	19: "EXTENDED_SESSIONSECURITY",
	20: "IDENTIFY",
	22: "REQUEST_NON_NT_SESSION_KEY",
	23: "TARGET_INFO",
	25: "VERSION",
	29: "128",
	30: "KEY_EXCH",
	31: "56",
}

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// AppendNames appends the names of the set bits, lowest first, separated by '|'. A name is
// the specification's flag name without its NTLMSSP_NEGOTIATE_ (or NTLMSSP_, NTLM_NEGOTIATE_)
// prefix, e.g. "UNICODE|NTLM|TARGET_INFO"; a reserved bit appears as its hex value, e.g.
// "0x00000008". No bits set appends nothing.
func (f Flags) AppendNames(dst []byte) []byte {
	first := true
	for i := 0; i < 32; i++ {
		bit := Flags(1) << i
		if f&bit == 0 {
			continue
		}
		if !first {
			dst = append(dst, '|')
		}
		first = false
		if name := flagNames[i]; name != "" {
			dst = append(dst, name...)
			continue
		}
		dst = append(dst, "0x"...)
		dst = appendHex32(dst, uint32(bit))
	}
	return dst
}

// String returns the AppendNames form, or "0" when no bit is set.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var buf [256]byte
	return string(f.AppendNames(buf[:0]))
}

// appendHex32 appends v as eight lowercase hex digits.
func appendHex32(dst []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[(v>>uint(shift))&0xf])
	}
	return dst
}

// MessageType is the MessageType field of an NTLM message (MS-NLMP 2.2.1).
type MessageType uint32

// NTLM message types (MS-NLMP 2.2.1.1, 2.2.1.2, 2.2.1.3).
const (
	MessageNegotiate    MessageType = 1
	MessageChallenge    MessageType = 2
	MessageAuthenticate MessageType = 3
)

// String returns the specification's name of the message type.
func (t MessageType) String() string {
	switch t {
	case MessageNegotiate:
		return "NEGOTIATE_MESSAGE"
	case MessageChallenge:
		return "CHALLENGE_MESSAGE"
	case MessageAuthenticate:
		return "AUTHENTICATE_MESSAGE"
	}
	return "MESSAGE_TYPE_" + strconv.FormatUint(uint64(t), 10)
}
