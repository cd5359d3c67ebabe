// Package replay is a fast SMB responder for benchmarks and tests: it answers smbsweep's
// default probe exchanges with messages captured from Samba 4.17 (captures/, copied from the
// golden files of package wire and its sub-packages), patched per request (MessageId,
// SessionId, TreeId, credits, the DCE/RPC call id, the server time). It serves every connection
// from one goroutine in this process — no fork per connection — so that in a sweep benchmark the
// scanner, not the server, is the bottleneck.
//
// What it answers (everything else gets STATUS_NOT_SUPPORTED):
//
//   - SMB1 NEGOTIATE: Samba's "no dialect supported" reply, then it closes the connection, as a
//     default Samba does (Options.SMB1 = true answers with the NT LM 0.12 acceptance instead,
//     and then the MS17-010 check: the anonymous SESSION_SETUP_ANDX, TREE_CONNECT_ANDX IPC$,
//     and STATUS_INVALID_HANDLE to PeekNamedPipe, as Samba answers);
//   - SMB2 NEGOTIATE: Samba's 3.1.1 reply (whatever dialects were offered);
//   - SESSION_SETUP: the NTLM CHALLENGE on the first leg, success on the second;
//   - TREE_CONNECT (IPC$ reply for any share), CREATE, CLOSE;
//   - IOCTL FSCTL_PIPE_TRANSCEIVE: BIND_ACK for a DCE/RPC BIND, the NetrShareEnum response
//     for a REQUEST (4 shares).
//
// It listens only on loopback addresses, or on the wildcard address inside a network namespace
// whose only interface is the loopback one (see Listen).
package replay

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/loopsrv"
)

//go:embed captures/*.bin
var captures embed.FS

// SMB2 commands and fields used here (MS-SMB2 2.2.1); the codec lives in package wire, but the
// responder patches raw bytes and needs only offsets.
const (
	hdrSize = 64

	cmdNegotiate    = 0x0000
	cmdSessionSetup = 0x0001
	cmdLogoff       = 0x0002
	cmdTreeConnect  = 0x0003
	cmdTreeDisc     = 0x0004
	cmdCreate       = 0x0005
	cmdClose        = 0x0006
	cmdIoctl        = 0x000b

	statusNotSupported = 0xc00000bb
	statusSuccess      = 0

	fsctlPipeTransceive = 0x0011c017

	maxFrame    = 64 << 10
	idleTimeout = 30 * time.Second
)

// templates are the captured replies.
type templates struct {
	negotiate, challenge, sessionOK, tree, create, close []byte
	smb1Refused, smb1NT1                                 []byte
	smb1Challenge, smb1Anonymous, smb1TreeIPC, smb1Peek  []byte
	smb1PeekChain, smb1PeekChainNT                       []byte
	bindAck, shareEnum                                   []byte
}

func mustRead(name string) []byte {
	b, err := captures.ReadFile("captures/" + name)
	if err != nil {
		panic("replay: missing capture " + name)
	}
	return b
}

var tpl = sync.OnceValue(func() *templates {
	return &templates{
		negotiate:   mustRead("samba-default-negotiate.bin"),
		challenge:   mustRead("samba-default-session-setup-more-processing-required.bin"),
		sessionOK:   mustRead("samba-default-session-setup.bin"),
		tree:        mustRead("samba-default-tree-connect.bin"),
		create:      mustRead("samba-default-create.bin"),
		close:       mustRead("samba-default-close.bin"),
		smb1Refused: mustRead("samba-4.17-smb1-disabled-negotiate.bin"),
		smb1NT1:     mustRead("samba-4.17-nt1-negotiate.bin"),
		// The SMB1 session layer of the MS17-010 check (Options.SMB1 only).
		smb1Challenge: mustRead("samba-4.17-smb1-session-setup-challenge.bin"),
		smb1Anonymous: mustRead("samba-4.17-smb1-session-setup-anonymous.bin"),
		smb1TreeIPC:   mustRead("samba-4.17-smb1-tree-connect-ipc.bin"),
		smb1Peek:      mustRead("samba-4.17-smb1-peek-named-pipe.bin"),
		// The check's logon leg carrying the IPC$ tree connect and the peek (AndX chain).
		smb1PeekChain:   mustRead("samba-4.17-smb1-peek-chain-ext.bin"),
		smb1PeekChainNT: mustRead("samba-4.17-smb1-peek-chain-nt.bin"),
		bindAck:         mustRead("samba-4.17-bind-ack.bin"),
		shareEnum:       mustRead("samba-4.17-netshareenum-response.bin"),
	}
})

