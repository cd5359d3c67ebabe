// Package faultproxy is a test-only TCP proxy that puts a real SMB server (a Samba smbd of the
// test fleet) behind many loopback addresses and makes it misbehave the way an overloaded or
// unusual server does: some connections are reset at accept or at their first request, chosen
// requests are answered late, and connections are closed after a number of requests. The SMB
// bytes are the real server's; the proxy only reads the NetBIOS framing and the SMB2 command of
// each request to decide what to do.
package faultproxy

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/loopsrv"
	"github.com/smbsweep/smbsweep/wire"
)

// ResetPhase is when a connection chosen for a reset is reset.
type ResetPhase int

const (
	// AtAccept resets the connection as soon as it is accepted (a server whose accept queue
	// overflowed).
	AtAccept ResetPhase = iota
	// AtFirstRequest reads the first request and then resets the connection (a server process
	// that died before answering).
	AtFirstRequest
)

// Request is what the proxy knows of a request when it decides how late to forward it.
type Request struct {
	Conn    uint64 // the connection's number, from 1, in accept order across the proxy
	Seq     int    // the request's number on its connection, from 1
	Command uint16 // SMB2 command (0xFFFF for a frame that is not SMB2)
	Nth     int    // how many requests of this command the connection has sent, this one included
	Global  uint64 // how many requests of this command every connection has sent, this one included
}

// Options says how the proxy misbehaves. The zero value forwards everything.
type Options struct {
	// Upstream is the real server.
	Upstream netip.AddrPort
	// Reset, when set, is asked for every accepted connection (numbered from 1): true resets
	// it at ResetAt.
	Reset   func(conn uint64) bool
	ResetAt ResetPhase
	// Delay, when set, is asked for every request: the request is forwarded that much later,
	// so its reply comes late.
	Delay func(Request) time.Duration
	// CloseAfter closes a connection once it has forwarded that many requests and their
	// replies had time to arrive (0: never).
	CloseAfter int
	// NetBIOS, when set, makes every connection start with the NetBIOS session establishment
	// of port 139 as Windows demands it (Samba tolerates its absence): see NetBIOSOptions.
	NetBIOS *NetBIOSOptions
}

// NetBIOSOptions is a NetBIOS session service (RFC 1002 4.3.2) in front of the server: a
// connection that does not start with a SESSION REQUEST is closed; a called name not in Names
// gets a NEGATIVE response (called name not present); the first request for a good name is
// answered with a RETARGET to RetargetTo when that is valid; any other gets POSITIVE, and the
// SMB that follows is forwarded.
type NetBIOSOptions struct {
	Names      []string
	RetargetTo netip.AddrPort
}

// Stats counts what the proxy did.
type Stats struct {
	Accepted, Resets, Delayed, Closed uint64
}

// Proxy serves its listeners until Close.
type Proxy struct {
	opts    Options
	group   loopsrv.Group
	conns   atomic.Uint64
	resets  atomic.Uint64
	delayed atomic.Uint64
	closed  atomic.Uint64
	perCmd  [32]atomic.Uint64
	// Requests counts SESSION REQUESTs by called name (NetBIOS mode).
	sessionReqs atomic.Uint64
	retargeted  atomic.Bool
}

// New returns a proxy; add listeners with ListenMany.
func New(opts Options) *Proxy { return &Proxy{opts: opts} }

// ListenMany listens on n consecutive loopback addresses from first, on port (0: one free
// port for all, found on the first address), and returns the port.
func (p *Proxy) ListenMany(first netip.Addr, n int, port uint16) (uint16, error) {
	a := first
	for i := range n {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, port).String())
		if err != nil {
			return 0, err
		}
		if i == 0 && port == 0 {
			_, ps, _ := net.SplitHostPort(ln.Addr().String())
			v, _ := strconv.Atoi(ps)
			port = uint16(v)
		}
		if err := p.group.Serve(ln, p.serve); err != nil {
			return 0, err
		}
		a = a.Next()
	}
	return port, nil
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	return Stats{Accepted: p.conns.Load(), Resets: p.resets.Load(), Delayed: p.delayed.Load(), Closed: p.closed.Load()}
}

