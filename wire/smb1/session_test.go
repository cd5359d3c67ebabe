package smb1

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

var le = binary.LittleEndian

// message returns a whole request: a header with cmd and flags2, then the body.
func message(cmd byte, unicode bool, body interface{ AppendTo([]byte) []byte }) []byte {
	h := Header{Command: cmd, Flags2: Flags2NTStatus}
	if unicode {
		h.Flags2 |= Flags2Unicode
	}
	return body.AppendTo(h.AppendTo(nil))
}

// checkBlock checks the WordCount and ByteCount framing of a request and returns the words and
// the offset of Bytes from the header start.
func checkBlock(t *testing.T, msg []byte, wc int) (words []byte, bytesOff int) {
	t.Helper()
	if int(msg[HeaderSize]) != wc {
		t.Fatalf("word count %d, want %d", msg[HeaderSize], wc)
	}
	bcOff := HeaderSize + 1 + 2*wc
	if bc := int(le.Uint16(msg[bcOff:])); bcOff+2+bc != len(msg) {
		t.Fatalf("byte count %d, message %d bytes, bytes at %d", bc, len(msg), bcOff+2)
	}
	return msg[HeaderSize+1 : bcOff], bcOff + 2
}

func TestSessionSetupRequestExtended(t *testing.T) {
	for _, blobLen := range []int{0, 7, 8, 74} {
		r := SessionSetupRequest{MaxBufferSize: 0xffff, MaxMpxCount: 2, VcNumber: 1, SessionKey: 0x01020304,
			Capabilities: ClientCapabilities | CapUnicode | CapExtendedSecurity, Unicode: true,
			SecurityBlob: bytes.Repeat([]byte{0xab}, blobLen), NativeOS: "Unix", NativeLanMan: "smbsweep \U0001F600"}
		msg := message(CommandSessionSetupAndX, true, &r)
		if len(msg)-HeaderSize != r.Size() {
			t.Fatalf("blob %d: size %d, encoded %d", blobLen, r.Size(), len(msg)-HeaderSize)
		}
		w, off := checkBlock(t, msg, 12)
		if w[0] != CommandNoAndX || le.Uint16(w[14:]) != uint16(blobLen) || le.Uint32(w[10:]) != 0x01020304 {
			t.Fatalf("words % x", w)
		}
		if !bytes.Equal(msg[off:off+blobLen], r.SecurityBlob) {
			t.Fatal("blob moved")
		}
		s := off + blobLen
		if s%2 == 1 {
			if msg[s] != 0 {
				t.Fatal("pad byte not zero")
			}
			s++
		}
		want := append(wire.AppendUTF16LE(nil, "Unix"), 0, 0)
		want = append(wire.AppendUTF16LE(want, "smbsweep \U0001F600"), 0, 0)
		if !bytes.Equal(msg[s:], want) {
			t.Fatalf("blob %d: strings % x", blobLen, msg[s:])
		}
	}
}

func TestSessionSetupRequestNT(t *testing.T) {
	lm := bytes.Repeat([]byte{1}, 24)
	nt := bytes.Repeat([]byte{2}, 91)
	for _, unicode := range []bool{true, false} {
		r := SessionSetupRequest{Unicode: unicode, OEMPassword: lm, UnicodePassword: nt,
			AccountName: "user", PrimaryDomain: "DOM", NativeOS: "Unix", NativeLanMan: "smbsweep"}
		msg := message(CommandSessionSetupAndX, unicode, &r)
		if len(msg)-HeaderSize != r.Size() {
			t.Fatalf("size %d, encoded %d", r.Size(), len(msg)-HeaderSize)
		}
		w, off := checkBlock(t, msg, 13)
		if le.Uint16(w[14:]) != 24 || le.Uint16(w[16:]) != 91 {
			t.Fatalf("password lengths % x", w[14:18])
		}
		if !bytes.Equal(msg[off:off+24], lm) || !bytes.Equal(msg[off+24:off+115], nt) {
			t.Fatal("responses moved")
		}
		s := off + 115
		var want []byte
		if unicode {
			if s%2 == 1 {
				s++
			}
			for _, str := range []string{"user", "DOM", "Unix", "smbsweep"} {
				want = append(wire.AppendUTF16LE(want, str), 0, 0)
			}
		} else {
			want = []byte("user\x00DOM\x00Unix\x00smbsweep\x00")
		}
		if !bytes.Equal(msg[s:], want) {
			t.Fatalf("unicode %v: strings % x", unicode, msg[s:])
		}
	}
	// Anonymous: both responses empty (but present), no account.
	a := SessionSetupRequest{Unicode: true, OEMPassword: []byte{}, UnicodePassword: []byte{}}
	if a.Extended() {
		t.Fatal("empty passwords read as the extended form")
	}
	msg := message(CommandSessionSetupAndX, true, &a)
	if w, _ := checkBlock(t, msg, 13); le.Uint32(w[14:]) != 0 {
		t.Fatal("anonymous password lengths")
	}
	big := SessionSetupRequest{SecurityBlob: make([]byte, 70000)}
	if err := big.Validate(); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("oversized blob: %v", err)
	}
}

