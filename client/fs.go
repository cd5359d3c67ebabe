package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/smbsweep/smbsweep/wire"
)

// Protocol is the SMB protocol a connection speaks.
type Protocol string

// Protocols.
const (
	// ProtocolAuto tries SMB2/3 and falls back to SMB1 when the server does not speak SMB2
	// (see Connect).
	ProtocolAuto Protocol = ""
	ProtocolSMB2 Protocol = "smb2"
	ProtocolSMB1 Protocol = "smb1"
)

// FS is a tree-connected share, whichever protocol carries it: the file operations of the
// ls, get, stat and put subcommands and of the API. Paths are relative to the share root,
// with / or \ separators ("" or "/" is the root). Every error is an *Error.
type FS interface {
	// Name returns the share name as given.
	Name() string
	// Protocol returns the protocol of the connection.
	Protocol() Protocol
	// Stat returns the metadata of a file or directory.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// ReadDir lists a directory completely (paginated on the wire), without "." and "..".
	ReadDir(ctx context.Context, dir string, fn func(FileInfo) error) error
	// Walk lists dir and its subdirectories down to opts.MaxDepth.
	Walk(ctx context.Context, dir string, opts WalkOptions, fn func(FileInfo) error) (WalkResult, error)
	// ReadFile reads up to maxBytes of a file (<= 0: DefaultMaxBytes).
	ReadFile(ctx context.Context, path string, maxBytes int64) (ReadResult, error)
	// ReadFileTo copies up to maxBytes of a file to w.
	ReadFileTo(ctx context.Context, path string, w io.Writer, maxBytes int64) (ReadResult, error)
	// WriteFile writes r to a file; mode says what happens to an existing one.
	WriteFile(ctx context.Context, path string, r io.Reader, mode WriteMode) (WriteResult, error)
}

var (
	_ FS = (*Share)(nil)
	_ FS = (*SMB1Share)(nil)
)

// Protocol returns ProtocolSMB2.
func (s *Share) Protocol() Protocol { return ProtocolSMB2 }

// ConnectOptions configure Connect.
type ConnectOptions struct {
	// Options are the SMB2 client's (Dialects, Encrypt, MaxFrame, Workstation, Trace, Now);
	// Trace and Workstation apply to SMB1 too.
	Options
	// Protocol forces SMB2 or SMB1; ProtocolAuto (the zero value) tries SMB2 first.
	Protocol Protocol
}

// Conn is a logged-on connection of either protocol: an SMB2 *Client or an *SMB1Client.
type Conn struct {
	smb2 *Client
	smb1 *SMB1Client
	// fallback is why SMB1 was used after SMB2 was tried ("" otherwise).
	fallback string
}

// ErrNoSMB2 is the cause of a fallback the caller's options forbid: the server does not speak
// SMB2, and encryption or a dialect was asked for.
var ErrNoSMB2 = errors.New("the server does not speak SMB2/3 (it answered the SMB2 NEGOTIATE with SMB1 or closed the connection)")

// Connect dials addr, negotiates and logs on with cred. With ProtocolAuto it tries SMB2/3
// first and falls back to SMB1 (on a new connection) when the server does not speak SMB2: it
// closed the connection on the SMB2 NEGOTIATE, reset it, or answered with an SMB1 message. A
// server that is silent, refuses the connection or refuses the logon gets no second attempt;
// nor does a caller that asked for encryption or a dialect (SMB1 has neither), who gets
// ErrNoSMB2 instead.
func Connect(ctx context.Context, d Dialer, addr string, opts ConnectOptions, cred Credentials) (*Conn, error) {
	switch opts.Protocol {
	case ProtocolAuto, ProtocolSMB2:
	case ProtocolSMB1:
		if opts.Encrypt || len(opts.Dialects) > 0 {
			return nil, &Error{Op: "connect", Target: "//" + addr, Err: errors.New("SMB1 has no encryption and no SMB2 dialects: drop -encrypt/-dialect or the SMB1 choice")}
		}
		return connectSMB1(ctx, d, addr, opts, cred, "")
	default:
		return nil, &Error{Op: "connect", Target: "//" + addr, Err: fmt.Errorf("unknown protocol %q (want smb2 or smb1)", opts.Protocol)}
	}
	c, err := Dial(ctx, d, addr, opts.Options)
	if err != nil {
		if opts.Protocol == ProtocolAuto && NoSMB2(err) {
			if opts.Encrypt || len(opts.Dialects) > 0 {
				return nil, &Error{Op: "negotiate", Target: "//" + addr, Err: fmt.Errorf("%w; encryption and SMB2 dialects need SMB2/3, so SMB1 was not tried", ErrNoSMB2)}
			}
			return connectSMB1(ctx, d, addr, opts, cred, err.Error())
		}
		return nil, err
	}
	if err := c.Login(ctx, cred); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &Conn{smb2: c}, nil
}

func connectSMB1(ctx context.Context, d Dialer, addr string, opts ConnectOptions, cred Credentials, why string) (*Conn, error) {
	c, err := DialSMB1(ctx, d, addr, opts.Options)
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, cred); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &Conn{smb1: c, fallback: why}, nil
}

// NoSMB2 reports whether err, from Dial, says the server does not speak SMB2: the connection
// was closed or reset in answer to the NEGOTIATE, or the answer was an SMB1 message.
func NoSMB2(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Op != "negotiate" || e.Status != 0 {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, wire.ErrBadProtocol)
}

// Protocol returns the protocol of the connection.
func (c *Conn) Protocol() Protocol {
	if c.smb1 != nil {
		return ProtocolSMB1
	}
	return ProtocolSMB2
}

// Fallback returns why SMB1 was used after SMB2 was tried: the SMB2 NEGOTIATE's failure, or
// "" when SMB1 was forced or SMB2 is used.
func (c *Conn) Fallback() string { return c.fallback }

// SMB2 returns the SMB2 client, nil on an SMB1 connection.
func (c *Conn) SMB2() *Client { return c.smb2 }

// SMB1 returns the SMB1 client, nil on an SMB2 connection.
func (c *Conn) SMB1() *SMB1Client { return c.smb1 }

// Share tree-connects the share named name.
func (c *Conn) Share(ctx context.Context, name string) (FS, error) {
	if c.smb1 != nil {
		return c.smb1.TreeConnect(ctx, name)
	}
	return c.smb2.TreeConnect(ctx, name)
}

// Signed reports whether the session's messages are signed.
func (c *Conn) Signed() bool {
	if c.smb1 != nil {
		return c.smb1.sess.Signed
	}
	return c.smb2.Session().Signed()
}

// Encrypted reports whether the session is encrypted (never on SMB1).
func (c *Conn) Encrypted() bool {
	if c.smb1 != nil {
		return false
	}
	return c.smb2.Session().Encrypted()
}

// Close ends the session politely (best effort) and closes the connection.
func (c *Conn) Close() error {
	if c.smb1 != nil {
		return c.smb1.Close()
	}
	if c.smb2 != nil {
		return c.smb2.Close()
	}
	return nil
}
