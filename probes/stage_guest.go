package probes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/smbsweep/smbsweep/transport/logon"
	"github.com/smbsweep/smbsweep/wire"
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
	id := randomGuest()
	user := id.User
	ok, status, flags, err := s.ntlmSession(ctx, r, id)
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
	s.guestSession, s.guestSMB2 = true, s.conn.Session()
	info.id, info.rawFlags = s.guestSMB2.ID(), flags
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

// randomGuest returns a logon identity that cannot exist: a random user name with a random
// password. The password is never kept or shown: it is random and unknown to the server by
// construction.
func randomGuest() logon.Identity {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	return logon.Identity{Kind: logon.User, User: "smbsweep-" + hex.EncodeToString(b[:]), Password: hex.EncodeToString(pw[:])}
}
