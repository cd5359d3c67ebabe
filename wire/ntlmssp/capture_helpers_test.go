//go:build capture

package ntlmssp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
)

// smb2Conn is one SMB2 connection of a test: transport.Conn numbers the messages, skips
// interim replies and carries the SessionID the first SESSION_SETUP reply assigns.
type smb2Conn struct {
	t    *testing.T
	ctx  context.Context
	conn *transport.Conn
}

// dialSMB2 connects to addr; the connection is closed when the test ends.
func dialSMB2(t *testing.T, addr string) *smb2Conn {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	nc, err := new(net.Dialer).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &smb2Conn{t: t, ctx: ctx, conn: transport.New(ctx, nc, transport.Options{})}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

// negotiateRequest is DefaultNegotiateRequest with a random ClientGuid, offering only dialects
// (below 3.1.1, so no negotiate contexts and no preauth salt are sent).
func negotiateRequest(dialects ...wire.Dialect) wire.NegotiateRequest {
	var guid wire.GUID
	_, _ = rand.Read(guid[:])
	r := wire.DefaultNegotiateRequest(guid, [32]byte{})
	r.Dialects = dialects
	return r
}

// call sends one request and returns a copy of the reply (SMB2 header included) and its status.
func (c *smb2Conn) call(cmd wire.Command, body transport.Body) ([]byte, wire.NTStatus) {
	c.t.Helper()
	r, err := c.conn.Call(c.ctx, cmd, 0, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if cmd == wire.CmdSessionSetup && r.Header.SessionID != c.conn.Session().ID() {
		c.conn.Use(transport.NewSession(r.Header.SessionID))
	}
	return bytes.Clone(r.Msg), r.Header.Status
}

// expect is call for a reply that must have status want.
func (c *smb2Conn) expect(cmd wire.Command, body transport.Body, want wire.NTStatus) []byte {
	c.t.Helper()
	reply, st := c.call(cmd, body)
	if st != want {
		c.t.Fatalf("%v: %v, want %v", cmd, st, want)
	}
	return reply
}
