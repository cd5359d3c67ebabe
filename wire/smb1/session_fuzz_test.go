package smb1

import (
	"testing"
	"unicode/utf8"
)

// addSessionSeeds adds the golden captures whose command is one of cmds.
func addSessionSeeds(f *testing.F, cmds ...byte) {
	for _, step := range sessionGoldenSteps {
		b := sessionGolden(f, step)
		for _, c := range cmds {
			if b[offCommand] == c {
				f.Add(b)
			}
		}
	}
}

// checkText fails when decoded text is not UTF-8.
func checkText(t *testing.T, what string, b []byte) {
	if !utf8.Valid(b) {
		t.Fatalf("%s not UTF-8: %q", what, b)
	}
}

func FuzzSessionSetupResponse(f *testing.F) {
	addSessionSeeds(f, CommandSessionSetupAndX)
	f.Add(plainReply(CommandSessionSetupAndX, 0xc000006d, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := SessionSetupResponse(b)
		if r.Validate() != nil {
			return
		}
		for _, v := range [][]byte{r.SecurityBlob(), r.NativeOS(), r.NativeLanMan(), r.PrimaryDomain(), Reply(r).Bytes()} {
			if !within(v, b) {
				t.Fatalf("view of %d bytes outside the message", len(v))
			}
		}
		if r.Extended() && len(r.SecurityBlob()) > len(Reply(r).Bytes()) {
			t.Fatal("blob longer than the data")
		}
		checkText(t, "native os", r.AppendNativeOS(nil))
		checkText(t, "native lanman", r.AppendNativeLanMan(nil))
		checkText(t, "primary domain", r.AppendPrimaryDomain(nil))
		_, _, _ = r.Err(), r.Guest(), r.MoreProcessingRequired()
	})
}

func FuzzTreeConnectResponse(f *testing.F) {
	addSessionSeeds(f, CommandTreeConnectAndX)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := TreeConnectResponse(b)
		if r.Validate() != nil {
			return
		}
		if !within(r.Service(), b) || !within(r.NativeFileSystem(), b) {
			t.Fatal("string outside the message")
		}
		if c := r.Reply().AndXCommand(); c != CommandNoAndX && int(r.Reply().AndXOffset()) >= len(b) {
			t.Fatalf("andx offset %d accepted in %d bytes", r.Reply().AndXOffset(), len(b))
		}
		checkText(t, "native fs", r.AppendNativeFileSystem(nil))
		_, _ = r.MaximalAccess()
		_, _ = r.GuestMaximalAccess()
		_, _, _ = r.Err(), r.TID(), r.OptionalSupport()
	})
}

func FuzzNTCreateResponse(f *testing.F) {
	addSessionSeeds(f, CommandNTCreateAndX)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NTCreateResponse(b)
		if r.Validate() != nil {
			return
		}
		decodeAll(b, nil, nil, nil)
	})
}

func FuzzReadWriteCloseResponse(f *testing.F) {
	addSessionSeeds(f, CommandReadAndX, CommandWriteAndX, CommandClose)
	f.Fuzz(func(t *testing.T, b []byte) {
		if r := ReadAndXResponse(b); r.Validate() == nil {
			d := r.Data()
			if !within(d, b) || len(d) != int(r.DataLength()) {
				t.Fatalf("read data %d bytes, length %d", len(d), r.DataLength())
			}
		}
		if r := WriteAndXResponse(b); r.Validate() == nil {
			_, _ = r.Count(), r.Err()
		}
		if r := CloseResponse(b); r.Validate() == nil {
			_ = r.Err()
		}
	})
}

func FuzzTransactionResponse(f *testing.F) {
	addSessionSeeds(f, CommandTransaction, CommandTransaction2)
	f.Add([]byte(transFragment(2, 20, []byte{7, 8}, 0, []byte("01234567"), 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, cmd := range [2]byte{CommandTransaction, CommandTransaction2} {
			r := TransactionResponse(b)
			if r.Validate(cmd) != nil {
				continue
			}
			p, d := r.Parameters(), r.Data()
			if !within(p, b) || !within(d, b) {
				t.Fatal("fragment outside the message")
			}
			if int(r.ParameterDisplacement())+len(p) > int(r.TotalParameterCount()) ||
				int(r.DataDisplacement())+len(d) > int(r.TotalDataCount()) {
				t.Fatal("fragment outside its totals")
			}
			var pb, db [1 << 16]byte
			decodeAll(b, nil, pb[:0], db[:0])
			// Adding the same fragment twice never grows the buffers or panics.
			a := TransactionAssembler{Params: pb[:0], Data: db[:0]}
			if a.Add(r) == nil {
				_ = a.Add(r)
				if len(a.Params) > int(r.TotalParameterCount()) || len(a.Data) > int(r.TotalDataCount()) {
					t.Fatal("assembled more than the totals")
				}
			}
		}
	})
}

func FuzzFindEntries(f *testing.F) {
	for _, step := range []string{"find-first2", "find-next2", "find-next2-end"} {
		f.Add(TransactionResponse(sessionGolden(f, step)).Data(), uint16(InfoFindFileBothDirectory), true)
	}
	f.Add(findEntry(0, "\U0001F600"), uint16(InfoFindFileIDBothDirectory), true)
	f.Add(TransactionResponse(sessionGolden(f, "query-path-info")).Data(), uint16(InfoQueryFileAllInfo), true)
	f.Fuzz(func(t *testing.T, b []byte, level uint16, unicode bool) {
		it := NewFindEntryIter(b, level, unicode)
		var e FindEntry
		n := 0
		for it.Next(&e) {
			n++
			if n > len(b)/findBothFixed {
				t.Fatalf("%d entries in %d bytes", n, len(b))
			}
			if !within(e.Name, b) || !within(e.ShortName, b) || len(e.Name) > MaxFindNameLen {
				t.Fatal("name outside the data")
			}
			checkText(t, "name", e.AppendName(nil, unicode))
		}
		if fi := FileAllInfo(b); fi.Validate() == nil {
			if !within(fi.FileName(), b) {
				t.Fatal("all info name outside the data")
			}
			_, _ = fi.EndOfFile(), fi.Directory()
		}
		var p FindReplyParams
		_ = DecodeFindReplyParams(b, unicode, &p)
	})
}
