package sambatest

import (
	"net"
	"net/netip"
	"time"

	"github.com/smbsweep/smbsweep/internal/testing/loopsrv"
)

// httpResponse is what the HTTP fake answers to anything.
const httpResponse = "HTTP/1.1 400 Bad Request\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 12\r\n" +
	"Connection: close\r\n" +
	"\r\n" +
	"Bad Request\n"

// fakeListeners are the in-process non-SMB endpoints of a fleet.
type fakeListeners struct {
	group loopsrv.Group
}

func startFakes(silent, http netip.AddrPort) (*fakeListeners, error) {
	f := &fakeListeners{}
	sl, err := net.Listen("tcp4", silent.String())
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp4", http.String())
	if err != nil {
		sl.Close()
		return nil, err
	}
	// A fresh Group cannot be closed yet, so Serve cannot fail here.
	_ = f.group.Serve(sl, f.silent)
	_ = f.group.Serve(hl, f.http)
	return f, nil
}

// silent reads and discards until the peer closes or the fleet stops.
func (f *fakeListeners) silent(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// http waits for the first bytes, answers 400 and closes.
func (f *fakeListeners) http(c net.Conn) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		return
	}
	c.Write([]byte(httpResponse))
}

func (f *fakeListeners) close() { f.group.Close() }
