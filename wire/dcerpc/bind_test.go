package dcerpc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

func TestSyntaxUUIDs(t *testing.T) {
	if got := SRVSVCSyntax.UUID.String(); got != "4b324fc8-1670-01d3-1278-5a47bf6ee188" {
		t.Errorf("SRVSVC UUID %s", got)
	}
	if got := NDRSyntax.UUID.String(); got != "8a885d04-1ceb-11c9-9fe8-08002b104860" {
		t.Errorf("NDR UUID %s", got)
	}
	if SRVSVCSyntax.Major != 3 || SRVSVCSyntax.Minor != 0 || NDRSyntax.Major != 2 || NDRSyntax.Minor != 0 {
		t.Errorf("versions %+v %+v", SRVSVCSyntax, NDRSyntax)
	}
	// C706 appendix A: the first three fields little-endian with drep 0x10.
	w := SRVSVCSyntax.UUID.AppendWire(nil)
	if !bytes.Equal(w, []byte{0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88}) {
		t.Errorf("wire form % x", w)
	}
	if uuidFromWire(w) != SRVSVCSyntax.UUID {
		t.Error("uuidFromWire does not invert AppendWire")
	}
	if s := syntaxFromWire(NDRSyntax.AppendTo(nil)); s != NDRSyntax {
		t.Errorf("syntax round trip %+v", s)
	}
}

// parseBind is a test decoder for BIND PDUs (C706 12.6.4.3).
func parseBind(t *testing.T, b []byte) (callID uint32, xmit, recv uint16, group uint32, ctxs []PresentationContext) {
	t.Helper()
	p := PDU(b)
	if err := p.Validate(); err != nil || p.Type() != PacketBind || p.Flags() != 3 || p.FragLength() != len(b) {
		t.Fatalf("bind header: %v type %v flags %x frag %d of %d", err, p.Type(), p.Flags(), p.FragLength(), len(b))
	}
	n := int(b[24])
	if len(b) != 28+n*44 {
		t.Fatalf("%d contexts in %d bytes", n, len(b))
	}
	for i := range n {
		c := b[28+44*i:]
		if c[2] != 1 {
			t.Fatalf("context %d: %d transfer syntaxes", i, c[2])
		}
		ctxs = append(ctxs, PresentationContext{ID: le.Uint16(c), Abstract: syntaxFromWire(c[4:]), Transfer: syntaxFromWire(c[24:])})
	}
	return p.CallID(), le.Uint16(b[16:]), le.Uint16(b[18:]), le.Uint32(b[20:]), ctxs
}

func TestBind(t *testing.T) {
	b := NewBind(7, SRVSVCSyntax)
	enc := b.AppendTo(nil)
	if len(enc) != b.Size() || len(enc) != 72 {
		t.Fatalf("size %d, Size() %d", len(enc), b.Size())
	}
	call, xmit, recv, group, ctxs := parseBind(t, enc)
	if call != 7 || xmit != 4280 || recv != 4280 || group != 0 || len(ctxs) != 1 ||
		ctxs[0] != (PresentationContext{ID: 0, Abstract: SRVSVCSyntax, Transfer: NDRSyntax}) {
		t.Fatalf("call %d xmit %d recv %d group %d ctxs %+v", call, xmit, recv, group, ctxs)
	}

	// Several contexts, explicit sizes; the zero value of MaxXmit/MaxRecv sends the default.
	other := SyntaxID{UUID: UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, Major: 1, Minor: 2}
	b = Bind{CallID: 9, MaxXmit: 1024, AssocGroup: 0x55, NumContexts: 2}
	b.Contexts[0] = PresentationContext{ID: 0, Abstract: SRVSVCSyntax, Transfer: NDRSyntax}
	b.Contexts[1] = PresentationContext{ID: 1, Abstract: SRVSVCSyntax, Transfer: other}
	call, xmit, recv, group, ctxs = parseBind(t, b.AppendTo([]byte("prefix"))[6:])
	if call != 9 || xmit != 1024 || recv != DefaultMaxFrag || group != 0x55 || len(ctxs) != 2 || ctxs[1].ID != 1 || ctxs[1].Transfer != other {
		t.Fatalf("call %d xmit %d recv %d group %x ctxs %+v", call, xmit, recv, group, ctxs)
	}
	// NumContexts out of range is clamped, never panics.
	b.NumContexts = 99
	if _, _, _, _, ctxs = parseBind(t, b.AppendTo(nil)); len(ctxs) != MaxBindContexts {
		t.Fatalf("%d contexts", len(ctxs))
	}
	b.NumContexts = -1
	if _, _, _, _, ctxs = parseBind(t, b.AppendTo(nil)); len(ctxs) != 0 {
		t.Fatalf("%d contexts", len(ctxs))
	}
}

// TestBindMatchesSmbclient compares our BIND with the one smbclient 4.17 sent for the same
// purpose (testdata/README.md): same call_id, sizes, context and syntaxes, so the same bytes.
func TestBindMatchesSmbclient(t *testing.T) {
	golden := readGolden(t, "smbclient-4.17-bind.bin")
	b := NewBind(1, SRVSVCSyntax)
	if got := b.AppendTo(nil); !bytes.Equal(got, golden) {
		t.Fatalf("our BIND\n% x\nsmbclient's\n% x", got, golden)
	}
}

