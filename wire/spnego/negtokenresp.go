package spnego

import (
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"

	"github.com/smbsweep/smbsweep/wire"
)

// NegState is the negState of a NegTokenResp (RFC 4178 section 4.2.2).
type NegState uint8

// negState values (RFC 4178 section 4.2.2).
const (
	AcceptCompleted  NegState = 0
	AcceptIncomplete NegState = 1
	Reject           NegState = 2
	RequestMIC       NegState = 3
)

// String returns the RFC 4178 name of the state.
func (s NegState) String() string {
	switch s {
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	}
	return "negstate-" + strconv.Itoa(int(s))
}

// NegTokenResp is every SPNEGO token after the first (RFC 4178 section 4.2.2):
// [1] SEQUENCE { [0] negState, [1] supportedMech, [2] responseToken, [3] mechListMIC }, all
// optional. Byte fields are views into the decoded token, nil when absent.
type NegTokenResp struct {
	NegState    NegState
	HasNegState bool
	// SupportedMech is the mechanism the acceptor chose (first reply only).
	SupportedMech OID
	// ResponseToken is the mechanism token, e.g. an NTLM CHALLENGE or AUTHENTICATE message.
	ResponseToken []byte
	MechListMIC   []byte
}

func (t *NegTokenResp) seqContentsSize() int {
	n := 0
	if t.HasNegState {
		n += explicitSize(1)
	}
	if t.SupportedMech != nil {
		n += explicitSize(len(t.SupportedMech))
	}
	if t.ResponseToken != nil {
		n += explicitSize(len(t.ResponseToken))
	}
	if t.MechListMIC != nil {
		n += explicitSize(len(t.MechListMIC))
	}
	return n
}

// Size returns the encoded size of the token.
func (t *NegTokenResp) Size() int { return tlvSize(tlvSize(t.seqContentsSize())) }

// AppendTo appends the encoded token to dst. Fields that are nil (and negState unless
// HasNegState) are left out.
func (t *NegTokenResp) AppendTo(dst []byte) []byte {
	seq := t.seqContentsSize()
	dst = appendHeader(dst, tagContext1, tlvSize(seq))
	dst = appendHeader(dst, tagSequence, seq)
	if t.HasNegState {
		dst = append(dst, tagContext0, 3, tagEnumerated, 1, byte(t.NegState))
	}
	if t.SupportedMech != nil {
		dst = appendExplicit(dst, tagContext1, tagOID, t.SupportedMech)
	}
	if t.ResponseToken != nil {
		dst = appendExplicit(dst, tagContext2, tagOctetString, t.ResponseToken)
	}
	if t.MechListMIC != nil {
		dst = appendExplicit(dst, tagContext3, tagOctetString, t.MechListMIC)
	}
	return dst
}

// AppendNegTokenResp appends the client's follow-up token: responseToken (an NTLM
// AUTHENTICATE_MESSAGE) and, when non-nil, mechListMIC. Like Windows and Samba clients, it
// sends no negState.
func AppendNegTokenResp(dst, responseToken, mechListMIC []byte) []byte {
	t := NegTokenResp{ResponseToken: responseToken, MechListMIC: mechListMIC}
	if responseToken == nil {
		t.ResponseToken = empty[:0:0]
	}
	return t.AppendTo(dst)
}

// DecodeNegTokenResp decodes a NegTokenResp, as servers send in SESSION_SETUP responses.
func DecodeNegTokenResp(b []byte) (NegTokenResp, error) {
	var t NegTokenResp
	err := t.Decode(b)
	return t, err
}

// Decode decodes b into t (zeroed first); see DecodeNegTokenResp.
func (t *NegTokenResp) Decode(b []byte) error {
	*t = NegTokenResp{}
	if err := t.decode(b); err != nil {
		*t = NegTokenResp{}
		return fmt.Errorf("spnego negTokenResp: %w", err)
	}
	return nil
}

func (t *NegTokenResp) decode(b []byte) error {
	if len(b) > MaxTokenSize {
		return fmt.Errorf("%d bytes: %w", len(b), wire.ErrTooLarge)
	}
	s := cryptobyte.String(b)
	outer, err := read(&s, tagContext1, "negTokenResp")
	if err != nil {
		return err
	}
	if !s.Empty() {
		return trailing("token", len(s))
	}
	seq, err := read(&outer, tagSequence, "negTokenResp")
	if err != nil {
		return err
	}
	if !outer.Empty() {
		return trailing("negTokenResp", len(outer))
	}
	if st, ok, err := readExplicit(&seq, tagContext0, tagEnumerated, "negState"); err != nil {
		return err
	} else if ok {
		// DER: a one-octet, non-negative value for 0..127; the four defined states fit.
		if len(st) != 1 || st[0]&0x80 != 0 {
			return fmt.Errorf("negState: %d-octet or negative enumeration: %w", len(st), wire.ErrMalformed)
		}
		t.NegState, t.HasNegState = NegState(st[0]), true
	}
	if c1, ok, err := readOptional(&seq, tagContext1, "supportedMech"); err != nil {
		return err
	} else if ok {
		o, err := readOID(&c1, "supportedMech")
		if err != nil {
			return err
		}
		if !c1.Empty() {
			return trailing("supportedMech", len(c1))
		}
		t.SupportedMech = o
	}
	if tok, ok, err := readExplicit(&seq, tagContext2, tagOctetString, "responseToken"); err != nil {
		return err
	} else if ok {
		t.ResponseToken = emptyNotNil(tok)
	}
	if mic, ok, err := readExplicit(&seq, tagContext3, tagOctetString, "mechListMIC"); err != nil {
		return err
	} else if ok {
		t.MechListMIC = emptyNotNil(mic)
	}
	if !seq.Empty() {
		return fmt.Errorf("negTokenResp: unexpected element with tag 0x%02x: %w", seq[0], wire.ErrMalformed)
	}
	return nil
}

// IsRawNTLMSSP reports whether b is a bare NTLMSSP message (it starts with "NTLMSSP\0")
// rather than a SPNEGO token; some servers answer SESSION_SETUP that way (MS-NLMP 2.2.1).
func IsRawNTLMSSP(b []byte) bool {
	return len(b) >= len(ntlmSignature) && string(b[:len(ntlmSignature)]) == ntlmSignature
}

// ntlmSignature is ntlmssp.Signature, repeated so that this package does not depend on that one.
const ntlmSignature = "NTLMSSP\x00"

// ResponseMechToken returns the mechanism token of a server's SESSION_SETUP security buffer: the
// responseToken of a NegTokenResp, or the buffer itself when the server answered with a bare
// NTLMSSP message. The result is a view into b.
func ResponseMechToken(b []byte) ([]byte, error) {
	if IsRawNTLMSSP(b) {
		return b, nil
	}
	resp, err := DecodeNegTokenResp(b)
	if err != nil {
		return nil, err
	}
	if resp.HasNegState && resp.NegState == Reject {
		return nil, fmt.Errorf("negTokenResp: server rejected the negotiation: %w", wire.ErrMalformed)
	}
	return resp.ResponseToken, nil
}