func TestTreeConnectRequest(t *testing.T) {
	for _, unicode := range []bool{true, false} {
		r := TreeConnectRequest{Flags: TreeConnectExtendedResponse, Path: `\\SRV\share`, Service: ServiceAny, Unicode: unicode}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		msg := message(CommandTreeConnectAndX, unicode, &r)
		if len(msg)-HeaderSize != r.Size() {
			t.Fatalf("size %d, encoded %d", r.Size(), len(msg)-HeaderSize)
		}
		w, off := checkBlock(t, msg, 4)
		if le.Uint16(w[4:]) != TreeConnectExtendedResponse || le.Uint16(w[6:]) != 1 || msg[off] != 0 {
			t.Fatalf("words % x", w)
		}
		p := off + 1
		want := []byte(`\\SRV\share` + "\x00?????\x00")
		if unicode {
			if p%2 == 1 {
				p++
			}
			want = append(append(wire.AppendUTF16LE(nil, `\\SRV\share`), 0, 0), "?????\x00"...)
		}
		if p%2 != 0 && unicode {
			t.Fatal("path not aligned")
		}
		if !bytes.Equal(msg[p:], want) {
			t.Fatalf("unicode %v: % x", unicode, msg[p:])
		}
	}
	if err := (&TreeConnectRequest{Service: "A\u00e9"}).Validate(); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("non-ASCII service: %v", err)
	}
}

func TestNTCreateRequest(t *testing.T) {
	r := NTCreateRequest{DesiredAccess: 0x120089, ShareAccess: ShareRead, CreateDisposition: FileOpen,
		ImpersonationLevel: ImpersonationImpersonation, FileName: `dir\f\U0001F600.txt`, Unicode: true}
	msg := message(CommandNTCreateAndX, true, &r)
	if len(msg)-HeaderSize != r.Size() {
		t.Fatalf("size %d, encoded %d", r.Size(), len(msg)-HeaderSize)
	}
	w, off := checkBlock(t, msg, 24)
	name := wire.AppendUTF16LE(nil, `dir\f\U0001F600.txt`)
	if int(le.Uint16(w[5:])) != len(name) || le.Uint32(w[15:]) != 0x120089 || le.Uint32(w[35:]) != FileOpen {
		t.Fatalf("words % x", w)
	}
	if off%2 == 1 {
		off++ // pad: the name is aligned
	}
	if !bytes.Equal(msg[off:], append(name, 0, 0)) {
		t.Fatalf("name % x", msg[off:])
	}
}

func TestReadWriteCloseRequests(t *testing.T) {
	r := ReadAndXRequest{FID: 0x4001, Offset: 0x0000_0001_2345_6789, Count: 0x1_0000 + 0x234}
	msg := message(CommandReadAndX, true, &r)
	w, _ := checkBlock(t, msg, 12)
	if le.Uint16(w[4:]) != 0x4001 || le.Uint32(w[6:]) != 0x23456789 || le.Uint16(w[10:]) != 0x234 ||
		le.Uint32(w[14:]) != 1 || le.Uint32(w[20:]) != 1 {
		t.Fatalf("read words % x", w)
	}
	data := bytes.Repeat([]byte("x"), 70000)
	wr := WriteAndXRequest{FID: 7, Offset: 1 << 33, Data: data}
	msg = message(CommandWriteAndX, true, &wr)
	if len(msg)-HeaderSize != wr.Size() {
		t.Fatalf("write size %d, encoded %d", wr.Size(), len(msg)-HeaderSize)
	}
	w = msg[HeaderSize+1 : HeaderSize+29]
	dOff := int(le.Uint16(w[22:]))
	n := int(le.Uint16(w[20:])) | int(le.Uint16(w[18:]))<<16
	if msg[HeaderSize] != 14 || n != len(data) || dOff != 64 || le.Uint32(w[24:]) != 2 || !bytes.Equal(msg[dOff:], data) {
		t.Fatalf("write: count %d offset %d", n, dOff)
	}
	c := CloseRequest{FID: 9, LastTimeModified: 0xffffffff}
	msg = message(CommandClose, true, &c)
	if w, _ := checkBlock(t, msg, 3); le.Uint16(w) != 9 || len(msg)-HeaderSize != c.Size() {
		t.Fatalf("close % x", msg[HeaderSize:])
	}
}

