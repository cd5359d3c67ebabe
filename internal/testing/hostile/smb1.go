package hostile

import (
	"context"
	"encoding/binary"
	"net"
	"sync/atomic"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// Captured Samba 4.17 SMB1 session-layer replies (wire/smb1/testdata/README.md, instance `nt1`,
// `TestCaptureSession`): the bytes every SMB1 server reply below starts from.
const (
	CapSMB1SessionChallenge = "wire/smb1/testdata/samba-4.17-smb1-session-setup-challenge.bin"
	CapSMB1SessionAnonymous = "wire/smb1/testdata/samba-4.17-smb1-session-setup-anonymous.bin"
	CapSMB1TreeConnectIPC   = "wire/smb1/testdata/samba-4.17-smb1-tree-connect-ipc.bin"
	CapSMB1PeekNamedPipe    = "wire/smb1/testdata/samba-4.17-smb1-peek-named-pipe.bin"
	// CapSMB1PeekChainNT is Samba's answer to the MS17-010 check's chain in the NT LM 0.12
	// logon form; its first block is the anonymous logon's reply (WordCount 3).
	CapSMB1PeekChainNT = "wire/smb1/testdata/samba-4.17-smb1-peek-chain-nt.bin"
	// CapSMB1NTCreatePipe opens \srvsvc (a message-mode pipe); CapSMB1TransactNmPipe is the
	// TransactNmPipe reply carrying the 68-byte SRVSVC bind_ack.
	CapSMB1NTCreatePipe   = "wire/smb1/testdata/samba-4.17-smb1-nt-create-pipe.bin"
	CapSMB1TransactNmPipe = "wire/smb1/testdata/samba-4.17-smb1-transact-nmpipe.bin"
)

// SMB1 commands the scripted SMB1 server answers (MS-CIFS 2.2.2.1).
const (
	SMB1CmdTransaction    byte = 0x25
	SMB1CmdTransaction2   byte = 0x32
	SMB1CmdNegotiate      byte = 0x72
	SMB1CmdSessionSetup   byte = 0x73
	SMB1CmdTreeConnectAnd byte = 0x75
	SMB1CmdNTCreateAndX   byte = 0xa2
	SMB1CmdReadAndX       byte = 0x2e
)

// Offsets in the 32-byte SMB1 header (MS-CIFS 2.2.3.1).
const (
	smb1OffCommand = 4
	smb1OffStatus  = 5
	smb1OffUID     = 28
	smb1OffMID     = 30
)

// StatusInsuffServerResources is what an SMB1 server without the MS17-010 fix answers to
// TRANS_PEEK_NMPIPE on FID 0 (the public write-ups of the check; nmap's smb-vuln-ms17-010).
const StatusInsuffServerResources wire.NTStatus = 0xc0000205

// SMB1Request is one SMB1 message the scripted SMB1 server received.
type SMB1Request struct {
	Msg     []byte // the message without its NetBIOS header
	Command byte
	MID     uint16
	UID     uint16
	Conn    int // 0-based number of the connection on this server
	Count   int // how many earlier requests with this command the connection received
	Server  *SMB1
}

// SMB1Responder decides the Action for an SMB1 request.
type SMB1Responder func(r *SMB1Request) Action

// SMB1 is a scripted SMB1 server (NT LM 0.12, extended security) answering smbsweep's smb1 and
// ms17010 stages with Samba's captured replies, MID patched to the request's, unless Steps
// overrides a command. The zero value is Samba 4.17 with `server min protocol = NT1`: anonymous
// logon and IPC$ allowed, PeekNamedPipe on FID 0 answered STATUS_INVALID_HANDLE (not
// vulnerable), TRANS2_SESSION_SETUP answered STATUS_NOT_IMPLEMENTED with the request's MID.
type SMB1 struct {
	// Steps overrides the answer to a command (SMB1Cmd*).
	Steps map[byte]SMB1Responder
	// PeekStatus, when set, replaces the captured status of the PeekNamedPipe reply
	// (StatusInsuffServerResources emulates an unpatched Windows).
	PeekStatus wire.NTStatus
	// Implant answers the DoublePulsar ping (TRANS2_SESSION_SETUP) as the implant does: with
	// the request's MID plus 16 (65 → 81).
	Implant bool
	// ExtendedOnly refuses the NT LM 0.12 logon form (WordCount 13) with STATUS_LOGON_FAILURE,
	// as a server may once extended security was negotiated; Samba accepts it.
	ExtendedOnly bool

	conns    atomic.Int64
	requests atomic.Int64
}

// Requests returns how many SMB1 messages the server received (all connections).
func (s *SMB1) Requests() int { return int(s.requests.Load()) }

// Conns returns how many connections the server accepted.
func (s *SMB1) Conns() int { return int(s.conns.Load()) }

// Handler returns the server's connection handler, for Start.
func (s *SMB1) Handler() Handler {
	return func(ctx context.Context, c net.Conn) { s.serve(ctx, c) }
}

func (s *SMB1) serve(ctx context.Context, c net.Conn) {
	conn := int(s.conns.Add(1) - 1)
	counts := map[byte]int{}
	buf := make([]byte, 0, 4<<10)
	for {
		msg, err := readFrame(c, &buf, 64<<10)
		if err != nil || len(msg) < 32 || binary.LittleEndian.Uint32(msg) != wire.ProtocolSMB1 {
			return
		}
		s.requests.Add(1)
		req := SMB1Request{Msg: msg, Command: msg[smb1OffCommand], MID: binary.LittleEndian.Uint16(msg[smb1OffMID:]),
			UID: binary.LittleEndian.Uint16(msg[smb1OffUID:]), Conn: conn, Server: s}
		act := s.answerChain(&req, counts)
		if !perform(ctx, c, act) {
			return
		}
	}
}

// answer is the Action for one command of a request (the whole message, or one block of a
// batched one): Steps' when it has one, else Default's.
func (s *SMB1) answer(r *SMB1Request, counts map[byte]int) Action {
	r.Count = counts[r.Command]
	counts[r.Command]++
	if f, ok := s.Steps[r.Command]; ok && f != nil {
		return f(r)
	}
	return s.Default(r)
}

// PatchSMB1 sets a captured SMB1 reply's MID to the request's. msg is changed in place.
func PatchSMB1(msg []byte, r *SMB1Request) []byte {
	binary.LittleEndian.PutUint16(msg[smb1OffMID:], r.MID)
	return msg
}

// SMB1ErrorReply is an SMB1 error reply (WordCount 0, ByteCount 0) to r with an NT status and
// the given command: Samba's captured PeekNamedPipe error reply (35 bytes, Flags 0x88, Flags2
// 0xc803) with its command, status and MID replaced.
func SMB1ErrorReply(r *SMB1Request, cmd byte, status wire.NTStatus) []byte {
	m := PatchSMB1(Capture(CapSMB1PeekNamedPipe), r)
	m[smb1OffCommand] = cmd
	binary.LittleEndian.PutUint32(m[smb1OffStatus:], uint32(status))
	return m
}

// Default is the well-behaved answer to r, built from the captures.
func (s *SMB1) Default(r *SMB1Request) Action {
	switch r.Command {
	case SMB1CmdNegotiate:
		// NT LM 0.12 accepted, extended security (samba-4.17-nt1-negotiate.bin).
		return Reply(PatchSMB1(Capture(CapSMB1NT1), r))
	case SMB1CmdSessionSetup:
		if len(r.Msg) > smb1.HeaderSize && r.Msg[smb1.HeaderSize] == 13 { // the NT LM 0.12 form
			if s.ExtendedOnly {
				return Reply(SMB1ErrorReply(r, SMB1CmdSessionSetup, wire.StatusLogonFailure))
			}
			return Reply(PatchSMB1(ntFormLogonReply(), r))
		}
		if r.UID == 0 { // first leg: the SPNEGO-wrapped NTLM CHALLENGE
			return Reply(PatchSMB1(Capture(CapSMB1SessionChallenge), r))
		}
		return Reply(PatchSMB1(Capture(CapSMB1SessionAnonymous), r))
	case SMB1CmdTreeConnectAnd:
		return Reply(PatchSMB1(Capture(CapSMB1TreeConnectIPC), r))
	case SMB1CmdTransaction:
		m := PatchSMB1(Capture(CapSMB1PeekNamedPipe), r) // STATUS_INVALID_HANDLE, as Samba answers
		if s.PeekStatus != 0 {
			binary.LittleEndian.PutUint32(m[smb1OffStatus:], uint32(s.PeekStatus))
		}
		return Reply(m)
	case SMB1CmdTransaction2:
		// An unaltered Windows rejects the reserved TRANS2_SESSION_SETUP with
		// STATUS_NOT_IMPLEMENTED; the DoublePulsar implant answers with MID + 16 (Countercept's
		// detection script and nmap's smb-double-pulsar-backdoor test reply MID 81 for 65).
		m := SMB1ErrorReply(r, SMB1CmdTransaction2, wire.StatusNotImplemented)
		if s.Implant {
			binary.LittleEndian.PutUint16(m[smb1OffMID:], r.MID+16)
		}
		return Reply(m)
	}
	return Reply(SMB1ErrorReply(r, r.Command, wire.StatusNotSupported))
}

// ntFormLogonReply is Samba's reply to an anonymous NT LM 0.12 logon: the first block of its
// captured answer to the check's chain, cut after that block and ending the chain.
func ntFormLogonReply() []byte {
	m := Capture(CapSMB1PeekChainNT)
	blocks, err := smb1.Reply(m).Chain(nil)
	if err != nil || len(blocks) < 2 {
		panic("hostile: " + CapSMB1PeekChainNT + " is not a chained reply")
	}
	m = m[:blocks[1].Offset]
	m[smb1.HeaderSize+1], m[smb1.HeaderSize+3], m[smb1.HeaderSize+4] = smb1.CommandNoAndX, 0, 0
	binary.LittleEndian.PutUint32(m[smb1OffStatus:], 0)
	return m
}

// TransactionReplyPastEnd is a success SMB_COM_TRANSACTION reply to r (MS-CIFS 2.2.4.33.2,
// WordCount 10, no setup words) whose 4 parameter bytes are claimed at offset 200, past the end
// of the 59-byte message; the header is Samba's captured PeekNamedPipe reply with status 0.
func TransactionReplyPastEnd(r *SMB1Request) []byte {
	m := SMB1ErrorReply(r, SMB1CmdTransaction, 0)
	m = m[:32] // the header; WordCount, words and bytes follow
	le := binary.LittleEndian
	m = append(m, 10)           // WordCount
	m = le.AppendUint16(m, 4)   // TotalParameterCount
	m = le.AppendUint16(m, 0)   // TotalDataCount
	m = le.AppendUint16(m, 0)   // Reserved1
	m = le.AppendUint16(m, 4)   // ParameterCount
	m = le.AppendUint16(m, 200) // ParameterOffset: past the end
	m = le.AppendUint16(m, 0)   // ParameterDisplacement
	m = le.AppendUint16(m, 0)   // DataCount
	m = le.AppendUint16(m, 0)   // DataOffset
	m = le.AppendUint16(m, 0)   // DataDisplacement
	m = append(m, 0, 0)         // SetupCount, Reserved2
	m = le.AppendUint16(m, 4)   // ByteCount
	return append(m, 0, 0, 0, 0)
}
