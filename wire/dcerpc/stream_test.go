package dcerpc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// writeChunks writes stream to r cut at cuts (ascending offsets; empty chunks are written too)
// and returns the first error.
func writeChunks(r *Reassembler, stream []byte, cuts ...int) error {
	prev := 0
	for _, c := range append(cuts, len(stream)) {
		n, err := r.Write(stream[prev:c])
		if err != nil {
			return err
		}
		if n != c-prev {
			return fmt.Errorf("Write took %d of %d bytes without an error", n, c-prev)
		}
		prev = c
	}
	return nil
}

// shareList decodes a NetrShareEnum stub into "name|type|remark" lines.
func shareList(t testing.TB, stub []byte) []string {
	t.Helper()
	var e ShareEnum
	if err := NetShareEnumResponse(stub).Decode(&e); err != nil {
		t.Fatalf("decode: %v", err)
	}
	var out []string
	var s ShareInfo1
	for e.Next(&s) {
		out = append(out, fmt.Sprintf("%s|%#x|%s", wire.DecodeUTF16LE(s.Name), s.Type, wire.DecodeUTF16LE(s.Remark)))
	}
	return out
}

// goldenShares is what Samba listed in the captured reply (testdata/README.md).
var goldenShares = []string{
	"public|0x0|Öffentlich – café ☕",
	"emoji😀|0x0|non-BMP share name",
	"hidden$|0x0|",
	"IPC$|0x80000003|IPC Service (Samba 4.17.12-Debian)",
}

// checkComplete fails t unless r holds the whole reply: done, nothing pending, every byte of a
// len-byte stream taken, stub equal to want.
func checkComplete(t *testing.T, what string, r *Reassembler, n int, want []byte) {
	t.Helper()
	if !r.Done() || r.Pending() != 0 || r.Written() != int64(n) || r.End() != nil || !bytes.Equal(r.Stub(), want) {
		t.Fatalf("%s: done %v, pending %d, written %d of %d, End %v, stub %d bytes (want %d, equal %v)",
			what, r.Done(), r.Pending(), r.Written(), n, r.End(), len(r.Stub()), len(want), bytes.Equal(r.Stub(), want))
	}
}

// TestWriteSplitGolden cuts Samba's captured NetrShareEnum reply at every byte offset, and at
// every pair of offsets whose first lies in the first 64 bytes (the headers), and checks that the joined stub, and so the share list, is the one
// the reply holds as a whole.
func TestWriteSplitGolden(t *testing.T) {
	golden := readGolden(t, "samba-4.17-netshareenum-response.bin")
	stub := Response(golden).Stub()
	if got := shareList(t, stub); !slices.Equal(got, goldenShares) {
		t.Fatalf("golden shares %q", got)
	}
	buf := make([]byte, 0, 1024)
	var r Reassembler
	for i := 0; i <= len(golden); i++ {
		r.Reset(buf, 2, 0)
		if err := writeChunks(&r, golden, i); err != nil {
			t.Fatalf("cut at %d: %v", i, err)
		}
		checkComplete(t, fmt.Sprintf("cut at %d", i), &r, len(golden), stub)
		if got := shareList(t, r.Stub()); !slices.Equal(got, goldenShares) {
			t.Fatalf("cut at %d: shares %q", i, got)
		}
		if i > 64 {
			continue // pairs of cuts: the first in the headers, the second anywhere
		}
		for j := i; j <= len(golden); j++ {
			r.Reset(buf, 2, 0)
			if err := writeChunks(&r, golden, i, j); err != nil {
				t.Fatalf("cuts at %d and %d: %v", i, j, err)
			}
			checkComplete(t, fmt.Sprintf("cuts at %d and %d", i, j), &r, len(golden), stub)
		}
	}
	// One byte at a time.
	r.Reset(buf, 2, 0)
	for i := range golden {
		if n, err := r.Write(golden[i : i+1]); n != 1 || err != nil {
			t.Fatalf("byte %d: %d %v", i, n, err)
		}
		if want := i+1 == len(golden); r.Done() != want {
			t.Fatalf("byte %d: Done %v", i, r.Done())
		}
	}
	checkComplete(t, "byte by byte", &r, len(golden), stub)
}