func TestTransactionRequest(t *testing.T) {
	setup := []uint16{TransTransactNamedPipe, 0x4000}
	for _, c := range []struct {
		cmd     byte
		unicode bool
		params  []byte
		data    []byte
	}{
		{CommandTransaction, true, nil, []byte("rpc bind")},
		{CommandTransaction, false, nil, []byte("rpc")},
		{CommandTransaction2, true, []byte{1, 2, 3, 4, 5}, nil},
		{CommandTransaction2, false, []byte{1, 2, 3}, []byte{9}},
	} {
		r := TransactionRequest{Command: c.cmd, MaxDataCount: 1024, Setup: setup, Name: PipeName, Unicode: c.unicode,
			Parameters: c.params, Data: c.data}
		if c.cmd == CommandTransaction2 {
			r.Setup = setup[:1]
		}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		msg := message(c.cmd, c.unicode, &r)
		if len(msg)-HeaderSize != r.Size() {
			t.Fatalf("size %d, encoded %d", r.Size(), len(msg)-HeaderSize)
		}
		w, off := checkBlock(t, msg, 14+len(r.Setup))
		pc, po, dc, do := int(le.Uint16(w[18:])), int(le.Uint16(w[20:])), int(le.Uint16(w[22:])), int(le.Uint16(w[24:]))
		if pc != len(c.params) || dc != len(c.data) || int(le.Uint16(w[0:])) != pc || int(le.Uint16(w[2:])) != dc {
			t.Fatalf("counts % x", w)
		}
		if po%4 != 0 || (dc > 0 && do%4 != 0) || po < off {
			t.Fatalf("offsets %d %d not 4-aligned after %d", po, do, off)
		}
		if !bytes.Equal(msg[po:po+pc], c.params) || (dc > 0 && !bytes.Equal(msg[do:do+dc], c.data)) {
			t.Fatal("parameters or data misplaced")
		}
		if int(w[26]) != len(r.Setup) || le.Uint16(w[28:]) != r.Setup[0] {
			t.Fatalf("setup % x", w[26:])
		}
		name := msg[off:po]
		var want []byte
		switch {
		case c.cmd == CommandTransaction2 && c.unicode:
			want = []byte{0, 0}
		case c.cmd == CommandTransaction2:
			want = []byte{0}
		case c.unicode:
			want = append(wire.AppendUTF16LE(nil, PipeName), 0, 0)
		default:
			want = []byte(PipeName + "\x00")
		}
		if !bytes.Contains(name, want) {
			t.Fatalf("name % x, want % x", name, want)
		}
	}
	if err := (&TransactionRequest{Command: CommandTransaction, Setup: make([]uint16, 5)}).Validate(); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("too many setup words: %v", err)
	}
	if err := (&TransactionRequest{Command: CommandClose}).Validate(); !errors.Is(err, wire.ErrBadCommand) {
		t.Fatalf("wrong command: %v", err)
	}
}

func TestTrans2Params(t *testing.T) {
	f := FindFirst2Params{SearchAttributes: SearchAttributesAll, SearchCount: 10, Flags: FindCloseAtEOS,
		InformationLevel: InfoFindFileBothDirectory, FileName: `d\*`, Unicode: true}
	b := f.AppendTo(nil)
	if len(b) != f.Size() || le.Uint16(b[6:]) != InfoFindFileBothDirectory || !bytes.Equal(b[12:], append(wire.AppendUTF16LE(nil, `d\*`), 0, 0)) {
		t.Fatalf("find first2 % x", b)
	}
	n := FindNext2Params{SID: 5, SearchCount: 10, InformationLevel: InfoFindFileBothDirectory, ResumeKey: 99, FileName: "x"}
	b = n.AppendTo(nil)
	if len(b) != n.Size() || le.Uint16(b) != 5 || le.Uint32(b[6:]) != 99 || string(b[12:]) != "x\x00" {
		t.Fatalf("find next2 % x", b)
	}
	q := QueryPathInfoParams{InformationLevel: InfoQueryFileAllInfo, FileName: "f", Unicode: true}
	b = q.AppendTo(nil)
	if len(b) != q.Size() || le.Uint16(b) != InfoQueryFileAllInfo || !bytes.Equal(b[6:], []byte{'f', 0, 0, 0}) {
		t.Fatalf("query path % x", b)
	}
	var p FindReplyParams
	if err := DecodeFindReplyParams([]byte{1, 0, 2, 0, 1, 0, 0, 0, 0, 0}, true, &p); err != nil || p.SID != 1 || p.SearchCount != 2 || !p.EndOfSearch {
		t.Fatalf("%+v %v", p, err)
	}
	if err := DecodeFindReplyParams(make([]byte, 7), false, &p); !errors.Is(err, wire.ErrShort) {
		t.Fatalf("short params: %v", err)
	}
}

