// Package transport is the framed SMB connection: NetBIOS session framing, deadlines taken from
// the context before every read and write, SMB2 message ids and credits, one reusable buffer
// per connection, and the security of established sessions: the SMB 3.1.1 preauthentication
// integrity hash over NEGOTIATE and SESSION_SETUP, key derivation, signing of requests and
// verification of every reply (fail closed), and encryption under the TRANSFORM_HEADER (see
// Conn.EstablishSession). It sits between the pure codec (package wire) and the probes and the
// credentialed client. Null and guest sessions are never signed or encrypted.
package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/smbsweep/smbsweep/internal/smbcrypto"
	"github.com/smbsweep/smbsweep/wire"
)

const (
	// DefaultMaxFrame caps the size of a frame accepted from the peer unless Options says
	// otherwise: large enough for every unauthenticated exchange, small enough that a hostile
	// length field cannot make the scanner allocate much.
	DefaultMaxFrame = 1 << 20
	// HardMaxFrame is the largest frame any configuration accepts (8 MiB reads plus headers).
	HardMaxFrame = 8<<20 + 64<<10

	initialBuffer = 4 << 10
	// creditRequest is how many credits each request asks for.
	creditRequest = 64
	// maxInterim caps interim (STATUS_PENDING) responses skipped for one request.
	maxInterim = 16
	// decryptSlack is room kept after a received frame for in-place decryption.
	decryptSlack = smbcrypto.TagSize
)

// Direction tells a Tracer which way a frame went.
type Direction int

// Directions.
const (
	Sent Direction = iota
	Received
)

// Tracer sees every SMB message (without the NetBIOS header) sent or received. The slice is
// only valid during the call. Messages of encrypted sessions are traced in the clear (a request
// before it is encrypted, a reply after it is decrypted); signed ones with their signature.
type Tracer func(dir Direction, msg []byte)

// Options configures a Conn.
type Options struct {
	// MaxFrame caps an accepted frame; 0 means DefaultMaxFrame; larger than HardMaxFrame is clamped.
	MaxFrame int
	// Trace, when set, sees every message (debugging and golden capture).
	Trace Tracer
	// NoSigning says that no session on this connection will be signed or encrypted (the
	// null and guest sessions of the probes): the SMB 3.1.1 preauthentication integrity hash,
	// a SHA-512 over every NEGOTIATE and SESSION_SETUP message, is then not computed, and
	// EstablishSession refuses to establish a session.
	NoSigning bool
}

// ErrNotSMB is returned (wrapped in *NotSMBError) when the peer answered with something that
// is not an SMB message.
var ErrNotSMB = errors.New("peer did not answer with SMB")

// NotSMBError carries the first bytes a non-SMB peer sent, as evidence.
type NotSMBError struct {
	First []byte
}

func (e *NotSMBError) Error() string {
	return fmt.Sprintf("peer did not answer with SMB (first bytes %x)", e.First)
}

// Unwrap makes errors.Is(err, ErrNotSMB) true.
func (e *NotSMBError) Unwrap() error { return ErrNotSMB }

// ProtocolError is a reply that fails validation: framing or header that is not what the
// protocol allows. Err wraps the wire sentinel.
type ProtocolError struct {
	Op  string
	Err error
}

func (e *ProtocolError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, initialBuffer); return &b }}

// maxPooled is the largest buffer returned to the pool; a connection that grew a larger one
// (large READs) keeps it while it waits.
const maxPooled = 64 << 10

