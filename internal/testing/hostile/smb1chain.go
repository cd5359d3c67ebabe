package hostile

import (
	"encoding/binary"

	"github.com/smbsweep/smbsweep/wire/smb1"
)

// answerChain answers a request; a batched one (MS-CIFS 2.2.3.4) as a server does: each
// block is answered as a request of its own command (the header's UID becoming the one the
// logon assigned, its TID the tree connect's), until one fails, and the replies are joined
// into one message (joinReplies). A block whose answer is anything but one reply message
// (closing, hanging, several messages) is performed as it is instead.
func (s *SMB1) answerChain(req *SMB1Request, counts map[byte]int) Action {
	blocks, err := smb1.Reply(req.Msg).Chain(nil)
	if err != nil || len(blocks) < 2 {
		return s.answer(req, counts)
	}
	var replies [][]byte
	uid, tid := req.UID, binary.LittleEndian.Uint16(req.Msg[24:])
	for _, b := range blocks {
		msg := append(append([]byte(nil), req.Msg[:smb1.HeaderSize]...), req.Msg[b.Offset:]...)
		msg[smb1OffCommand] = b.Command
		binary.LittleEndian.PutUint16(msg[smb1OffUID:], uid)
		binary.LittleEndian.PutUint16(msg[24:], tid)
		part := SMB1Request{Msg: msg, Command: b.Command, MID: req.MID, UID: uid, Conn: req.Conn, Server: s}
		act := s.answer(&part, counts)
		if len(act.Reply) != 1 || act.Raw != nil || act.Close || act.Reset || act.Hang {
			return act
		}
		m := act.Reply[0]
		replies = append(replies, m)
		if len(m) < smb1.HeaderSize+3 || binary.LittleEndian.Uint32(m[smb1OffStatus:]) != 0 {
			break
		}
		uid = binary.LittleEndian.Uint16(m[smb1OffUID:])
		if b.Command == smb1.CommandTreeConnectAndX {
			tid = binary.LittleEndian.Uint16(m[24:])
		}
	}
	return Reply(joinReplies(replies, uid, tid))
}

// joinReplies builds one batched reply from the replies to each block: the first reply whole,
// then each next reply's block (WordCount onward) at a 4-byte boundary, linked from the AndX
// header of the block before it; a TRANSACTION block's parameter and data offsets are moved
// with it. The header is the first reply's, with the last reply's status, and uid and tid.
func joinReplies(replies [][]byte, uid, tid uint16) []byte {
	le := binary.LittleEndian
	out := append([]byte(nil), replies[0]...)
	prev := smb1.HeaderSize
	for _, m := range replies[1:] {
		if out[prev] < 2 { // the previous block has no AndX header: it ended the chain
			break
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		at := len(out)
		out[prev+1] = m[smb1OffCommand]
		le.PutUint16(out[prev+3:], uint16(at))
		out = append(out, m[smb1.HeaderSize:]...)
		if m[smb1OffCommand] == smb1.CommandTransaction && out[at] >= 10 {
			for _, w := range []int{8, 14} { // ParameterOffset, DataOffset
				if v := le.Uint16(out[at+1+w:]); v != 0 {
					le.PutUint16(out[at+1+w:], v+uint16(at-smb1.HeaderSize))
				}
			}
		}
		prev = at
	}
	last := replies[len(replies)-1]
	copy(out[smb1OffStatus:smb1OffStatus+4], last[smb1OffStatus:])
	le.PutUint16(out[smb1OffUID:], uid)
	le.PutUint16(out[24:], tid)
	return out
}