func TestSessionEncodeDecodeAllocs(t *testing.T) {
	buf := make([]byte, 0, 128<<10)
	blob := make([]byte, 100)
	data := make([]byte, 60<<10)
	h := Header{Command: CommandSessionSetupAndX, Flags2: Flags2Unicode}
	ss := SessionSetupRequest{Unicode: true, SecurityBlob: blob, NativeOS: "Unix", NativeLanMan: "smbsweep"}
	nt := SessionSetupRequest{Unicode: true, OEMPassword: blob[:24], UnicodePassword: blob, AccountName: "u", PrimaryDomain: "D"}
	tc := TreeConnectRequest{Path: `\\s\IPC$`, Service: ServiceAny, Unicode: true}
	cr := NTCreateRequest{FileName: `a\b.txt`, Unicode: true}
	rd := ReadAndXRequest{FID: 1, Offset: 1 << 40, Count: 60 << 10}
	wr := WriteAndXRequest{FID: 1, Offset: 1 << 40, Data: data}
	cl := CloseRequest{FID: 1}
	var setup = [2]uint16{TransTransactNamedPipe, 1}
	tr := TransactionRequest{Command: CommandTransaction, Setup: setup[:], Name: PipeName, Unicode: true, Data: blob}
	ff := FindFirst2Params{FileName: `*`, Unicode: true}
	fn := FindNext2Params{FileName: `x`, Unicode: true}
	qp := QueryPathInfoParams{FileName: `x`, Unicode: true}
	for name, enc := range map[string]func(){
		"session setup":    func() { buf = ss.AppendTo(h.AppendTo(buf[:0])) },
		"session setup nt": func() { buf = nt.AppendTo(h.AppendTo(buf[:0])) },
		"tree connect":     func() { buf = tc.AppendTo(h.AppendTo(buf[:0])) },
		"nt create":        func() { buf = cr.AppendTo(h.AppendTo(buf[:0])) },
		"read":             func() { buf = rd.AppendTo(h.AppendTo(buf[:0])) },
		"write":            func() { buf = wr.AppendTo(h.AppendTo(buf[:0])) },
		"close":            func() { buf = cl.AppendTo(h.AppendTo(buf[:0])) },
		"transaction":      func() { buf = tr.AppendTo(h.AppendTo(buf[:0])) },
		"find params":      func() { buf = qp.AppendTo(fn.AppendTo(ff.AppendTo(buf[:0]))) },
	} {
		if n := testing.AllocsPerRun(100, enc); n != 0 {
			t.Errorf("encode %s: %v allocs", name, n)
		}
	}
	var text [256]byte
	var pbuf, dbuf [4096]byte
	for _, step := range sessionGoldenSteps {
		msg := sessionGolden(t, step)
		dec := func() { decodeAll(msg, text[:0], pbuf[:0], dbuf[:0]) }
		if msg[offCommand] == CommandTransaction || msg[offCommand] == CommandTransaction2 {
			dec = func() { decodeTransaction(step, msg, text[:0], pbuf[:0], dbuf[:0]) }
		}
		n := testing.AllocsPerRun(100, dec)
		if n != 0 {
			t.Errorf("decode %s: %v allocs", step, n)
		}
	}
}