// TestWriteSplitFragments re-fragments the captured stub into several RESPONSE fragments and
// writes the stream cut at every offset, byte by byte and in random chunks.
func TestWriteSplitFragments(t *testing.T) {
	stub := Response(readGolden(t, "samba-4.17-netshareenum-response.bin")).Stub()
	buf := make([]byte, 0, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{150, 100, 37, 1} {
		frags := fragment(2, stub, size)
		stream := bytes.Join(frags, nil)
		var r Reassembler
		step := 1
		if size == 1 {
			step = 97 // 400 fragments: every offset would be 10 000 reassemblies of 400 fragments
		}
		for i := 0; i <= len(stream); i += step {
			r.Reset(buf, 2, 0)
			if err := writeChunks(&r, stream, i); err != nil {
				t.Fatalf("size %d, cut at %d: %v", size, i, err)
			}
			checkComplete(t, fmt.Sprintf("size %d, cut at %d", size, i), &r, len(stream), stub)
			if r.Fragments() != len(frags) {
				t.Fatalf("size %d, cut at %d: %d fragments, want %d", size, i, r.Fragments(), len(frags))
			}
		}
		for range 200 {
			var cuts []int
			for c := rng.IntN(64); c < len(stream); c += rng.IntN(300) {
				cuts = append(cuts, c)
			}
			r.Reset(buf, 2, 0)
			if err := writeChunks(&r, stream, cuts...); err != nil {
				t.Fatalf("size %d, cuts %v: %v", size, cuts, err)
			}
			checkComplete(t, fmt.Sprintf("size %d, cuts %v", size, cuts), &r, len(stream), stub)
		}
		r.Reset(buf, 2, 0)
		for i := range stream {
			if _, err := r.Write(stream[i : i+1]); err != nil {
				t.Fatalf("size %d, byte %d: %v", size, i, err)
			}
		}
		checkComplete(t, fmt.Sprintf("size %d, byte by byte", size), &r, len(stream), stub)
		if got := shareList(t, r.Stub()); !slices.Equal(got, goldenShares) {
			t.Fatalf("size %d: shares %q", size, got)
		}
	}
}

// TestWriteLongListSplit is the shape of a byte-mode pipe with a long share list: 700 shares
// in 4280-byte fragments, the first 64 KiB in the IOCTL reply (ending inside a fragment), the
// rest in READs of 64 KiB.
func TestWriteLongListSplit(t *testing.T) {
	shares := make([]tshare, 700)
	for i := range shares {
		shares[i] = tshare{name: sp(fmt.Sprintf("share%04d", i)), remark: sp("a remark long enough to make the share list span fragments")}
	}
	stub := buildShareEnum(shareEnumStub{level: 1, shares: shares, total: 700, werr: 0})
	frags := fragment(2, stub, DefaultMaxFrag-responseFixed)
	stream := bytes.Join(frags, nil)
	if len(stream) <= 64<<10 || (64<<10)%DefaultMaxFrag == 0 {
		t.Fatalf("a stream of %d bytes is not cut inside a fragment at 64 KiB", len(stream))
	}
	var cuts []int
	for c := 64 << 10; c < len(stream); c += 64 << 10 {
		cuts = append(cuts, c)
	}
	var r Reassembler
	r.Reset(make([]byte, 0, 8<<10), 2, 2<<20)
	if err := writeChunks(&r, stream, cuts...); err != nil {
		t.Fatal(err)
	}
	checkComplete(t, "700 shares", &r, len(stream), stub)
	got := shareList(t, r.Stub())
	if len(got) != 700 || got[699] != "share0699|0x0|a remark long enough to make the share list span fragments" {
		t.Fatalf("%d shares, last %q", len(got), got[len(got)-1])
	}
}

func TestWriteErrors(t *testing.T) {
	golden := readGolden(t, "samba-4.17-netshareenum-response.bin")
	stub := Response(golden).Stub()
	frags := fragment(2, stub, 100)
	stream := bytes.Join(frags, nil)
	buf := make([]byte, 0, 1024)
	patched := func(b []byte, off int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[off:], v)
		return b
	}
	badPad := withAuth(buildResponse(2, 3, 16, []byte("0123456789abcdef")), 4, 16)
	badPad[len(badPad)-16-secTrailerSize+2] = 200 // sec_trailer.auth_pad_length
	for _, c := range []struct {
		name   string
		stream []byte
		cuts   []int
		limit  int
		want   error
		text   string
	}{
		{"bytes after the last fragment", append(bytes.Clone(golden), 5), nil, 0, wire.ErrMalformed, "1 bytes after the last fragment"},
		{"bytes after the last fragment, next chunk", append(bytes.Clone(golden), 5, 0), []int{len(golden)}, 0, wire.ErrMalformed, "2 bytes after"},
		{"a second reply after the last fragment", append(bytes.Clone(golden), golden...), []int{500}, 0, wire.ErrMalformed, "after the last fragment"},
		{"version across a cut", patched(golden, 1, 1), []int{1}, 0, wire.ErrBadProtocol, "version 5.1"},
		{"frag_length below the header", patched(golden, 8, 15, 0), []int{9}, 0, wire.ErrMalformed, "frag_length 15"},
		{"big-endian drep in a split fragment", patched(golden, 4, 0x00), []int{200}, 0, ErrUnsupportedDataRep, "big-endian"},
		{"call_id in the second fragment", patched(stream, len(frags[0])+12, 9), []int{len(frags[0]) + 30}, 0, wire.ErrMalformed, "call_id 9"},
		{"FIRST_FRAG on the second fragment", patched(stream, len(frags[0])+3, FlagFirstFrag), []int{len(frags[0]) + 2}, 0, wire.ErrMalformed, "FIRST_FRAG"},
		{"not a response", buildBindAck(2, "", nil), []int{20}, 0, wire.ErrBadCommand, "bind_ack"},
		{"limit across cuts", stream, []int{50, 150, 250}, 250, wire.ErrTooLarge, "exceeds 250"},
		{"auth_pad_length past the body", badPad, []int{30}, 0, wire.ErrBadOffset, "auth_pad_length 200"},
	} {
		var r Reassembler
		r.Reset(buf, 2, c.limit)
		err := writeChunks(&r, c.stream, c.cuts...)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.want, c.text)
			continue
		}
		// The error sticks: the stream position is lost.
		if n, again := r.Write(golden); n != 0 || again != err || r.End() != err {
			t.Errorf("%s: Write after the error: %d %v, End %v", c.name, n, again, r.End())
		}
	}

	// A version error is found as soon as the first 10 bytes are there, not after frag_length.
	var r Reassembler
	r.Reset(buf, 2, 0)
	bad := patched(golden, 0, 4)
	if _, err := r.Write(bad[:9]); err != nil {
		t.Fatalf("9 bytes: %v", err)
	}
	if n, err := r.Write(bad[9:10]); n != 1 || !errors.Is(err, wire.ErrBadProtocol) {
		t.Fatalf("10th byte: %d %v", n, err)
	}

	// A FAULT cut in two ends the call with a *FaultError.
	r.Reset(buf, 2, 0)
	fault := buildFault(2, FaultAccessDenied)
	var fe *FaultError
	if err := writeChunks(&r, append(bytes.Clone(frags[0]), fault...), len(frags[0])+5); !errors.As(err, &fe) || fe.Status != FaultAccessDenied || !r.Done() {
		t.Fatalf("split fault: %v, done %v", err, r.Done())
	}

	// Add refuses while Write holds part of a fragment.
	r.Reset(buf, 2, 0)
	if _, err := r.Write(golden[:100]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Add(golden); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("Add with a pending fragment: %v", err)
	}
}