// Options configures a Server.
type Options struct {
	// SMB1 accepts the SMB1 NEGOTIATE (Samba with server min protocol = NT1) instead of
	// refusing it and closing the connection (Samba's default).
	SMB1 bool
	// Delay is added before every reply (a slower server); 0 answers at once.
	Delay time.Duration
	// SMBGhost answers as a Windows 10 / Server 1903 host would for smbsweep's SMBGhost verdict
	// (CVE-2020-0796): the captured 3.1.1 NEGOTIATE reply gains a COMPRESSION_CAPABILITIES
	// context and the captured NTLM CHALLENGE reports version 10.0.18362 (see smbghost.go for
	// the source of every emulated byte). Everything else stays Samba's.
	SMBGhost bool
	// Silent, when set, is asked for every accepted connection (with the address the client
	// connected to); true keeps that connection open without ever answering (an overloaded or
	// tarpitting server).
	Silent func(local netip.AddrPort) bool
}

// Stats counts what a Server did.
type Stats struct {
	Connections uint64
	Requests    uint64
}

// Server answers SMB on its listeners until Close.
type Server struct {
	opts  Options
	group loopsrv.Group

	negotiate, challenge []byte // the NEGOTIATE and CHALLENGE replies: the captures, or their SMBGhost edits

	nConns atomic.Uint64
	nReqs  atomic.Uint64
	nextID atomic.Uint64
}

// New returns a Server; add listeners with Listen.
func New(opts Options) *Server {
	s := &Server{opts: opts, negotiate: tpl().negotiate, challenge: tpl().challenge}
	if opts.SMBGhost {
		s.negotiate, s.challenge = smbghostNegotiate(tpl().negotiate), smbghostChallenge(tpl().challenge)
	}
	s.nextID.Store(0x0000_4000_0000_0001)
	return s
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.nConns.Load(), Requests: s.nReqs.Load()}
}

// ErrNotLoopback is returned by Listen for an address that could reach beyond this machine.
var ErrNotLoopback = errors.New("replay listens on loopback addresses only")

// Listen starts serving on addr ("127.0.0.1:0", "[::1]:445", ...). The address must be a
// loopback address; the wildcard ("0.0.0.0:PORT", "[::]:PORT") is accepted only when every
// network interface of the current network namespace is a loopback interface (a namespace made
// for a benchmark), where it reaches all of 127.0.0.0/8 and nothing else.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("replay: listen %q: want IP:PORT: %w", addr, err)
	}
	switch a := ap.Addr().Unmap(); {
	case a.IsLoopback():
	case a.IsUnspecified():
		if err := onlyLoopbackInterfaces(); err != nil {
			return nil, fmt.Errorf("replay: listen %s: %w: %v", addr, ErrNotLoopback, err)
		}
	default:
		return nil, fmt.Errorf("replay: listen %s: %w", addr, ErrNotLoopback)
	}
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	bound := ln.Addr()
	if err := s.group.Serve(ln, s.handle); err != nil {
		return nil, err
	}
	return bound, nil
}

// onlyLoopbackInterfaces fails unless every interface of this network namespace is a loopback.
func onlyLoopbackInterfaces() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("interface %s is not a loopback interface (use a network namespace with only lo)", ifc.Name)
		}
	}
	return nil
}

// Close stops the listeners, closes every connection and waits for their goroutines.
func (s *Server) Close() error {
	s.group.Close()
	return nil
}

// handle serves one accepted connection; the group closes it afterwards.
func (s *Server) handle(c net.Conn) {
	s.nConns.Add(1)
	if s.silent(c) {
		_, _ = io.Copy(io.Discard, c) // until the client or Close ends it
		return
	}
	s.serve(c)
}

func (s *Server) silent(c net.Conn) bool {
	if s.opts.Silent == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	return err == nil && s.opts.Silent(ap)
}

// connState is one connection's buffers and session id.
type connState struct {
	in  []byte
	out []byte
}

var statePool = sync.Pool{New: func() any {
	return &connState{in: make([]byte, 4096), out: make([]byte, 0, 1024)}
}}

func (s *Server) serve(c net.Conn) {
	st := statePool.Get().(*connState)
	defer statePool.Put(st)
	session := s.nextID.Add(1)
	for {
		_ = c.SetDeadline(time.Now().Add(idleTimeout))
		hdr := st.in[:4]
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		if hdr[0] == 0x85 { // NetBIOS keep-alive
			continue
		}
		n := int(hdr[1]&1)<<16 | int(hdr[2])<<8 | int(hdr[3])
		if hdr[0] != 0 || n < 4 || n > maxFrame {
			return
		}
		if cap(st.in) < n {
			st.in = make([]byte, n)
		}
		msg := st.in[:n]
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		s.nReqs.Add(1)
		out, closeAfter := s.reply(st.out[:0], msg, session)
		st.out = out[:0]
		if len(out) == 0 {
			return
		}
		if s.opts.Delay > 0 {
			time.Sleep(s.opts.Delay)
		}
		if _, err := c.Write(out); err != nil || closeAfter {
			return
		}
	}
}

