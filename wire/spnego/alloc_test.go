package spnego

import (
	"bytes"
	"testing"
)

func TestEncodeAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	neg := unhex(t, clientNTLMNegotiateHex)
	auth := bytes.Repeat([]byte{3}, 400)
	mic := make([]byte, 16)
	var l MechTypeList
	l.Add(OIDMSKerberos)
	l.Add(OIDKerberos)
	l.Add(OIDNTLMSSP)
	hint := NegTokenInit{MechTypeList: l, HintName: []byte(HintNameIgnore)}
	resp := NegTokenResp{NegState: AcceptIncomplete, HasNegState: true, SupportedMech: OIDNTLMSSP, ResponseToken: auth}
	for name, f := range map[string]func(){
		"AppendNegTokenInit":  func() { buf = AppendNegTokenInit(buf[:0], neg) },
		"AppendNegTokenResp":  func() { buf = AppendNegTokenResp(buf[:0], auth, mic) },
		"NegTokenInit2":       func() { buf = hint.AppendTo(buf[:0]) },
		"NegTokenResp.server": func() { buf = resp.AppendTo(buf[:0]) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs", name, n)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	hint := unhex(t, sambaADHintHex)
	init := unhex(t, clientInitHex)
	resp := (&NegTokenResp{NegState: AcceptIncomplete, HasNegState: true, SupportedMech: OIDNTLMSSP,
		ResponseToken: make([]byte, 300), MechListMIC: make([]byte, 16)}).AppendTo(nil)
	var ti NegTokenInit
	var tr NegTokenResp
	sink := 0
	n := testing.AllocsPerRun(100, func() {
		if ti.Decode(hint) != nil || !ti.Contains(OIDNTLMSSP) || ti.Decode(init) != nil || tr.Decode(resp) != nil {
			panic("decode")
		}
		t1, err1 := DecodeNegTokenInit(hint)
		t2, err2 := DecodeNegTokenResp(resp)
		if err1 != nil || err2 != nil || !IsRawNTLMSSP(init[34:]) {
			panic("decode")
		}
		sink += t1.Len() + len(t2.ResponseToken) + len(ti.MechToken)
	})
	if n != 0 {
		t.Errorf("decode: %v allocs", n)
	}
	_ = sink
}

func BenchmarkAppendNegTokenInit(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	neg := unhex(b, clientNTLMNegotiateHex)
	for b.Loop() {
		buf = AppendNegTokenInit(buf[:0], neg)
	}
}

func BenchmarkAppendNegTokenResp(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	auth := make([]byte, 400)
	for b.Loop() {
		buf = AppendNegTokenResp(buf[:0], auth, nil)
	}
}

func BenchmarkDecodeNegTokenInit(b *testing.B) {
	b.ReportAllocs()
	hint := unhex(b, sambaADHintHex)
	var t NegTokenInit
	for b.Loop() {
		if err := t.Decode(hint); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNegTokenResp(b *testing.B) {
	b.ReportAllocs()
	resp := (&NegTokenResp{NegState: AcceptIncomplete, HasNegState: true, SupportedMech: OIDNTLMSSP, ResponseToken: make([]byte, 300)}).AppendTo(nil)
	var t NegTokenResp
	for b.Loop() {
		if err := t.Decode(resp); err != nil {
			b.Fatal(err)
		}
	}
}
