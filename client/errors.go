package client

import (
	"errors"

	"github.com/smbsweep/smbsweep/wire"
)

// Error is a failed client operation: what was attempted (Op: "connect", "negotiate", "login",
// "tree connect", "stat", "list", "read", "write", ...), on which target (Target:
// "//host:port/share/path", or the host for connection-level operations), the NT status the
// server refused it with (Status; 0 when the failure was not a refusal) and the cause (Err:
// a transport or protocol error, or more detail).
//
// errors.Is(err, wire.StatusLogonFailure) and similar match Status; errors.Is and errors.As
// also reach Err.
type Error struct {
	Op     string
	Target string
	Status wire.NTStatus
	Err    error
}

func (e *Error) Error() string {
	s := e.Op + " " + e.Target
	if e.Status != 0 {
		s += ": " + e.Status.String()
		if h := statusHint(e.Status); h != "" {
			s += " (" + h + ")"
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the NT status (when there is one) and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Status != 0 {
		out = append(out, e.Status)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// statusHint says in a few words what the commonest refusals mean for a user.
func statusHint(s wire.NTStatus) string {
	switch s {
	case wire.StatusLogonFailure:
		return "wrong user name, password or NT hash"
	case wire.StatusAccountDisabled, wire.StatusAccountLockedOut, wire.StatusAccountExpired,
		wire.StatusAccountRestriction, wire.StatusPasswordExpired, wire.StatusPasswordMustChange:
		return "the account cannot log on"
	case wire.StatusBadNetworkName:
		return "no such share"
	case wire.StatusAccessDenied:
		return "access denied"
	case wire.StatusObjectNameNotFound:
		return "no such file or directory"
	case wire.StatusObjectPathNotFound:
		return "a directory in the path does not exist"
	case wire.StatusObjectNameCollision:
		return "the file exists"
	case wire.StatusFileIsADirectory:
		return "is a directory"
	case wire.StatusNotADirectory:
		return "not a directory"
	case wire.StatusSharingViolation:
		return "the file is open elsewhere without sharing"
	}
	return ""
}

// ErrExists is the cause of a write refused because the file exists and neither Overwrite
// nor Append was asked for.
var ErrExists = errors.New("the file exists; refusing to overwrite it")

// ErrGuest is the cause of a logon the server granted only as guest or anonymous: the
// credentials were not accepted as given, and such a session cannot be signed.
var ErrGuest = errors.New("the server granted only a guest or anonymous session: it does not accept these credentials as given")

// refused returns the Error of a request the server answered with a failure status.
func refused(op, target string, st wire.NTStatus) error {
	return &Error{Op: op, Target: target, Status: st}
}

// failed returns the Error of an operation that failed without an NT status.
func failed(op, target string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Target: target, Err: err}
}