// TestWriteEnd checks what End says at each point of an unfinished reply.
func TestWriteEnd(t *testing.T) {
	stub := Response(readGolden(t, "samba-4.17-netshareenum-response.bin")).Stub()
	frags := fragment(2, stub, 100)
	stream := bytes.Join(frags, nil)
	buf := make([]byte, 0, 1024)
	for _, c := range []struct {
		upto int
		text string
	}{
		{0, "ended after 0 bytes: 0 fragments, none of them the last"},
		{4, "ended after 4 bytes: 0 fragments, then 4 bytes of a fragment header"},
		{50, fmt.Sprintf("ended after 50 bytes: 0 fragments, then 50 bytes of a %d-byte fragment", len(frags[0]))},
		{len(frags[0]), fmt.Sprintf("ended after %d bytes: 1 fragments, none of them the last", len(frags[0]))},
		{len(frags[0]) + 12, fmt.Sprintf("ended after %d bytes: 1 fragments, then 12 bytes of a %d-byte fragment", len(frags[0])+12, len(frags[1]))},
		{len(stream) - 1, fmt.Sprintf("3 fragments, then %d bytes of a %d-byte fragment", len(frags[3])-1, len(frags[3]))},
	} {
		var r Reassembler
		r.Reset(buf, 2, 0)
		if _, err := r.Write(stream[:c.upto]); err != nil {
			t.Fatal(err)
		}
		err := r.End()
		if !errors.Is(err, wire.ErrShort) || !strings.Contains(err.Error(), c.text) || r.Done() {
			t.Errorf("after %d bytes: End %v, want %q", c.upto, err, c.text)
		}
		if _, err := r.Write(stream[c.upto:]); err != nil || r.End() != nil {
			t.Errorf("after %d bytes, then the rest: %v, End %v", c.upto, err, r.End())
		}
	}
}

