package smb1conn

import (
	"context"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/transport"
	ntlmlogon "github.com/smbsweep/smbsweep/transport/logon"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// Adopt takes over tc, a connection whose only exchange so far is an SMB1 NEGOTIATE offering
// NT LM 0.12 alone as its first dialect (smb1.AppendProbeNegotiate), and reply, the server's
// answer to it: a probe's connection then serves a session without a second TCP connection and
// NEGOTIATE. reply must accept NT LM 0.12 in the NT form (else ErrNotNegotiated). The next
// request's MID follows the NEGOTIATE's. opts.Trace is not used: tc traces already.
func Adopt(tc *transport.Conn, reply []byte, opts Options) (*Conn, error) {
	opts.defaults(tc.RemoteAddr())
	c := &Conn{tc: tc, opts: opts}
	r := smb1.NegotiateResponse(reply)
	if _, err := c.record(r); err != nil {
		return nil, err
	}
	c.mid = smb1.Reply(reply).MID()
	return c, nil
}

// link is one command of a batched request.
type link struct {
	cmd   byte
	body  body
	trans *smb1.TransactionRequest // a TRANSACTION's offsets depend on where its block starts
}

// chain is a batched ("AndX") request: the header's command is the first link's, and each
// link's block follows the previous one (smb1.LinkAndX).
type chain []link

func (ch chain) AppendTo(dst []byte) []byte {
	hdr := len(dst) - smb1.HeaderSize
	prev := 0
	for i, l := range ch {
		if i > 0 {
			dst = smb1.LinkAndX(dst, hdr, prev, l.cmd)
		}
		prev = len(dst) - hdr
		if l.trans != nil {
			dst = l.trans.AppendAt(dst, prev)
		} else {
			dst = l.body.AppendTo(dst)
		}
	}
	return dst
}

// IPCPeek is what PeekIPC learned.
type IPCPeek struct {
	// Session is the anonymous logon (the zero value when the connection's UID was used).
	Session Session
	// TID is the IPC$ tree, 0 when it was not connected.
	TID uint16
	// Failed is the command the server refused (CommandSessionSetupAndX or
	// CommandTreeConnectAndX), 0 when the peek was answered; the error holds the NT status.
	Failed byte
	// Status is the TRANS_PEEK_NMPIPE reply's status and NTStatus whether it is an NT status.
	Status   smb1.Status
	NTStatus bool
	// Exchanges counts the requests sent (each answered by one reply).
	Exchanges int
}

// PeekIPC sends TRANS_PEEK_NMPIPE on FID 0 of IPC$ (the MS17-010 check, see PeekNamedPipe) in
// as few exchanges as the server allows. Without logon, on the connection's current UID, the
// TREE_CONNECT_ANDX to IPC$ carries the TRANSACTION as its follow-on: one exchange. With
// logon, an anonymous logon comes first and its SESSION_SETUP_ANDX carries both: one exchange
// in the NT LM 0.12 form (peekNTForm), tried first even when the connection negotiated
// extended security. A server that refuses that form gets the extended-security logon, whose
// first leg cannot carry a follow-on (its STATUS_MORE_PROCESSING_REQUIRED ends a chain): three
// exchanges in all. A server that answers a chain without the TRANSACTION's block, or leaves
// unclear which command its status belongs to, gets the TRANSACTION again on its own.
func (c *Conn) PeekIPC(ctx context.Context, logon bool) (IPCPeek, error) {
	var p IPCPeek
	if !c.done {
		return p, fmt.Errorf("smb1 peek: negotiate first")
	}
	if !logon {
		return p, c.peekChain(ctx, chain{c.treeLink("IPC$"), c.peekLink(0)}, &p)
	}
	err := c.peekNTForm(ctx, &p)
	var st wire.NTStatus
	if !c.neg.ExtendedSecurity || p.Failed != smb1.CommandSessionSetupAndX || !errors.As(err, &st) {
		return p, err
	}
	// The server wants the extended form for this logon, as it negotiated.
	n := ntlmlogon.New(ntlmlogon.Identity{Kind: ntlmlogon.Anonymous}, ntlmlogon.Options{ServerDomain: true, Workstation: c.opts.Workstation, Now: c.opts.Now})
	defer n.Clear()
	var tok [1024]byte
	req, s, err := c.extendedStart(ctx, n, tok[:0])
	p.Exchanges++
	p.Session, p.Failed = s, 0
	if err != nil {
		p.Failed = smb1.CommandSessionSetupAndX
		return p, err
	}
	return p, c.peekChain(ctx, chain{{cmd: smb1.CommandSessionSetupAndX, body: &req}, c.treeLink("IPC$"), c.peekLink(0)}, &p)
}

// peekNTForm sends the anonymous NT LM 0.12 logon (MS-CIFS 2.2.4.53.1: empty passwords) with
// the tree connect and the peek chained. On a connection that negotiated extended security the
// request says it does not use it (no Flags2ExtendedSecurity, no CAP_EXTENDED_SECURITY), as
// MS-SMB 3.3.5.3 lets a client do; Samba accepts it.
func (c *Conn) peekNTForm(ctx context.Context, p *IPCPeek) error {
	c.ntForm = true
	defer func() { c.ntForm = false }()
	setup := c.setupRequest()
	setup.OEMPassword, setup.UnicodePassword = []byte{}, []byte{}
	c.uid = 0
	return c.peekChain(ctx, chain{{cmd: smb1.CommandSessionSetupAndX, body: &setup}, c.treeLink("IPC$"), c.peekLink(0)}, p)
}

// treeLink is the TREE_CONNECT_ANDX of TreeConnect.
func (c *Conn) treeLink(share string) link {
	return link{cmd: smb1.CommandTreeConnectAndX, body: &smb1.TreeConnectRequest{Flags: smb1.TreeConnectExtendedResponse,
		Path: `\\` + c.opts.ServerName + `\` + share, Service: smb1.ServiceAny, Unicode: c.neg.Unicode}}
}

// peekLink is the TRANSACTION of PeekNamedPipe.
func (c *Conn) peekLink(fid uint16) link {
	return link{cmd: smb1.CommandTransaction, trans: &smb1.TransactionRequest{Command: smb1.CommandTransaction,
		MaxParameterCount: 0xffff, MaxDataCount: 0x0800, Setup: []uint16{smb1.TransPeekNamedPipe, fid},
		Name: smb1.PipeName, Unicode: c.neg.Unicode}}
}

// peekChain sends ch, which ends with TREE_CONNECT_ANDX and the peek's TRANSACTION, and reads
// what the reply says of each.
func (c *Conn) peekChain(ctx context.Context, ch chain, p *IPCPeek) error {
	const op = "smb1 chained session setup, tree connect and peek"
	if max := int(c.neg.MaxBufferSize); max > 0 {
		if n := len(ch.AppendTo(make([]byte, smb1.HeaderSize, 512))); n > max {
			return fmt.Errorf("%s: %d bytes over the server's MaxBufferSize %d", op, n, max)
		}
	}
	p.Exchanges++
	msg, err := c.call(ctx, ch[0].cmd, 0, ch)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var buf [smb1.MaxChainBlocks]smb1.ChainBlock
	blocks, err := msg.Chain(buf[:0])
	if err != nil {
		c.broken = &transport.ProtocolError{Op: op, Err: err}
		return c.broken
	}
	if ch[0].cmd == smb1.CommandSessionSetupAndX {
		if err := c.chainedLogon(msg, blocks, p); err != nil {
			return err
		}
	}
	return c.chainedTree(ctx, msg, blocks, p)
}

// chainedLogon reads the SESSION_SETUP_ANDX block, the first of blocks.
func (c *Conn) chainedLogon(msg smb1.Reply, blocks []smb1.ChainBlock, p *IPCPeek) error {
	const op = "smb1 session setup"
	r := smb1.SessionSetupResponse(msg)
	if err := r.Validate(); err != nil {
		c.broken = &transport.ProtocolError{Op: op, Err: err}
		return c.broken
	}
	if len(blocks) == 1 && msg.Status() != 0 {
		c.uid = 0
		p.Failed = smb1.CommandSessionSetupAndX
		return fmt.Errorf("%s: %w", op, r.Err())
	}
	s := p.Session
	c.finish(r, &s)
	p.Session = s
	return nil
}

// chainedTree reads the TREE_CONNECT_ANDX and TRANSACTION blocks of a peek chain's reply, and
// sends the TRANSACTION on its own when the reply does not answer it clearly.
func (c *Conn) chainedTree(ctx context.Context, msg smb1.Reply, blocks []smb1.ChainBlock, p *IPCPeek) error {
	op := `smb1 tree connect \\` + c.opts.ServerName + `\IPC$`
	tree := -1
	for i, b := range blocks {
		if b.Command == smb1.CommandTreeConnectAndX {
			tree = i
		}
	}
	switch {
	case tree < 0 && msg.Status() == 0: // the server ran no follow-on: connect and peek alone
		t, err := c.TreeConnect(ctx, "IPC$")
		p.Exchanges++
		if err != nil {
			p.Failed = smb1.CommandTreeConnectAndX
			return err
		}
		p.TID = t.TID
	case tree < 0:
		return &transport.ProtocolError{Op: op, Err: fmt.Errorf("chained reply with status %s has no TREE_CONNECT_ANDX block", msg.Status().AppendText(nil, msg.UsesNTStatus()))}
	case tree == len(blocks)-1 && msg.Status() != 0:
		p.Failed = smb1.CommandTreeConnectAndX
		return fmt.Errorf("%s: %w", op, msg.Err())
	case blocks[tree].WordCount < 3:
		return &transport.ProtocolError{Op: op, Err: fmt.Errorf("chained TREE_CONNECT_ANDX block of %d words", blocks[tree].WordCount)}
	default:
		p.TID = msg.TID()
		if tree+1 < len(blocks) && blocks[tree+1].Command == smb1.CommandTransaction {
			if err := smb1.ValidateTransactionBlock(msg, blocks[tree+1]); err != nil {
				c.broken = &transport.ProtocolError{Op: "smb1 peek named pipe", Err: err}
				return c.broken
			}
			p.Status, p.NTStatus = msg.Status(), msg.UsesNTStatus()
			return nil
		}
	}
	st, nt, err := c.PeekNamedPipe(ctx, p.TID, 0)
	p.Exchanges++
	p.Status, p.NTStatus = st, nt
	return err
}
