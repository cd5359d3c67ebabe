package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/smbsweep/smbsweep/wire"
)

// NetBIOSPort is the NetBIOS session service port: SMB there needs a SESSION REQUEST first.
const NetBIOSPort = 139

// NetBIOSCalling is the calling name smbsweep gives in its SESSION REQUESTs.
const NetBIOSCalling = "SMBSWEEP"

// maxNetBIOSReply caps a session reply's body (the longest, RETARGET, has 6 bytes).
const maxNetBIOSReply = 6

// NetBIOSNegativeError is a NEGATIVE SESSION RESPONSE: the server refused the called name.
type NetBIOSNegativeError struct {
	Called string
	Code   byte
}

func (e *NetBIOSNegativeError) Error() string {
	return fmt.Sprintf("NetBIOS session refused for called name %q: %s (0x%02x)", e.Called, wire.NetBIOSErrorName(e.Code), e.Code)
}

// RequestNetBIOSSession sends a SESSION REQUEST for called on nc and reads the reply, within
// ctx's deadline. A NEGATIVE reply is a *NetBIOSNegativeError; a RETARGET is returned for the
// caller to follow.
func RequestNetBIOSSession(ctx context.Context, nc net.Conn, called, calling string) (wire.NetBIOSSessionReply, error) {
	var r wire.NetBIOSSessionReply
	if err := ctx.Err(); err != nil {
		return r, err
	}
	d, _ := ctx.Deadline()
	if err := nc.SetDeadline(d); err != nil {
		return r, err
	}
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var buf [wire.NetBIOSSessionRequestSize]byte
	if _, err := nc.Write(wire.AppendNetBIOSSessionRequest(buf[:0], called, calling)); err != nil {
		return r, err
	}
	var reply [wire.NetBIOSHeaderSize + maxNetBIOSReply]byte
	for {
		if _, err := io.ReadFull(nc, reply[:wire.NetBIOSHeaderSize]); err != nil {
			return r, err
		}
		typ, n, _ := wire.ParseNetBIOSHeader(reply[:])
		if typ == wire.NetBIOSKeepAlive && n == 0 {
			continue
		}
		switch {
		case typ != wire.NetBIOSPositive && typ != wire.NetBIOSNegative && typ != wire.NetBIOSRetarget:
			return r, &NotSMBError{First: append([]byte(nil), reply[:wire.NetBIOSHeaderSize]...)}
		case n > maxNetBIOSReply:
			return r, &ProtocolError{Op: "NetBIOS session reply", Err: fmt.Errorf("type 0x%02x with %d bytes: %w", typ, n, wire.ErrMalformed)}
		}
		if _, err := io.ReadFull(nc, reply[wire.NetBIOSHeaderSize:wire.NetBIOSHeaderSize+n]); err != nil {
			return r, err
		}
		if err := wire.DecodeNetBIOSSessionReply(reply[:wire.NetBIOSHeaderSize+n], &r); err != nil {
			return r, &ProtocolError{Op: "NetBIOS session reply", Err: err}
		}
		if r.Type == wire.NetBIOSNegative {
			return r, &NetBIOSNegativeError{Called: called, Code: r.Error}
		}
		return r, nil
	}
}

// NetBIOSSession is how a session on port 139 was established, for the record.
type NetBIOSSession struct {
	Called   string   // the called name the server accepted ("" when none was)
	Refused  []string // called names refused before it, each with the NEGATIVE error
	Retarget string   // the address:port a RETARGET sent the client to, "" when none
}

// NetBIOSCalledNames returns the called names to try in order: the server's NetBIOS name when
// known, then *SMBSERVER, then the address written as a name (MS-CIFS 3.2.4.2.2; Windows
// answers to each).
func NetBIOSCalledNames(known string, addr netip.Addr) []string {
	names := make([]string, 0, 3)
	if known != "" {
		names = append(names, known)
	}
	names = append(names, wire.NetBIOSSMBServer)
	if s := addr.String(); addr.IsValid() && len(s) <= 15 {
		names = append(names, s)
	}
	return names
}

// DialNetBIOS connects to addr with dial and establishes a NetBIOS session, trying the called
// names in order: a NEGATIVE response closes the connection and the next name gets a new one;
// one RETARGET is followed. It returns the connection ready for SMB and what happened.
func DialNetBIOS(ctx context.Context, dial func(ctx context.Context, addr string) (net.Conn, error), addr string, names []string) (net.Conn, NetBIOSSession, error) {
	var info NetBIOSSession
	var last error
	retargeted := false
	for i := 0; i < len(names); i++ {
		nc, err := dial(ctx, addr)
		if err != nil {
			return nil, info, err
		}
		r, err := RequestNetBIOSSession(ctx, nc, names[i], NetBIOSCalling)
		var neg *NetBIOSNegativeError
		switch {
		case errors.As(err, &neg):
			_ = nc.Close()
			info.Refused = append(info.Refused, neg.Called+": "+wire.NetBIOSErrorName(neg.Code))
			last = err
			continue
		case err != nil:
			_ = nc.Close()
			return nil, info, err
		case r.Type == wire.NetBIOSRetarget:
			_ = nc.Close()
			if retargeted || !r.Retarget.IsValid() {
				return nil, info, &ProtocolError{Op: "NetBIOS session", Err: fmt.Errorf("retargeted twice (to %s): %w", r.Retarget, wire.ErrMalformed)}
			}
			retargeted = true
			addr = net.JoinHostPort(r.Retarget.Addr().String(), strconv.Itoa(int(r.Retarget.Port())))
			info.Retarget = addr
			i-- // the same called name at the new address
			continue
		}
		info.Called = names[i]
		return nc, info, nil
	}
	return nil, info, fmt.Errorf("no called name accepted (%s): %w", strings.Join(info.Refused, "; "), last)
}