// frame appends a NetBIOS session message header for a body of n bytes.
func frame(dst []byte, n int) []byte {
	return append(dst, 0, byte(n>>16), byte(n>>8), byte(n))
}

// reply appends the framed answer to msg to dst; an empty result closes the connection.
func (s *Server) reply(dst, msg []byte, session uint64) (out []byte, closeAfter bool) {
	switch {
	case len(msg) >= 4 && string(msg[:4]) == "\xffSMB":
		return s.replySMB1(dst, msg)
	case len(msg) < hdrSize || string(msg[:4]) != "\xfeSMB":
		return dst[:0], true
	}
	return s.replySMB2(dst, msg, session)
}

// replySMB1 answers the SMB1 NEGOTIATE and, with Options.SMB1, the MS17-010 check.
func (s *Server) replySMB1(dst, msg []byte) ([]byte, bool) {
	if len(msg) < 32 {
		return dst[:0], true
	}
	t := tpl()
	body := s.smb1Body(msg)
	if body == nil || (!s.opts.SMB1 && msg[4] != 0x72) {
		return dst[:0], true
	}
	dst = frame(dst, len(body))
	start := len(dst)
	dst = append(dst, body...)
	// Echo the request's PID (PIDHigh at 12, PIDLow at 26) and MID (30), and its TID (24)
	// and UID (28) unless the reply assigns them (TREE_CONNECT_ANDX, the chains that carry
	// one, the first SESSION_SETUP_ANDX).
	copy(dst[start+12:start+14], msg[12:14])
	copy(dst[start+26:start+28], msg[26:28])
	copy(dst[start+30:start+32], msg[30:32])
	if msg[4] != 0x75 && !bytes.Equal(body, t.smb1PeekChain) && !bytes.Equal(body, t.smb1PeekChainNT) {
		copy(dst[start+24:start+26], msg[24:26])
	}
	if binary.LittleEndian.Uint16(msg[28:]) != 0 {
		copy(dst[start+28:start+30], msg[28:30])
	}
	return dst, !s.opts.SMB1
}

// smb1Body picks the captured reply to an SMB1 request, nil for a command not answered.
func (s *Server) smb1Body(msg []byte) []byte {
	t := tpl()
	switch msg[4] {
	case 0x72: // NEGOTIATE
		if s.opts.SMB1 {
			return t.smb1NT1
		}
		return t.smb1Refused
	case 0x73: // SESSION_SETUP_ANDX: the CHALLENGE leg, then the anonymous logon's success
		chained := len(msg) > 35 && msg[33] == 0x75 // TREE_CONNECT_ANDX and the peek follow
		switch {
		case msg[32] == 13 && chained: // the NT LM 0.12 form, as the MS17-010 check sends it
			return t.smb1PeekChainNT
		case binary.LittleEndian.Uint16(msg[28:]) == 0:
			return t.smb1Challenge
		case chained:
			return t.smb1PeekChain
		}
		return t.smb1Anonymous
	case 0x75: // TREE_CONNECT_ANDX: IPC$
		return t.smb1TreeIPC
	case 0x25: // TRANSACTION: PeekNamedPipe, answered STATUS_INVALID_HANDLE as Samba does
		return t.smb1Peek
	}
	return nil
}

// replySMB2 answers an SMB2 request from the templates.
func (s *Server) replySMB2(dst, msg []byte, session uint64) ([]byte, bool) {
	t := tpl()
	le := binary.LittleEndian
	cmd := le.Uint16(msg[12:])
	credits := max(le.Uint16(msg[14:]), 1)
	msgID := le.Uint64(msg[24:])
	tree := le.Uint32(msg[36:])
	sess := le.Uint64(msg[40:])
	var body []byte // a template, patched below
	start := len(dst) + 4
	switch cmd {
	case cmdNegotiate:
		body = s.negotiate
	case cmdSessionSetup:
		if sess == 0 {
			body, sess = s.challenge, session
		} else {
			body = t.sessionOK
		}
	case cmdTreeConnect:
		body = t.tree
	case cmdCreate:
		body = t.create
	case cmdClose:
		body = t.close
	case cmdIoctl:
		return s.ioctl(dst, msg, credits, msgID, tree, sess), false
	default:
		return appendError(dst, msg, statusNotSupported, credits), cmd == cmdLogoff || cmd == cmdTreeDisc
	}
	dst = frame(dst, len(body))
	dst = append(dst, body...)
	m := dst[start:]
	le.PutUint16(m[14:], credits)
	le.PutUint64(m[24:], msgID)
	if cmd != cmdTreeConnect {
		le.PutUint32(m[36:], tree)
	}
	le.PutUint64(m[40:], sess)
	if cmd == cmdNegotiate {
		le.PutUint64(m[hdrSize+40:], filetimeNow()) // SystemTime
	}
	return dst, false
}

