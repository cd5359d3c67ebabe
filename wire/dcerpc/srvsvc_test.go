package dcerpc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// TestNetShareEnumRequestMatchesSmbclient compares our request with the one smbclient 4.17
// sent (testdata/README.md): same server name, call_id and referent IDs, so the same bytes.
func TestNetShareEnumRequestMatchesSmbclient(t *testing.T) {
	golden := readGolden(t, "smbclient-4.17-netshareenum-request.bin")
	req := NetShareEnumRequest{ServerName: "127.0.0.82"}
	got := req.AppendPDU(nil, 2, 0)
	if !bytes.Equal(got, golden) {
		t.Fatalf("ours\n% x\nsmbclient's\n% x", got, golden)
	}
	if len(got) != req.PDUSize() {
		t.Fatalf("%d bytes, PDUSize %d", len(got), req.PDUSize())
	}
}

// parseShareEnumRequest is a test decoder for the NetrShareEnum request stub.
func parseShareEnumRequest(t *testing.T, b []byte) (name []byte, hasName bool, pref, resume uint32) {
	t.Helper()
	if len(b)%4 != 0 {
		t.Fatalf("stub of %d bytes", len(b))
	}
	off := 0
	u32 := func() uint32 {
		if off+4 > len(b) {
			t.Fatalf("short stub at %d", off)
		}
		v := le.Uint32(b[off:])
		off += 4
		return v
	}
	if u32() != 0 {
		hasName = true
		maxc, o, act := u32(), u32(), u32()
		if maxc != act || o != 0 || act == 0 {
			t.Fatalf("name counts %d %d %d", maxc, o, act)
		}
		name = b[off : off+2*int(act)]
		if name[len(name)-1] != 0 || name[len(name)-2] != 0 {
			t.Fatal("name not NUL-terminated")
		}
		name = name[:len(name)-2]
		off = (off + 2*int(act) + 3) &^ 3
	}
	if lvl, sw, ptr, entries, buf := u32(), u32(), u32(), u32(), u32(); lvl != 1 || sw != 1 || ptr == 0 || entries != 0 || buf != 0 {
		t.Fatalf("InfoStruct %d %d %x %d %x", lvl, sw, ptr, entries, buf)
	}
	pref = u32()
	if u32() == 0 {
		t.Fatal("NULL ResumeHandle")
	}
	resume = u32()
	if off != len(b) {
		t.Fatalf("%d trailing bytes", len(b)-off)
	}
	return name, hasName, pref, resume
}

func TestNetShareEnumRequest(t *testing.T) {
	long := string(bytes.Repeat([]byte("a"), MaxStringChars+10))
	longEmoji := string(bytes.Repeat([]byte("a"), MaxStringChars-2)) + "😀"
	for _, c := range []struct {
		name, want string
	}{
		{`\\server`, `\\server`},
		{"a", "a"}, {"ab", "ab"}, {"abc", "abc"},
		{`\\sérvér😀`, `\\sérvér😀`},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{long, long[:MaxStringChars-1]},
		// The surrogate pair does not fit in the last unit: cut before it.
		{longEmoji, longEmoji[:MaxStringChars-2]},
	} {
		req := NetShareEnumRequest{ServerName: c.name, ResumeHandle: 7, PreferredMaximumLength: 4096}
		stub := req.AppendTo([]byte{1, 2, 3})[3:]
		if len(stub) != req.Size() {
			t.Fatalf("%.20q: %d bytes, Size() %d", c.name, len(stub), req.Size())
		}
		name, has, pref, resume := parseShareEnumRequest(t, stub)
		if !has || wire.DecodeUTF16LE(name) != c.want || pref != 4096 || resume != 7 {
			t.Fatalf("%.20q: name %.20q pref %d resume %d", c.name, wire.DecodeUTF16LE(name), pref, resume)
		}
	}
	req := NetShareEnumRequest{}
	stub := req.AppendTo(nil)
	if _, has, pref, resume := parseShareEnumRequest(t, stub); has || pref != MaxPreferredLength || resume != 0 || len(stub) != req.Size() {
		t.Fatalf("NULL server name: has %v pref %x resume %d", has, pref, resume)
	}
	flags, call, hint, ctx, op, s := parseRequest(t, req.AppendPDU(nil, 9, 1))
	if flags != 3 || call != 9 || int(hint) != len(stub) || ctx != 1 || op != OpNetrShareEnum || !bytes.Equal(s, stub) {
		t.Fatalf("PDU: flags %x call %d hint %d ctx %d op %d", flags, call, hint, ctx, op)
	}
}

type share struct {
	name, remark string
	nullName     bool
	nullRemark   bool
	typ          uint32
}

