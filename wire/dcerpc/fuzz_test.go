package dcerpc

import (
	"bytes"
	"testing"
)

// Seeds shared by the fuzz targets: the Samba captures and hand-built PDUs.
func fuzzSeeds(f *testing.F) (ack, resp, stub []byte) {
	ack = readGolden(f, "samba-4.17-bind-ack.bin")
	resp = readGolden(f, "samba-4.17-netshareenum-response.bin")
	stub = Response(resp).Stub()
	return ack, resp, stub
}

func FuzzPDUHeader(f *testing.F) {
	ack, resp, _ := fuzzSeeds(f)
	f.Add(ack)
	f.Add(resp)
	f.Add(readGolden(f, "smbclient-4.17-bind.bin"))
	f.Add(readGolden(f, "smbclient-4.17-netshareenum-request.bin"))
	f.Add(buildFault(2, FaultOpRangeError))
	f.Add(buildPDU(PacketBindNak, 3, 1, []byte{4, 0, 1, 5, 0}))
	f.Add(withAuth(buildResponse(5, 3, 16, []byte("0123456789abcdef")), 4, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := PDU(b)
		n, ferr := FragmentLength(b)
		if p.Validate() != nil {
			return
		}
		if ferr != nil || n != p.FragLength() || n < HeaderSize || n > len(b) || p.DataRep()[0] != 0x10 || p.DataRep()[1] != 0 {
			t.Fatalf("valid header: FragmentLength %d %v, frag_length %d of %d", n, ferr, p.FragLength(), len(b))
		}
		_ = p.Type().String()
		if f := Fault(b); f.Validate() == nil {
			_ = FaultName(f.Status())
			_, _, _ = f.ContextID(), f.AllocHint(), f.FaultFlags()
		}
		if nak := BindNak(b); nak.Validate() == nil {
			for i := -1; i <= nak.NumVersions(); i++ {
				nak.Version(i)
			}
			_ = RejectReasonName(nak.RejectReason())
		}
		if r := Response(b); r.Validate() == nil {
			if s := r.Stub(); len(s) > n-responseFixed {
				t.Fatalf("stub %d in a %d-byte fragment", len(s), n)
			}
		}
		checkBindAck(t, b)
	})
}

// checkBindAck exercises every accessor of a BIND_ACK that validates.
func checkBindAck(t *testing.T, b []byte) {
	a := BindAck(b)
	if a.Validate() != nil {
		return
	}
	n := PDU(b).FragLength()
	if len(a.SecondaryAddress()) > n || a.NumResults() > MaxBindResults {
		t.Fatalf("sec addr %d, %d results in %d bytes", len(a.SecondaryAddress()), a.NumResults(), n)
	}
	for i := -1; i <= a.NumResults(); i++ {
		r, ok := a.Result(i)
		acc, _ := a.Accepted(i)
		if ok != (i >= 0 && i < a.NumResults()) || acc != (ok && r.Result == ResultAcceptance) {
			t.Fatalf("result %d: %+v %v accepted %v", i, r, ok, acc)
		}
		_, _ = ResultName(r.Result), ProviderReasonName(r.Reason)
	}
	_, _, _, _ = a.MaxXmitFrag(), a.MaxRecvFrag(), a.AssocGroup(), a.CallID()
}

func FuzzBindAck(f *testing.F) {
	ack, _, _ := fuzzSeeds(f)
	f.Add(ack)
	f.Add(buildBindAck(1, "", nil))
	f.Add(buildBindAck(1, `\PIPE\srvsvc`, []ContextResult{{Result: 2, Reason: 1}, {TransferSyntax: NDRSyntax}}))
	f.Add(withAuth(buildBindAck(1, "135", []ContextResult{{}}), 0, 16))
	f.Fuzz(func(t *testing.T, b []byte) { checkBindAck(t, b) })
}

func FuzzResponse(f *testing.F) {
	_, resp, stub := fuzzSeeds(f)
	f.Add(resp)
	f.Add(bytes.Join(fragment(2, stub, 100), nil))
	f.Add(bytes.Join(fragment(2, stub, 7), nil))
	f.Add(append(fragment(2, stub, 200)[0], buildFault(2, FaultAccessDenied)...))
	f.Add(withAuth(buildResponse(2, 3, 16, []byte("0123456789abcdef")), 4, 16))
	buf := make([]byte, 0, 2048)
	f.Fuzz(func(t *testing.T, b []byte) {
		if r := Response(b); r.Validate() == nil {
			_, _, _ = r.AllocHint(), r.ContextID(), r.CancelCount()
			if len(r.Stub()) > PDU(b).FragLength()-responseFixed {
				t.Fatalf("stub %d in a %d-byte fragment", len(r.Stub()), PDU(b).FragLength())
			}
		}
		// Feed b as a stream of fragments of call 2, limited to 1024 stub bytes.
		var asm Reassembler
		asm.Reset(buf, 2, 1024)
		var joined []byte
		for rest := b; len(rest) > 0; {
			n, last, err := asm.Add(rest)
			if err != nil {
				break
			}
			if n < HeaderSize || n > len(rest) {
				t.Fatalf("Add consumed %d of %d", n, len(rest))
			}
			joined = append(joined, Response(rest[:n]).Stub()...)
			rest = rest[n:]
			if last != asm.Done() {
				t.Fatal("last != Done")
			}
			if last {
				break
			}
		}
		if len(asm.Stub()) > 1024 || !bytes.Equal(asm.Stub(), joined) {
			t.Fatalf("joined %d bytes, want %d", len(asm.Stub()), len(joined))
		}
		if asm.Done() {
			checkShareEnum(t, asm.Stub())
		}
	})
}

// checkShareEnum decodes stub and, when it validates, iterates every share.
func checkShareEnum(t *testing.T, stub []byte) {
	var e ShareEnum
	if NetShareEnumResponse(stub).Decode(&e) != nil {
		return
	}
	if e.EntriesRead > MaxShares {
		t.Fatalf("EntriesRead %d", e.EntriesRead)
	}
	var s ShareInfo1
	n := 0
	for e.Next(&s) {
		if len(s.Name) > 2*MaxStringChars || len(s.Remark) > 2*MaxStringChars || len(s.Name)%2 != 0 || len(s.Remark)%2 != 0 {
			t.Fatalf("entry %d: name %d remark %d bytes", n, len(s.Name), len(s.Remark))
		}
		_ = ShareTypeName(s.Type)
		n++
	}
	if n != int(e.EntriesRead) {
		t.Fatalf("%d entries iterated, EntriesRead %d", n, e.EntriesRead)
	}
	e.Reset()
	m := 0
	for e.Next(&s) {
		m++
	}
	if m != n {
		t.Fatalf("after Reset %d entries, before %d", m, n)
	}
	_ = WErrorName(e.WError)
}

func FuzzNetShareEnumResponse(f *testing.F) {
	_, _, stub := fuzzSeeds(f)
	f.Add(stub)
	resume := uint32(1)
	f.Add(buildShareEnum(shareEnumStub{level: 1, shares: []tshare{
		{name: sp("C$"), remark: nil, typ: 0x80000000}, {name: nil, remark: sp("x"), typ: 1},
	}, total: 5, resume: &resume, werr: WErrMoreData}))
	f.Add(buildShareEnum(shareEnumStub{level: 1, nullContainer: true, werr: WErrAccessDenied}))
	f.Add(buildShareEnum(shareEnumStub{level: 2, nullBuffer: true, werr: WErrInvalidLevel}))
	f.Fuzz(checkShareEnum)
}
