package smb1conn

import (
	"context"
	"fmt"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/smb1"
)

// CreateDeleteOnClose is FILE_DELETE_ON_CLOSE (MS-CIFS 2.2.4.64.1): the file or empty directory
// is deleted when its last handle closes.
const CreateDeleteOnClose uint32 = 0x00001000

// Access masks for opening a directory to list it and for a create that must be deletable.
const (
	AccessListDirectory uint32 = AccessReadData // FILE_LIST_DIRECTORY on a directory
	AccessDelete        uint32 = 0x00010000     // DELETE
)

// UseUID points the requests that follow at the logged-on user uid, one of the sessions
// SessionSetup returned on this connection (MS-CIFS 3.2.4.2.x: a connection may carry several
// UIDs). Only unsigned sessions may share a connection this way: a signed session's sequence
// numbers would not survive the interleaving, so UseUID is refused while signing is on.
func (c *Conn) UseUID(uid uint16) error {
	if c.signing {
		return fmt.Errorf("smb1: switching the UID of a signed connection is not supported")
	}
	c.uid = uid
	return nil
}

// ReadPipe sends one READ_ANDX of up to len(p) bytes (at most the server's read size) on the
// pipe fid and returns what came: the next chunk of a named pipe reply that did not fit in the
// TRANSACTION answer. A reply still longer comes with STATUS_BUFFER_OVERFLOW, returned with
// the data as the error; a refusal (STATUS_PIPE_EMPTY, ...) returns its status in the chain.
func (c *Conn) ReadPipe(ctx context.Context, tid, fid uint16, p []byte) (int, error) {
	want := min(len(p), c.ioSize(true))
	req := smb1.ReadAndXRequest{FID: fid, Count: uint32(want)}
	msg, err := c.call(ctx, smb1.CommandReadAndX, tid, &req)
	if err != nil {
		return 0, fmt.Errorf("smb1 read of the pipe: %w", err)
	}
	r := smb1.ReadAndXResponse(msg)
	if err := r.Validate(); err != nil {
		return 0, &transport.ProtocolError{Op: "smb1 read of the pipe", Err: err}
	}
	if err := r.Err(); err != nil && msg.WordCount() < 12 {
		// An error reply without the READ_ANDX parameters carries no data (MS-CIFS 2.2.4.42.2).
		return 0, fmt.Errorf("smb1 read of the pipe: %w", err)
	}
	d := r.Data()
	if len(d) > want {
		return 0, &transport.ProtocolError{Op: "smb1 read of the pipe", Err: fmt.Errorf("%d bytes for a read of %d: %w", len(d), want, wire.ErrTooLarge)}
	}
	n := copy(p, d)
	if err := r.Err(); err != nil {
		return n, fmt.Errorf("smb1 read of the pipe: %w", err)
	}
	return n, nil
}
