package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smbsweep/smbsweep/transport/logon"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// stageNullSession attempts an anonymous NTLMSSP null session (MS-NLMP 3.2.5.1.2) inside
// SPNEGO on the negotiate connection. The server's CHALLENGE is recorded as the NTLM
// fingerprint whatever the outcome of the AUTHENTICATE. Null sessions are never signed.
func stageNullSession(ctx context.Context, s *Session, r *Result) error {
	if s.smb1Only {
		return stageNullSessionSMB1(ctx, s, r)
	}
	info := &SessionInfo{Flags: []string{}}
	r.Sessions.Null = info
	setupOK, status, flags, err := s.ntlmSession(ctx, r, logon.Identity{Kind: logon.Anonymous})
	if err == nil || errors.As(err, new(*ntRefusal)) {
		info.Status = String(status.String()) // only a status the server actually sent
	}
	if err != nil {
		info.Evidence = "anonymous SESSION_SETUP did not complete: " + err.Error()
		if errors.As(err, new(*ntRefusal)) {
			info.SetupOK, info.Allowed = Bool(false), Bool(false)
			info.Evidence = fmt.Sprintf("server refused the anonymous SESSION_SETUP with %s", status)
		}
		return err
	}
	info.SetupOK = Bool(setupOK)
	info.Flags = wire.SessionFlagNames(info.Flags, flags)
	if !setupOK {
		info.Allowed = Bool(false)
		info.Evidence = fmt.Sprintf("server refused the anonymous SESSION_SETUP with %s", status)
		return refusal(status, "anonymous SESSION_SETUP")
	}
	s.nullSession, s.nullSMB2 = true, s.conn.Session()
	info.id, info.rawFlags = s.nullSMB2.ID(), flags
	info.Evidence = "anonymous SESSION_SETUP succeeded; IPC$ access decided by the tree stage"
	return nil
}

// ntlmSession runs the two SESSION_SETUP round trips of an NTLMSSP logon as id (the one logon
// of transport/logon, unsigned) as a new session on the shared connection. It returns whether
// the final status was success, that status, and the SessionFlags; the connection is left
// pointed at the new session (transport.Conn.Use). The NTLM CHALLENGE fills r.NTLM on the way
// (first session only), whatever the outcome of the AUTHENTICATE.
func (s *Session) ntlmSession(ctx context.Context, r *Result, id logon.Identity) (bool, wire.NTStatus, uint16, error) {
	n := logon.New(id, logon.Options{Now: s.Opts.now})
	defer n.Clear()
	res, err := logon.SMB2(ctx, s.conn, n, uint8(wire.NegotiateSigningEnabled), s.Opts.now)
	if ch := n.Challenge(); ch != nil && r.NTLM == nil {
		r.NTLM = decodeChallenge(ch, res.ChallengeAt)
		if r.ClockSkewSeconds == nil && r.NTLM.ClockSkewSeconds != nil {
			// No SMB2 SystemTime: the NTLM timestamp is the only clock the server showed.
			skew := *r.NTLM.ClockSkewSeconds
			r.ClockSkewSeconds, r.ClockSkewSource = &skew, ClockSkewNTLM
		}
	}
	var refused *logon.Refused
	switch {
	case errors.As(err, &refused) && refused.Step == "AUTHENTICATE":
		return false, refused.Status, 0, nil
	case errors.As(err, &refused):
		return false, refused.Status, 0, refusal(refused.Status, "SESSION_SETUP (NTLM NEGOTIATE)")
	case err != nil:
		return false, res.Status, 0, err
	}
	return true, res.Status, res.Flags, nil
}

// decodeChallenge records the server's self-description from the CHALLENGE: names from the
// AV pairs, the NTLM-reported OS version, and the server clock.
func decodeChallenge(c ntlmssp.Challenge, received time.Time) *NTLMInfo {
	info := &NTLMInfo{NegotiateFlags: fmt.Sprintf("0x%08x", uint32(c.Flags()))}
	var av ntlmssp.AVInfo
	if err := c.AVInfo(&av); err == nil {
		info.NetBIOSComputerName = avString(av.NbComputerName)
		info.NetBIOSDomainName = avString(av.NbDomainName)
		info.DNSComputerName = avString(av.DnsComputerName)
		info.DNSDomainName = avString(av.DnsDomainName)
		info.DNSTreeName = avString(av.DnsTreeName)
		if av.HasTimestamp {
			if t, ok := wire.FiletimeToTime(av.Timestamp); ok {
				info.ServerTime = &t
				skew := t.Sub(received).Seconds()
				info.ClockSkewSeconds = &skew
			}
		}
	}
	if v, ok := c.Version(); ok {
		info.OSVersion = String(fmt.Sprintf("%d.%d.%d", v.ProductMajor, v.ProductMinor, v.ProductBuild))
	}
	return info
}

// avString decodes a UTF-16LE AV pair value: nil (null) when the pair is absent, "" when it is
// present and empty.
func avString(v []byte) *string {
	if v == nil {
		return nil
	}
	return String(wire.DecodeUTF16LE(v))
}
