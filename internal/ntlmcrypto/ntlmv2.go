package ntlmcrypto

import (
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	//lint:ignore SA1019 NTLM is defined on MD4 (MS-NLMP 3.3.1); compatibility is the point.
	"golang.org/x/crypto/md4"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// Key is a 16-byte secret: an NT hash, an NTOWFv2 response key, a session key. Formatting it
// with any fmt verb prints "[REDACTED]", so a Key cannot leak into an error, a log line or a
// %v of a struct that holds one. Use k[:] to reach the bytes.
type Key [16]byte

// Format implements fmt.Formatter and never prints the key.
func (Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[REDACTED]") }

// appendUTF16Upper appends strings.ToUpper(s) as UTF-16LE.
func appendUTF16Upper(dst []byte, s string) []byte {
	return wire.AppendUTF16LE(dst, strings.ToUpper(s))
}

// NTHash returns NTOWFv1(password) = MD4(UNICODE(password)) (MS-NLMP 3.3.1), the "NT hash"
// Windows stores for an account.
func NTHash(password string) Key {
	var stack [128]byte
	b := wire.AppendUTF16LE(stack[:0], password)
	h := md4.New()
	h.Write(b)
	var k Key
	h.Sum(k[:0])
	clear(b)
	return k
}

// NTOWFv2 returns the NTLMv2 response key (MS-NLMP 3.3.2):
// HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user) + domain)). LMOWFv2 is the same
// function, so the result is both ResponseKeyNT and ResponseKeyLM. The user name is
// case-insensitive; the domain name is not changed.
func NTOWFv2(password, user, domain string) Key {
	nt := NTHash(password)
	k := NTOWFv2FromHash(nt, user, domain)
	clear(nt[:])
	return k
}

// NTOWFv2FromHash is NTOWFv2 for a caller that holds the NT hash instead of the password
// ("pass the hash").
func NTOWFv2FromHash(ntHash Key, user, domain string) Key {
	var stack [256]byte
	b := appendUTF16Upper(stack[:0], user)
	b = wire.AppendUTF16LE(b, domain)
	return hmacMD5(ntHash[:], b)
}

// hmacMD5 returns HMAC-MD5(key, parts[0] || parts[1] || ...) (RFC 2104): MD5((K ^ opad) ||
// MD5((K ^ ipad) || message)), with K the key zero-padded to the 64-byte MD5 block (a longer key
// is replaced by its MD5 first). It is crypto/hmac written out so that nothing is allocated:
// hmac.New puts its two digests and pads on the heap, while md5.New is inlined here and its
// digest, used only through the concrete type the compiler sees, stays on the stack
// (TestHMACMD5NoAlloc guards this).
func hmacMD5(key []byte, parts ...[]byte) (out Key) {
	const blockSize = 64
	var pad [blockSize]byte
	if len(key) > blockSize {
		sum := md5.Sum(key)
		copy(pad[:], sum[:])
	} else {
		copy(pad[:], key)
	}
	for i := range pad {
		pad[i] ^= 0x36 // ipad
	}
	inner := md5.New()
	inner.Write(pad[:])
	for _, p := range parts {
		inner.Write(p)
	}
	var innerSum [md5.Size]byte
	inner.Sum(innerSum[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c // undo ipad, apply opad
	}
	outer := md5.New()
	outer.Write(pad[:])
	outer.Write(innerSum[:])
	outer.Sum(out[:0])
	clear(pad[:])
	clear(innerSum[:])
	return out
}

// LMv2Response appends the 24-byte LMv2_RESPONSE (MS-NLMP 2.2.2.4, 3.3.2):
// HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge.
// When the server's TargetInfo carries an MsvAvTimestamp, MS-NLMP 3.1.5.1.2 says the client
// SHOULD send Z(24) instead.
func LMv2Response(dst []byte, responseKeyLM Key, serverChallenge, clientChallenge [8]byte) []byte {
	r := hmacMD5(responseKeyLM[:], serverChallenge[:], clientChallenge[:])
	dst = append(dst, r[:]...)
	return append(dst, clientChallenge[:]...)
}

// NTLMv2Input holds the inputs of ComputeNTLMv2Response. It holds a secret: do not log it.
type NTLMv2Input struct {
	ResponseKeyNT   Key     // NTOWFv2 or NTOWFv2FromHash
	ServerChallenge [8]byte // Challenge.ServerChallenge
	ClientChallenge [8]byte // 8 random bytes, new for every authentication
	// Time is the FILETIME put in the response when the server's TargetInfo has no
	// MsvAvTimestamp; when it has one, the server's value is used (MS-NLMP 3.1.5.1.2).
	Time uint64
	// TargetInfo is the server's Challenge.TargetInfo, copied into the response.
	TargetInfo []byte
	// IncludeMIC adds (or ORs into) an MsvAvFlags pair the MIC-present bit; set it when the
	// AUTHENTICATE_MESSAGE will carry a MIC.
	IncludeMIC bool
}

// ntlmv2BlobFixed is the size of the NTLMv2_CLIENT_CHALLENGE up to its AvPairs (MS-NLMP
// 2.2.2.7): RespType, HiRespType, Reserved1, Reserved2, TimeStamp, ChallengeFromClient, Reserved3.
const ntlmv2BlobFixed = 28

// ComputeNTLMv2Response appends the NtChallengeResponse of NTLMv2 authentication (MS-NLMP
// 3.3.2, 2.2.2.8) to dst: NTProofStr followed by temp, where
//
//	temp        = 0x01 0x01 Z(6) Time ClientChallenge Z(4) AvPairs Z(4)
//	NTProofStr  = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp)
//	SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr)
//
// AvPairs are the server's TargetInfo pairs in their order, with MsvAvFlags (if any) moved to
// the end and given the MIC-present bit when in.IncludeMIC, then MsvAvEOL (MS-NLMP 3.1.5.1.2).
// It fails on a malformed TargetInfo, or when the response would not fit the 16-bit length of
// the AUTHENTICATE field (ErrTooLarge); dst is then returned unchanged.
//
// For NTLMv2, KeyExchangeKey is SessionBaseKey (MS-NLMP 3.4.5.1); without FlagKeyExch it is
// also the ExportedSessionKey.
func ComputeNTLMv2Response(dst []byte, in *NTLMv2Input) (resp []byte, sessionBaseKey Key, err error) {
	var info ntlmssp.AVInfo
	if err := ntlmssp.DecodeAVInfo(in.TargetInfo, &info); err != nil {
		return dst, Key{}, fmt.Errorf("ntlmv2 response: target info: %w", err)
	}
	ts := in.Time
	if info.HasTimestamp {
		ts = info.Timestamp
	}
	start := len(dst)
	var zero [16]byte
	dst = append(dst, zero[:]...) // NTProofStr, filled in below
	temp := len(dst)
	dst = append(dst, 1, 1, 0, 0, 0, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint64(dst, ts)
	dst = append(dst, in.ClientChallenge[:]...)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendClientAVPairs(dst, in.TargetInfo, info, in.IncludeMIC)
	dst = append(dst, 0, 0, 0, 0)
	if n := len(dst) - start; n > ntlmssp.MaxFieldLen {
		return dst[:start], Key{}, fmt.Errorf("ntlmv2 response of %d bytes: %w", n, wire.ErrTooLarge)
	}
	proof := hmacMD5(in.ResponseKeyNT[:], in.ServerChallenge[:], dst[temp:])
	copy(dst[start:], proof[:])
	return dst, hmacMD5(in.ResponseKeyNT[:], proof[:]), nil
}

// appendClientAVPairs appends the pairs of ti (already checked by DecodeAVInfo) except
// MsvAvEOL and MsvAvFlags, then MsvAvFlags when the server sent one or mic is set, then MsvAvEOL.
func appendClientAVPairs(dst, ti []byte, info ntlmssp.AVInfo, mic bool) []byte {
	it := ntlmssp.NewAVPairIter(ti)
	var p ntlmssp.AVPair
	for it.Next(&p) {
		if p.ID != ntlmssp.AvFlags {
			dst = ntlmssp.AppendAVPair(dst, p.ID, p.Value)
		}
	}
	flags, has := info.Flags, info.HasFlags
	if mic {
		flags, has = flags|ntlmssp.AvFlagMICPresent, true
	}
	if has {
		dst = ntlmssp.AppendAVFlags(dst, flags)
	}
	return ntlmssp.AppendAVEOL(dst)
}

// VerifyNTLMv2Response checks an NtChallengeResponse the way a server does (MS-NLMP 3.3.2):
// it recomputes NTProofStr from the response's own temp and compares in constant time. On
// success it returns the SessionBaseKey. It is meant for tests and fake servers.
func VerifyNTLMv2Response(responseKeyNT Key, serverChallenge [8]byte, ntResponse []byte) (sessionBaseKey Key, ok bool) {
	if len(ntResponse) < 16+ntlmv2BlobFixed {
		return Key{}, false
	}
	proof := hmacMD5(responseKeyNT[:], serverChallenge[:], ntResponse[16:])
	if subtle.ConstantTimeCompare(proof[:], ntResponse[:16]) != 1 {
		return Key{}, false
	}
	return hmacMD5(responseKeyNT[:], proof[:]), true
}

// RC4K returns RC4(key, data) for a 16-byte data: with FlagKeyExch the client sends
// EncryptedRandomSessionKey = RC4K(KeyExchangeKey, ExportedSessionKey), where ExportedSessionKey
// is 16 random bytes, and the server recovers ExportedSessionKey with the same call (MS-NLMP
// 3.1.5.1.2, 3.2.5.1.2, 6).
func RC4K(key, data Key) (out Key) {
	c, _ := rc4.NewCipher(key[:]) // cannot fail: 16 bytes is a valid RC4 key size
	c.XORKeyStream(out[:], data[:])
	return out
}

// MIC returns the message integrity code of an exchange (MS-NLMP 3.1.5.1.2):
// HMAC_MD5(ExportedSessionKey, NEGOTIATE_MESSAGE || CHALLENGE_MESSAGE || AUTHENTICATE_MESSAGE),
// computed as if the AUTHENTICATE_MESSAGE's MIC field were zero, whatever it holds. The three
// messages are the exact bytes sent and received. authenticate must have been encoded with
// IncludeMIC.
func MIC(exportedSessionKey Key, negotiate, challenge, authenticate []byte) (Key, error) {
	m := ntlmssp.AuthenticateMessage(authenticate)
	if err := m.Validate(); err != nil {
		return Key{}, fmt.Errorf("mic: %w", err)
	}
	if _, ok := m.MIC(); !ok {
		return Key{}, fmt.Errorf("mic: ntlm authenticate has no MIC field: %w", wire.ErrMalformed)
	}
	var zero [ntlmssp.MICSize]byte
	return hmacMD5(exportedSessionKey[:], negotiate, challenge,
		authenticate[:ntlmssp.MICOffset], zero[:], authenticate[ntlmssp.MICOffset+ntlmssp.MICSize:]), nil
}

// NTLMv2Auth is what an NTLMv2 AUTHENTICATE_MESSAGE needs beyond the server's CHALLENGE: the
// identity, its response key and the client's random values. The credentialed logon and the
// guest probe (a random user and password) both use it. It holds secrets: do not log it.
type NTLMv2Auth struct {
	User, Domain, Workstation string
	// ResponseKeyNT is NTOWFv2(password, User, Domain) or NTOWFv2FromHash(ntHash, User, Domain).
	ResponseKeyNT Key
	// ClientChallenge is 8 random bytes, new for every authentication.
	ClientChallenge [8]byte
	// ExportedSessionKey is 16 random bytes, sent encrypted when the flags have FlagKeyExch.
	ExportedSessionKey Key
	// Time is the current FILETIME, used when the server's TargetInfo has no MsvAvTimestamp.
	Time uint64
	// IncludeMIC adds the MIC (and the MsvAvFlags bit announcing it). MS-NLMP 3.1.5.1.2 says a
	// client SHOULD send one when the server sent a timestamp. An acceptor that sees it then
	// also requires the SPNEGO mechListMIC (Samba 4.17 answers MORE_PROCESSING_REQUIRED
	// without it): sign the mechTypes DER with NewSigner(flags, exportedSessionKey, true) and
	// send it beside the AUTHENTICATE (spnego.AppendNegTokenResp). Leaving IncludeMIC off (as
	// impacket does) avoids both.
	IncludeMIC bool
	// Version is sent when the flags have FlagVersion; the zero value means DefaultVersion.
	Version ntlmssp.Version
}

// AppendAuthenticate appends the AUTHENTICATE_MESSAGE answering challenge (MS-NLMP 3.1.5.1.2):
// the NTLMv2 response over the server's TargetInfo, an LMv2 response (Z(24) when the server
// sent a timestamp), EncryptedRandomSessionKey when flags has FlagKeyExch, and the MIC over
// negotiate || challenge || the message when IncludeMIC is set. flags are the negotiated flags
// (the NEGOTIATE_MESSAGE flags masked by challenge.Flags()) and must include FlagUnicode.
// negotiate and challenge are the exact bytes exchanged. It returns the ExportedSessionKey,
// from which SMB derives its signing keys. On error dst is returned unchanged.
func (p *NTLMv2Auth) AppendAuthenticate(dst []byte, flags ntlmssp.Flags, negotiate []byte, challenge ntlmssp.Challenge) (msg []byte, exportedSessionKey Key, err error) {
	if flags&ntlmssp.FlagUnicode == 0 {
		return dst, Key{}, fmt.Errorf("ntlm authenticate: server did not accept UNICODE: %w", wire.ErrMalformed)
	}
	var info ntlmssp.AVInfo
	if err := challenge.AVInfo(&info); err != nil {
		return dst, Key{}, err
	}
	in := NTLMv2Input{
		ResponseKeyNT: p.ResponseKeyNT, ServerChallenge: challenge.ServerChallenge(),
		ClientChallenge: p.ClientChallenge, Time: p.Time, TargetInfo: challenge.TargetInfo(), IncludeMIC: p.IncludeMIC,
	}
	var stack [1024]byte
	nt, base, err := ComputeNTLMv2Response(stack[:0], &in)
	if err != nil {
		return dst, Key{}, err
	}
	var lm [24]byte
	if !info.HasTimestamp {
		LMv2Response(lm[:0], p.ResponseKeyNT, in.ServerChallenge, p.ClientChallenge)
	}
	a := ntlmssp.Authenticate{
		Flags: flags, LmChallengeResponse: lm[:], NtChallengeResponse: nt,
		Domain: p.Domain, User: p.User, Workstation: p.Workstation,
		Version: p.Version, IncludeMIC: p.IncludeMIC,
	}
	if a.Version == (ntlmssp.Version{}) {
		a.Version = ntlmssp.DefaultVersion
	}
	exported := base // KeyExchangeKey = SessionBaseKey for NTLMv2 (MS-NLMP 3.4.5.1)
	var enc Key
	if flags&ntlmssp.FlagKeyExch != 0 {
		exported = p.ExportedSessionKey
		enc = RC4K(base, exported)
		a.EncryptedRandomSessionKey = enc[:]
	}
	if err := a.Check(); err != nil {
		return dst, Key{}, err
	}
	start := len(dst)
	msg = a.AppendTo(dst)
	if p.IncludeMIC {
		mic, err := MIC(exported, negotiate, challenge, msg[start:])
		if err == nil {
			err = ntlmssp.PutMIC(msg[start:], mic)
		}
		if err != nil {
			return msg[:start], Key{}, err
		}
	}
	clear(stack[:])
	return msg, exported, nil
}
