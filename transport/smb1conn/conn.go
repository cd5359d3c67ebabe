package smb1conn

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// Limits on what the server may make the client do.
const (
	// DefaultMaxFrame caps a received SMB1 message (READ_ANDX chunks are at most
	// MaxIOSize, plus headers).
	DefaultMaxFrame = 256 << 10
	// MaxIOSize is the largest READ_ANDX or WRITE_ANDX this client sends when the server
	// has CAP_LARGE_READX / CAP_LARGE_WRITEX; without them MaxBufferSize decides.
	MaxIOSize = 60 << 10
	// MaxTransactionFragments caps the messages of one transaction reply.
	MaxTransactionFragments = 64
	// MaxTransactionReply caps the parameters or data of one transaction reply.
	MaxTransactionReply = 64 << 10
	// MaxFindRounds caps the FIND_NEXT2 rounds of one listing (each returns up to
	// Options.FindCount entries), so a server whose search never ends cannot hold the client.
	MaxFindRounds    = 4096
	defaultFindCount = 512
	// maxStrayReplies caps replies with an unexpected MID skipped while waiting for one.
	maxStrayReplies = 8
)

// Errors.
var (
	// ErrBadSignature means a reply's SMB1 signature (MS-CIFS 3.1.5.1) did not verify.
	ErrBadSignature = errors.New("smb1: bad message signature")
	// ErrNoNTLMv2 means the server offers no way to log on with NTLMv2 (no extended security
	// and no 8-byte challenge).
	ErrNoNTLMv2 = errors.New("smb1: server offers neither extended security nor an NTLM challenge")
	// ErrNotNegotiated means the server did not accept the NT LM 0.12 dialect.
	ErrNotNegotiated = errors.New("smb1: NT LM 0.12 not accepted")
	// ErrSigningRequired means the server requires signing but the logon has no session key
	// (anonymous or guest).
	ErrSigningRequired = errors.New("smb1: server requires signing, and an anonymous or guest session cannot sign")
)

// Options configure a Conn.
type Options struct {
	// MaxFrame caps a received message; 0 means DefaultMaxFrame.
	MaxFrame int
	// Trace sees every SMB1 message sent and received (debugging, captures).
	Trace transport.Tracer
	// NoExtendedSecurity leaves Flags2ExtendedSecurity out of the NEGOTIATE, so the server
	// answers with the NT LM 0.12 challenge form and the logon uses the non-extended
	// SESSION_SETUP_ANDX (MS-CIFS 2.2.4.53) with NTLMv2 responses.
	NoExtendedSecurity bool
	// ServerName is the name in tree connect paths (`\\ServerName\share`); default the
	// peer's IP address.
	ServerName string
	// Workstation is the client name sent in NTLM messages; default "SMBSWEEP".
	Workstation string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// FindCount is the SearchCount of each FIND_FIRST2/FIND_NEXT2 round; 0 means 512.
	// Captures and tests lower it to page through small directories.
	FindCount uint16
	// MaxBufferSize is the client's MaxBufferSize of SESSION_SETUP_ANDX: the largest message
	// the server may send, so it decides when transaction replies are split into several
	// messages; 0 means 0xFFFF. Samba requires at least 500.
	MaxBufferSize uint16
	// AllowNTLMv1 lets an NT LM 0.12 logon that the server refused with NTLMv2 be retried
	// once with NTLMv1 (for audits of legacy servers; Session.NTLMv1 records it). LM
	// responses are never sent. Off by default.
	AllowNTLMv1 bool
	// FileIDs makes List ask for SMB_FIND_FILE_ID_BOTH_DIRECTORY_INFO (MS-SMB 2.2.8.1.1),
	// which adds each entry's 64-bit file ID, instead of SMB_FIND_FILE_BOTH_DIRECTORY_INFO.
	FileIDs bool
}

// Negotiated is what the server's NEGOTIATE reply said.
type Negotiated struct {
	Capabilities     uint32
	SecurityMode     byte
	MaxBufferSize    uint32
	MaxMpxCount      uint16
	SessionKey       uint32
	SystemTime       uint64
	ExtendedSecurity bool
	ServerGUID       [16]byte
	// Challenge is the 8-byte NTLM challenge of the non-extended form.
	Challenge [8]byte
	// DomainName and ServerName are the non-extended form's names.
	DomainName, ServerName string
	// Unicode is CapUnicode: the client's strings are UTF-16LE on this connection.
	Unicode bool
}

// SigningRequired reports NEGOTIATE_SECURITY_SIGNATURES_REQUIRED.
func (n Negotiated) SigningRequired() bool {
	return n.SecurityMode&smb1.SecurityModeSecuritySignaturesRequired != 0
}

