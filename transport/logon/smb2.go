package logon

import (
	"context"
	"fmt"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// Refused is a logon step the server answered with an error status.
type Refused struct {
	// Step is "NEGOTIATE" (the first SESSION_SETUP) or "AUTHENTICATE" (the second).
	Step   string
	Status wire.NTStatus
}

func (e *Refused) Error() string {
	return fmt.Sprintf("SESSION_SETUP (NTLM %s) refused: %s", e.Step, e.Status)
}

// Unwrap lets errors.Is match the NT status.
func (e *Refused) Unwrap() error { return e.Status }

// SMB2Result is what an SMB2 logon left, complete or not.
type SMB2Result struct {
	// Session is the new session, numbered by the server's first reply (nil before it). The
	// connection is left pointed at it (Conn.Use); transport.Conn.EstablishSession turns on
	// its signing and sealing.
	Session *transport.Session
	// Status is the last status the server sent (0 before any reply).
	Status wire.NTStatus
	// Flags are the final SESSION_SETUP response's SessionFlags (wire.SessionFlag*).
	Flags uint16
	// Final is the final SESSION_SETUP response, for transport.Conn.EstablishSession. Its
	// message is a view into the connection's buffer, valid until the next call.
	Final transport.Response
	// ChallengeAt is when the CHALLENGE arrived (the zero time when it did not).
	ChallengeAt time.Time
}

// SMB2 runs the two SESSION_SETUP round trips of logon n as a new session on conn, which it
// points at the session (Conn.Use) once the server assigned its id. securityMode is the
// request's SecurityMode (wire.NegotiateSigning*). now stamps ChallengeAt (time.Now when nil).
//
// A status other than MORE_PROCESSING_REQUIRED after the NEGOTIATE, or other than SUCCESS
// after the AUTHENTICATE, is a *Refused; a first reply that completes the logon without a
// CHALLENGE, or a reply that does not decode, a *transport.ProtocolError. The final
// response's security buffer is checked with n.Finish.
func SMB2(ctx context.Context, conn *transport.Conn, n *NTLM, securityMode uint8, now func() time.Time) (SMB2Result, error) {
	var res SMB2Result
	if now == nil {
		now = time.Now
	}
	var tok [2560]byte
	defer clear(tok[:])
	conn.Use(nil)
	req := wire.SessionSetupRequest{SecurityMode: securityMode, SecurityBuffer: n.Start(tok[:0])}
	resp, err := conn.Call(ctx, wire.CmdSessionSetup, 0, &req)
	if err != nil {
		return res, err
	}
	res.Status = resp.Header.Status
	if res.Status != wire.StatusMoreProcessingRequired {
		if res.Status == wire.StatusSuccess {
			return res, &transport.ProtocolError{Op: "SESSION_SETUP", Err: fmt.Errorf("logon completed without an NTLM CHALLENGE: %w", wire.ErrMalformed)}
		}
		return res, &Refused{Step: "NEGOTIATE", Status: res.Status}
	}
	ssr := wire.SessionSetupResponse(resp.Msg)
	if err := ssr.Validate(); err != nil {
		return res, &transport.ProtocolError{Op: "SESSION_SETUP response", Err: err}
	}
	res.ChallengeAt = now()
	req.SecurityBuffer, err = n.Respond(tok[:0], ssr.SecurityBuffer())
	if err != nil {
		return res, err
	}
	res.Session = transport.NewSession(resp.Header.SessionID)
	conn.Use(res.Session)
	resp, err = conn.Call(ctx, wire.CmdSessionSetup, 0, &req)
	if err != nil {
		return res, err
	}
	res.Status = resp.Header.Status
	if res.Status != wire.StatusSuccess {
		return res, &Refused{Step: "AUTHENTICATE", Status: res.Status}
	}
	ssr = wire.SessionSetupResponse(resp.Msg)
	if err := ssr.Validate(); err != nil {
		return res, &transport.ProtocolError{Op: "SESSION_SETUP response", Err: err}
	}
	res.Flags, res.Final = ssr.SessionFlags(), resp
	if res.Flags&(wire.SessionFlagIsGuest|wire.SessionFlagIsNull) == 0 {
		if err := n.Finish(ssr.SecurityBuffer()); err != nil {
			return res, err
		}
	}
	return res, nil
}
