package smb1

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// Batched ("AndX") messages (MS-CIFS 2.2.3.4): one header, then the blocks (SMB_Parameters and
// SMB_Data) of several commands, each AndX block naming the next one's command and offset. The
// server answers the chain in one message built the same way; it stops at the first command
// that fails, whose status is the header's.

// MaxChainBlocks caps the blocks Reply.Chain follows in one message.
const MaxChainBlocks = 8

// andXCommands are the commands whose blocks start with an AndX header (MS-CIFS 2.2.4): only
// they can be followed by another block.
var andXCommands = [256]bool{
	0x24:                    true, // SMB_COM_LOCKING_ANDX
	0x2d:                    true, // SMB_COM_OPEN_ANDX
	CommandReadAndX:         true,
	CommandWriteAndX:        true,
	CommandSessionSetupAndX: true,
	CommandLogoffAndX:       true,
	CommandTreeConnectAndX:  true,
	CommandNTCreateAndX:     true,
}

// LinkAndX makes the AndX block at prev (the offset of its WordCount byte from hdr, the start
// of the SMB header in dst) point at a follow-on command cmd whose block the caller appends
// next: it pads dst with zero bytes to a 4-byte boundary from the header and sets the block's
// AndXCommand and AndXOffset. The header is 32 bytes, so a follow-on body starting at a
// 4-byte boundary pads its strings exactly as it would right after the header; only bodies
// with header-relative offsets of their own (TransactionRequest.AppendAt) need to be told
// where they start.
func LinkAndX(dst []byte, hdr, prev int, cmd byte) []byte {
	for (len(dst)-hdr)%4 != 0 {
		dst = append(dst, 0)
	}
	b := dst[hdr+prev:]
	b[1], b[2] = cmd, 0
	binary.LittleEndian.PutUint16(b[3:], uint16(len(dst)-hdr))
	return dst
}

// ChainBlock is one command's block in a batched reply.
type ChainBlock struct {
	Command   byte
	Offset    int // of the block's WordCount byte, from the start of the header
	WordCount int
}

// Chain appends the blocks of the reply's AndX chain to dst, the first block (the header's
// command) included. An AndX block with at least two words leads to the next block through its
// AndXCommand and AndXOffset, which must point past the previous block's SMB_Data and inside
// the message; every block's words, ByteCount and bytes must lie in the message. A block of a
// command without an AndX header ends the chain, and so does the MaxChainBlocks-th. The
// header's status is that of the last block's command: the server stops at the first failure.
func (r Reply) Chain(dst []ChainBlock) ([]ChainBlock, error) {
	if len(r) < offWords {
		return dst, fmt.Errorf("smb1 chained reply: %d bytes: %w", len(r), wire.ErrShort)
	}
	cmd, off := r[offCommand], offWordCount
	for n := 0; ; n++ {
		end, err := r.blockEnd(off)
		if err != nil {
			return dst, fmt.Errorf("smb1 chained reply: block %d (command 0x%02x): %w", n, cmd, err)
		}
		wc := int(r[off])
		dst = append(dst, ChainBlock{Command: cmd, Offset: off, WordCount: wc})
		if !andXCommands[cmd] || wc < 2 || r[off+1] == CommandNoAndX || n+1 == MaxChainBlocks {
			return dst, nil
		}
		next := int(binary.LittleEndian.Uint16(r[off+3:]))
		if next < end || next >= len(r) {
			return dst, fmt.Errorf("smb1 chained reply: block %d: AndXOffset %d outside [%d, %d): %w", n, next, end, len(r), wire.ErrBadOffset)
		}
		cmd, off = r[off+1], next
	}
}

// blockEnd returns the offset after the SMB_Data of the block at off, checking that its
// WordCount, words, ByteCount and bytes lie in the message.
func (r Reply) blockEnd(off int) (int, error) {
	if off >= len(r) {
		return 0, fmt.Errorf("offset %d of %d bytes: %w", off, len(r), wire.ErrShort)
	}
	bc := off + 1 + 2*int(r[off])
	if bc+2 > len(r) {
		return 0, fmt.Errorf("word count %d at %d needs %d bytes, have %d: %w", r[off], off, bc+2, len(r), wire.ErrShort)
	}
	end := bc + 2 + int(binary.LittleEndian.Uint16(r[bc:]))
	if end > len(r) {
		return 0, fmt.Errorf("byte count at %d runs to %d, have %d: %w", bc, end, len(r), wire.ErrShort)
	}
	return end, nil
}
