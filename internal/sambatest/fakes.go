package sambatest

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
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
	mu     sync.Mutex
	ls     []net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func startFakes(silent, http netip.AddrPort) (*fakeListeners, error) {
	f := &fakeListeners{conns: map[net.Conn]struct{}{}}
	sl, err := net.Listen("tcp4", silent.String())
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp4", http.String())
	if err != nil {
		sl.Close()
		return nil, err
	}
	f.ls = []net.Listener{sl, hl}
	f.wg.Go(func() { f.serve(sl, f.silent) })
	f.wg.Go(func() { f.serve(hl, f.http) })
	return f, nil
}

func (f *fakeListeners) serve(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			c.Close()
			return
		}
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		f.wg.Go(func() {
			defer func() {
				f.mu.Lock()
				delete(f.conns, c)
				f.mu.Unlock()
				c.Close()
			}()
			handle(c)
		})
	}
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

func (f *fakeListeners) close() {
	f.mu.Lock()
	f.closed = true
	for _, l := range f.ls {
		l.Close()
	}
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
