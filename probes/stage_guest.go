package probes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/ntlmssp"
)

// stageGuest logs on as a user that cannot exist, with a random password, as a new session on
// the shared connection. A server that maps unknown users to its guest account grants the
// session with IS_GUEST (Samba's "map to guest = Bad User", Windows with the guest account
// enabled); any other success means the server accepted made-up credentials. The session is
// never signed. The stage has its own deadline: current Windows delays failed logons ~2 s.
func stageGuest(ctx context.Context, s *Session, r *Result) error {
	if s.smb1Only {
		return stageGuestSMB1(ctx, s, r)
	}
	info := &SessionInfo{Flags: []string{}}
	r.Sessions.Guest = info
	user, auth := randomGuestAuth()
	ok, status, flags, err := s.ntlmSession(ctx, r, auth)
	if err == nil || errors.As(err, new(*ntRefusal)) {
		info.Status = String(status.String()) // only a status the server actually sent
	}
	if err != nil {
		if errors.As(err, new(*ntRefusal)) {
			info.SetupOK, info.Allowed = Bool(false), Bool(false)
			info.Evidence = fmt.Sprintf("server refused a logon as non-existent user %q with %s", user, status)
		} else {
			info.Evidence = "guest logon did not complete: " + err.Error()
		}
		return err
	}
	info.SetupOK = Bool(ok)
	if !ok {
		info.Allowed = Bool(false)
		info.Evidence = fmt.Sprintf("server refused a logon as non-existent user %q with a random password: %s", user, status)
		return refusal(status, "guest SESSION_SETUP")
	}
	info.Flags = wire.SessionFlagNames(info.Flags, flags)
	s.guestSession, s.guestSessionID = true, s.conn.SessionID
	switch {
	case flags&wire.SessionFlagIsGuest != 0:
		info.Allowed = Bool(true)
		info.Evidence = fmt.Sprintf("logon as non-existent user %q with a random password was granted a guest session (IS_GUEST)", user)
	case flags&wire.SessionFlagIsNull != 0:
		info.Allowed = Bool(false)
		info.Evidence = fmt.Sprintf("logon as non-existent user %q was downgraded to an anonymous session (IS_NULL), not guest", user)
	default:
		info.Allowed = Bool(true)
		info.Evidence = fmt.Sprintf("server accepted non-existent user %q with a random password as a full logon (no IS_GUEST flag)", user)
	}
	return nil
}

// randomGuestAuth returns a user name that cannot exist and an NTLMv2 AUTHENTICATE builder for
// it with a random password. The password is never kept or shown: it is random and unknown to
// the server by construction.
func randomGuestAuth() (string, authBuilder) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	user := "smbsweep-" + hex.EncodeToString(b[:])
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	return user, func(dst []byte, flags ntlmssp.Flags, negotiate []byte, challenge ntlmssp.Challenge) ([]byte, error) {
		p := ntlmssp.NTLMv2Auth{User: user, Time: wire.TimeToFiletime(time.Now())}
		p.ResponseKeyNT = ntlmssp.NTOWFv2(hex.EncodeToString(pw[:]), user, "")
		_, _ = rand.Read(p.ClientChallenge[:])
		_, _ = rand.Read(p.ExportedSessionKey[:])
		msg, _, err := p.AppendAuthenticate(dst, flags, negotiate, challenge)
		return msg, err
	}
}
