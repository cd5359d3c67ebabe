package dcerpc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// parseRequest is a test decoder for REQUEST PDUs (C706 12.6.4.9) without object UUID or auth.
func parseRequest(t *testing.T, b []byte) (flags uint8, callID, allocHint uint32, ctx, opnum uint16, stub []byte) {
	t.Helper()
	p := PDU(b)
	if err := p.Validate(); err != nil || p.Type() != PacketRequest || p.FragLength() != len(b) || p.AuthLength() != 0 {
		t.Fatalf("request header: %v type %v frag %d of %d", err, p.Type(), p.FragLength(), len(b))
	}
	return p.Flags(), p.CallID(), le.Uint32(b[16:]), le.Uint16(b[20:]), le.Uint16(b[22:]), b[24:]
}

func TestRequest(t *testing.T) {
	stub := []byte{1, 2, 3, 4, 5, 6, 7}
	r := Request{CallID: 2, ContextID: 1, Opnum: 15, Stub: stub}
	enc := r.AppendTo([]byte{0xee})[1:]
	if len(enc) != r.Size() {
		t.Fatalf("%d bytes, Size() %d", len(enc), r.Size())
	}
	flags, call, hint, ctx, op, got := parseRequest(t, enc)
	if flags != FlagFirstFrag|FlagLastFrag || call != 2 || hint != 7 || ctx != 1 || op != 15 || !bytes.Equal(got, stub) {
		t.Fatalf("flags %x call %d hint %d ctx %d op %d stub % x", flags, call, hint, ctx, op, got)
	}
	r.Flags = FlagFirstFrag
	if flags, _, _, _, _, _ := parseRequest(t, r.AppendTo(nil)); flags != FlagFirstFrag {
		t.Fatalf("flags %x", flags)
	}

	// Build in place: header with an empty stub, append the stub, patch the lengths.
	buf := (&Request{CallID: 3, Opnum: 15}).AppendTo(nil)
	req := NetShareEnumRequest{ServerName: "srv"}
	buf = req.AppendTo(buf)
	if err := FinishRequest(buf); err != nil {
		t.Fatal(err)
	}
	want := req.AppendPDU(nil, 3, 0)
	if !bytes.Equal(buf, want) {
		t.Fatalf("in place\n% x\nAppendPDU\n% x", buf, want)
	}
	if err := FinishRequest(buf[:10]); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("FinishRequest of 10 bytes: %v", err)
	}
	big := append((&Request{}).AppendTo(nil), make([]byte, 0x10000)...)
	if err := FinishRequest(big); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("FinishRequest of %d bytes: %v", len(big), err)
	}
	// An oversized stub is cut so that frag_length stays true.
	r = Request{Stub: make([]byte, 0x10000)}
	enc = r.AppendTo(nil)
	if len(enc) != 0xffff || PDU(enc).FragLength() != 0xffff || r.Size() != 0xffff {
		t.Fatalf("oversized stub: %d bytes, frag_length %d", len(enc), PDU(enc).FragLength())
	}
}

func TestResponseSambaGolden(t *testing.T) {
	r := Response(readGolden(t, "samba-4.17-netshareenum-response.bin"))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.CallID() != 2 || r.Flags() != FlagFirstFrag|FlagLastFrag || r.ContextID() != 0 || r.CancelCount() != 0 {
		t.Fatalf("call %d flags %x ctx %d cancel %d", r.CallID(), r.Flags(), r.ContextID(), r.CancelCount())
	}
	if int(r.AllocHint()) != len(r.Stub()) || len(r.Stub()) != len(r)-24 {
		t.Fatalf("alloc_hint %d, stub %d of %d", r.AllocHint(), len(r.Stub()), len(r))
	}
	expectTruncationsFail(t, r, func(b []byte) error { return Response(b).Validate() })
}

func TestResponseAuthVerifier(t *testing.T) {
	stub := []byte("0123456789abcdef")
	r := Response(withAuth(buildResponse(5, 3, 16, stub), 4, 16))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	// The stub ends before the padding announced by the sec_trailer.
	if got := r.Stub(); !bytes.Equal(got, stub) {
		t.Fatalf("stub %q", got)
	}
	r[len(r)-16-8+2] = 21 // auth_pad_length past the stub start
	if err := r.Validate(); !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("pad past the stub: %v", err)
	}
}

