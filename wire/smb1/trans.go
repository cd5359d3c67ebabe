package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// TRANSACTION subcommands on named pipes (MS-CIFS 2.2.5), Setup[0] of SMB_COM_TRANSACTION.
const (
	TransPeekNamedPipe     uint16 = 0x0023 // TRANS_PEEK_NMPIPE (MS-CIFS 2.2.5.5)
	TransTransactNamedPipe uint16 = 0x0026 // TRANS_TRANSACT_NMPIPE (MS-CIFS 2.2.5.6)
)

// PipeName is the Name of every SMB_COM_TRANSACTION on a named pipe (MS-CIFS 2.2.4.33.1).
const PipeName = `\PIPE\`

// MaxSetupCount caps the setup words of a transaction reply this package reads; requests
// never need more than two.
const MaxSetupCount = 4

// Transaction2 subcommands (MS-CIFS 2.2.6).
const (
	Trans2FindFirst2           uint16 = 0x0001 // TRANS2_FIND_FIRST2
	Trans2FindNext2            uint16 = 0x0002 // TRANS2_FIND_NEXT2
	Trans2QueryPathInformation uint16 = 0x0005 // TRANS2_QUERY_PATH_INFORMATION
)

const (
	wcTransFixed      = 14 // MS-CIFS 2.2.4.33.1 / 2.2.4.46.1, before the setup words
	wcTransReplyFixed = 10 // MS-CIFS 2.2.4.33.2 / 2.2.4.46.2, before the setup words
)

// TransactionRequest is SMB_COM_TRANSACTION (MS-CIFS 2.2.4.33.1) or SMB_COM_TRANSACTION2
// (MS-CIFS 2.2.4.46.1), chosen by Command, sent whole in one message (no secondary requests:
// callers keep Parameters and Data under the server's MaxBufferSize).
//
// Layout after the setup words: ByteCount, then Name (TRANSACTION: Name, e.g. PipeName;
// TRANSACTION2: an empty name, one NUL or, when Unicode, a pad and two NULs), Pad1 to a 4-byte
// boundary from the header start, Parameters, Pad2 to 4 bytes, Data.
type TransactionRequest struct {
	Command           byte // CommandTransaction or CommandTransaction2
	MaxParameterCount uint16
	MaxDataCount      uint16
	MaxSetupCount     byte
	Flags             uint16
	Timeout           uint32
	Setup             []uint16 // at most MaxSetupCount words
	Name              string   // TRANSACTION only
	Unicode           bool
	Parameters        []byte
	Data              []byte
}

// layout returns the body offsets of Name, Parameters and Data and the body size, for a body
// starting at offset at from the header start (HeaderSize unless it follows other blocks).
func (r *TransactionRequest) layout(at int) (name, params, data, size int) {
	name = 1 + 2*(wcTransFixed+len(r.Setup)) + 2
	n := name
	if r.Unicode && (at+n)%2 == 1 {
		n++
	}
	if r.Command == CommandTransaction2 {
		n += stringSize("", r.Unicode)
	} else {
		n += stringSize(r.Name, r.Unicode)
	}
	params = align4(at, n)
	data = params + len(r.Parameters)
	if len(r.Data) > 0 {
		data = align4(at, data)
	}
	return name, params, data, data + len(r.Data)
}

// align4 rounds the offset off of a body starting at at (from the header start) up so that
// the header-relative offset is a multiple of 4.
func align4(at, off int) int { return (at+off+3)&^3 - at }

// Size returns the encoded size of the body right after the header.
func (r *TransactionRequest) Size() int { _, _, _, n := r.layout(HeaderSize); return n }

// Validate reports whether the request fits its 16-bit fields and the setup-word cap.
func (r *TransactionRequest) Validate() error {
	if r.Command != CommandTransaction && r.Command != CommandTransaction2 {
		return fmt.Errorf("transaction request: command 0x%02x: %w", r.Command, wire.ErrBadCommand)
	}
	if len(r.Setup) > MaxSetupCount {
		return fmt.Errorf("transaction request: %d setup words: %w", len(r.Setup), wire.ErrTooLarge)
	}
	name, _, _, size := r.layout(HeaderSize)
	if size-name > maxByteCount || HeaderSize+size > maxByteCount {
		return fmt.Errorf("transaction request: %d bytes: %w", size, wire.ErrTooLarge)
	}
	return nil
}

// AppendTo appends the body (after a Header whose Command is r.Command).
func (r *TransactionRequest) AppendTo(dst []byte) []byte { return r.AppendAt(dst, HeaderSize) }

// AppendAt appends the body as a block starting at offset at from the header start: HeaderSize
// right after the header, or a follow-on's offset in an AndX chain (LinkAndX). ParameterOffset
// and DataOffset count from the header start, so they depend on it.
func (r *TransactionRequest) AppendAt(dst []byte, at int) []byte {
	le := binary.LittleEndian
	start := len(dst)
	nameOff, paramOff, dataOff, size := r.layout(at)
	dst = append(dst, byte(wcTransFixed+len(r.Setup)))
	dst = le.AppendUint16(dst, uint16(len(r.Parameters))) // TotalParameterCount
	dst = le.AppendUint16(dst, uint16(len(r.Data)))       // TotalDataCount
	dst = le.AppendUint16(dst, r.MaxParameterCount)
	dst = le.AppendUint16(dst, r.MaxDataCount)
	dst = append(dst, r.MaxSetupCount, 0)
	dst = le.AppendUint16(dst, r.Flags)
	dst = le.AppendUint32(dst, r.Timeout)
	dst = le.AppendUint16(dst, 0) // Reserved2
	dst = le.AppendUint16(dst, uint16(len(r.Parameters)))
	dst = le.AppendUint16(dst, uint16(at+paramOff))
	dst = le.AppendUint16(dst, uint16(len(r.Data)))
	if len(r.Data) == 0 {
		dst = le.AppendUint16(dst, 0)
	} else {
		dst = le.AppendUint16(dst, uint16(at+dataOff))
	}
	dst = append(dst, byte(len(r.Setup)), 0)
	for _, s := range r.Setup {
		dst = le.AppendUint16(dst, s)
	}
	dst = le.AppendUint16(dst, uint16(size-nameOff))
	if r.Unicode && (at+nameOff)%2 == 1 {
		dst = append(dst, 0)
	}
	if r.Command == CommandTransaction2 {
		dst = appendString(dst, "", r.Unicode)
	} else {
		dst = appendString(dst, r.Name, r.Unicode)
	}
	for len(dst)-start < paramOff {
		dst = append(dst, 0)
	}
	dst = append(dst, r.Parameters...)
	for len(dst)-start < dataOff {
		dst = append(dst, 0)
	}
	return append(dst, r.Data...)
}

// TransactionResponse is one SMB_COM_TRANSACTION or SMB_COM_TRANSACTION2 reply message
// (MS-CIFS 2.2.4.33.2, 2.2.4.46.2): a fragment of the reply's parameters and data, each placed
// at its displacement within TotalParameterCount and TotalDataCount bytes. A reply larger than
// the server's buffer arrives in several such messages; TransactionAssembler puts them
// together. An error reply has WordCount 0.
type TransactionResponse []byte

// Validate checks the header (command 0x25 or 0x32, given as cmd), the word count (10 plus
// SetupCount, at most MaxSetupCount setup words), and that both fragments lie within SMB_Data
// and within their totals.
func (r TransactionResponse) Validate(cmd byte) error {
	const what = "transaction response"
	g := Reply(r)
	if err := g.validateForm(cmd, wcTransReplyFixed, what); err != nil {
		return err
	}
	if g.isError(wcTransReplyFixed) {
		return nil
	}
	return g.checkTransaction(offWordCount, what)
}

// ValidateTransactionBlock checks the TRANSACTION or TRANSACTION2 block b of a batched reply
// (Reply.Chain) as Validate checks a reply's first block; its fragments' offsets count from
// the header start, as in any reply.
func ValidateTransactionBlock(r Reply, b ChainBlock) error {
	const what = "chained transaction response"
	if b.Command != CommandTransaction && b.Command != CommandTransaction2 {
		return fmt.Errorf("%s: command 0x%02x: %w", what, b.Command, wire.ErrBadCommand)
	}
	if _, err := r.blockEnd(b.Offset); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if r.Status() != 0 && b.WordCount < wcTransReplyFixed {
		return nil
	}
	if b.WordCount < wcTransReplyFixed {
		return fmt.Errorf("%s: word count %d, want %d: %w", what, b.WordCount, wcTransReplyFixed, wire.ErrBadStructureSize)
	}
	return r.checkTransaction(b.Offset, what)
}

// checkTransaction checks the success form of the transaction reply block at off (its
// WordCount byte, whose words, ByteCount and bytes lie in r): the setup count against the word
// count, and each fragment within SMB_Data and within its total.
func (r Reply) checkTransaction(off int, what string) error {
	le := binary.LittleEndian
	wc := int(r[off])
	w := func(i int) int { return int(le.Uint16(r[off+1+i:])) }
	sc := int(r[off+1+18])
	if sc > MaxSetupCount || wc != wcTransReplyFixed+sc {
		return fmt.Errorf("%s: word count %d with %d setup words: %w", what, wc, sc, wire.ErrBadStructureSize)
	}
	start := off + 1 + 2*wc + 2
	end := start + int(le.Uint16(r[start-2:]))
	for _, f := range [2]struct {
		name                    string
		count, off, disp, total int
	}{
		{"parameters", w(6), w(8), w(10), w(0)},
		{"data", w(12), w(14), w(16), w(2)},
	} {
		if f.disp+f.count > f.total {
			return fmt.Errorf("%s: %s displacement %d + %d past total %d: %w",
				what, f.name, f.disp, f.count, f.total, wire.ErrBadOffset)
		}
		if f.count == 0 {
			continue
		}
		if f.off < start || f.off+f.count > end {
			return fmt.Errorf("%s: %d bytes of %s at offset %d outside SMB_Data [%d, %d): %w",
				what, f.count, f.name, f.off, start, end, wire.ErrBadOffset)
		}
	}
	return nil
}

// Reply returns the generic view.
func (r TransactionResponse) Reply() Reply { return Reply(r) }

// Err returns nil for success, else the status (STATUS_BUFFER_OVERFLOW on a pipe read that
// left data behind is an error by this definition; see Reply().Status).
func (r TransactionResponse) Err() error { return Reply(r).Err() }

// TotalParameterCount returns the size of the whole reply's parameters.
func (r TransactionResponse) TotalParameterCount() uint16 { return r.word16(0) }

// TotalDataCount returns the size of the whole reply's data.
func (r TransactionResponse) TotalDataCount() uint16 { return r.word16(2) }

// ParameterDisplacement returns where this fragment's parameters go in the whole.
func (r TransactionResponse) ParameterDisplacement() uint16 { return r.word16(10) }

// DataDisplacement returns where this fragment's data goes in the whole.
func (r TransactionResponse) DataDisplacement() uint16 { return r.word16(16) }

// Parameters returns this fragment's parameter bytes, a view into r.
func (r TransactionResponse) Parameters() []byte {
	if Reply(r).WordCount() < wcTransReplyFixed { // an error reply: its words are not checked
		return nil
	}
	n, off := int(Reply(r).word16(6)), int(Reply(r).word16(8))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}

// Data returns this fragment's data bytes, a view into r.
func (r TransactionResponse) Data() []byte {
	if Reply(r).WordCount() < wcTransReplyFixed { // an error reply: its words are not checked
		return nil
	}
	n, off := int(Reply(r).word16(12)), int(Reply(r).word16(14))
	if n == 0 {
		return nil
	}
	return r[off : off+n : off+n]
}

// SetupCount returns the number of setup words.
func (r TransactionResponse) SetupCount() int {
	if Reply(r).WordCount() < wcTransReplyFixed {
		return 0
	}
	return int(Reply(r).wordByte(18))
}

// word16 reads a parameter word of the success form; an error reply with fewer words (whose
// words Validate does not check) reads as zero.
func (r TransactionResponse) word16(off int) uint16 {
	if Reply(r).WordCount() < wcTransReplyFixed {
		return 0
	}
	return Reply(r).word16(off)
}

// Setup returns setup word i (0 when absent).
func (r TransactionResponse) Setup(i int) uint16 {
	if i < 0 || i >= r.SetupCount() {
		return 0
	}
	return Reply(r).word16(20 + 2*i)
}

// TransactionAssembler reassembles the parameters and data of a transaction reply sent in
// several messages (MS-CIFS 3.2.5.x: the server sends as many replies as it needs, each with a
// fragment at a displacement). It copies into the caller's buffers, whose capacities cap the
// totals, and never allocates. The totals of later fragments may shrink but never grow
// (MS-CIFS 2.2.4.33.2); a fragment outside the (first) totals is an error.
type TransactionAssembler struct {
	Params, Data []byte // set to caller buffers (len 0, cap = the cap) before the first Add

	totalParams, totalData int
	gotParams, gotData     int
	started                bool
}

// Add copies one validated fragment in place. It fails when the totals exceed the buffers'
// capacity or grow, or the fragment falls outside them.
func (a *TransactionAssembler) Add(r TransactionResponse) error {
	tp, td := int(r.TotalParameterCount()), int(r.TotalDataCount())
	if !a.started {
		if tp > cap(a.Params) || td > cap(a.Data) {
			return fmt.Errorf("transaction reply of %d parameter and %d data bytes over the caps %d and %d: %w",
				tp, td, cap(a.Params), cap(a.Data), wire.ErrTooLarge)
		}
		a.Params, a.Data = a.Params[:tp], a.Data[:td]
		clear(a.Params)
		clear(a.Data)
		a.totalParams, a.totalData, a.started = tp, td, true
	} else {
		if tp > a.totalParams || td > a.totalData {
			return fmt.Errorf("transaction reply totals grew from %d/%d to %d/%d: %w",
				a.totalParams, a.totalData, tp, td, wire.ErrMalformed)
		}
		a.totalParams, a.totalData = tp, td
		a.Params, a.Data = a.Params[:tp], a.Data[:td]
	}
	p, d := r.Parameters(), r.Data()
	pd, dd := int(r.ParameterDisplacement()), int(r.DataDisplacement())
	if pd+len(p) > tp || dd+len(d) > td {
		return fmt.Errorf("transaction reply fragment outside the totals: %w", wire.ErrBadOffset)
	}
	copy(a.Params[pd:], p)
	copy(a.Data[dd:], d)
	a.gotParams += len(p)
	a.gotData += len(d)
	return nil
}

// Done reports whether as many bytes as the totals announce have arrived (a server that
// sends overlapping fragments gets zeros where nothing arrived, never stale bytes).
func (a *TransactionAssembler) Done() bool {
	return a.started && a.gotParams >= a.totalParams && a.gotData >= a.totalData
}
