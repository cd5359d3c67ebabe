package smb1

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// mutate returns a copy of a golden capture changed by fn.
func mutate(t *testing.T, step string, fn func(b []byte) []byte) []byte {
	t.Helper()
	return fn(bytes.Clone(sessionGolden(t, step)))
}

func TestHostileReplies(t *testing.T) {
	bc := func(b []byte) int { return HeaderSize + 1 + 2*int(b[HeaderSize]) } // ByteCount offset
	for _, c := range []struct {
		name string
		msg  []byte
		val  func([]byte) error
		want error
	}{
		{"andx points backwards", mutate(t, "session-setup-ext", func(b []byte) []byte {
			b[offWords] = CommandTreeConnectAndX
			le.PutUint16(b[offWords+2:], HeaderSize)
			return b
		}), func(b []byte) error { return SessionSetupResponse(b).Validate() }, wire.ErrBadOffset},
		{"andx points into its own data", mutate(t, "session-setup-ext", func(b []byte) []byte {
			b[offWords] = CommandTreeConnectAndX
			le.PutUint16(b[offWords+2:], uint16(len(b)-4))
			return b
		}), func(b []byte) error { return SessionSetupResponse(b).Validate() }, wire.ErrBadOffset},
		{"andx past the end", mutate(t, "tree-connect-disk", func(b []byte) []byte {
			b[offWords] = CommandNTCreateAndX
			le.PutUint16(b[offWords+2:], uint16(len(b)))
			return b
		}), func(b []byte) error { return TreeConnectResponse(b).Validate() }, wire.ErrBadOffset},
		{"byte count past the end", mutate(t, "tree-connect-disk", func(b []byte) []byte {
			le.PutUint16(b[bc(b):], le.Uint16(b[bc(b):])+1)
			return b
		}), func(b []byte) error { return TreeConnectResponse(b).Validate() }, wire.ErrBadOffset},
		{"word count past the end", mutate(t, "nt-create", func(b []byte) []byte {
			b[HeaderSize] = 0xff
			return b
		}), func(b []byte) error { return NTCreateResponse(b).Validate() }, wire.ErrShort},
		{"security blob longer than the data", mutate(t, "session-setup-challenge", func(b []byte) []byte {
			le.PutUint16(b[offWords+6:], 0xffff)
			return b
		}), func(b []byte) error { return SessionSetupResponse(b).Validate() }, wire.ErrBadOffset},
		{"session setup word count 5", plainReply(CommandSessionSetupAndX, 0, 5),
			func(b []byte) error { return SessionSetupResponse(b).Validate() }, wire.ErrBadStructureSize},
		{"nt create too few words with success", plainReply(CommandNTCreateAndX, 0, 10),
			func(b []byte) error { return NTCreateResponse(b).Validate() }, wire.ErrBadStructureSize},
		{"transaction with no parameter words and success", plainReply(CommandTransaction, 0, 0),
			func(b []byte) error { return TransactionResponse(b).Validate(CommandTransaction) }, wire.ErrBadStructureSize},
		{"wrong command", mutate(t, "close", func(b []byte) []byte { b[offCommand] = CommandReadAndX; return b }),
			func(b []byte) error { return CloseResponse(b).Validate() }, wire.ErrBadCommand},
		{"not a reply", mutate(t, "close", func(b []byte) []byte { b[offFlags] &^= FlagsReply; return b }),
			func(b []byte) error { return CloseResponse(b).Validate() }, wire.ErrMalformed},
		{"read data past the end", mutate(t, "read-andx", func(b []byte) []byte {
			le.PutUint16(b[offWords+10:], 0x20) // DataLength 32 > the 16 bytes there
			return b
		}), func(b []byte) error { return ReadAndXResponse(b).Validate() }, wire.ErrBadOffset},
		{"read data high past the end", mutate(t, "read-andx", func(b []byte) []byte {
			le.PutUint16(b[offWords+14:], 0x100) // DataLengthHigh: 16 MiB
			return b
		}), func(b []byte) error { return ReadAndXResponse(b).Validate() }, wire.ErrBadOffset},
		{"read data inside the header", mutate(t, "read-andx", func(b []byte) []byte {
			le.PutUint16(b[offWords+12:], 4)
			return b
		}), func(b []byte) error { return ReadAndXResponse(b).Validate() }, wire.ErrBadOffset},
		{"transaction data offset out of range", mutate(t, "transact-nmpipe", func(b []byte) []byte {
			le.PutUint16(b[offWords+14:], uint16(len(b)-10))
			return b
		}), func(b []byte) error { return TransactionResponse(b).Validate(CommandTransaction) }, wire.ErrBadOffset},
		{"transaction parameter offset before the data", mutate(t, "find-first2", func(b []byte) []byte {
			le.PutUint16(b[offWords+8:], 8)
			return b
		}), func(b []byte) error { return TransactionResponse(b).Validate(CommandTransaction2) }, wire.ErrBadOffset},
		{"transaction displacement past the total", mutate(t, "transact-nmpipe", func(b []byte) []byte {
			le.PutUint16(b[offWords+16:], 1)
			return b
		}), func(b []byte) error { return TransactionResponse(b).Validate(CommandTransaction) }, wire.ErrBadOffset},
		{"transaction setup count over the cap", mutate(t, "transact-nmpipe", func(b []byte) []byte {
			b[offWords+18] = 200
			return b
		}), func(b []byte) error { return TransactionResponse(b).Validate(CommandTransaction) }, wire.ErrBadStructureSize},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.val(c.msg); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// plainReply builds a reply to cmd with the given status, wc zero words and no data.
func plainReply(cmd byte, status uint32, wc int) []byte {
	h := Header{Command: cmd, Status: Status(status), Flags: FlagsReply, Flags2: Flags2NTStatus}
	b := append(h.AppendTo(nil), byte(wc))
	b = append(b, make([]byte, 2*wc)...)
	if wc >= 2 {
		b[offWords] = CommandNoAndX
	}
	return append(b, 0, 0)
}

func TestErrorReplies(t *testing.T) {
	// An error status with fewer words than the success form is a valid reply whose
	// accessors return zero values, for every response type.
	for _, cmd := range []byte{CommandSessionSetupAndX, CommandTreeConnectAndX, CommandNTCreateAndX, CommandReadAndX,
		CommandWriteAndX, CommandTransaction, CommandTransaction2, CommandClose} {
		b := plainReply(cmd, 0xc0000022, 0)
		var err error
		switch cmd {
		case CommandSessionSetupAndX:
			r := SessionSetupResponse(b)
			err = r.Validate()
			if r.SecurityBlob() != nil || r.NativeOS() != nil || r.Action() != 0 {
				t.Error("session setup error reply has fields")
			}
		case CommandTreeConnectAndX:
			r := TreeConnectResponse(b)
			err = r.Validate()
			if r.Service() != nil || r.OptionalSupport() != 0 {
				t.Error("tree connect error reply has fields")
			}
		case CommandNTCreateAndX:
			r := NTCreateResponse(b)
			err = r.Validate()
			if r.FID() != 0 || r.EndOfFile() != 0 || r.Directory() {
				t.Error("nt create error reply has fields")
			}
		case CommandReadAndX:
			r := ReadAndXResponse(b)
			err = r.Validate()
			if r.Data() != nil || r.DataLength() != 0 {
				t.Error("read error reply has data")
			}
		case CommandWriteAndX:
			r := WriteAndXResponse(b)
			err = r.Validate()
			if r.Count() != 0 {
				t.Error("write error reply has a count")
			}
		case CommandTransaction, CommandTransaction2:
			r := TransactionResponse(b)
			err = r.Validate(cmd)
			if r.Data() != nil || r.Parameters() != nil || r.Setup(0) != 0 {
				t.Error("transaction error reply has fields")
			}
		case CommandClose:
			err = CloseResponse(b).Validate()
		}
		if err != nil {
			t.Errorf("command %#x: %v", cmd, err)
		}
		if Reply(b).Err() != wire.StatusAccessDenied {
			t.Errorf("command %#x: status %v", cmd, Reply(b).Err())
		}
	}
	// A DOS error (no Flags2NTStatus) reads as a DOSError.
	b := plainReply(CommandClose, 0x00060001, 0)
	le.PutUint16(b[offFlags2:], 0)
	var de DOSError
	if err := Reply(b).Err(); !errors.As(err, &de) || de.Class != ErrClassDOS || de.Code != 6 {
		t.Fatalf("dos error: %v", err)
	}
}

func TestAndXForward(t *testing.T) {
	// A chained reply whose next block starts right after this one's data is accepted; only
	// the first command is read.
	b := mutate(t, "tree-connect-ipc", func(b []byte) []byte {
		b[offWords] = CommandNTCreateAndX
		le.PutUint16(b[offWords+2:], uint16(len(b)))
		return append(b, 0, 0, 0)
	})
	r := TreeConnectResponse(b)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Reply().AndXCommand() != CommandNTCreateAndX || string(r.Service()) != "IPC" {
		t.Fatalf("andx %#x service %q", r.Reply().AndXCommand(), r.Service())
	}
}

// transFragment builds a TRANSACTION reply fragment.
func transFragment(totalP, totalD int, p []byte, pDisp int, d []byte, dDisp int) TransactionResponse {
	h := Header{Command: CommandTransaction, Flags: FlagsReply, Flags2: Flags2NTStatus | Flags2Unicode}
	b := h.AppendTo(nil)
	b = append(b, wcTransReplyFixed)
	start := HeaderSize + 1 + 2*wcTransReplyFixed + 2
	pOff := (start + 3) &^ 3
	dOff := (pOff + len(p) + 3) &^ 3
	for _, v := range []int{totalP, totalD, 0, len(p), pOff, pDisp, len(d), dOff, dDisp} {
		b = le.AppendUint16(b, uint16(v))
	}
	b = append(b, 0, 0) // SetupCount, Reserved2
	b = le.AppendUint16(b, uint16(dOff+len(d)-start))
	for len(b) < pOff {
		b = append(b, 0)
	}
	b = append(b, p...)
	for len(b) < dOff {
		b = append(b, 0)
	}
	return append(b, d...)
}

func TestTransactionAssembler(t *testing.T) {
	whole := []byte("0123456789abcdefghij")
	frags := []TransactionResponse{
		transFragment(2, 20, []byte{7, 8}, 0, whole[:8], 0),
		transFragment(2, 20, nil, 0, whole[12:], 12),
		transFragment(2, 20, nil, 0, whole[8:12], 8),
	}
	var pb [16]byte
	var db [64]byte
	a := TransactionAssembler{Params: pb[:0], Data: db[:0]}
	for i, f := range frags {
		if err := f.Validate(CommandTransaction); err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if a.Done() {
			t.Fatalf("done before fragment %d", i)
		}
		if err := a.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Done() || !bytes.Equal(a.Data, whole) || !bytes.Equal(a.Params, []byte{7, 8}) {
		t.Fatalf("done %v data %q params % x", a.Done(), a.Data, a.Params)
	}
	// Totals over the caller's buffer.
	small := TransactionAssembler{Data: make([]byte, 0, 10)}
	if err := small.Add(frags[0]); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	// Totals that grow after the first fragment.
	g := TransactionAssembler{Params: pb[:0], Data: db[:0]}
	if err := g.Add(transFragment(2, 10, []byte{1, 2}, 0, whole[:4], 0)); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(transFragment(2, 20, nil, 0, whole[4:8], 4)); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("growing totals: %v", err)
	}
	// Shrinking totals are allowed (MS-CIFS), and a fragment outside them is not.
	s := TransactionAssembler{Params: pb[:0], Data: db[:0]}
	if err := s.Add(transFragment(0, 20, nil, 0, whole[:4], 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(transFragment(0, 8, nil, 0, whole[4:8], 4)); err != nil || !s.Done() || string(s.Data) != "01234567" {
		t.Fatalf("shrunk: %v done %v %q", err, s.Done(), s.Data)
	}
}

// findEntry builds one SMB_FIND_FILE_BOTH_DIRECTORY_INFO entry.
func findEntry(next uint32, name string) []byte {
	b := make([]byte, findBothFixed)
	le.PutUint32(b, next)
	n := wire.AppendUTF16LE(nil, name)
	le.PutUint32(b[60:], uint32(len(n)))
	return append(b, n...)
}

func TestFindEntryIterHostile(t *testing.T) {
	ok := append(findEntry(uint32(findBothFixed+2), "a"), findEntry(0, "\U0001F600")...)
	it := NewFindEntryIter(ok, InfoFindFileBothDirectory, true)
	var e FindEntry
	var names []string
	for it.Next(&e) {
		names = append(names, string(e.AppendName(nil, true)))
	}
	if it.Err() != nil || len(names) != 2 || names[1] != "\U0001F600" {
		t.Fatalf("names %q, %v", names, it.Err())
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"next entry offset smaller than an entry", findEntry(1, "a"), wire.ErrBadOffset},
		{"next entry offset past the data", findEntry(4096, "a"), wire.ErrBadOffset},
		{"name past the entry", func() []byte { b := findEntry(0, "a"); le.PutUint32(b[60:], 100); return b }(), wire.ErrBadOffset},
		{"name length over the cap", func() []byte { b := findEntry(0, "a"); le.PutUint32(b[60:], 1<<31); return b }(), wire.ErrBadOffset},
		{"truncated entry", findEntry(0, "a")[:50], wire.ErrShort},
	} {
		it := NewFindEntryIter(c.data, InfoFindFileBothDirectory, true)
		n := 0
		for it.Next(&e) {
			n++
		}
		if !errors.Is(it.Err(), c.want) {
			t.Errorf("%s: %d entries, %v, want %v", c.name, n, it.Err(), c.want)
		}
	}
	if it := NewFindEntryIter(ok, 0x0101, true); it.Next(&e) || !errors.Is(it.Err(), wire.ErrMalformed) {
		t.Fatalf("unknown level: %v", it.Err())
	}
	// A chain of minimal entries ends within len/fixed steps.
	var chain []byte
	for range 100 {
		chain = append(chain, findEntry(findBothFixed, "")...)
	}
	it = NewFindEntryIter(chain, InfoFindFileBothDirectory, true)
	n := 0
	for it.Next(&e) {
		n++
	}
	if n != 100 || it.Err() != nil {
		t.Fatalf("chain: %d entries, %v", n, it.Err())
	}
	if err := FileAllInfo(make([]byte, 71)).Validate(); !errors.Is(err, wire.ErrShort) {
		t.Fatalf("short all info: %v", err)
	}
	b := make([]byte, 80)
	le.PutUint32(b[68:], 10)
	if err := FileAllInfo(b).Validate(); !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("all info name past the end: %v", err)
	}
}

// TestPartialErrorReplies: an error reply may carry some words but fewer than the success
// form; the offsets in them are not checked, so the accessors must not use them (found by
// FuzzReadWriteCloseResponse and FuzzTreeConnectResponse).
func TestPartialErrorReplies(t *testing.T) {
	rd := plainReply(CommandReadAndX, 0xc0000022, 8)
	le.PutUint16(rd[offWords+10:], 0x1000) // DataLength
	le.PutUint16(rd[offWords+12:], 0x40)   // DataOffset
	if r := ReadAndXResponse(rd); r.Validate() != nil || r.Data() != nil || r.DataLength() != 0 {
		t.Fatalf("read: %v data %d", r.Validate(), len(r.Data()))
	}
	tr := plainReply(CommandTransaction, 0xc0000022, 8)
	le.PutUint16(tr[offWords+6:], 0x1000)
	le.PutUint16(tr[offWords+8:], 0x40)
	le.PutUint16(tr[offWords+10:], 0x2000) // ParameterDisplacement
	if r := TransactionResponse(tr); r.Validate(CommandTransaction) != nil || r.Parameters() != nil || r.Data() != nil ||
		r.ParameterDisplacement() != 0 || r.TotalParameterCount() != 0 {
		t.Fatalf("transaction: %v", r.Validate(CommandTransaction))
	}
	tc := plainReply(CommandTreeConnectAndX, 0xc0000022, 2)
	tc[offWords] = CommandNTCreateAndX
	le.PutUint16(tc[offWords+2:], 0x3030)
	if err := TreeConnectResponse(tc).Validate(); !errors.Is(err, wire.ErrBadOffset) {
		t.Fatalf("andx of an error reply: %v", err)
	}
}