// ioctl answers FSCTL_PIPE_TRANSCEIVE on the srvsvc pipe (MS-SMB2 2.2.32).
func (s *Server) ioctl(dst, msg []byte, credits uint16, msgID uint64, tree uint32, sess uint64) []byte {
	le := binary.LittleEndian
	t := tpl()
	const fixed = 56 // request fixed part (2.2.31) without the buffer
	if len(msg) < hdrSize+fixed || le.Uint32(msg[hdrSize+4:]) != fsctlPipeTransceive {
		return appendError(dst, msg, statusNotSupported, credits)
	}
	inOff, inN := le.Uint32(msg[hdrSize+24:]), le.Uint32(msg[hdrSize+28:])
	if uint64(inOff)+uint64(inN) > uint64(len(msg)) || inN < 16 {
		return appendError(dst, msg, statusNotSupported, credits)
	}
	in := msg[inOff : inOff+inN]
	var pdu []byte
	switch in[2] { // DCE/RPC PTYPE
	case 11: // BIND
		pdu = t.bindAck
	case 0: // REQUEST
		pdu = t.shareEnum
	default:
		return appendError(dst, msg, statusNotSupported, credits)
	}
	n := hdrSize + 48 + len(pdu)
	dst = frame(dst, n)
	dst = hdr(dst, cmdIoctl, statusSuccess, credits, msgID, tree, sess)
	dst = le.AppendUint16(dst, 49)
	dst = le.AppendUint16(dst, 0)
	dst = le.AppendUint32(dst, fsctlPipeTransceive)
	dst = append(dst, msg[hdrSize+8:hdrSize+24]...) // FileId
	dst = le.AppendUint32(dst, hdrSize+48)          // InputOffset
	dst = le.AppendUint32(dst, 0)                   // InputCount
	dst = le.AppendUint32(dst, hdrSize+48)          // OutputOffset
	dst = le.AppendUint32(dst, uint32(len(pdu)))    // OutputCount
	dst = le.AppendUint32(dst, 0)                   // Flags
	dst = le.AppendUint32(dst, 0)                   // Reserved2
	p := len(dst)
	dst = append(dst, pdu...)
	copy(dst[p+12:p+16], in[12:16]) // call_id
	return dst
}

// hdr appends an SMB2 sync response header.
func hdr(dst []byte, cmd uint16, status uint32, credits uint16, msgID uint64, tree uint32, sess uint64) []byte {
	le := binary.LittleEndian
	dst = append(dst, 0xfe, 'S', 'M', 'B')
	dst = le.AppendUint16(dst, hdrSize)
	dst = le.AppendUint16(dst, 1) // CreditCharge
	dst = le.AppendUint32(dst, status)
	dst = le.AppendUint16(dst, cmd)
	dst = le.AppendUint16(dst, credits)
	dst = le.AppendUint32(dst, 1) // SERVER_TO_REDIR
	dst = le.AppendUint32(dst, 0) // NextCommand
	dst = le.AppendUint64(dst, msgID)
	dst = le.AppendUint32(dst, 0)
	dst = le.AppendUint32(dst, tree)
	dst = le.AppendUint64(dst, sess)
	return append(dst, make([]byte, 16)...)
}

// appendError appends an SMB2 ERROR response (MS-SMB2 2.2.2) with status.
func appendError(dst, msg []byte, status uint32, credits uint16) []byte {
	le := binary.LittleEndian
	dst = frame(dst, hdrSize+9)
	dst = hdr(dst, le.Uint16(msg[12:]), status, credits, le.Uint64(msg[24:]), le.Uint32(msg[36:]), le.Uint64(msg[40:]))
	dst = le.AppendUint16(dst, 9)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0)
	return dst
}

// filetimeNow returns the current time as a FILETIME (100 ns since 1601).
func filetimeNow() uint64 {
	return uint64(time.Now().UnixNano()/100) + 116444736000000000
}

// ListenMany listens on n consecutive loopback addresses starting at first, all on port (0 picks
// a free port on the first address and reuses it for the rest). It returns the port.
func (s *Server) ListenMany(first netip.Addr, n int, port uint16) (uint16, error) {
	a := first
	for i := range n {
		if !a.IsLoopback() {
			return 0, fmt.Errorf("replay: %s: %w", a, ErrNotLoopback)
		}
		addr, err := s.Listen(netip.AddrPortFrom(a, port).String())
		if err != nil {
			return 0, fmt.Errorf("replay: address %d of %d: %w", i+1, n, err)
		}
		if port == 0 {
			_, ps, _ := net.SplitHostPort(addr.String())
			p, _ := strconv.Atoi(ps)
			port = uint16(p)
		}
		a = a.Next()
	}
	return port, nil
}