func TestBindAckSambaGolden(t *testing.T) {
	a := BindAck(readGolden(t, "samba-4.17-bind-ack.bin"))
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.CallID() != 1 || a.Flags() != FlagFirstFrag|FlagLastFrag || a.MaxXmitFrag() != 4280 || a.MaxRecvFrag() != 4280 || a.AssocGroup() == 0 {
		t.Fatalf("call %d flags %x xmit %d recv %d group %x", a.CallID(), a.Flags(), a.MaxXmitFrag(), a.MaxRecvFrag(), a.AssocGroup())
	}
	if got := string(a.SecondaryAddress()); got != `\pipe\srvsvc` {
		t.Fatalf("secondary address %q", got)
	}
	if a.NumResults() != 1 {
		t.Fatalf("%d results", a.NumResults())
	}
	r, ok := a.Result(0)
	if !ok || !r.Accepted() || r.Reason != 0 || r.TransferSyntax != NDRSyntax {
		t.Fatalf("result %+v %v", r, ok)
	}
	if ok, _ := a.Accepted(0); !ok {
		t.Fatal("context 0 not accepted")
	}
	if ok, reason := a.Accepted(1); ok || reason != ReasonNotSpecified {
		t.Fatalf("context 1: %v %d", ok, reason)
	}
	if _, ok := a.Result(-1); ok {
		t.Fatal("Result(-1) present")
	}
	expectTruncationsFail(t, a, func(b []byte) error { return BindAck(b).Validate() })
}

func TestBindAck(t *testing.T) {
	rej := ContextResult{Result: ResultProviderRejection, Reason: ReasonAbstractSyntax}
	for _, sec := range []string{"", "1", "12", "123", `\PIPE\srvsvc`, "49152"} {
		a := BindAck(buildBindAck(3, sec, []ContextResult{rej, {TransferSyntax: NDRSyntax}}))
		if err := a.Validate(); err != nil {
			t.Fatalf("%q: %v", sec, err)
		}
		if string(a.SecondaryAddress()) != sec || a.NumResults() != 2 || a.AssocGroup() != 0x1234 {
			t.Fatalf("%q: sec %q results %d", sec, a.SecondaryAddress(), a.NumResults())
		}
		if ok, reason := a.Accepted(0); ok || reason != ReasonAbstractSyntax {
			t.Fatalf("%q: context 0 %v %d", sec, ok, reason)
		}
		if r, _ := a.Result(1); !r.Accepted() || r.TransferSyntax != NDRSyntax {
			t.Fatalf("%q: context 1 %+v", sec, r)
		}
		expectTruncationsFail(t, a, func(b []byte) error { return BindAck(b).Validate() })
	}

	// sec_addr length past the end, too many results, an auth_verifier.
	a := buildBindAck(3, "x", nil)
	le.PutUint16(a[24:], 200)
	if err := BindAck(a).Validate(); !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("long sec_addr: %v", err)
	}
	a = buildBindAck(3, "", make([]ContextResult, MaxBindResults+1))
	if err := BindAck(a).Validate(); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("%d results: %v", MaxBindResults+1, err)
	}
	a = buildBindAck(3, "", make([]ContextResult, 2))
	a = a[:len(a)-1]
	le.PutUint16(a[8:], uint16(len(a)))
	if err := BindAck(a).Validate(); !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("short results: %v", err)
	}
	a = withAuth(buildBindAck(3, "abc", []ContextResult{{}}), 0, 16)
	if err := BindAck(a).Validate(); err != nil {
		t.Fatalf("with auth_verifier: %v", err)
	}
	if ok, _ := BindAck(a).Accepted(0); !ok || string(BindAck(a).SecondaryAddress()) != "abc" {
		t.Fatal("with auth_verifier: not accepted")
	}
	// The auth_verifier must not overlap the results.
	a = withAuth(buildBindAck(3, "abc", []ContextResult{{}}), 0, 16)
	a[len(a)-16-8+2] = 20 // auth_pad_length eats into the results
	if err := BindAck(a).Validate(); err == nil {
		t.Fatal("auth_pad_length over the results accepted")
	}
}

func TestBindNak(t *testing.T) {
	body := le.AppendUint16(nil, RejectProtocolVersion)
	body = append(body, 2, 5, 0, 4, 1)
	n := BindNak(buildPDU(PacketBindNak, 3, 4, body))
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	if n.CallID() != 4 || n.RejectReason() != RejectProtocolVersion || n.NumVersions() != 2 {
		t.Fatalf("call %d reason %d versions %d", n.CallID(), n.RejectReason(), n.NumVersions())
	}
	if maj, mnr := n.Version(1); maj != 4 || mnr != 1 {
		t.Fatalf("version 1: %d.%d", maj, mnr)
	}
	if maj, mnr := n.Version(2); maj != 0 || mnr != 0 {
		t.Fatalf("version 2: %d.%d", maj, mnr)
	}
	if RejectReasonName(n.RejectReason()) != "protocol_version_not_supported" || RejectReasonName(9) != "invalid_checksum" || RejectReasonName(42) != "0x2a" {
		t.Fatal("reject reason names")
	}
	// Reason only (C706 allows the versions to be absent).
	short := BindNak(buildPDU(PacketBindNak, 3, 4, le.AppendUint16(nil, RejectLocalLimitExceeded)))
	if err := short.Validate(); err != nil || short.NumVersions() != 0 || short.RejectReason() != RejectLocalLimitExceeded {
		t.Fatalf("reason only: %v %d", err, short.NumVersions())
	}
	bad := BindNak(buildPDU(PacketBindNak, 3, 4, append(le.AppendUint16(nil, 0), 3, 5, 0)))
	if err := bad.Validate(); !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("3 versions in 2 bytes: %v", err)
	}
}

func TestResultNames(t *testing.T) {
	if ResultName(ResultProviderRejection) != "provider_rejection" || ResultName(ResultAcceptance) != "acceptance" ||
		ProviderReasonName(ReasonTransferSyntaxes) != "proposed_transfer_syntaxes_not_supported" || ProviderReasonName(7) != "0x7" {
		t.Fatal("names")
	}
}
