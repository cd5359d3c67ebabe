package dcerpc

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// MaxBindContexts is the number of presentation contexts a Bind can carry.
const MaxBindContexts = 4

// MaxBindResults caps n_results in a BIND_ACK: a server answers one result per context offered,
// and smbsweep never offers more than MaxBindContexts.
const MaxBindResults = 16

// PresentationContext is one p_cont_elem_t of a BIND (C706 12.6.3.1) with a single transfer
// syntax: the context ID the client will use in requests, the interface and the encoding.
type PresentationContext struct {
	ID       uint16
	Abstract SyntaxID
	Transfer SyntaxID
}

// presContextSize is the wire size of a p_cont_elem_t with one transfer syntax.
const presContextSize = 4 + 2*syntaxIDSize

// bindFixed is the size of a BIND up to and including the p_cont_list_t header.
const bindFixed = HeaderSize + 8 + 4

// Bind is the BIND PDU (PTYPE 11, C706 12.6.4.3) without authentication. The first NumContexts
// entries of Contexts are sent (at most MaxBindContexts). Zero MaxXmit/MaxRecv send
// DefaultMaxFrag.
type Bind struct {
	CallID      uint32
	MaxXmit     uint16
	MaxRecv     uint16
	AssocGroup  uint32
	NumContexts int
	Contexts    [MaxBindContexts]PresentationContext
}

// NewBind returns a BIND for one interface with one presentation context: ID 0, transfer
// syntax NDR 2.0, DefaultMaxFrag sizes, assoc_group 0.
func NewBind(callID uint32, abstract SyntaxID) Bind {
	b := Bind{CallID: callID, MaxXmit: DefaultMaxFrag, MaxRecv: DefaultMaxFrag, NumContexts: 1}
	b.Contexts[0] = PresentationContext{ID: 0, Abstract: abstract, Transfer: NDRSyntax}
	return b
}

func (b *Bind) contexts() int { return min(max(b.NumContexts, 0), MaxBindContexts) }

// Size returns the encoded size of the PDU.
func (b *Bind) Size() int { return bindFixed + b.contexts()*presContextSize }

// AppendTo appends the whole PDU (header included) to dst.
func (b *Bind) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	orDefault := func(v uint16) uint16 {
		if v == 0 {
			return DefaultMaxFrag
		}
		return v
	}
	n := b.contexts()
	dst = appendHeader(dst, PacketBind, FlagFirstFrag|FlagLastFrag, b.Size(), b.CallID)
	dst = le.AppendUint16(dst, orDefault(b.MaxXmit))
	dst = le.AppendUint16(dst, orDefault(b.MaxRecv))
	dst = le.AppendUint32(dst, b.AssocGroup)
	dst = append(dst, byte(n), 0, 0, 0) // n_context_elem, reserved, reserved2
	for i := range n {
		c := &b.Contexts[i]
		dst = le.AppendUint16(dst, c.ID)
		dst = append(dst, 1, 0) // n_transfer_syn, reserved
		dst = c.Abstract.AppendTo(dst)
		dst = c.Transfer.AppendTo(dst)
	}
	return dst
}

// Presentation context negotiation results (p_cont_def_result_t, C706 12.6.3.1; negotiate_ack
// from MS-RPCE 2.2.2.4).
const (
	ResultAcceptance         uint16 = 0
	ResultUserRejection      uint16 = 1
	ResultProviderRejection  uint16 = 2
	ResultNegotiateAck       uint16 = 3
	ReasonNotSpecified       uint16 = 0
	ReasonAbstractSyntax     uint16 = 1 // abstract_syntax_not_supported
	ReasonTransferSyntaxes   uint16 = 2 // proposed_transfer_syntaxes_not_supported
	ReasonLocalLimitExceeded uint16 = 3
)

var resultNames = []string{"acceptance", "user_rejection", "provider_rejection", "negotiate_ack"}

// ResultName returns the C706 name of a presentation result, e.g. "provider_rejection".
func ResultName(r uint16) string { return idName(resultNames, uint32(r)) }

