package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// Dialer opens TCP connections (net.Dialer and scanner.Dialer satisfy it).
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultDialects are offered when Options.Dialects is empty.
var DefaultDialects = []wire.Dialect{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311}

// MaxChunk caps one READ or WRITE (and one QUERY_DIRECTORY output buffer at a quarter of it)
// whatever the server allows: 8 MiB, the most any current server announces.
const MaxChunk = 8 << 20

// closeTimeout bounds the polite goodbye of Close (CLOSE, TREE_DISCONNECT, LOGOFF).
const closeTimeout = 5 * time.Second

// Options configures a Client.
type Options struct {
	// Dialects are offered in the NEGOTIATE; empty means DefaultDialects. Offering a single
	// dialect forces it (tests of every dialect).
	Dialects []wire.Dialect
	// Encrypt encrypts every request of the session even when the server does not require it
	// (SMB 3.x only; a 2.x server makes Login fail).
	Encrypt bool
	// MaxFrame caps the size of a reply accepted from the server, and so the size of one READ
	// or QUERY_DIRECTORY; 0 means transport.HardMaxFrame (8 MiB of data plus headers).
	MaxFrame int
	// Workstation is the NTLM workstation name sent in the AUTHENTICATE; "" sends "SMBSWEEP".
	Workstation string
	// Trace, when set, sees every SMB message as sent and received (encrypted ones as
	// ciphertext). It sees the NTLM AUTHENTICATE, whose NTLMv2 response can be cracked
	// offline: treat a trace of a logon as a secret.
	Trace transport.Tracer
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Negotiated is what the NEGOTIATE exchange established.
type Negotiated struct {
	Dialect          wire.Dialect
	SecurityMode     uint16 // wire.NegotiateSigning* bits of the server
	Capabilities     uint32 // wire.Cap* bits of the server
	ServerGUID       wire.GUID
	MaxReadSize      uint32
	MaxWriteSize     uint32
	MaxTransactSize  uint32
	Cipher           uint16 // wire.Cipher*: 3.1.1 context, or AES-128-CCM for 3.0.x with CAP_ENCRYPTION
	SigningAlgorithm uint16 // 3.1.1 SIGNING context, when SigningNegotiated
	// SigningNegotiated tells whether the 3.1.1 server sent a SIGNING_CAPABILITIES context.
	SigningNegotiated bool
	SystemTime        time.Time // zero when the server sent 0
}

// Client is one connection to one server, with at most one logged-on session. It is not safe
// for concurrent use.
type Client struct {
	conn   *transport.Conn
	addr   string // host:port as dialled
	host   string // host part, for UNC paths
	opts   Options
	neg    Negotiated
	sess   *Session
	shares []*Share
	// maxChunk is the largest READ/WRITE the frame cap allows.
	maxChunk int
}

// Dial connects to addr (host:port) through d and runs the NEGOTIATE: the offered dialects,
// signing enabled, a random ClientGuid and preauth salt, every cipher and signing algorithm,
// and no compression. ctx bounds the connection's whole life: when it is done, every blocked
// read or write returns.
func Dial(ctx context.Context, d Dialer, addr string, opts Options) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &Error{Op: "connect", Target: addr, Err: err}
	}
	dialects := opts.Dialects
	if len(dialects) == 0 {
		dialects = DefaultDialects
	}
	for _, dl := range dialects {
		switch dl {
		case wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311:
		default:
			return nil, &Error{Op: "negotiate", Target: addr, Err: fmt.Errorf("dialect %s is not one smbsweep speaks", dl)}
		}
	}
	nc, err := dialSession(ctx, d, addr, host)
	if err != nil {
		return nil, &Error{Op: "connect", Target: addr, Err: err}
	}
	maxFrame := opts.MaxFrame
	if maxFrame <= 0 || maxFrame > transport.HardMaxFrame {
		maxFrame = transport.HardMaxFrame
	}
	c := &Client{
		conn: transport.New(ctx, nc, transport.Options{MaxFrame: min(maxFrame, transport.DefaultMaxFrame), Trace: opts.Trace}),
		addr: addr, host: host, opts: opts,
	}
	if err := c.negotiate(ctx, dialects, maxFrame); err != nil {
		_ = c.conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) negotiate(ctx context.Context, dialects []wire.Dialect, maxFrame int) error {
	const op = "negotiate"
	var guid wire.GUID
	var salt [32]byte
	_, _ = rand.Read(guid[:])
	_, _ = rand.Read(salt[:])
	req := wire.DefaultNegotiateRequest(guid, salt)
	req.Dialects = dialects
	req.Capabilities = wire.CapLargeMTU | wire.CapEncryption
	req.CompressionAlgorithms = nil // compressed replies are refused by the transport
	resp, err := c.conn.Call(ctx, wire.CmdNegotiate, 0, &req)
	if err != nil {
		return failed(op, c.addr, err)
	}
	if resp.Header.Status != wire.StatusSuccess {
		return refused(op, c.addr, resp.Header.Status)
	}
	nr := wire.NegotiateResponse(resp.Msg)
	if err := nr.Validate(); err != nil {
		return failed(op, c.addr, &transport.ProtocolError{Op: "NEGOTIATE response", Err: err})
	}
	d := nr.DialectRevision()
	offered := false
	for _, o := range dialects {
		offered = offered || o == d
	}
	if !offered {
		return failed(op, c.addr, &transport.ProtocolError{Op: "NEGOTIATE response", Err: fmt.Errorf("server chose dialect %s, which was not offered: %w", d, wire.ErrMalformed)})
	}
	tn := c.conn.Negotiated()
	c.neg = Negotiated{
		Dialect: d, SecurityMode: nr.SecurityMode(), Capabilities: nr.Capabilities(), ServerGUID: nr.ServerGUID(),
		MaxReadSize: nr.MaxReadSize(), MaxWriteSize: nr.MaxWriteSize(), MaxTransactSize: nr.MaxTransactSize(),
		Cipher: tn.Cipher, SigningAlgorithm: tn.SigningAlgorithm, SigningNegotiated: tn.SigningNegotiated,
	}
	if t, ok := wire.FiletimeToTime(nr.SystemTime()); ok {
		c.neg.SystemTime = t
	}
	// Frames must hold the largest READ, WRITE reply or QUERY_DIRECTORY asked for, plus
	// headers and a TRANSFORM_HEADER: allow the server's largest size, within maxFrame.
	largest := int(max(c.neg.MaxReadSize, c.neg.MaxTransactSize, 64<<10))
	c.conn.SetMaxFrame(min(maxFrame, largest+64<<10))
	c.maxChunk = max(min(MaxChunk, maxFrame-64<<10), 64<<10)
	return nil
}

