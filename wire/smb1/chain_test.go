package smb1

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/smbsweep/smbsweep/wire"
)

// chainCaptures are Samba's replies to the MS17-010 check's batched request
// (chain_capture_test.go): anonymous SESSION_SETUP_ANDX + TREE_CONNECT_ANDX IPC$ +
// TRANS_PEEK_NMPIPE on FID 0, in the extended-security and the NT LM 0.12 form.
var chainCaptures = []string{"samba-4.17-smb1-peek-chain-ext.bin", "samba-4.17-smb1-peek-chain-nt.bin"}

func readChainCapture(t testing.TB, name string) Reply {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Reply(b)
}

// TestChainSambaReplies: Samba answers all three commands in one message, the peek's
// STATUS_INVALID_HANDLE in the header, the TRANSACTION's block an error block.
func TestChainSambaReplies(t *testing.T) {
	for _, name := range chainCaptures {
		r := readChainCapture(t, name)
		blocks, err := r.Chain(nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := []byte{CommandSessionSetupAndX, CommandTreeConnectAndX, CommandTransaction}
		if len(blocks) != len(want) {
			t.Fatalf("%s: blocks %+v, want commands % x", name, blocks, want)
		}
		for i, b := range blocks {
			if b.Command != want[i] || (i > 0 && b.Offset <= blocks[i-1].Offset) {
				t.Errorf("%s: block %d %+v", name, i, b)
			}
		}
		if blocks[0].Offset != HeaderSize || blocks[1].WordCount != wcTreeConnectReplyExt || blocks[2].WordCount != 0 {
			t.Errorf("%s: blocks %+v: want the session setup at the header's end, the extended tree connect form, an error block", name, blocks)
		}
		if wire.NTStatus(r.Status()) != wire.StatusInvalidHandle || r.TID() == 0 || r.UID() == 0 {
			t.Errorf("%s: status %v TID %d UID %d", name, r.Status(), r.TID(), r.UID())
		}
		if err := ValidateTransactionBlock(r, blocks[2]); err != nil {
			t.Errorf("%s: transaction block: %v", name, err)
		}
		if err := SessionSetupResponse(r).Validate(); err != nil {
			t.Errorf("%s: first block as a session setup reply: %v", name, err)
		}
		// Cut anywhere inside the last block, the chain is refused, never read past the end.
		for n := blocks[2].Offset; n < len(r); n++ {
			if _, err := r[:n].Chain(nil); err == nil {
				t.Errorf("%s cut to %d bytes: chain accepted", name, n)
			}
		}
	}
}

// TestChainBadOffsets: an AndXOffset backwards, into the previous block's data, or past the
// end is refused.
func TestChainBadOffsets(t *testing.T) {
	r := readChainCapture(t, chainCaptures[1])
	blocks, _ := r.Chain(nil)
	for _, off := range []int{0, blocks[0].Offset, blocks[1].Offset - 1, len(r), 0xffff} {
		m := append(Reply(nil), r...)
		binary.LittleEndian.PutUint16(m[blocks[0].Offset+3:], uint16(off))
		if _, err := m.Chain(nil); !errors.Is(err, wire.ErrBadOffset) && !errors.Is(err, wire.ErrShort) {
			t.Errorf("AndXOffset %d: %v, want a bad offset", off, err)
		}
	}
}

// TestLinkAndX: the request the check sends decodes as a chain of three blocks, each at a
// 4-byte boundary, and the TRANSACTION's parameter and name offsets count from the header.
func TestLinkAndX(t *testing.T) {
	h := Header{Command: CommandSessionSetupAndX, Flags2: ProbeFlags2}
	msg := h.AppendTo(nil)
	ss := SessionSetupRequest{MaxBufferSize: 0xffff, MaxMpxCount: 2, Unicode: true, OEMPassword: []byte{}, UnicodePassword: []byte{}, NativeOS: "Unix", NativeLanMan: "smbsweep"}
	msg = ss.AppendTo(msg)
	msg = LinkAndX(msg, 0, HeaderSize, CommandTreeConnectAndX)
	tcAt := len(msg)
	tc := TreeConnectRequest{Flags: TreeConnectExtendedResponse, Path: `\\127.0.0.1\IPC$`, Service: ServiceAny, Unicode: true}
	msg = tc.AppendTo(msg)
	msg = LinkAndX(msg, 0, tcAt, CommandTransaction)
	trAt := len(msg)
	tr := TransactionRequest{Command: CommandTransaction, MaxParameterCount: 0xffff, Setup: []uint16{TransPeekNamedPipe, 0}, Name: PipeName, Unicode: true, Parameters: []byte{1, 2}}
	msg = tr.AppendAt(msg, trAt)
	msg[offFlags] |= FlagsReply
	blocks, err := Reply(msg).Chain(nil)
	if err != nil || len(blocks) != 3 {
		t.Fatalf("chain %+v, %v", blocks, err)
	}
	if blocks[1].Offset != tcAt || blocks[2].Offset != trAt || tcAt%4 != 0 || trAt%4 != 0 {
		t.Errorf("blocks %+v, want follow-ons at %d and %d on 4-byte boundaries", blocks, tcAt, trAt)
	}
	w := msg[trAt+1:]
	poff := int(binary.LittleEndian.Uint16(w[20:]))
	if poff%4 != 0 || poff < trAt || poff+2 > len(msg) || msg[poff] != 1 || msg[poff+1] != 2 {
		t.Errorf("ParameterOffset %d does not point at the parameters", poff)
	}
	if len(tr.AppendAt(nil, HeaderSize)) != tr.Size() || string(tr.AppendTo(nil)) != string(tr.AppendAt(nil, HeaderSize)) {
		t.Error("AppendTo differs from AppendAt(HeaderSize)")
	}
}

func FuzzReplyChain(f *testing.F) {
	for _, name := range chainCaptures {
		f.Add([]byte(readChainCapture(f, name)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var buf [MaxChainBlocks]ChainBlock
		blocks, err := Reply(b).Chain(buf[:0])
		if len(blocks) > MaxChainBlocks {
			t.Fatalf("%d blocks", len(blocks))
		}
		if err != nil {
			return
		}
		for i, bl := range blocks {
			if bl.Offset >= len(b) || (i > 0 && bl.Offset <= blocks[i-1].Offset) {
				t.Fatalf("block %d %+v of %d bytes", i, bl, len(b))
			}
			if bl.Command == CommandTransaction || bl.Command == CommandTransaction2 {
				_ = ValidateTransactionBlock(Reply(b), bl)
			}
		}
	})
}