// Conn is one SMB connection. It is not safe for concurrent use: a probe drives it from one
// goroutine, one request at a time.
//
// Its one buffer serves both directions. A request is built in it from offset 0 (Buffer);
// received bytes are read into it as far as it holds (read-ahead: a whole small frame takes
// one read(2), header and body) and buf[r:w] is what arrived but was not yet returned. Between
// frames, when nothing is buffered, a *net.TCPConn waits for the server without a buffer: the
// read goes through its syscall.RawConn, and the buffer is taken from the pool only once the
// socket is readable, so thousands of connections waiting on slow servers hold none.
type Conn struct {
	nc       net.Conn
	rc       syscall.RawConn       // nc's, for *net.TCPConn on unix; nil means plain nc.Read
	readRaw  func(fd uintptr) bool // c.rawRead bound once (no allocation per read)
	bufp     *[]byte               // the pool's handle of buf; nil while buf is released
	buf      []byte                // len(buf) == cap(buf); nil while released to the pool
	r, w     int                   // buf[r:w] is received and not yet returned
	pend     []byte                // read-ahead bytes set aside while buf holds a request (rare)
	rn       int                   // result of the last rawRead
	rerr     error
	maxFrame int
	trace    Tracer
	stop     func() bool
	noSign   bool

	nextMessageID uint64
	credits       uint32 // credits the server has granted and we have not used
	// broken is the first transport or protocol error: after it the stream's position is
	// unknown (a late reply may still arrive), so every later call fails with it.
	broken error

	neg      Negotiated
	connHash smbcrypto.PreauthHash // Connection.PreauthIntegrityHashValue (3.1.1)
	sessHash smbcrypto.PreauthHash // of the SESSION_SETUP exchange in progress (3.1.1)
	sessions []*Session            // established (signed) sessions
	seal     []byte                // reusable buffer for encrypted frames
	// cur is the session the next requests go out in (Use); nil is session 0.
	cur *Session
}

// New wraps nc. When ctx is cancelled every blocked read or write returns at once (the
// connection's deadline is moved to the past), so a cancelled scan never waits on a socket.
func New(ctx context.Context, nc net.Conn, opts Options) *Conn {
	c := &Conn{nc: nc, maxFrame: opts.MaxFrame, trace: opts.Trace, credits: 1, noSign: opts.NoSigning}
	if c.maxFrame <= 0 {
		c.maxFrame = DefaultMaxFrame
	}
	if c.maxFrame > HardMaxFrame {
		c.maxFrame = HardMaxFrame
	}
	if c.rc = rawConn(nc); c.rc != nil {
		c.readRaw = c.rawRead
	}
	c.stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return c
}

// SetMaxFrame changes the largest frame accepted (e.g. after NEGOTIATE announced MaxReadSize).
func (c *Conn) SetMaxFrame(n int) {
	if n > HardMaxFrame {
		n = HardMaxFrame
	}
	if n > 0 {
		c.maxFrame = n
	}
}

// RemoteAddr returns the peer address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Close closes the connection and returns its buffer to the pool.
func (c *Conn) Close() error {
	if c.stop != nil {
		c.stop()
	}
	c.release() // first: closing a socket can take a while (loopback runs the peer's side too)
	c.r, c.w, c.pend = 0, 0, nil
	err := c.nc.Close()
	c.sessions, c.seal = nil, nil
	return err
}

// Release returns the connection's buffer to the pool while the connection stays open but is
// left idle for a while (a probe that turns to another connection, e.g. the SMB1 stage's own,
// between two requests on this one). The last frame returned by ReadFrame, Call or Buffer is no
// longer valid afterwards. Bytes that arrived ahead of the next frame are kept; the next Buffer,
// ReadFrame or Call takes a buffer again.
func (c *Conn) Release() {
	if c.r < c.w {
		c.setAside(c.r)
	}
	c.release()
}

// take gets a buffer from the pool.
func (c *Conn) take() {
	c.bufp = bufPool.Get().(*[]byte)
	c.buf = (*c.bufp)[:cap(*c.bufp)]
}

// release returns the buffer to the pool (one larger than maxPooled is dropped).
func (c *Conn) release() {
	if c.bufp != nil && len(c.buf) <= maxPooled {
		*c.bufp = c.buf[:0]
		bufPool.Put(c.bufp)
	}
	c.bufp, c.buf = nil, nil
}

func (c *Conn) setDeadline(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, _ := ctx.Deadline() // zero time means no deadline
	return c.nc.SetDeadline(d)
}

// Buffer returns the connection's reusable buffer, emptied, with room reserved for the
// NetBIOS header: append a message to it and pass the result to WriteFrame. It invalidates the
// last frame returned by ReadFrame.
func (c *Conn) Buffer() []byte {
	if c.r < c.w {
		c.setAside(c.r)
	}
	if c.buf == nil {
		c.take()
	}
	return append(c.buf[:0], 0, 0, 0, 0)
}

// keep makes frame, built from Buffer and maybe grown by appending, the connection's buffer.
func (c *Conn) keep(frame []byte) {
	if cap(frame) > len(c.buf) {
		c.buf = frame[:cap(frame)]
	}
}