// TestWriteAllocs: a reused Reassembler joins a reply cut inside fragments without allocating.
func TestWriteAllocs(t *testing.T) {
	stub := Response(readGolden(t, "samba-4.17-netshareenum-response.bin")).Stub()
	stream := bytes.Join(fragment(2, stub, 100), nil)
	buf := make([]byte, 0, 1024)
	var r Reassembler
	if n := testing.AllocsPerRun(100, func() {
		r.Reset(buf, 2, 0)
		for _, chunk := range [][]byte{stream[:7], stream[7:130], stream[130:131], stream[131:300], stream[300:]} {
			if _, err := r.Write(chunk); err != nil {
				panic(err)
			}
		}
		if !r.Done() {
			panic("not done")
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// errClass names the sentinel an error from Write wraps, so that two errors for the same
// stream can be compared whatever their wording.
func errClass(err error) string {
	var fe *FaultError
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, &fe):
		return fmt.Sprintf("fault %#x", fe.Status)
	}
	for _, s := range []error{wire.ErrShort, wire.ErrMalformed, wire.ErrTooLarge, wire.ErrBadProtocol, wire.ErrBadCommand, wire.ErrBadOffset, ErrUnsupportedDataRep} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "unclassified: " + err.Error()
}

// FuzzReassemblerWrite writes a reply stream to a Reassembler whole and cut into chunks (each
// byte of cuts is the next chunk's length, 0 an empty Write; the rest is one chunk) and checks
// that the cutting changes nothing: same error class, same completion, same stub, every byte
// taken. A reply that completes must also be what Add joins from the whole stream.
func FuzzReassemblerWrite(f *testing.F) {
	_, resp, stub := fuzzSeeds(f)
	f.Add(resp, []byte{200})
	f.Add(resp, []byte{0, 1, 9, 1, 6, 8})
	f.Add(bytes.Join(fragment(2, stub, 100), nil), []byte{124, 10, 255, 3})
	f.Add(bytes.Join(fragment(2, stub, 7), nil), []byte{5, 5, 5, 5, 5, 5, 5, 5})
	f.Add(append(fragment(2, stub, 200)[0], buildFault(2, FaultAccessDenied)...), []byte{230, 3})
	f.Add(append(bytes.Clone(resp), resp...), []byte{255, 255})
	f.Add(withAuth(buildResponse(2, 3, 16, []byte("0123456789abcdef")), 4, 16), []byte{17})
	const limit = 1024
	bufA := make([]byte, 0, limit)
	bufB := make([]byte, 0, limit)
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		var whole, chunked Reassembler
		whole.Reset(bufA, 2, limit)
		chunked.Reset(bufB, 2, limit)
		nWhole, errWhole := whole.Write(stream)
		var errChunked error
		off := 0
		for i := 0; errChunked == nil && off <= len(stream); i++ {
			end := len(stream)
			if i < len(cuts) {
				end = min(off+int(cuts[i]), len(stream))
			}
			var n int
			n, errChunked = chunked.Write(stream[off:end])
			if errChunked == nil && n != end-off {
				t.Fatalf("chunk %d: took %d of %d bytes without an error", i, n, end-off)
			}
			if chunked.Pending() > MaxFragment || len(chunked.Stub()) > limit {
				t.Fatalf("chunk %d: %d bytes pending, stub %d", i, chunked.Pending(), len(chunked.Stub()))
			}
			if off == len(stream) {
				break
			}
			off = end
		}
		if errClass(errWhole) != errClass(errChunked) {
			t.Fatalf("whole: %v; chunked (%v): %v", errWhole, cuts, errChunked)
		}
		if whole.Done() != chunked.Done() || whole.Fragments() != chunked.Fragments() || !bytes.Equal(whole.Stub(), chunked.Stub()) {
			t.Fatalf("whole: done %v, %d fragments, stub %d; chunked: done %v, %d fragments, stub %d",
				whole.Done(), whole.Fragments(), len(whole.Stub()), chunked.Done(), chunked.Fragments(), len(chunked.Stub()))
		}
		if (whole.End() == nil) != (whole.Done() && errWhole == nil) || (chunked.End() == nil) != (whole.End() == nil) {
			t.Fatalf("End: whole %v, chunked %v, done %v, error %v", whole.End(), chunked.End(), whole.Done(), errWhole)
		}
		if errWhole != nil {
			return
		}
		if nWhole != len(stream) || whole.Written() != int64(len(stream)) || chunked.Written() != whole.Written() || chunked.Pending() != whole.Pending() {
			t.Fatalf("took %d of %d bytes (written %d, chunked %d), pending %d and %d",
				nWhole, len(stream), whole.Written(), chunked.Written(), whole.Pending(), chunked.Pending())
		}
		if !whole.Done() {
			return
		}
		// A complete reply is what Add joins fragment by fragment from the whole stream.
		var ref Reassembler
		ref.Reset(nil, 2, limit)
		for rest := stream; len(rest) > 0; {
			n, _, err := ref.Add(rest)
			if err != nil {
				t.Fatalf("Write joined a reply that Add rejects: %v", err)
			}
			rest = rest[n:]
		}
		if !ref.Done() || !bytes.Equal(ref.Stub(), whole.Stub()) {
			t.Fatalf("Add: done %v, stub %d bytes; Write: stub %d bytes", ref.Done(), len(ref.Stub()), len(whole.Stub()))
		}
		checkShareEnum(t, whole.Stub())
	})
}
