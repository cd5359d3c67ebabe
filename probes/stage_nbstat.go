package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/smbsweep/smbsweep/wire"
)

// nbstatMaxDatagram holds the largest NODE STATUS RESPONSE (255 names and the statistics).
const nbstatMaxDatagram = 8 << 10

// nbstatProbe is the NBSTAT query of one host, sent when its probe begins.
type nbstatProbe struct {
	q   *nbstatQuery
	own *NBStatSocket // the host's own socket when the pipeline runs without a sweep's
	err error         // why no query could be sent
}

// beginNBStat sends the NODE STATUS REQUEST (RFC 1002 4.2.17) to UDP port 137 of the target
// from the sweep's socket (Options.NBStat; without one, a socket of the host's own), so that
// the answer arrives while the TCP stages run; stageNBStat waits for what remains of the
// window.
func beginNBStat(_ context.Context, s *Session) {
	p := &nbstatProbe{}
	s.nbstat = p
	if !s.Target.Addr.Is4() && !s.Target.Addr.Is4In6() {
		p.err = fmt.Errorf("%w: the NetBIOS name service is IPv4 only", errNotApplicable)
		return
	}
	sock := s.Opts.NBStat
	if sock == nil {
		own, err := NewNBStatSocket(NBStatConfig{})
		if err != nil {
			p.err = err
			return
		}
		p.own, sock = own, own
	}
	if q := sock.claim(s.Target.Addr.Unmap()); q != nil {
		p.q = q // sent when the host's connection was first attempted
		return
	}
	p.q, p.err = sock.query(s.Target.Addr.Unmap())
}

// close forgets the host's query and closes its own socket.
func (p *nbstatProbe) close() {
	if p.q != nil {
		p.q.cancel()
	}
	if p.own != nil {
		_ = p.own.Close()
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
	out := p.q.wait(ctx)
	switch {
	case out.sendErr != nil:
		info.Evidence = "NBSTAT query could not be sent: " + briefError(out.sendErr)
		return nil
	case out.icmp == "port unreachable":
		info.Answered = Bool(false)
		info.Evidence = "UDP port 137 unreachable (ICMP): no NetBIOS name service"
		return nil
	case out.icmp != "":
		info.Evidence = "ICMP " + out.icmp + " for the NBSTAT query"
		return nil
	case out.answer == nil:
		window := p.q.sock.window
		switch {
		case !out.sent:
			info.Evidence = "no NBSTAT answer: the query was still waiting for the rate limit (-rl) when the host deadline came"
		case ctx.Err() != nil:
			info.Evidence = "no NBSTAT answer before the host deadline (-timeout)"
		default:
			info.Evidence = "no NBSTAT answer within " + window.String() + " (query sent twice)"
		}
		return nil
	}
	resp := wire.NBStatResponse(out.answer)
	if err := resp.Validate(); err != nil {
		info.Evidence = "NBSTAT answer does not decode: " + err.Error()
		return err
	}
	decodeNBStat(resp, info)
	return nil
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
