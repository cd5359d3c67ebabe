package daemon

import (
	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/transport/smb1conn"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// seedSMB1Dialect is the seed's name of the SMB1 dialect (as /api/smb/negotiate's fallback).
const seedSMB1Dialect = "SMB 1.x (CIFS)"

// cifsAuthSMB1 is the /api/cifs/auth answer of an SMB1 session: the same fields, filled from
// the SMB1 NEGOTIATE and SESSION_SETUP_ANDX (sessionId is the 16-bit UID; SMB1 has no
// encryption; maxReadSize/maxWriteSize are the largest READ_ANDX/WRITE_ANDX sent).
func cifsAuthSMB1(cs *cifsSession, c *client.SMB1Client) cifsAuthResponse {
	neg, sess := c.Negotiated(), c.Session()
	rd, wr := smb1IOSize(neg, smb1.CapLargeReadX), smb1IOSize(neg, smb1.CapLargeWriteX)
	resp := cifsAuthResponse{
		cifsCommon: cifsCommonOf(cs, nil), Dialect: seedSMB1Dialect, ServerGUID: wire.GUID(neg.ServerGUID).String(),
		TargetDomain: sess.Server.NetBIOSDomain, User: sess.User, Domain: sess.Domain, SessionID: sessionID(sess.UID),
		SessionFlags: "NORMAL", Signed: sess.Signed, MaxReadSize: rd, MaxWriteSize: wr,
		NativeOS: &sess.NativeOS, NativeLanMan: &sess.NativeLanMan,
	}
	if resp.TargetDomain == "" {
		resp.TargetDomain = neg.DomainName
	}
	if t, ok := wire.FiletimeToTime(neg.SystemTime); ok {
		u := t.UTC()
		resp.ServerTime = &u
	}
	return resp
}

// smb1IOSize is the largest READ_ANDX or WRITE_ANDX smb1conn sends to this server.
func smb1IOSize(neg smb1conn.Negotiated, capBit uint32) uint32 {
	if neg.Capabilities&capBit != 0 {
		return smb1conn.MaxIOSize
	}
	return uint32(min(max(int(neg.MaxBufferSize)-128, 512), smb1conn.MaxIOSize))
}
