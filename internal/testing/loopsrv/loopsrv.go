// Package loopsrv is the accept loop shared by the project's in-process test servers
// (internal/testing/hostile, internal/testing/replay, the non-SMB fakes of internal/testing/sambatest): accept, track
// the connection, serve it in its own goroutine, and on Close stop every listener, close every
// open connection and wait for every goroutine, so that a test that closes its servers leaves
// nothing behind (the leak tests depend on that).
package loopsrv

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Group serves connections from any number of listeners. The zero value is ready to use; a
// Group must not be copied after first use.
type Group struct {
	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	accepted atomic.Int64
}

// acceptBackoff is the pause after an accept error other than a closed listener (EMFILE and
// friends), so that the loop keeps serving without spinning.
const acceptBackoff = 5 * time.Millisecond

// Serve takes ownership of ln and serves every connection it accepts with handle, each in a
// goroutine of its own; the connection is closed when handle returns (handle may close it
// earlier). It returns at once; net.ErrClosed (and ln closed) when the group is already closed.
func (g *Group) Serve(ln net.Listener, handle func(net.Conn)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		ln.Close()
		return net.ErrClosed
	}
	g.lns = append(g.lns, ln)
	g.wg.Add(1)
	go g.accept(ln, handle)
	return nil
}

func (g *Group) accept(ln net.Listener, handle func(net.Conn)) {
	defer g.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				time.Sleep(acceptBackoff)
			}
			continue
		}
		if !g.track(c) {
			c.Close()
			return
		}
		g.accepted.Add(1)
		go func() {
			defer g.wg.Done()
			defer g.untrack(c)
			handle(c)
		}()
	}
}

// track records c and counts its goroutine; false when the group is closed.
func (g *Group) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if g.conns == nil {
		g.conns = make(map[net.Conn]struct{})
	}
	g.conns[c] = struct{}{}
	g.wg.Add(1)
	return true
}

func (g *Group) untrack(c net.Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	c.Close()
}

// Accepted returns how many connections the group has accepted.
func (g *Group) Accepted() int { return int(g.accepted.Load()) }

// Active returns how many accepted connections are still being served.
func (g *Group) Active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Close stops every listener, closes every open connection and waits until every accept loop
// and handler goroutine has returned. It is safe to call more than once and concurrently.
func (g *Group) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		for _, ln := range g.lns {
			ln.Close()
		}
		for c := range g.conns {
			c.Close()
		}
	}
	g.mu.Unlock()
	g.wg.Wait()
}