// Negotiated returns what the NEGOTIATE established.
func (c *Client) Negotiated() Negotiated { return c.neg }

// Session returns the logged-on session, nil before a successful Login.
func (c *Client) Session() *Session { return c.sess }

// Addr returns the address dialled.
func (c *Client) Addr() string { return c.addr }

// Close ends the session politely, best effort (TREE_DISCONNECT for every connected share,
// then LOGOFF, each bounded by a short timeout), and closes the connection. It is safe to call
// after an error, and more than once.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for _, s := range c.shares {
		if s.tid != 0 {
			_, _ = c.conn.Call(ctx, wire.CmdTreeDisconnect, s.tid, wire.TreeDisconnectRequest{})
			s.tid = 0
		}
	}
	c.shares = nil
	if c.sess != nil {
		_, _ = c.conn.Call(ctx, wire.CmdLogoff, 0, wire.LogoffRequest{})
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// unc returns the display form of a path: //host:port/share/path.
func (c *Client) unc(share, path string) string {
	s := "//" + c.addr
	if share != "" {
		s += "/" + share
	}
	if path != "" {
		s += "/" + path
	}
	return s
}

// largeMTU tells whether requests may carry more than one credit (MS-SMB2 3.2.4.1.5).
func (c *Client) largeMTU() bool {
	return c.neg.Dialect != wire.Dialect202 && c.neg.Capabilities&wire.CapLargeMTU != 0
}

// chunk returns how many bytes the next READ or WRITE (or QUERY_DIRECTORY buffer) may move:
// at most want, the server's limit, the frame cap and the credits in hand, and at least one
// byte; and the CreditCharge it costs (ceil(n/65536), MS-SMB2 3.1.5.2).
func (c *Client) chunk(limit uint32, want int64) (int, uint16) {
	n := int64(min(int(limit), c.maxChunk))
	if !c.largeMTU() {
		n = min(n, 64<<10)
	} else if credits := int64(c.conn.Credits()); credits*65536 < n {
		n = max(credits, 1) * 65536
	}
	n = max(min(n, want), 1)
	return int(n), creditCharge(int(n))
}

// creditCharge is ceil(n/65536), at least 1.
func creditCharge(n int) uint16 {
	return uint16(max((n+65535)/65536, 1))
}

// dialSession connects to addr; on the NetBIOS session service port it establishes the
// NetBIOS session first (transport.DialNetBIOS: *SMBSERVER, then the address as a name).
func dialSession(ctx context.Context, d Dialer, addr, host string) (net.Conn, error) {
	_, port, _ := net.SplitHostPort(addr)
	if port != strconv.Itoa(transport.NetBIOSPort) {
		return d.DialContext(ctx, "tcp", addr)
	}
	var known string
	ip, err := netip.ParseAddr(host)
	if err != nil {
		known, _, _ = strings.Cut(host, ".") // a host name's first label is its likely NetBIOS name
		if len(known) > 15 {
			known = ""
		}
	}
	dial := func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	nc, _, err := transport.DialNetBIOS(ctx, dial, addr, transport.NetBIOSCalledNames(known, ip))
	return nc, err
}