// WriteFrame sends frame, which must come from Buffer (4 reserved bytes, then the message).
func (c *Conn) WriteFrame(ctx context.Context, frame []byte) error {
	c.keep(frame)
	return c.writeFrame(ctx, frame, true)
}

// writeFrame fills in the NetBIOS header of frame and sends it, traced when trace is set.
func (c *Conn) writeFrame(ctx context.Context, frame []byte, trace bool) error {
	if len(frame) < wire.NetBIOSHeaderSize {
		return fmt.Errorf("write frame: %w", wire.ErrShort)
	}
	if err := wire.PutNetBIOSHeader(frame, len(frame)-wire.NetBIOSHeaderSize); err != nil {
		return err
	}
	if trace && c.trace != nil {
		c.trace(Sent, frame[wire.NetBIOSHeaderSize:])
	}
	if err := c.setDeadline(ctx); err != nil {
		return err
	}
	_, err := c.nc.Write(frame)
	return err
}

// ReadFrame reads one NetBIOS session message and returns its payload, a view into the
// connection's buffer valid until the next call (of ReadFrame, Buffer, Call or Close).
// Keep-alive frames are skipped; a length over the cap is a protocol error, never an
// allocation. Bytes that arrive after the frame are kept for the next call.
func (c *Conn) ReadFrame(ctx context.Context) ([]byte, error) {
	if err := c.setDeadline(ctx); err != nil {
		return nil, err
	}
	for skipped := 0; ; skipped++ {
		if err := c.fill(wire.NetBIOSHeaderSize); err != nil {
			return nil, err
		}
		typ, n, _ := wire.ParseNetBIOSHeader(c.buf[c.r : c.r+wire.NetBIOSHeaderSize])
		if typ == wire.NetBIOSKeepAlive && n == 0 && skipped < maxInterim {
			if c.r += wire.NetBIOSHeaderSize; c.r == c.w {
				c.r, c.w = 0, 0
			}
			continue
		}
		if typ != wire.NetBIOSSessionMessage {
			return nil, c.notSMB()
		}
		if n > c.maxFrame {
			// Something that is not SMB may look like a huge frame (e.g. "HTTP" = 0x48 type).
			return nil, &ProtocolError{Op: "read frame", Err: fmt.Errorf("netbios length %d over limit %d: %w", n, c.maxFrame, wire.ErrTooLarge)}
		}
		if n < 4 {
			return nil, c.notSMB()
		}
		size := wire.NetBIOSHeaderSize + n
		if err := c.fill(size); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) && c.w-c.r > wire.NetBIOSHeaderSize {
				return nil, &ProtocolError{Op: "read frame", Err: fmt.Errorf("connection closed after %d-byte header announced %d bytes: %w", 4, n, wire.ErrShort)}
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF // the header, then nothing: as before read-ahead
			}
			return nil, err
		}
		end := c.r + size
		limit := end
		if binary.LittleEndian.Uint32(c.buf[end-n:]) == wire.ProtocolSMB2Transform {
			end = c.roomToDecrypt(size)
			limit = end + decryptSlack
		}
		// The message's capacity ends where bytes read ahead of the next frame begin: nothing
		// written after it (an in-place decryption) can overwrite them.
		msg := c.buf[end-n : end : limit]
		if c.w == end {
			c.r, c.w = 0, 0
		} else {
			c.r = limit
		}
		// An encrypted reply the connection can decrypt is traced in the clear by call.
		if c.trace != nil && !(len(c.sessions) > 0 && binary.LittleEndian.Uint32(msg) == wire.ProtocolSMB2Transform) {
			c.trace(Received, msg)
		}
		return msg, nil
	}
}

// roomToDecrypt makes decryptSlack bytes of room after the size-byte frame at buf[r:], which
// lets AES-GCM decrypt a TRANSFORM message in place (it writes the tag after the ciphertext),
// moving bytes read ahead of the next frame clear of them, and returns where the frame ends.
// It grows the buffer by at most decryptSlack bytes over what has arrived.
func (c *Conn) roomToDecrypt(size int) int {
	surplus := c.w - (c.r + size)
	if c.r+size+decryptSlack+surplus > len(c.buf) {
		c.compact()
		if need := size + decryptSlack + surplus; need > len(c.buf) {
			c.grow(need)
		}
	}
	end := c.r + size
	if surplus > 0 {
		copy(c.buf[end+decryptSlack:], c.buf[end:c.w])
		c.w += decryptSlack
	}
	return end
}