func TestFault(t *testing.T) {
	f := Fault(buildFault(6, FaultOpRangeError))
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if f.CallID() != 6 || f.Status() != 0x1c010002 || !f.DidNotExecute() || f.ContextID() != 0 || f.AllocHint() != 0 || f.CancelCount() != 0 || f.FaultFlags() != 0 {
		t.Fatalf("call %d status %x dne %v", f.CallID(), f.Status(), f.DidNotExecute())
	}
	expectTruncationsFail(t, f, func(b []byte) error { return Fault(b).Validate() })
	for status, want := range map[uint32]string{
		0x1c010002: "nca_s_op_rng_error", 5: "nca_s_fault_access_denied", 0x1c010003: "nca_s_unk_if",
		0x6f7: "nca_s_fault_ndr", 0x1c00001a: "nca_s_fault_context_mismatch", 0x12345678: "0x12345678",
	} {
		if got := FaultName(status); got != want {
			t.Errorf("FaultName(%#x) = %q, want %q", status, got, want)
		}
	}
}

// fragment splits stub into RESPONSE fragments of at most size stub bytes.
func fragment(callID uint32, stub []byte, size int) [][]byte {
	var frags [][]byte
	for off := 0; ; off += size {
		end := min(off+size, len(stub))
		var flags uint8
		if off == 0 {
			flags |= FlagFirstFrag
		}
		if end == len(stub) {
			flags |= FlagLastFrag
		}
		frags = append(frags, buildResponse(callID, flags, uint32(len(stub)-off), stub[off:end]))
		if end == len(stub) {
			return frags
		}
	}
}

func TestReassembler(t *testing.T) {
	stub := Response(readGolden(t, "samba-4.17-netshareenum-response.bin")).Stub()
	buf := make([]byte, 0, 1024)
	for _, size := range []int{len(stub), 100, 37, 1} {
		frags := fragment(2, stub, size)
		var r Reassembler
		r.Reset(buf, 2, 0)
		for i, f := range frags {
			n, last, err := r.Add(f)
			if err != nil || n != len(f) || last != (i == len(frags)-1) || r.Done() != last {
				t.Fatalf("size %d fragment %d: n %d last %v err %v", size, i, n, last, err)
			}
		}
		if !bytes.Equal(r.Stub(), stub) || r.Fragments() != len(frags) {
			t.Fatalf("size %d: joined %d bytes in %d fragments", size, len(r.Stub()), r.Fragments())
		}
		var e ShareEnum
		if err := NetShareEnumResponse(r.Stub()).Decode(&e); err != nil || e.EntriesRead != 4 {
			t.Fatalf("size %d: decode %v", size, err)
		}
		if _, _, err := r.Add(frags[0]); !errors.Is(err, wire.ErrMalformed) {
			t.Fatalf("fragment after the last: %v", err)
		}
	}

	// Several fragments in one buffer: Add reports each one's length.
	frags := fragment(2, stub, 150)
	stream := bytes.Join(frags, nil)
	var r Reassembler
	r.Reset(buf, 2, 0)
	for len(stream) > 0 {
		n, _, err := r.Add(stream)
		if err != nil {
			t.Fatal(err)
		}
		stream = stream[n:]
	}
	if !r.Done() || !bytes.Equal(r.Stub(), stub) {
		t.Fatal("stream reassembly")
	}

	frags = fragment(2, stub, 100)
	check := func(name string, want error, prep func(r *Reassembler) error) {
		t.Helper()
		var r Reassembler
		r.Reset(buf, 2, 0)
		if err := prep(&r); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	check("limit", wire.ErrTooLarge, func(r *Reassembler) error {
		r.Reset(buf, 2, 250)
		for _, f := range frags {
			if _, _, err := r.Add(f); err != nil {
				return err
			}
		}
		return nil
	})
	check("cap(buf) limit", wire.ErrTooLarge, func(r *Reassembler) error {
		r.Reset(make([]byte, 0, 99), 2, 0)
		_, _, err := r.Add(frags[0])
		return err
	})
	check("call_id", wire.ErrMalformed, func(r *Reassembler) error { _, _, err := r.Add(fragment(3, stub, 100)[0]); return err })
	check("no FIRST_FRAG", wire.ErrMalformed, func(r *Reassembler) error { _, _, err := r.Add(frags[1]); return err })
	check("FIRST_FRAG twice", wire.ErrMalformed, func(r *Reassembler) error {
		r.Add(frags[0])
		_, _, err := r.Add(frags[0])
		return err
	})
	check("not a response", wire.ErrBadCommand, func(r *Reassembler) error {
		_, _, err := r.Add(buildBindAck(2, "", nil))
		return err
	})
	check("truncated", wire.ErrShort, func(r *Reassembler) error { _, _, err := r.Add(frags[0][:50]); return err })

	// A FAULT mid-call ends it with a *FaultError.
	r.Reset(buf, 2, 0)
	r.Add(frags[0])
	_, last, err := r.Add(buildFault(2, FaultAccessDenied))
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Status != 5 || fe.CallID != 2 || !fe.DidNotExecute || !last || !r.Done() {
		t.Fatalf("fault: %v last %v", err, last)
	}
	if !containsAll(fe.Error(), "nca_s_fault_access_denied", "0x00000005") {
		t.Fatalf("fault error text %q", fe.Error())
	}
}