// decodeTransaction decodes a captured transaction reply as what its step asked for (the error
// paths of the other interpretations allocate their error values).
func decodeTransaction(step string, msg, text, pbuf, dbuf []byte) {
	r := TransactionResponse(msg)
	if r.Validate(msg[offCommand]) != nil {
		panic(step)
	}
	a := TransactionAssembler{Params: pbuf[:0], Data: dbuf[:0]}
	if r.Reply().WordCount() > 0 && a.Add(r) != nil {
		panic(step)
	}
	switch step {
	case "query-path-info":
		f := FileAllInfo(a.Data)
		if f.Validate() != nil {
			panic(step)
		}
		_ = f.EndOfFile() + f.AllocationSize()
		_ = f.FileName()
	case "peek-named-pipe", "transact-nmpipe":
		_, _ = r.Reply().Status(), r.Data()
	default:
		var p FindReplyParams
		if DecodeFindReplyParams(a.Params, step == "find-first2", &p) != nil {
			panic(step)
		}
		it := NewFindEntryIter(a.Data, InfoFindFileBothDirectory, true)
		var e FindEntry
		for it.Next(&e) {
			text = e.AppendName(text[:0], true)
		}
		if it.Err() != nil {
			panic(step)
		}
	}
}

// decodeAll runs every decoder that applies to msg and reads every accessor. It is shared by
// the allocation test and the fuzz targets.
func decodeAll(msg, text, pbuf, dbuf []byte) {
	if len(msg) <= offCommand {
		return
	}
	switch msg[offCommand] {
	case CommandSessionSetupAndX:
		r := SessionSetupResponse(msg)
		if r.Validate() == nil {
			_, _, _ = r.Reply().Status(), r.UID(), r.Action()
			_ = r.MoreProcessingRequired()
			_ = r.SecurityBlob()
			text = r.AppendNativeOS(text[:0])
			text = r.AppendNativeLanMan(text[:0])
			_ = r.AppendPrimaryDomain(text[:0])
		}
	case CommandTreeConnectAndX:
		r := TreeConnectResponse(msg)
		if r.Validate() == nil {
			_, _, _ = r.Reply().Status(), r.TID(), r.OptionalSupport()
			_, _ = r.MaximalAccess()
			_, _ = r.GuestMaximalAccess()
			_ = r.Service()
			_ = r.AppendNativeFileSystem(text[:0])
		}
	case CommandNTCreateAndX:
		r := NTCreateResponse(msg)
		if r.Validate() == nil {
			_, _, _, _ = r.Reply().Status(), r.FID(), r.EndOfFile(), r.AllocationSize()
			_, _, _, _ = r.CreationTime(), r.LastAccessTime(), r.LastWriteTime(), r.LastChangeTime()
			_, _, _, _, _ = r.ExtFileAttributes(), r.ResourceType(), r.NMPipeStatus(), r.Directory(), r.OplockLevel()
			_ = r.CreateAction()
		}
	case CommandReadAndX:
		r := ReadAndXResponse(msg)
		if r.Validate() == nil {
			_, _, _ = r.Reply().Status(), r.Available(), r.Data()
		}
	case CommandWriteAndX:
		r := WriteAndXResponse(msg)
		if r.Validate() == nil {
			_, _ = Reply(r).Status(), r.Count()
		}
	case CommandClose:
		r := CloseResponse(msg)
		if r.Validate() == nil {
			_ = Reply(r).Status()
		}
	case CommandTransaction, CommandTransaction2:
		r := TransactionResponse(msg)
		if r.Validate(msg[offCommand]) != nil {
			return
		}
		_, _ = r.Setup(0), r.Err()
		a := TransactionAssembler{Params: pbuf[:0], Data: dbuf[:0]}
		if a.Add(r) != nil {
			return
		}
		_ = a.Done()
		var p FindReplyParams
		_ = DecodeFindReplyParams(a.Params, true, &p)
		_ = DecodeFindReplyParams(a.Params, false, &p)
		for _, level := range [2]uint16{InfoFindFileBothDirectory, InfoFindFileIDBothDirectory} {
			it := NewFindEntryIter(a.Data, level, true)
			var e FindEntry
			for it.Next(&e) {
				text = e.AppendName(text[:0], true)
			}
		}
		if f := FileAllInfo(a.Data); f.Validate() == nil {
			_, _, _ = f.EndOfFile(), f.AllocationSize(), f.FileName()
			_, _, _, _ = f.CreationTime(), f.LastAccessTime(), f.LastWriteTime(), f.LastChangeTime()
			_, _, _, _, _ = f.ExtFileAttributes(), f.NumberOfLinks(), f.DeletePending(), f.Directory(), f.EaSize()
		}
	case CommandNegotiate:
		r := NegotiateResponse(msg)
		if r.Validate() == nil {
			readAll(r)
		}
	}
}