// setAside copies buf[from:w], bytes received and not yet returned, out of the buffer, which
// is about to be overwritten; fill puts them back. Rare: only a peer that sends a frame before
// the previous request's reply was read (an unsolicited notification, a hostile peer) has any.
func (c *Conn) setAside(from int) {
	c.pend = append(c.pend, c.buf[from:c.w]...)
	c.r, c.w = 0, 0
}

// compact moves the unread bytes buf[r:w] to the start of the buffer.
func (c *Conn) compact() {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
}

// grow replaces the buffer with one of size bytes holding the same buf[:w].
func (c *Conn) grow(size int) {
	nb := make([]byte, max(size, c.w))
	copy(nb, c.buf[:c.w])
	c.buf = nb
}

// growStep is the first size the read buffer grows to beyond its pooled capacity.
const growStep = 64 << 10

// fill reads until buf[r:w] holds at least need bytes, reading as much as the buffer holds
// each time (so the surplus of one read is the start of the next frame). The buffer grows only
// when it is full (doubling from growStep, up to need plus decryptSlack), that is, as bytes
// arrive, never on a peer's length claim alone: a peer that announces a large frame and
// stalls costs nothing. Errors are those of io.ReadFull: io.EOF when the connection closed
// before any byte of the need, io.ErrUnexpectedEOF after some.
func (c *Conn) fill(need int) error {
	if c.pend != nil {
		c.restore()
	}
	for c.w-c.r < need {
		if c.buf == nil && c.rc == nil {
			c.take()
		}
		if c.buf != nil {
			if c.r+need+decryptSlack > len(c.buf) {
				c.compact()
			}
			if c.w == len(c.buf) {
				size := max(2*len(c.buf), growStep)
				if size >= need {
					size = need + decryptSlack
				}
				c.grow(size)
			}
		}
		k, err := c.read()
		c.w += k
		if err != nil && c.w-c.r < need {
			if errors.Is(err, io.EOF) && c.w > c.r {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// restore puts the bytes setAside kept back into the buffer.
func (c *Conn) restore() {
	if c.buf == nil {
		c.take()
	}
	if len(c.pend) > len(c.buf) {
		c.buf = make([]byte, len(c.pend)) // bytes that arrived, not a claim
	}
	c.r, c.w = 0, copy(c.buf, c.pend)
	c.pend = nil
}

// read reads once into buf[w:] (taking the buffer first when the raw path released it).
func (c *Conn) read() (int, error) {
	if c.rc == nil {
		return c.nc.Read(c.buf[c.w:])
	}
	c.rn, c.rerr = 0, nil
	if err := c.rc.Read(c.readRaw); err != nil {
		// A deadline, a cancelled context or a closed connection, reported as nc.Read would.
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "raw-read" {
			e := *oe
			e.Op = "read"
			return 0, &e
		}
		return 0, err
	}
	if c.rerr != nil && c.rerr != io.EOF {
		la := c.nc.LocalAddr()
		return c.rn, &net.OpError{Op: "read", Net: la.Network(), Source: la, Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", c.rerr)}
	}
	return c.rn, c.rerr
}

// rawRead is called by the netpoller through syscall.RawConn.Read: once at once, and again
// each time the socket becomes readable. It reads into buf[w:], taking the buffer from the
// pool first when it has none. When nothing is there yet (EAGAIN) and nothing is buffered, it
// gives the buffer back before the connection waits.
func (c *Conn) rawRead(fd uintptr) bool {
	if c.buf == nil {
		c.take()
	}
	n, err := sysRead(fd, c.buf[c.w:])
	switch {
	case err == errWouldBlock:
		if c.w == 0 && len(c.buf) <= maxPooled {
			c.release()
		}
		return false
	case err != nil:
		c.rn, c.rerr = 0, err
	case n == 0:
		c.rn, c.rerr = 0, io.EOF
	default:
		c.rn, c.rerr = n, nil
	}
	return true
}

// notSMB builds the evidence for a peer that does not frame like SMB: the first 16 bytes it
// sent, waiting briefly for more when only the 4 of the header arrived so far.
func (c *Conn) notSMB() error {
	first := make([]byte, 16)
	k := copy(first, c.buf[c.r:c.w])
	if k <= wire.NetBIOSHeaderSize {
		_ = c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		m, _ := io.ReadAtLeast(c.nc, first[k:], 1)
		k += m
	}
	return &NotSMBError{First: first[:k]}
}

// Response is a received SMB2 message. Msg (header included) is a view into the connection's
// buffer, valid until the next request.
type Response struct {
	Header wire.Header
	Msg    []byte
}

// Body is an encodable SMB2 request body (every request type in package wire).
type Body interface {
	AppendTo(dst []byte) []byte
}

// Err returns the failure that left the connection unusable (a transport or protocol error of
// an earlier call, after which the stream's position is unknown), or nil while it is usable.
func (c *Conn) Err() error { return c.broken }

// Call sends one SMB2 request and returns the matching response, skipping interim
// STATUS_PENDING replies. A non-success NT status is not an error here: it is in
// Response.Header.Status for the caller to judge. Errors are transport or protocol failures.
func (c *Conn) Call(ctx context.Context, cmd wire.Command, treeID uint32, body Body) (Response, error) {
	return c.CallCharge(ctx, cmd, treeID, 1, body)
}

// CallCharge is Call with an explicit CreditCharge (multi-credit READ/WRITE/IOCTL).
func (c *Conn) CallCharge(ctx context.Context, cmd wire.Command, treeID uint32, charge uint16, body Body) (Response, error) {
	if c.broken != nil {
		return Response{}, fmt.Errorf("%s not sent: connection unusable after an earlier failure: %w", cmd, c.broken)
	}
	r, err := c.call(ctx, cmd, treeID, charge, body)
	if err != nil {
		c.broken = err
	}
	return r, err
}

func (c *Conn) call(ctx context.Context, cmd wire.Command, treeID uint32, charge uint16, body Body) (Response, error) {
	p, err := c.send(ctx, cmd, treeID, charge, body)
	if err != nil {
		return Response{}, err
	}
	return c.await(ctx, p)
}

// sent is a request on the wire, waiting for its response.
type sent struct {
	cmd       wire.Command
	h         wire.Header
	sess      *secSession // the session that signs or seals it (nil: none)
	encrypted bool        // sent in a TRANSFORM_HEADER
	negHash   smbcrypto.PreauthHash
}

// send builds the request (header, credits, preauth hash), signs or seals it for its
// session, and writes it.
func (c *Conn) send(ctx context.Context, cmd wire.Command, treeID uint32, charge uint16, body Body) (sent, error) {
	if charge == 0 {
		charge = 1
	}
	if cmd != wire.CmdNegotiate && c.credits < uint32(charge) {
		return sent{}, fmt.Errorf("%s: server granted %d credits, request needs %d", cmd, c.credits, charge)
	}
	p := sent{cmd: cmd, h: wire.Header{
		Command:   cmd,
		Credits:   max(creditRequest, charge),
		MessageID: c.nextMessageID,
		TreeID:    treeID,
		SessionID: c.cur.ID(),
	}}
	if c.neg.Dialect != 0 && c.neg.Dialect != uint16(wire.Dialect202) {
		p.h.CreditCharge = charge
	}
	frame := c.Buffer()
	frame = p.h.AppendTo(frame)
	frame = body.AppendTo(frame)
	c.keep(frame)
	msg := frame[wire.NetBIOSHeaderSize:]
	switch {
	case c.noSign:
		// No session will sign: no preauth integrity hash.
	case cmd == wire.CmdNegotiate:
		p.negHash = c.connHash
		p.negHash.Update(msg)
	case cmd == wire.CmdSessionSetup && c.neg.Dialect == uint16(wire.Dialect311):
		if p.h.SessionID == 0 {
			c.sessHash = c.connHash
		}
		c.sessHash.Update(msg)
	}
	p.sess = c.cur.established()
	if p.sess != nil && cmd != wire.CmdSessionSetup {
		var err error
		if frame, p.encrypted, err = c.protect(frame, p.sess, treeID); err != nil {
			return sent{}, fmt.Errorf("%s: %w", cmd, err)
		}
	}
	if p.encrypted && c.trace != nil {
		c.trace(Sent, msg)
	}
	if err := c.writeFrame(ctx, frame, !p.encrypted); err != nil {
		return sent{}, err
	}
	c.credits -= min(c.credits, uint32(charge))
	c.nextMessageID += uint64(charge)
	return p, nil
}

// await reads until the response to p: unsolicited break notifications and interim
// STATUS_PENDING replies (at most maxInterim) are skipped; the response is decrypted,
// its signature checked, and the session state updated.
func (c *Conn) await(ctx context.Context, p sent) (Response, error) {
	cmd := p.cmd
	for interim := 0; ; interim++ {
		msg, err := c.ReadFrame(ctx)
		if err != nil {
			return Response{}, err
		}
		encrypted := false
		if len(msg) >= 4 && binary.LittleEndian.Uint32(msg) == wire.ProtocolSMB2Transform && len(c.sessions) > 0 {
			if msg, err = c.decrypt(cmd, msg); err != nil {
				return Response{}, err
			}
			encrypted = true
			if c.trace != nil {
				c.trace(Received, msg)
			}
		}
		var r Response
		if err := c.decodeSMB2(msg, &r.Header); err != nil {
			return Response{}, err
		}
		r.Msg = msg
		c.credits += uint32(r.Header.Credits)
		if r.Header.MessageID != p.h.MessageID {
			if r.Header.MessageID == ^uint64(0) && interim < maxInterim {
				continue // unsolicited oplock/lease break notification
			}
			return Response{}, &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("response message id %d, sent %d: %w", r.Header.MessageID, p.h.MessageID, wire.ErrMalformed)}
		}
		if r.Header.Status == wire.StatusPending && r.Header.Flags&wire.FlagAsyncCommand != 0 {
			if interim >= maxInterim {
				return Response{}, &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("more than %d interim responses: %w", maxInterim, wire.ErrMalformed)}
			}
			continue
		}
		if r.Header.Command != cmd {
			return Response{}, &ProtocolError{Op: cmd.String(), Err: fmt.Errorf("response to %s: %w", r.Header.Command, wire.ErrBadCommand)}
		}
		if err := c.received(p, encrypted, &r); err != nil {
			return Response{}, err
		}
		return r, nil
	}
}

// received updates the connection with the response to p: the negotiated state, the
// preauth hash of a 3.1.1 logon, or the signature check and the session's state.
func (c *Conn) received(p sent, encrypted bool, r *Response) error {
	switch {
	case p.cmd == wire.CmdNegotiate:
		c.recordNegotiate(r.Msg, r.Header.Status, p.negHash)
	case p.cmd == wire.CmdSessionSetup:
		if r.Header.Status == wire.StatusMoreProcessingRequired && c.neg.Dialect == uint16(wire.Dialect311) && !c.noSign {
			c.sessHash.Update(r.Msg)
		}
	case p.sess != nil:
		if err := c.checkReply(p.cmd, p.sess, p.h.TreeID, p.encrypted, encrypted, &r.Header, r.Msg); err != nil {
			return err
		}
		c.afterReply(p.cmd, p.sess, p.h.TreeID, &r.Header, r.Msg)
	}
	return nil
}

func (c *Conn) decodeSMB2(msg []byte, h *wire.Header) error {
	if len(msg) >= 4 {
		switch binary.LittleEndian.Uint32(msg) {
		case wire.ProtocolSMB2:
		case wire.ProtocolSMB1:
			return &ProtocolError{Op: "smb2 header", Err: fmt.Errorf("SMB1 reply to an SMB2 request: %w", wire.ErrBadProtocol)}
		case wire.ProtocolSMB2Transform:
			return &ProtocolError{Op: "smb2 header", Err: fmt.Errorf("encrypted reply on an unencrypted session: %w", wire.ErrBadProtocol)}
		case wire.ProtocolSMB2Compressed:
			return &ProtocolError{Op: "smb2 header", Err: fmt.Errorf("compressed reply (COMPRESSION_TRANSFORM_HEADER), but smbsweep never asks for compression: %w", wire.ErrBadProtocol)}
		default:
			return &NotSMBError{First: append([]byte(nil), msg[:min(len(msg), 16)]...)}
		}
	}
	if err := wire.DecodeHeader(msg, h); err != nil {
		return &ProtocolError{Op: "smb2 header", Err: err}
	}
	if h.Flags&wire.FlagServerToRedir == 0 {
		return &ProtocolError{Op: "smb2 header", Err: fmt.Errorf("reply without SERVER_TO_REDIR flag: %w", wire.ErrMalformed)}
	}
	return nil
}
