//go:build !linux

package scanner

import (
	"context"
	"net"
)

// newConnector returns the goroutine connector: one goroutine per pending connect.
func newConnector(base context.Context) connector {
	nd := &net.Dialer{KeepAlive: -1}
	return newGoConnector(base, func(ctx context.Context, t Target) (net.Conn, error) {
		return nd.DialContext(ctx, "tcp", t.AddrPort().String())
	})
}

// synRetransmitted is not known here: slow connects are judged by their latency alone.
func synRetransmitted(net.Conn) (retrans, known bool) { return false, false }