func collect(t *testing.T, e *ShareEnum) []share {
	t.Helper()
	var out []share
	var s ShareInfo1
	for e.Next(&s) {
		if len(s.Name)%2 != 0 || len(s.Remark)%2 != 0 {
			t.Fatalf("odd string length %d %d", len(s.Name), len(s.Remark))
		}
		out = append(out, share{
			name: wire.DecodeUTF16LE(s.Name), remark: wire.DecodeUTF16LE(s.Remark),
			nullName: s.Name == nil, nullRemark: s.Remark == nil, typ: s.Type,
		})
	}
	if e.Next(&s) {
		t.Fatal("Next true after the end")
	}
	return out
}

func TestNetShareEnumResponseSambaGolden(t *testing.T) {
	pdu := Response(readGolden(t, "samba-4.17-netshareenum-response.bin"))
	if err := pdu.Validate(); err != nil {
		t.Fatal(err)
	}
	r := NetShareEnumResponse(pdu.Stub())
	var e ShareEnum
	if err := r.Decode(&e); err != nil {
		t.Fatal(err)
	}
	if e.Level != 1 || e.EntriesRead != 4 || e.TotalEntries != 4 || !e.HasResumeHandle || e.ResumeHandle != 0 || e.WError != WErrSuccess {
		t.Fatalf("%+v", e)
	}
	want := []share{
		{name: "public", remark: "Öffentlich – café ☕", typ: STypeDiskTree},
		{name: "emoji😀", remark: "non-BMP share name", typ: STypeDiskTree},
		{name: "hidden$", remark: "", typ: STypeDiskTree},
		{name: "IPC$", remark: "IPC Service (Samba 4.17.12-Debian)", typ: STypeIPC | STypeSpecial},
	}
	got := collect(t, &e)
	if len(got) != len(want) {
		t.Fatalf("%d shares: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("share %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if ShareTypeName(got[3].typ) != "ipc,special" || ShareTypeName(got[0].typ) != "disk" {
		t.Errorf("type names %q %q", ShareTypeName(got[3].typ), ShareTypeName(got[0].typ))
	}
	// The non-BMP character arrives as a surrogate pair.
	var s ShareInfo1
	e.Reset()
	e.Next(&s)
	e.Next(&s)
	if !bytes.Equal(s.Name[len(s.Name)-4:], []byte{0x3d, 0xd8, 0x00, 0xde}) {
		t.Errorf("emoji name % x", s.Name)
	}
	// Views are capacity-limited: appending to one cannot overwrite the stub.
	if cap(s.Name) != len(s.Name)+2 {
		t.Errorf("name cap %d len %d", cap(s.Name), len(s.Name))
	}
	expectTruncationsFail(t, r, func(b []byte) error { return NetShareEnumResponse(b).Validate() })
}

func TestNetShareEnumResponse(t *testing.T) {
	resume := uint32(0x77)
	shares := []tshare{
		{name: sp("C$"), remark: sp("Default share"), typ: STypeDiskTree | STypeSpecial},
		{name: sp("print"), remark: nil, typ: STypePrintQ},
		{name: nil, remark: sp("nameless"), typ: STypeDevice},
		{name: sp(""), remark: sp(""), typ: STypeTemporary},
		{name: sp("a"), remark: sp("ab"), typ: 3},
	}
	s := shareEnumStub{level: 1, shares: shares, total: 9, resume: &resume, werr: WErrMoreData}
	stub := buildShareEnum(s)
	var e ShareEnum
	if err := NetShareEnumResponse(stub).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if e.EntriesRead != 5 || e.TotalEntries != 9 || !e.HasResumeHandle || e.ResumeHandle != 0x77 || e.WError != WErrMoreData {
		t.Fatalf("%+v", e)
	}
	got := collect(t, &e)
	want := []share{
		{name: "C$", remark: "Default share", typ: 0x80000000},
		{name: "print", nullRemark: true, typ: 1},
		{nullName: true, remark: "nameless", typ: 2},
		{name: "", remark: "", typ: 0x40000000},
		{name: "a", remark: "ab", typ: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("share %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	e.Reset()
	if again := collect(t, &e); len(again) != 5 || again[4] != want[4] {
		t.Fatalf("after Reset: %+v", again)
	}
	expectTruncationsFail(t, stub, func(b []byte) error { return NetShareEnumResponse(b).Validate() })
	// Up to 7 bytes of trailing padding are accepted, 8 are not.
	if err := NetShareEnumResponse(append(stub[:len(stub):len(stub)], make([]byte, 7)...)).Validate(); err != nil {
		t.Fatalf("7 trailing bytes: %v", err)
	}
	if err := NetShareEnumResponse(append(stub[:len(stub):len(stub)], make([]byte, 8)...)).Validate(); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("8 trailing bytes: %v", err)
	}

	// Error replies: NULL container, or a container with no buffer; no resume handle.
	for _, s := range []shareEnumStub{
		{level: 1, nullContainer: true, werr: WErrAccessDenied},
		{level: 1, nullBuffer: true, werr: WErrAccessDenied},
		{level: 2, nullBuffer: true, werr: WErrInvalidLevel},
	} {
		var e ShareEnum
		if err := NetShareEnumResponse(buildShareEnum(s)).Decode(&e); err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if e.EntriesRead != 0 || e.HasResumeHandle || e.WError != s.werr || e.Level != s.level || len(collect(t, &e)) != 0 {
			t.Fatalf("%+v: %+v", s, e)
		}
	}
	// An empty but present array.
	if err := NetShareEnumResponse(buildShareEnum(shareEnumStub{level: 1})).Validate(); err != nil {
		t.Fatalf("no shares: %v", err)
	}
}

func TestNetShareEnumResponseHostile(t *testing.T) {
	base := buildShareEnum(shareEnumStub{level: 1, shares: []tshare{{name: sp("abc"), remark: sp("r"), typ: 0}}})
	// Offsets in base: 0 level, 4 switch, 8 container, 12 EntriesRead, 16 Buffer, 20 max count,
	// 24 entry (name ptr, type, remark ptr), 36 name max count, 40 offset, 44 actual, 48 chars.
	mod := func(off int, v uint32) []byte {
		b := append([]byte(nil), base...)
		le.PutUint32(b[off:], v)
		return b
	}
	cases := []struct {
		name string
		stub []byte
		want error
	}{
		{"switch != level", mod(4, 2), wire.ErrMalformed},
		{"EntriesRead over cap", mod(12, MaxShares+1), wire.ErrTooLarge},
		{"EntriesRead != max count", mod(12, 2), wire.ErrMalformed},
		{"huge array", mod(20, 0xffffffff), wire.ErrMalformed},
		{"array past end", func() []byte { b := mod(12, MaxShares); le.PutUint32(b[20:], MaxShares); return b }(), wire.ErrShort},
		{"NULL buffer with entries", mod(16, 0), wire.ErrMalformed},
		{"entries at level 2", func() []byte { b := mod(0, 2); le.PutUint32(b[4:], 2); return b }(), wire.ErrMalformed},
		{"string max count over cap", mod(36, MaxStringChars+1), wire.ErrTooLarge},
		{"string offset", mod(40, 1), wire.ErrMalformed},
		{"actual > max", mod(44, 5), wire.ErrMalformed},
		{"string past end", func() []byte { b := mod(36, 1000); le.PutUint32(b[44:], 1000); return b }(), wire.ErrBadOffset},
		{"short", base[:10], wire.ErrShort},
	}
	for _, c := range cases {
		if err := NetShareEnumResponse(c.stub).Validate(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Many entries: the cap is inclusive and decoding stays linear.
	many := make([]tshare, MaxShares)
	for i := range many {
		many[i] = tshare{name: sp("s"), typ: uint32(i)}
	}
	var e ShareEnum
	if err := NetShareEnumResponse(buildShareEnum(shareEnumStub{level: 1, shares: many})).Decode(&e); err != nil {
		t.Fatal(err)
	}
	var s ShareInfo1
	n := 0
	for e.Next(&s) {
		if s.Type != uint32(n) || string(s.Name) != "s\x00" || s.Remark != nil {
			t.Fatalf("entry %d: %+v", n, s)
		}
		n++
	}
	if n != MaxShares {
		t.Fatalf("%d entries", n)
	}
}

func TestShareTypeName(t *testing.T) {
	for typ, want := range map[uint32]string{
		0: "disk", 1: "print", 2: "device", 3: "ipc",
		0x80000000: "disk,special", 0x80000003: "ipc,special", 0x40000001: "print,temporary",
		0xc0000000: "disk,special,temporary", 0x02000000: "cluster-fs", 0x84000000: "cluster-sofs,special",
		0x08000000: "cluster-dfs", 4: "0x00000004", 0x80000004: "0x80000004", 0x20000000: "0x20000000",
	} {
		if got := ShareTypeName(typ); got != want {
			t.Errorf("ShareTypeName(%#x) = %q, want %q", typ, got, want)
		}
	}
}

func TestWErrorName(t *testing.T) {
	for code, want := range map[uint32]string{
		0: "ERROR_SUCCESS", 5: "ERROR_ACCESS_DENIED", 50: "ERROR_NOT_SUPPORTED", 87: "ERROR_INVALID_PARAMETER",
		124: "ERROR_INVALID_LEVEL", 234: "ERROR_MORE_DATA", 0x84b: "0x0000084b",
	} {
		if got := WErrorName(code); got != want {
			t.Errorf("WErrorName(%d) = %q, want %q", code, got, want)
		}
	}
}