var providerReasonNames = []string{
	"reason_not_specified", "abstract_syntax_not_supported",
	"proposed_transfer_syntaxes_not_supported", "local_limit_exceeded",
}

// ProviderReasonName returns the C706 name of a presentation rejection reason, e.g.
// "abstract_syntax_not_supported".
func ProviderReasonName(r uint16) string { return idName(providerReasonNames, uint32(r)) }

// ContextResult is one p_result_t of a BIND_ACK: whether the presentation context at the same
// position in the BIND was accepted, why not, and the transfer syntax the server chose.
type ContextResult struct {
	Result         uint16
	Reason         uint16
	TransferSyntax SyntaxID
}

// Accepted reports Result == ResultAcceptance.
func (r ContextResult) Accepted() bool { return r.Result == ResultAcceptance }

// bindAckFixed is the size of a BIND_ACK up to and including sec_addr.length.
const bindAckFixed = HeaderSize + 8 + 2

// contextResultSize is the wire size of a p_result_t.
const contextResultSize = 4 + syntaxIDSize

// BindAck is a view over a BIND_ACK PDU (PTYPE 12, C706 12.6.4.4).
type BindAck []byte

// Validate checks the header, the secondary address (port_any_t: a counted string, then padding
// to a 4-byte boundary), the result list and its count (at most MaxBindResults).
func (a BindAck) Validate() error {
	const what = "bind_ack"
	end, err := validateAs(a, PacketBindAck, bindAckFixed, what)
	if err != nil {
		return err
	}
	secLen := int(binary.LittleEndian.Uint16(a[HeaderSize+8:]))
	if bindAckFixed+secLen > end {
		return fmt.Errorf("%s: sec_addr length %d past body end %d: %w", what, secLen, end, wire.ErrBadOffset)
	}
	at := a.resultsAt()
	if at+4 > end {
		return fmt.Errorf("%s: result list at %d past body end %d: %w", what, at, end, wire.ErrShort)
	}
	n := int(a[at])
	if n > MaxBindResults {
		return fmt.Errorf("%s: n_results %d > %d: %w", what, n, MaxBindResults, wire.ErrTooLarge)
	}
	if at+4+n*contextResultSize > end {
		return fmt.Errorf("%s: %d results at %d past body end %d: %w", what, n, at, end, wire.ErrBadOffset)
	}
	return nil
}

// resultsAt returns the offset of p_result_list: after sec_addr, aligned to 4 from the PDU start.
func (a BindAck) resultsAt() int {
	n := bindAckFixed + int(binary.LittleEndian.Uint16(a[HeaderSize+8:]))
	return (n + 3) &^ 3
}

// CallID returns the call_id, which echoes the BIND's.
func (a BindAck) CallID() uint32 { return PDU(a).CallID() }

// Flags returns pfc_flags.
func (a BindAck) Flags() uint8 { return PDU(a).Flags() }

// MaxXmitFrag returns the largest fragment the server will send.
func (a BindAck) MaxXmitFrag() uint16 { return binary.LittleEndian.Uint16(a[HeaderSize:]) }

// MaxRecvFrag returns the largest fragment the server will accept.
func (a BindAck) MaxRecvFrag() uint16 { return binary.LittleEndian.Uint16(a[HeaderSize+2:]) }

// AssocGroup returns assoc_group_id.
func (a BindAck) AssocGroup() uint32 { return binary.LittleEndian.Uint32(a[HeaderSize+4:]) }

// SecondaryAddress returns the port_spec string (e.g. `\PIPE\srvsvc` from Samba) without its
// NUL terminator: raw server-supplied bytes, not sanitized.
func (a BindAck) SecondaryAddress() []byte {
	n := int(binary.LittleEndian.Uint16(a[HeaderSize+8:]))
	s := a[bindAckFixed : bindAckFixed+n]
	if n > 0 && s[n-1] == 0 {
		s = s[:n-1]
	}
	return s
}

// NumResults returns n_results.
func (a BindAck) NumResults() int { return int(a[a.resultsAt()]) }

