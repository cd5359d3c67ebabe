package dcerpc

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"github.com/smbsweep/smbsweep/wire"
)

// NDR20 (C706 chapter 14) as used here: little-endian, every primitive aligned to its size
// relative to the start of the stub, unique pointers as a 4-byte referent ID (0 = NULL) whose
// pointee is deferred to after the structure that embeds it.

// ndrReader walks NDR20 stub data. Offsets are relative to the start of the stub, which the
// RESPONSE header (24 bytes) keeps 8-aligned within the PDU.
type ndrReader struct {
	b   []byte
	off int
}

// take advances rd past size bytes at the next multiple of align (a power of two) and returns
// their offset, or, when they run past the end of the stub, the offset and false, leaving rd
// where it was (the caller's error is short). It is inlined, and the constant align and size
// of its callers fold away.
func (r *ndrReader) take(align, size int) (at int, ok bool) {
	at = (r.off + align - 1) &^ (align - 1)
	if at+size > len(r.b) {
		return at, false
	}
	r.off = at + size
	return at, true
}

// short is the error of a read at offset at that runs past the end of the stub.
func (r *ndrReader) short(what string, at int) error {
	return fmt.Errorf("%s at %d: stub of %d bytes: %w", what, at, len(r.b), wire.ErrShort)
}

// u32 reads an aligned uint32.
func (r *ndrReader) u32(what string) (uint32, error) {
	at, ok := r.take(4, 4)
	if !ok {
		return 0, r.short(what, at)
	}
	return binary.LittleEndian.Uint32(r.b[at:]), nil
}

// wstring reads a conformant varying string of wchar_t ([string] wchar_t*, C706 14.3.3.4 and
// 14.3.4.2): maximum count, offset, actual count, then actual count UTF-16 code units. It
// requires offset 0, actual count <= maximum count <= maxChars, and returns the code units as
// UTF-16LE bytes without one terminating NUL (a view into the stub, capacity-limited).
func (r *ndrReader) wstring(what string, maxChars uint32) ([]byte, error) {
	s, err := r.wchars(what, maxChars)
	if err != nil {
		return nil, err
	}
	n := len(s)
	if n >= 2 && s[n-2] == 0 && s[n-1] == 0 {
		s = s[:n-2]
	}
	return s, nil
}

// wchars reads a conformant varying array of wchar_t (C706 14.3.3.4): maximum count, offset,
// actual count, then actual count UTF-16 code units. It requires offset 0 and actual count <=
// maximum count <= maxChars, and returns the code units as UTF-16LE bytes (a view into the
// stub, capacity-limited).
func (r *ndrReader) wchars(what string, maxChars uint32) ([]byte, error) {
	maxCount, err := r.u32(what)
	if err != nil {
		return nil, err
	}
	offset, err := r.u32(what)
	if err != nil {
		return nil, err
	}
	actual, err := r.u32(what)
	if err != nil {
		return nil, err
	}
	switch {
	case maxCount > maxChars:
		return nil, fmt.Errorf("%s: maximum count %d > %d: %w", what, maxCount, maxChars, wire.ErrTooLarge)
	case offset != 0:
		return nil, fmt.Errorf("%s: offset %d: %w", what, offset, wire.ErrMalformed)
	case actual > maxCount:
		return nil, fmt.Errorf("%s: actual count %d > maximum count %d: %w", what, actual, maxCount, wire.ErrMalformed)
	}
	n := 2 * int(actual)
	if r.off+n > len(r.b) {
		return nil, fmt.Errorf("%s: %d characters at %d: stub of %d bytes: %w", what, actual, r.off, len(r.b), wire.ErrBadOffset)
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

// utf16Units returns the number of UTF-16 code units of s, cut at a character boundary so as
// not to exceed maxUnits.
func utf16Units(s string, maxUnits int) int {
	n := 0
	for _, c := range s {
		w := utf16.RuneLen(c)
		if w < 0 {
			w = 1 // invalid UTF-8 is sent as U+FFFD
		}
		if n+w > maxUnits {
			break
		}
		n += w
	}
	return n
}

// appendUTF16Units appends the first units code units of s (as counted by utf16Units) as
// UTF-16LE.
func appendUTF16Units(dst []byte, s string, units int) []byte {
	n := 0
	for _, c := range s {
		w := utf16.RuneLen(c)
		if w < 0 {
			c, w = 0xfffd, 1
		}
		if n+w > units {
			break
		}
		n += w
		if w == 2 {
			r1, r2 := utf16.EncodeRune(c)
			dst = binary.LittleEndian.AppendUint16(dst, uint16(r1))
			dst = binary.LittleEndian.AppendUint16(dst, uint16(r2))
			continue
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(c))
	}
	return dst
}

// pad4 appends zero bytes to dst until its length, counted from start, is a multiple of 4.
func pad4(dst []byte, start int) []byte {
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// entryCursor walks the entries of a decoded NDR array of structures whose deferred parts
// (strings, SIDs) follow the array in entry order: entry i's deferred part starts where entry
// i-1's ended (C706 14.3.12.3).
type entryCursor struct {
	count int // entries in the array
	first int // offset of the first entry's deferred part
	next  int // index of the entry advance reads next
	off   int // offset of its deferred part
}

// reset restarts the walk at the first entry.
func (c *entryCursor) reset() { c.next, c.off = 0, c.first }

// advance reads the next entry with read, which gets a reader positioned at the entry's
// deferred part, and reports whether there was one. A read that fails ends the walk (it cannot
// fail after the decoder checked every entry).
func (c *entryCursor) advance(stub []byte, read func(rd *ndrReader, i int) error) bool {
	if c.next >= c.count {
		return false
	}
	rd := ndrReader{b: stub, off: c.off}
	if read(&rd, c.next) != nil {
		c.next = c.count
		return false
	}
	c.off = rd.off
	c.next++
	return true
}
