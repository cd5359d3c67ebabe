package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
	"github.com/smbsweep/smbsweep/wire/spnego"
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
	setupOK, status, flags, err := s.ntlmSession(ctx, r, anonymousAuth)
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
	s.nullSession, s.nullSessionID = true, s.conn.SessionID
	info.Evidence = "anonymous SESSION_SETUP succeeded; IPC$ access decided by the tree stage"
	return nil
}

// authBuilder appends the AUTHENTICATE_MESSAGE answering challenge to dst; flags are the
// negotiated flags and negotiate the exact NEGOTIATE_MESSAGE sent (for the MIC).
type authBuilder func(dst []byte, flags ntlmssp.Flags, negotiate []byte, challenge ntlmssp.Challenge) ([]byte, error)

// anonymousAuth is the null session's AUTHENTICATE (MS-NLMP 3.2.5.1.2): empty user, domain and
// NT response, LM response Z(1).
func anonymousAuth(dst []byte, flags ntlmssp.Flags, _ []byte, _ ntlmssp.Challenge) ([]byte, error) {
	a := ntlmssp.AnonymousAuthenticate(flags)
	return a.AppendTo(dst), nil
}

// ntlmSession runs the two SESSION_SETUP round trips of an NTLMSSP logon as a new session on the
// shared connection. auth builds the AUTHENTICATE. It returns whether the final status was
// success, that status, and the SessionFlags; on success the connection's SessionID is the new
// session's. The NTLM CHALLENGE fills r.NTLM on the way (first session only).
func (s *Session) ntlmSession(ctx context.Context, r *Result, auth authBuilder) (bool, wire.NTStatus, uint16, error) {
	s.conn.SessionID = 0
	var scratch [1024]byte
	neg := ntlmssp.DefaultNegotiate()
	negTok := neg.AppendTo(scratch[:0])
	tok := spnego.AppendNegTokenInit(scratch[len(negTok):len(negTok)], negTok)
	req := wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningEnabled), SecurityBuffer: tok}
	resp, err := s.conn.Call(ctx, wire.CmdSessionSetup, 0, &req)
	if err != nil {
		return false, 0, 0, err
	}
	if resp.Header.Status != wire.StatusMoreProcessingRequired {
		if resp.Header.Status == wire.StatusSuccess {
			return false, resp.Header.Status, 0, &transport.ProtocolError{Op: "SESSION_SETUP", Err: fmt.Errorf("logon completed without an NTLM CHALLENGE: %w", wire.ErrMalformed)}
		}
		return false, resp.Header.Status, 0, refusal(resp.Header.Status, "SESSION_SETUP (NTLM NEGOTIATE)")
	}
	ssr := wire.SessionSetupResponse(resp.Msg)
	if err := ssr.Validate(); err != nil {
		return false, resp.Header.Status, 0, &transport.ProtocolError{Op: "SESSION_SETUP response", Err: err}
	}
	received := s.Opts.now()
	challenge, err := challengeFrom(ssr.SecurityBuffer())
	if err != nil {
		return false, resp.Header.Status, 0, &transport.ProtocolError{Op: "NTLM CHALLENGE", Err: err}
	}
	if r.NTLM == nil {
		r.NTLM = decodeChallenge(challenge, received)
		if r.ClockSkewSeconds == nil && r.NTLM.ClockSkewSeconds != nil {
			// No SMB2 SystemTime: the NTLM timestamp is the only clock the server showed.
			skew := *r.NTLM.ClockSkewSeconds
			r.ClockSkewSeconds, r.ClockSkewSource = &skew, ClockSkewNTLM
		}
	}
	s.conn.SessionID = resp.Header.SessionID

	var authBuf [1024]byte
	authTok, err := auth(authBuf[:0], challenge.Flags()&neg.Flags, negTok, challenge)
	if err != nil {
		return false, resp.Header.Status, 0, err
	}
	tok = spnego.AppendNegTokenResp(scratch[:0], authTok, nil)
	req = wire.SessionSetupRequest{SecurityMode: uint8(wire.NegotiateSigningEnabled), SecurityBuffer: tok}
	resp, err = s.conn.Call(ctx, wire.CmdSessionSetup, 0, &req)
	if err != nil {
		return false, 0, 0, err
	}
	st := resp.Header.Status
	if st != wire.StatusSuccess {
		return false, st, 0, nil
	}
	ssr = wire.SessionSetupResponse(resp.Msg)
	if err := ssr.Validate(); err != nil {
		return false, st, 0, &transport.ProtocolError{Op: "SESSION_SETUP response", Err: err}
	}
	return true, st, ssr.SessionFlags(), nil
}

// challengeFrom extracts and validates the NTLM CHALLENGE of a SESSION_SETUP security buffer
// (SPNEGO NegTokenResp, or a bare NTLMSSP token, which some servers send).
func challengeFrom(buf []byte) (ntlmssp.Challenge, error) {
	tok, err := spnego.ResponseMechToken(buf)
	if err != nil {
		return nil, err
	}
	ch := ntlmssp.Challenge(tok)
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	return ch, nil
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
