package hostile

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// Step is a point of smbsweep's conversation at which a scripted server can answer differently.
type Step int

// Steps, in the order the default pipeline reaches them.
const (
	StepSMB1          Step = iota // SMB1 NEGOTIATE (the dedicated SMB1 connection)
	StepNegotiate                 // SMB2 NEGOTIATE
	StepSessionSetup1             // first SESSION_SETUP of a logon (NTLM NEGOTIATE → CHALLENGE)
	StepSessionSetup2             // second SESSION_SETUP (AUTHENTICATE → logon result)
	StepTreeConnect               // TREE_CONNECT
	StepCreate                    // CREATE (the \srvsvc pipe, or a -path)
	StepBind                      // IOCTL FSCTL_PIPE_TRANSCEIVE carrying a DCE/RPC BIND
	StepRPC                       // IOCTL FSCTL_PIPE_TRANSCEIVE carrying a DCE/RPC REQUEST
	StepRead                      // READ (the rest of a pipe reply)
	StepClose                     // CLOSE
	StepOther                     // anything else
	numSteps
)

var stepNames = [numSteps]string{"smb1", "negotiate", "session-setup-1", "session-setup-2", "tree-connect",
	"create", "rpc-bind", "rpc-request", "read", "close", "other"}

func (s Step) String() string {
	if s >= 0 && s < numSteps {
		return stepNames[s]
	}
	return "step?"
}

// Request is one message a scripted server received.
type Request struct {
	Step   Step
	Msg    []byte      // the message without its NetBIOS header
	Header wire.Header // SMB2 requests only
	Conn   int         // 0-based number of the connection on this server
	Count  int         // how many earlier requests of this Step the connection received
	Server *SMB
}

// Action is how a scripted server answers one request.
type Action struct {
	Delay time.Duration // wait this long first
	Reply [][]byte      // messages to send, each in its own NetBIOS session frame
	Raw   []byte        // bytes to send as they are, after Reply
	Close bool          // then close the connection (FIN)
	Reset bool          // then reset the connection (RST)
	Hang  bool          // then send nothing more; read until the client leaves
}

// Responder decides the Action for a request.
type Responder func(r *Request) Action

// SMB is a scripted SMB server. Each step answers with a reply built from real Samba captures
// (see Default) unless Steps overrides it. The zero value is a well-behaved server: anonymous
// logon allowed, IPC$ connectable, four shares listed over SRVSVC, SMB1 disabled.
type SMB struct {
	// Steps overrides the answer to a step.
	Steps map[Step]Responder
	// Challenge, when set, is the NTLM CHALLENGE_MESSAGE sent (in a minimal-DER SPNEGO
	// NegTokenResp) instead of the captured one; see BuildChallenge.
	Challenge []byte
	// Shares, when set, is the share list NetrShareEnum returns instead of the captured one.
	Shares []ShareInfo
	// MaxRequest caps a request frame (default 64 KiB); a larger one closes the connection.
	MaxRequest int

	conns atomic.Int64
}

// Handler returns the server's connection handler, for Start.
func (s *SMB) Handler() Handler {
	return func(ctx context.Context, c net.Conn) { s.serve(ctx, c) }
}

// StartSMB starts a server answering as s.
func StartSMB(s *SMB) (*Server, error) { return Start(s.Handler()) }

func (s *SMB) serve(ctx context.Context, c net.Conn) {
	conn := int(s.conns.Add(1) - 1)
	var counts [numSteps]int
	limit := s.MaxRequest
	if limit <= 0 {
		limit = 64 << 10
	}
	buf := make([]byte, 0, 4<<10)
	for {
		msg, err := readFrame(c, &buf, limit)
		if err != nil {
			return
		}
		req := classify(msg)
		req.Conn, req.Server = conn, s
		req.Count = counts[req.Step]
		counts[req.Step]++
		act := s.respond(&req)
		if !perform(ctx, c, act) {
			return
		}
	}
}

func (s *SMB) respond(r *Request) Action {
	if f, ok := s.Steps[r.Step]; ok && f != nil {
		return f(r)
	}
	return s.Default(r)
}

// readFrame reads one NetBIOS session message into *buf (keep-alives skipped).
func readFrame(c net.Conn, buf *[]byte, limit int) ([]byte, error) {
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return nil, err
		}
		n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
		if hdr[0] == 0x85 && n == 0 {
			continue
		}
		if hdr[0] != 0 || n > limit {
			return nil, errors.New("hostile: unexpected frame from the client")
		}
		if cap(*buf) < n {
			*buf = make([]byte, n)
		}
		b := (*buf)[:n]
		if _, err := io.ReadFull(c, b); err != nil {
			return nil, err
		}
		return b, nil
	}
}

// classify names the step a received message belongs to.
func classify(msg []byte) Request {
	r := Request{Step: StepOther, Msg: msg}
	if len(msg) < 4 {
		return r
	}
	switch binary.LittleEndian.Uint32(msg) {
	case wire.ProtocolSMB1:
		r.Step = StepSMB1
		return r
	case wire.ProtocolSMB2:
	default:
		return r
	}
	if wire.DecodeHeader(msg, &r.Header) != nil {
		return r
	}
	switch r.Header.Command {
	case wire.CmdNegotiate:
		r.Step = StepNegotiate
	case wire.CmdSessionSetup:
		r.Step = StepSessionSetup1
		if r.Header.SessionID != 0 {
			r.Step = StepSessionSetup2
		}
	case wire.CmdTreeConnect:
		r.Step = StepTreeConnect
	case wire.CmdCreate:
		r.Step = StepCreate
	case wire.CmdRead:
		r.Step = StepRead
	case wire.CmdClose:
		r.Step = StepClose
	case wire.CmdIoctl:
		if in := ioctlInput(msg); len(in) >= 3 {
			switch in[2] { // DCE/RPC PTYPE
			case 11:
				r.Step = StepBind
			case 0:
				r.Step = StepRPC
			}
		}
	}
	return r
}

