package probes

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// nbstatWait is how long after its query the nbstat stage waits for the answer (the query is
// sent again once, halfway). The query goes out when the host's probe starts, so the TCP
// stages' time counts towards it.
const nbstatWait = time.Second

// nbstatMaxDatagram holds the largest NODE STATUS RESPONSE (255 names and the statistics).
const nbstatMaxDatagram = 8 << 10

// nbstatProbe is the NBSTAT query of one host, sent when its probe begins.
type nbstatProbe struct {
	conn net.Conn // UDP, connected to addr:137, so ICMP port unreachable is seen
	id   uint16
	sent time.Time
	err  error // why no query could be sent
}

// beginNBStat sends the NODE STATUS REQUEST (RFC 1002 4.2.17) to UDP port 137 of the target,
// so that the answer arrives while the TCP stages run; stageNBStat reads it.
func beginNBStat(ctx context.Context, s *Session) {
	p := &nbstatProbe{}
	s.nbstat = p
	if !s.Target.Addr.Is4() && !s.Target.Addr.Is4In6() {
		p.err = fmt.Errorf("%w: the NetBIOS name service is IPv4 only", errNotApplicable)
		return
	}
	var d net.Dialer
	addr := netip.AddrPortFrom(s.Target.Addr.Unmap(), wire.NBStatPort).String()
	conn, err := d.DialContext(ctx, "udp4", addr)
	if err != nil {
		p.err = err
		return
	}
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	p.conn, p.id, p.sent = conn, binary.BigEndian.Uint16(idb[:]), s.Opts.now()
	var buf [wire.NBStatRequestSize]byte
	if _, err := conn.Write(wire.AppendNBStatRequest(buf[:0], p.id)); err != nil {
		p.err = err
	}
}

// stageNBStat reads the host's answer to the NBSTAT query: every registered name with its
// suffix and group flag, the MAC, and what they say (computer name, workgroup or domain,
// logged-on users, domain controller, master browser). Silence is the normal answer of a host
// without NetBIOS over TCP/IP: the stage is then "ok" with answered null, never a failure of
// the host.
func stageNBStat(ctx context.Context, s *Session, r *Result) error {
	p := s.nbstat
	info := &NBStatInfo{Names: []NBStatName{}, Users: []string{}}
	r.NBStat = info
	switch {
	case p == nil:
		return fmt.Errorf("%w: the NBSTAT query was not sent", errNotApplicable)
	case p.err != nil && errors.Is(p.err, errNotApplicable):
		r.NBStat = nil
		return p.err
	case p.err != nil:
		info.Evidence = "NBSTAT query could not be sent: " + p.err.Error()
		return nil
	}
	buf := make([]byte, nbstatMaxDatagram)
	resent := false
	for {
		wait := p.sent.Add(nbstatWait / 2)
		if resent {
			wait = p.sent.Add(nbstatWait)
		}
		if d, ok := ctx.Deadline(); ok && d.Before(wait) {
			wait = d
		}
		_ = p.conn.SetReadDeadline(wait)
		n, err := p.conn.Read(buf)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			info.Answered = Bool(false)
			info.Evidence = "UDP port 137 unreachable (ICMP): no NetBIOS name service"
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded) && !resent && ctx.Err() == nil && s.Opts.now().Before(p.sent.Add(nbstatWait)):
			var q [wire.NBStatRequestSize]byte
			_, _ = p.conn.Write(wire.AppendNBStatRequest(q[:0], p.id))
			resent = true
			continue
		case err != nil:
			info.Evidence = "no NBSTAT answer within " + nbstatWait.String() + " (query sent twice): " + briefError(err)
			return nil
		}
		resp := wire.NBStatResponse(buf[:n])
		if n < 2 || resp.TransactionID() != p.id {
			continue // not our answer
		}
		if err := resp.Validate(); err != nil {
			r.NBStat = info
			info.Evidence = "NBSTAT answer does not decode: " + err.Error()
			return err
		}
		decodeNBStat(resp, info)
		return nil
	}
}

// decodeNBStat fills info from a validated NODE STATUS RESPONSE.
func decodeNBStat(resp wire.NBStatResponse, info *NBStatInfo) {
	info.Answered = Bool(true)
	var n wire.NBStatName
	dc, browser := false, false
	for i := range resp.NumNames() {
		resp.Name(i, &n)
		name := string(n.Trimmed())
		info.Names = append(info.Names, NBStatName{Name: name, Suffix: fmt.Sprintf("0x%02x", n.Suffix), Group: n.Group()})
		switch {
		case n.Suffix == 0x00 && !n.Group() && info.ComputerName == nil:
			info.ComputerName = &name
		case n.Suffix == 0x00 && n.Group() && info.Workgroup == nil:
			info.Workgroup = &name
		case n.Suffix == 0x1c && n.Group():
			dc = true
		case n.Suffix == 0x1d && !n.Group(), n.Suffix == 0x01 && n.Group() && name == "\x01\x02__MSBROWSE__\x02":
			browser = true
		}
	}
	for _, e := range info.Names {
		if e.Suffix == "0x03" && !e.Group && (info.ComputerName == nil || e.Name != *info.ComputerName) {
			info.Users = append(info.Users, e.Name)
		}
	}
	info.DomainController, info.MasterBrowser = Bool(dc), Bool(browser)
	if mac, ok := resp.MAC(); ok {
		m := net.HardwareAddr(mac[:]).String()
		info.MAC = &m
	}
	info.Evidence = strconv.Itoa(len(info.Names)) + " names in the NBSTAT answer"
}
