package probes

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// StageError is a stage's failure with its context: which stage, which host, which NT status
// (when the server answered with one) and the underlying cause.
type StageError struct {
	Stage    string
	Host     string
	NTStatus wire.NTStatus // 0 when the failure was not an NT status
	HasNT    bool
	Err      error
}

func (e *StageError) Error() string {
	msg := e.Stage + " " + e.Host
	if e.HasNT {
		msg += ": " + e.NTStatus.String()
	}
	if e.Err != nil {
		msg += ": " + briefError(e.Err)
	}
	return msg
}

// briefError renders err without the socket addresses a net.OpError repeats (the StageError
// already names the host): "dial tcp 10.0.0.1:445: connect: connection refused" becomes
// "connect: connection refused", "read tcp a->b: i/o timeout" becomes "read: i/o timeout".
func briefError(err error) string {
	var op *net.OpError
	if !errors.As(err, &op) || op.Err == nil {
		return err.Error()
	}
	inner := op.Err.Error()
	if op.Op == "dial" {
		return inner // the inner syscall error already says "connect: ..."
	}
	return op.Op + ": " + inner
}

// Unwrap returns the cause.
func (e *StageError) Unwrap() error { return e.Err }

// refusal is a failure the server expressed as an NT status (a "failed" stage, not an "error").
func refusal(status wire.NTStatus, what string) error {
	return &ntRefusal{status: status, what: what}
}

type ntRefusal struct {
	status wire.NTStatus
	what   string
}

func (e *ntRefusal) Error() string { return e.what + " refused with " + e.status.String() }

// ErrSkipped marks a stage that chose not to run (for a reason it records itself).
var errNotApplicable = errors.New("not applicable")

// Classify maps an error from dialing or talking to a host onto the closed status vocabulary.
func Classify(err error) Status {
	if err == nil {
		return StatusSMB
	}
	var notSMB *transport.NotSMBError
	var perr *transport.ProtocolError
	var dialErr *dialError
	switch {
	case errors.As(err, &notSMB):
		return StatusNotSMB
	case errors.As(err, &dialErr):
		return classifyDial(dialErr.err)
	case errors.As(err, &perr):
		return StatusProtocolError
	case errors.Is(err, wire.ErrShort), errors.Is(err, wire.ErrBadOffset), errors.Is(err, wire.ErrBadProtocol),
		errors.Is(err, wire.ErrBadStructureSize), errors.Is(err, wire.ErrTooLarge), errors.Is(err, wire.ErrBadCommand),
		errors.Is(err, wire.ErrMalformed):
		return StatusProtocolError
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return StatusConnectionReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return StatusIOTimeout
	}
	return StatusError
}

func classifyDial(err error) Status {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return StatusConnectionRefused
	case errors.Is(err, syscall.ECONNRESET):
		return StatusConnectionReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), isTimeout(err),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return StatusConnectionTimeout
	}
	return StatusError
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dialError marks an error from establishing the TCP connection, so classification can tell
// "connection-timeout" (no handshake) from "io-timeout" (handshake, then silence).
type dialError struct{ err error }

func (e *dialError) Error() string {
	var op *net.OpError
	if errors.As(e.err, &op) && op.Err != nil {
		if s := op.Err.Error(); strings.HasPrefix(s, "connect: ") {
			return s
		}
		return "connect: " + op.Err.Error()
	}
	return "connect: " + e.err.Error()
}
func (e *dialError) Unwrap() error { return e.err }