// ioctlInput returns the input buffer of an SMB2 IOCTL request (MS-SMB2 2.2.31), nil if absent
// or out of bounds.
func ioctlInput(msg []byte) []byte {
	const body = wire.HeaderSize
	if len(msg) < body+32 {
		return nil
	}
	off := int(binary.LittleEndian.Uint32(msg[body+24:]))
	n := int(binary.LittleEndian.Uint32(msg[body+28:]))
	if off < body || off > len(msg) || n > len(msg)-off {
		return nil
	}
	return msg[off : off+n]
}

// rpcCallID returns the call_id of the DCE/RPC PDU in an IOCTL request, 0 if absent.
func rpcCallID(msg []byte) uint32 {
	in := ioctlInput(msg)
	if len(in) < 16 {
		return 0
	}
	return binary.LittleEndian.Uint32(in[12:])
}

// Default is the well-behaved answer to r, built from the captures: the reply Samba sent at
// that step with MessageId, TreeId and SessionId patched to match the request.
func (s *SMB) Default(r *Request) Action {
	switch r.Step {
	case StepSMB1:
		// Samba with SMB1 disabled answers "no dialect" and closes.
		return Action{Reply: [][]byte{Capture(CapSMB1Disabled)}, Close: true}
	case StepNegotiate:
		return Reply(Patch(Capture(CapNegotiate), r))
	case StepSessionSetup1:
		if s.Challenge != nil {
			tok := NegTokenRespChallenge(s.Challenge, DERMinimal)
			return Reply(SessionSetupReply(r, wire.StatusMoreProcessingRequired, DefaultSessionID, 0, tok))
		}
		return Reply(Patch(Capture(CapSessionSetupMore), r))
	case StepSessionSetup2:
		return Reply(Patch(Capture(CapSessionSetupDone), r))
	case StepTreeConnect:
		m := Patch(Capture(CapTreeConnect), r)
		binary.LittleEndian.PutUint32(m[36:], uint32(r.Count+1))
		return Reply(m)
	case StepCreate:
		return Reply(Patch(Capture(CapCreate), r))
	case StepBind:
		ack := Capture(CapBindAck)
		binary.LittleEndian.PutUint32(ack[12:], rpcCallID(r.Msg))
		return Reply(IoctlReply(r, wire.StatusSuccess, ack))
	case StepRPC:
		return Reply(IoctlReply(r, wire.StatusSuccess, s.shareEnumPDU(rpcCallID(r.Msg))))
	case StepRead:
		return Reply(ErrorReply(r, wire.StatusEndOfFile))
	case StepClose:
		return Reply(Patch(Capture(CapClose), r))
	}
	if r.Header.Command == wire.CmdTreeDisconnect || r.Header.Command == wire.CmdLogoff {
		return Reply(EmptyReply(r))
	}
	return Reply(ErrorReply(r, wire.StatusNotSupported))
}

// shareEnumPDU is the NetrShareEnum RESPONSE for call callID: the captured one, or s.Shares.
func (s *SMB) shareEnumPDU(callID uint32) []byte {
	if s.Shares == nil {
		pdu := Capture(CapNetShareEnum)
		binary.LittleEndian.PutUint32(pdu[12:], callID)
		return pdu
	}
	return ResponseFragments(callID, NetShareEnumStub(s.Shares, 0), 0)
}

// Reply is the Action that sends msgs and waits for the next request.
func Reply(msgs ...[]byte) Action { return Action{Reply: msgs} }

// Mutate answers with the default reply passed through f (f may change it in place).
func Mutate(f func(msg []byte) []byte) Responder {
	return func(r *Request) Action {
		a := r.Server.Default(r)
		if len(a.Reply) > 0 {
			a.Reply[0] = f(a.Reply[0])
		}
		return a
	}
}

// ResetAt is a Responder that resets the connection instead of answering.
func ResetAt(*Request) Action { return Action{Reset: true} }

// CloseAt is a Responder that closes the connection instead of answering.
func CloseAt(*Request) Action { return Action{Close: true} }

// HangAt is a Responder that never answers (the client times out).
func HangAt(*Request) Action { return Action{Hang: true} }

// Delayed answers with the default reply after d.
func Delayed(d time.Duration) Responder {
	return func(r *Request) Action {
		a := r.Server.Default(r)
		a.Delay = d
		return a
	}
}

// Raw answers with b sent as it is (no NetBIOS framing added), then closes.
func Raw(b []byte) Responder {
	return func(*Request) Action { return Action{Raw: b, Close: true} }
}

// perform carries out act on the connection c: the delay, the replies (each in its NetBIOS
// frame) and raw bytes, then a reset, a close or a hang. It reports whether the connection
// goes on to the next request.
func perform(ctx context.Context, c net.Conn, act Action) bool {
	if !sleep(ctx, act.Delay) {
		return false
	}
	out := make([]byte, 0, 512)
	for _, m := range act.Reply {
		out = append(out, netbios(len(m))...)
		out = append(out, m...)
	}
	out = append(out, act.Raw...)
	if len(out) > 0 {
		if _, err := c.Write(out); err != nil {
			return false
		}
	}
	switch {
	case act.Reset:
		Reset(c)
		return false
	case act.Close:
		return false
	case act.Hang:
		_, _ = io.Copy(io.Discard, c)
		return false
	}
	return true
}