// Close stops every listener and connection and waits for them.
func (p *Proxy) Close() { p.group.Close() }

// reset ends c with a TCP RST.
func (p *Proxy) reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	p.resets.Add(1)
}

func (p *Proxy) serve(c net.Conn) {
	id := p.conns.Add(1)
	doReset := p.opts.Reset != nil && p.opts.Reset(id)
	if doReset && p.opts.ResetAt == AtAccept {
		p.reset(c)
		return
	}
	if doReset {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = readFrame(c, nil)
		p.reset(c)
		return
	}
	if p.opts.NetBIOS != nil && !p.netbiosSession(c) {
		_ = c.Close()
		return
	}
	up, err := net.DialTimeout("tcp", p.opts.Upstream.String(), 5*time.Second)
	if err != nil {
		p.reset(c)
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() { // replies, as they come
		defer close(done)
		_, _ = io.Copy(c, up)
		_ = c.Close()
	}()
	p.forward(id, c, up)
	_ = up.Close()
	<-done
}

// SessionRequests returns how many NetBIOS SESSION REQUESTs the proxy received.
func (p *Proxy) SessionRequests() uint64 { return p.sessionReqs.Load() }

// netbiosSession answers the SESSION REQUEST that must open c; true when the session is
// established (POSITIVE sent).
func (p *Proxy) netbiosSession(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	frame, err := readFrame(c, nil)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil || frame[0] != wire.NetBIOSSessionRequest || len(frame) < wire.NetBIOSSessionRequestSize {
		return false // Windows drops a connection that skips the session request
	}
	p.sessionReqs.Add(1)
	called, _, err := wire.DecodeNetBIOSName(frame[4:])
	if err != nil || !slices.Contains(p.opts.NetBIOS.Names, called) {
		_, _ = c.Write([]byte{wire.NetBIOSNegative, 0, 0, 1, 0x82})
		return false
	}
	if to := p.opts.NetBIOS.RetargetTo; to.IsValid() && p.retargeted.CompareAndSwap(false, true) {
		ip := to.Addr().As4()
		_, _ = c.Write([]byte{wire.NetBIOSRetarget, 0, 0, 6, ip[0], ip[1], ip[2], ip[3], byte(to.Port() >> 8), byte(to.Port())})
		return false
	}
	_, err = c.Write([]byte{wire.NetBIOSPositive, 0, 0, 0})
	return err == nil
}

// forward copies requests from c to up frame by frame, delaying and counting them.
func (p *Proxy) forward(id uint64, c, up net.Conn) {
	var nth [32]int
	var buf []byte
	for seq := 1; ; seq++ {
		frame, err := readFrame(c, buf[:0])
		if err != nil {
			return
		}
		buf = frame
		req := Request{Conn: id, Seq: seq, Command: 0xFFFF}
		if msg := frame[4:]; len(msg) >= 16 && string(msg[:4]) == "\xfeSMB" {
			req.Command = binary.LittleEndian.Uint16(msg[12:])
			if int(req.Command) < len(nth) {
				nth[req.Command]++
				req.Nth = nth[req.Command]
				req.Global = p.perCmd[req.Command].Add(1)
			}
		}
		if p.opts.Delay != nil {
			if d := p.opts.Delay(req); d > 0 {
				p.delayed.Add(1)
				time.Sleep(d)
			}
		}
		if _, err := up.Write(frame); err != nil {
			return
		}
		if p.opts.CloseAfter > 0 && seq >= p.opts.CloseAfter {
			time.Sleep(50 * time.Millisecond) // let the last reply through, then hang up
			p.closed.Add(1)
			return
		}
	}
}

// readFrame reads one NetBIOS session message (4-byte header with a 24-bit length) into dst.
func readFrame(c net.Conn, dst []byte) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	dst = append(dst, h[:]...)
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:4+n]
	if _, err := io.ReadFull(c, dst[4:]); err != nil {
		return nil, err
	}
	return dst, nil
}