// Conn is one SMB1 connection with at most one logged-on user.
type Conn struct {
	tc   *transport.Conn
	opts Options
	neg  Negotiated
	done bool // NEGOTIATE succeeded

	uid uint16
	mid uint16

	// ntForm marks a request in the NT LM 0.12 logon form sent on a connection that
	// negotiated extended security (PeekIPC): it claims no extended security.
	ntForm bool

	signing bool
	macKey  []byte // SigningSessionKey || SigningChallengeResponse (MS-CIFS 3.1.4.1)
	seq     uint32 // sequence number of the next request
	broken  error
}

// New wraps nc (a TCP connection to port 445 or 139 after any NetBIOS session request).
// When ctx is cancelled every blocked read or write returns at once.
func New(ctx context.Context, nc net.Conn, opts Options) *Conn {
	opts.defaults(nc.RemoteAddr())
	tc := transport.New(ctx, nc, transport.Options{MaxFrame: opts.MaxFrame, Trace: opts.Trace, NoSigning: true})
	return &Conn{tc: tc, opts: opts}
}

// defaults fills in the zero fields of o; remote names the server by default.
func (o *Options) defaults(remote net.Addr) {
	if o.MaxFrame <= 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.MaxBufferSize == 0 {
		o.MaxBufferSize = 0xffff
	}
	if o.FindCount == 0 {
		o.FindCount = defaultFindCount
	}
	if o.Workstation == "" {
		o.Workstation = "SMBSWEEP"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ServerName == "" {
		if ap, err := netip.ParseAddrPort(remote.String()); err == nil {
			o.ServerName = ap.Addr().Unmap().String()
		} else {
			o.ServerName = "*SMBSERVER"
		}
	}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.tc.Close() }

// Negotiated returns the NEGOTIATE result (zero before Negotiate).
func (c *Conn) Negotiated() Negotiated { return c.neg }

// UID returns the logged-on user ID (0 before a logon).
func (c *Conn) UID() uint16 { return c.uid }

// Signing reports whether messages are signed.
func (c *Conn) Signing() bool { return c.signing }

// flags2 returns the Flags2 of a request.
func (c *Conn) flags2() uint16 {
	f := smb1.Flags2LongNames | smb1.Flags2NTStatus
	if !c.done || c.neg.Unicode {
		f |= smb1.Flags2Unicode
	}
	// Extended security is offered in the NEGOTIATE unless disabled, and claimed afterwards
	// only when the server chose it (MS-SMB 3.2.4.2.4).
	if (!c.done && !c.opts.NoExtendedSecurity) || (c.done && c.neg.ExtendedSecurity && !c.ntForm) {
		f |= smb1.Flags2ExtendedSecurity
	}
	if c.signing {
		f |= smb1.Flags2SecuritySignature
	}
	return f
}

// body is a request body of package smb1.
type body interface{ AppendTo([]byte) []byte }

// send builds, signs when signing is on, and sends one request; it returns the request's MID
// and the sequence number its replies must be signed with.
func (c *Conn) send(ctx context.Context, cmd byte, tid uint16, b body) (uint16, uint32, error) {
	if c.broken != nil {
		return 0, 0, c.broken
	}
	c.mid++
	if c.mid == 0xffff { // 0xFFFF is reserved for oplock breaks (MS-CIFS 2.2.3.1)
		c.mid = 1
	}
	h := smb1.Header{Command: cmd, Flags: smb1.ProbeFlags, Flags2: c.flags2(), PIDLow: smb1.ProbePIDLow,
		TID: tid, UID: c.uid, MID: c.mid}
	frame := c.tc.Buffer()
	msgStart := len(frame)
	frame = b.AppendTo(h.AppendTo(frame))
	seq := c.seq
	if c.signing {
		sign(frame[msgStart:], c.macKey, seq)
		c.seq += 2
	}
	if err := c.tc.WriteFrame(ctx, frame); err != nil {
		c.broken = err
		return 0, 0, err
	}
	return c.mid, seq + 1, nil
}

// recv reads the reply to mid, checking its command and signature (replySeq).
func (c *Conn) recv(ctx context.Context, cmd byte, mid uint16, replySeq uint32) (smb1.Reply, error) {
	for stray := 0; ; stray++ {
		msg, err := c.tc.ReadFrame(ctx)
		if err != nil {
			c.broken = err
			return nil, err
		}
		r := smb1.Reply(msg)
		var h smb1.Header
		if err := smb1.DecodeHeader(msg, &h); err != nil {
			c.broken = &transport.ProtocolError{Op: "smb1 reply", Err: err}
			return nil, c.broken
		}
		if h.MID != mid {
			if stray >= maxStrayReplies {
				c.broken = &transport.ProtocolError{Op: "smb1 reply", Err: fmt.Errorf("MID %d, want %d: %w", h.MID, mid, wire.ErrMalformed)}
				return nil, c.broken
			}
			continue
		}
		if err := r.ValidateCommand(cmd); err != nil {
			c.broken = &transport.ProtocolError{Op: "smb1 reply", Err: err}
			return nil, c.broken
		}
		if c.signing && !verify(msg, c.macKey, replySeq) {
			err := ErrBadSignature
			if [8]byte(msg[14:22]) == ([8]byte{}) {
				// Samba 4.17 answers NT LM 0.12 NTLMv2 logons this way on a server that
				// requires signing: it has no key for them and signs nothing.
				err = fmt.Errorf("reply to a signed request has a zero signature (the server does not sign this session): %w", ErrBadSignature)
			}
			c.broken = &transport.ProtocolError{Op: "smb1 reply", Err: err}
			return nil, c.broken
		}
		return r, nil
	}
}

// call sends a request and returns its reply (a view valid until the next call).
func (c *Conn) call(ctx context.Context, cmd byte, tid uint16, b body) (smb1.Reply, error) {
	mid, replySeq, err := c.send(ctx, cmd, tid, b)
	if err != nil {
		return nil, err
	}
	return c.recv(ctx, cmd, mid, replySeq)
}

// sign computes the MS-CIFS 3.1.4.1 signature of msg (an SMB1 message, header first) in place:
// SecuritySignature is set to the sequence number and 4 zero bytes, then replaced by the first
// 8 bytes of MD5(macKey || msg).
func sign(msg, macKey []byte, seq uint32) {
	sig := msg[14:22]
	binary.LittleEndian.PutUint32(sig, seq)
	clear(sig[4:])
	h := md5.New()
	h.Write(macKey)
	h.Write(msg)
	var sum [md5.Size]byte
	copy(sig, h.Sum(sum[:0]))
}

// verify checks msg's signature for sequence number seq (MS-CIFS 3.2.5.1.2), restoring the
// received signature afterwards.
func verify(msg, macKey []byte, seq uint32) bool {
	if len(msg) < smb1.HeaderSize {
		return false
	}
	var got [8]byte
	copy(got[:], msg[14:22])
	sign(msg, macKey, seq)
	ok := subtle.ConstantTimeCompare(got[:], msg[14:22]) == 1
	copy(msg[14:22], got[:])
	return ok
}

// Negotiate sends the SMB_COM_NEGOTIATE offering "NT LM 0.12" (MS-CIFS 2.2.4.52) and records
// the server's parameters.
func (c *Conn) Negotiate(ctx context.Context) (Negotiated, error) {
	req := smb1.NegotiateRequest{Dialects: []string{smb1.DialectNTLM012}}
	msg, err := c.call(ctx, smb1.CommandNegotiate, 0, &req)
	if err != nil {
		return Negotiated{}, fmt.Errorf("smb1 negotiate: %w", err)
	}
	return c.record(smb1.NegotiateResponse(msg))
}

// record checks a NEGOTIATE reply and records the server's parameters.
func (c *Conn) record(r smb1.NegotiateResponse) (Negotiated, error) {
	if err := r.Validate(); err != nil {
		c.broken = &transport.ProtocolError{Op: "smb1 negotiate", Err: err}
		return Negotiated{}, c.broken
	}
	if err := r.Err(); err != nil {
		return Negotiated{}, fmt.Errorf("smb1 negotiate: %w", err)
	}
	if !r.DialectAccepted() || r.DialectIndex() != 0 || !r.NTLanManager() {
		return Negotiated{}, fmt.Errorf("smb1 negotiate: dialect index %#x, word count %d: %w", r.DialectIndex(), r.WordCount(), ErrNotNegotiated)
	}
	n := Negotiated{
		Capabilities: r.Capabilities(), SecurityMode: r.SecurityMode(), MaxBufferSize: r.MaxBufferSize(),
		MaxMpxCount: r.MaxMpxCount(), SessionKey: r.SessionKey(), SystemTime: r.SystemTime(),
		ExtendedSecurity: r.ExtendedSecurity(), ServerGUID: r.ServerGUID(),
		Unicode: r.Capabilities()&smb1.CapUnicode != 0,
	}
	if ch := r.Challenge(); len(ch) == 8 {
		copy(n.Challenge[:], ch)
	}
	n.DomainName = string(r.AppendDomainName(nil))
	n.ServerName = string(r.AppendServerName(nil))
	c.neg, c.done = n, true
	return n, nil
}

// ioSize returns the largest READ_ANDX (read) or WRITE_ANDX payload to send.
func (c *Conn) ioSize(read bool) int {
	capBit := smb1.CapLargeWriteX
	if read {
		capBit = smb1.CapLargeReadX
	}
	if c.neg.Capabilities&capBit != 0 {
		return MaxIOSize
	}
	n := int(c.neg.MaxBufferSize) - 128
	if n > MaxIOSize {
		n = MaxIOSize
	}
	if n < 512 {
		n = 512
	}
	return n
}