// Result returns the result for the i-th presentation context of the BIND, and false when the
// BIND_ACK has no such result.
func (a BindAck) Result(i int) (ContextResult, bool) {
	if i < 0 || i >= a.NumResults() {
		return ContextResult{}, false
	}
	b := a[a.resultsAt()+4+i*contextResultSize:]
	return ContextResult{
		Result:         binary.LittleEndian.Uint16(b),
		Reason:         binary.LittleEndian.Uint16(b[2:]),
		TransferSyntax: syntaxFromWire(b[4:]),
	}, true
}

// Accepted reports whether the i-th presentation context of the BIND was accepted. When it was
// not, reason is the provider reason (ReasonNotSpecified if the result is missing).
func (a BindAck) Accepted(i int) (ok bool, reason uint16) {
	r, present := a.Result(i)
	if !present {
		return false, ReasonNotSpecified
	}
	return r.Accepted(), r.Reason
}

// Bind rejection reasons (C706 12.6.3.1 p_reject_reason_t; MS-RPCE 2.2.2.5 adds 8 and 9).
const (
	RejectReasonNotSpecified        uint16 = 0
	RejectTemporaryCongestion       uint16 = 1
	RejectLocalLimitExceeded        uint16 = 2
	RejectCalledPaddrUnknown        uint16 = 3
	RejectProtocolVersion           uint16 = 4
	RejectDefaultContext            uint16 = 5
	RejectUserDataNotReadable       uint16 = 6
	RejectNoPSAPAvailable           uint16 = 7
	RejectAuthenticationTypeUnknown uint16 = 8
	RejectInvalidChecksum           uint16 = 9
)

var rejectReasonNames = []string{
	"reason_not_specified", "temporary_congestion", "local_limit_exceeded",
	"called_paddr_unknown", "protocol_version_not_supported", "default_context_not_supported",
	"user_data_not_readable", "no_psap_available", "authentication_type_not_recognized",
	"invalid_checksum",
}

// RejectReasonName returns the name of a BIND_NAK reject reason, e.g.
// "protocol_version_not_supported".
func RejectReasonName(r uint16) string { return idName(rejectReasonNames, uint32(r)) }

// bindNakFixed is the size of a BIND_NAK up to and including provider_reject_reason.
const bindNakFixed = HeaderSize + 2

// BindNak is a view over a BIND_NAK PDU (PTYPE 13, C706 12.6.4.5, MS-RPCE 2.2.2.9). The
// optional versions list and signature are checked for bounds when present.
type BindNak []byte

// Validate checks the header and, when the PDU is long enough to hold it, the supported
// versions list.
func (n BindNak) Validate() error {
	const what = "bind_nak"
	end, err := validateAs(n, PacketBindNak, bindNakFixed, what)
	if err != nil {
		return err
	}
	if end > bindNakFixed {
		if c := int(n[bindNakFixed]); bindNakFixed+1+2*c > end {
			return fmt.Errorf("%s: %d versions past body end %d: %w", what, c, end, wire.ErrBadOffset)
		}
	}
	return nil
}

// CallID returns the call_id, which echoes the BIND's.
func (n BindNak) CallID() uint32 { return PDU(n).CallID() }

// RejectReason returns provider_reject_reason (Reject* values).
func (n BindNak) RejectReason() uint16 { return binary.LittleEndian.Uint16(n[HeaderSize:]) }

// NumVersions returns the number of protocol versions the server lists (0 when absent).
func (n BindNak) NumVersions() int {
	if bodyEnd(n) <= bindNakFixed {
		return 0
	}
	return int(n[bindNakFixed])
}

// Version returns the i-th supported protocol version (0 <= i < NumVersions).
func (n BindNak) Version(i int) (major, minor uint8) {
	if i < 0 || i >= n.NumVersions() {
		return 0, 0
	}
	at := bindNakFixed + 1 + 2*i
	return n[at], n[at+1]
}

// idName returns names[id] when set, else the id in hex.
func idName(names []string, id uint32) string {
	if uint64(id) < uint64(len(names)) && names[id] != "" {
		return names[id]
	}
	return fmt.Sprintf("0x%x", id)
}
