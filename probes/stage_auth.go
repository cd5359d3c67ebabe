package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/smbsweep/smbsweep/client"
	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// needCredentials skips the credentialed stages when no credentials were given.
func needCredentials(s *Session, _ *Result) string {
	if s.Opts.Credentials == nil {
		return "no credentials given"
	}
	return ""
}

// stageAuth logs on with the configured credentials (NTLMv2 with a password or NT hash) on a
// connection of its own, through package client: the session is signed, and encrypted when
// the server requires it or Options.Encrypt asks. It records the dialect, the session flags,
// the signing algorithm and cipher in use and the server's names. The logon has the session
// stages' own deadline (servers delay failed logons); the connection lives on for ls and read
// and is closed, with LOGOFF, when the host is done.
func stageAuth(ctx context.Context, s *Session, r *Result) error {
	cred := s.Opts.Credentials
	info := &AuthInfo{User: cred.User, SessionFlags: []string{}}
	if cred.Domain != "" {
		info.Domain = String(cred.Domain) // sent as given; otherwise known once the logon completes
	}
	r.Auth = info
	addr := net.JoinHostPort(s.Target.Addr.String(), strconv.Itoa(int(s.Target.Port)))
	copts := client.Options{Encrypt: s.Opts.Encrypt, MaxFrame: s.Opts.MaxFrame, Now: s.Opts.Now}
	if tr := s.Opts.Trace; tr != nil { // the logon is traced too: see Options.Trace
		t := s.Target
		copts.Trace = func(dir transport.Direction, msg []byte) { tr(t, connAuth, dir, msg) }
	}
	c, err := client.Dial(ctx, s.Opts.Dialer, addr, copts)
	if err != nil {
		info.Evidence = "connection or NEGOTIATE for the logon failed"
		return unwrapClient(err)
	}
	s.auth = c
	info.Dialect = c.Negotiated().Dialect.String()
	lctx, cancel := ctx, context.CancelFunc(func() {})
	if s.Opts.SessionTimeout > 0 {
		lctx, cancel = context.WithTimeout(ctx, s.Opts.SessionTimeout)
	}
	err = c.Login(lctx, *cred)
	cancel()
	var ce *client.Error
	switch {
	case err == nil:
	case errors.Is(err, client.ErrGuest):
		info.Success, info.Status = Bool(false), String(wire.StatusSuccess.String())
		info.Evidence = "the server granted only a guest or anonymous session: it does not accept these credentials"
		return errors.New("logon granted only as guest: credentials not accepted")
	case errors.As(err, &ce) && ce.Status != 0:
		info.Success, info.Status = Bool(false), String(ce.Status.String())
		info.Evidence = fmt.Sprintf("server refused the logon with %s", ce.Status)
		return refusal(ce.Status, "credentialed SESSION_SETUP")
	default:
		info.Evidence = "the logon did not complete"
		return unwrapClient(err)
	}
	sess := c.Session()
	info.Success, info.Status = Bool(true), String(wire.StatusSuccess.String())
	info.Domain = String(sess.Domain)
	info.SessionFlags = wire.SessionFlagNames(info.SessionFlags, sess.Flags)
	info.Signing = Bool(true)
	info.SigningAlgorithm = wire.SigningAlgorithmName(sess.Security.SigningAlgorithm)
	info.Encryption = Bool(sess.Security.EncryptAll)
	if sess.Security.Cipher != wire.CipherNone {
		info.Cipher = wire.CipherName(sess.Security.Cipher)
	}
	info.ServerName, info.ServerDomain = sess.Server.NetBIOSComputer, sess.Server.NetBIOSDomain
	how := "signed with " + info.SigningAlgorithm
	if sess.Security.EncryptAll {
		how = "encrypted with " + info.Cipher
	}
	info.Evidence = fmt.Sprintf("NTLMv2 logon granted over SMB %s; session %s", info.Dialect, how)
	return nil
}

// unwrapClient returns the cause of a client error without its NT status, so that the
// pipeline classifies transport and protocol failures as it does for its own stages; the
// client's message, which names the operation, is kept.
func unwrapClient(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == 0 && ce.Err != nil {
		return fmt.Errorf("%s: %w", ce.Op, ce.Err)
	}
	return err
}
