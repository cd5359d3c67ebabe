package loopsrv

import (
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestCloseEndsEverything: Close returns only after every handler has returned, closes the
// connections the handlers are blocked on, and leaves no goroutine behind.
func TestCloseEndsEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	var g Group
	finished := make(chan struct{}, 16)
	handle := func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // blocks until the connection is closed
		finished <- struct{}{}
	}
	addrs := []string{}
	for range 2 {
		ln := listen(t)
		addrs = append(addrs, ln.Addr().String())
		if err := g.Serve(ln, handle); err != nil {
			t.Fatal(err)
		}
	}
	var clients []net.Conn
	for i := range 6 {
		c, err := net.Dial("tcp4", addrs[i%2])
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for g.Active() != 6 {
		if time.Now().After(deadline) {
			t.Fatalf("active %d, accepted %d, want 6", g.Active(), g.Accepted())
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.Close()
	if n := len(finished); n != 6 {
		t.Fatalf("Close returned with %d of 6 handlers finished", n)
	}
	if g.Active() != 0 || g.Accepted() != 6 {
		t.Errorf("after Close: active %d accepted %d, want 0 and 6", g.Active(), g.Accepted())
	}
	g.Close() // a second Close is harmless
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp4", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Close", a)
		}
	}
	for time.Now().Before(deadline) && runtime.NumGoroutine() > base {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines after Close, %d before", n, base)
	}
}

func TestServeAfterClose(t *testing.T) {
	var g Group
	g.Close()
	ln := listen(t)
	if err := g.Serve(ln, func(net.Conn) {}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close: %v, want net.ErrClosed", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed by a refused Serve: %v", err)
	}
}

// TestHandlerClosesConnection: the connection is closed once the handler returns, so the client
// sees EOF.
func TestHandlerClosesConnection(t *testing.T) {
	var g Group
	defer g.Close()
	ln := listen(t)
	if err := g.Serve(ln, func(c net.Conn) { _, _ = c.Write([]byte("bye")) }); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "bye" {
		t.Fatalf("read %q, %v; want \"bye\" then EOF", b, err)
	}
}
