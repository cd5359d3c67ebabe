package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// slowLimiter allows burst connections, then one per hour: its tokens count the attempts.
func slowLimiter(burst int) *rate.Limiter { return rate.NewLimiter(rate.Every(time.Hour), burst) }

// attemptsUsed returns how many tokens of a slowLimiter(burst) were taken.
func attemptsUsed(l *rate.Limiter, burst int) int {
	return int(float64(burst) - l.Tokens() + 0.5)
}

func TestDialerConnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
		close(accepted)
	}()
	l := slowLimiter(5)
	d := &Dialer{Limiter: l, Retries: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-accepted
	if n := attemptsUsed(l, 5); n != 1 {
		t.Errorf("%d limiter tokens used, want 1", n)
	}
	// The zero Dialer works too.
	var zero Dialer
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err = zero.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestDialerRefusedIsNotRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the kernel answers RST
	l := slowLimiter(5)
	d := &Dialer{Limiter: l, Retries: 3, RetryBackoff: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = d.DialContext(ctx, "tcp", addr)
	if err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if got := ClassifyDialError(err); got != "connection-refused" {
		t.Errorf("ClassifyDialError(%v) = %q", err, got)
	}
	if n := attemptsUsed(l, 5); n != 1 {
		t.Errorf("%d attempts on a refused port, want 1", n)
	}
}

// timeoutErr is what a connect timeout looks like from net.Dialer.
var timeoutErr = &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}

func TestDialerRetriesTimeouts(t *testing.T) {
	var calls atomic.Int32
	l := slowLimiter(10)
	d := &Dialer{Limiter: l, Retries: 2, RetryBackoff: time.Millisecond,
		dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			calls.Add(1)
			return nil, timeoutErr
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := d.DialContext(ctx, "tcp", "127.0.0.1:445")
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
	if n := attemptsUsed(l, 10); n != 3 {
		t.Errorf("limiter waited %d times for 3 attempts", n)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.HasSuffix(err.Error(), "(after 3 attempts)") {
		t.Errorf("error %v", err)
	}
	if got := ClassifyDialError(err); got != "connection-timeout" {
		t.Errorf("class %q", got)
	}

	// A timeout that then succeeds.
	calls.Store(0)
	d.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if calls.Add(1) == 1 {
			return nil, timeoutErr
		}
		c1, c2 := net.Pipe()
		c2.Close()
		return c1, nil
	}
	c, err := d.DialContext(ctx, "tcp", "127.0.0.1:445")
	if err != nil || calls.Load() != 2 {
		t.Fatalf("second attempt: %v after %d calls", err, calls.Load())
	}
	c.Close()

	// Other errors are not retried.
	for _, e := range []error{
		&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
		&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)},
	} {
		calls.Store(0)
		d.dial = func(context.Context, string, string) (net.Conn, error) { calls.Add(1); return nil, e }
		if _, err := d.DialContext(ctx, "tcp", "127.0.0.1:445"); !errors.Is(err, e.(*net.OpError).Err.(*os.SyscallError).Err) || calls.Load() != 1 {
			t.Errorf("%v: %v after %d attempts", e, err, calls.Load())
		}
	}
}

func TestDialerStopsAtDeadline(t *testing.T) {
	var calls atomic.Int32
	timeouts := func(context.Context, string, string) (net.Conn, error) { calls.Add(1); return nil, timeoutErr }

	// The backoff would outlast the host deadline: give up after the first attempt.
	d := &Dialer{Retries: 5, RetryBackoff: time.Hour, dial: timeouts}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := d.DialContext(ctx, "tcp", "127.0.0.1:445"); calls.Load() != 1 || ClassifyDialError(err) != "connection-timeout" {
		t.Errorf("long backoff: %v after %d attempts", err, calls.Load())
	}

	// The limiter cannot serve another attempt before the deadline: the retry is abandoned and
	// the connect timeout is reported, not the limiter.
	calls.Store(0)
	l := slowLimiter(2)
	d = &Dialer{Limiter: l, Retries: 5, RetryBackoff: time.Millisecond, dial: timeouts}
	_, err := d.DialContext(ctx, "tcp", "127.0.0.1:445")
	if calls.Load() != 2 || !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ErrRateLimitWait) {
		t.Errorf("limited retries: %v after %d attempts", err, calls.Load())
	}

	// A first attempt that cannot get a token within the deadline reports ErrRateLimitWait.
	_, err = d.DialContext(ctx, "tcp", "127.0.0.1:445")
	if !errors.Is(err, ErrRateLimitWait) || ClassifyDialError(err) != "error" {
		t.Errorf("no token: %v", err)
	}

	// A cancelled context ends the dial without an attempt.
	calls.Store(0)
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	d = &Dialer{Limiter: slowLimiter(1), dial: timeouts}
	if _, err := d.DialContext(cctx, "tcp", "127.0.0.1:445"); !errors.Is(err, context.Canceled) || calls.Load() != 0 || ClassifyDialError(err) != "error" {
		t.Errorf("cancelled: %v after %d attempts", err, calls.Load())
	}
	// Cancelled while waiting for the limiter.
	l = slowLimiter(1)
	l.Allow() // take the only token: the next one comes in an hour
	d = &Dialer{Limiter: l, dial: timeouts}
	cctx2, ccancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); ccancel2() }()
	if _, err := d.DialContext(cctx2, "tcp", "127.0.0.1:445"); calls.Load() != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled in limiter wait: %v after %d attempts", err, calls.Load())
	}
	// Cancelled during the backoff.
	calls.Store(0)
	d = &Dialer{Retries: 3, RetryBackoff: time.Hour, dial: timeouts}
	cctx3, ccancel3 := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); ccancel3() }()
	if _, err := d.DialContext(cctx3, "tcp", "127.0.0.1:445"); calls.Load() != 1 || ClassifyDialError(err) != "connection-timeout" {
		t.Errorf("cancelled in backoff: %v after %d attempts", err, calls.Load())
	}
}

type fakeNetErr struct{ timeout bool }

func (e fakeNetErr) Error() string   { return fmt.Sprintf("fake (timeout %v)", e.timeout) }
func (e fakeNetErr) Timeout() bool   { return e.timeout }
func (e fakeNetErr) Temporary() bool { return false }

func TestClassifyDialError(t *testing.T) {
	sys := func(e syscall.Errno) error {
		return fmt.Errorf("wrapped: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)})
	}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{sys(syscall.ECONNREFUSED), "connection-refused"},
		{sys(syscall.ECONNRESET), "connection-reset"},
		{timeoutErr, "connection-timeout"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "connection-timeout"},
		{fakeNetErr{timeout: true}, "connection-timeout"},
		{fakeNetErr{timeout: false}, "error"},
		{context.Canceled, "error"},
		{fmt.Errorf("dial: %w", ErrRateLimitWait), "error"},
		{sys(syscall.EHOSTUNREACH), "error"},
		{errors.New("something else"), "error"},
	}
	for _, tc := range tests {
		if got := ClassifyDialError(tc.err); got != tc.want {
			t.Errorf("ClassifyDialError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// BenchmarkDialContext measures DialContext's own cost around a connect: the limiter, the
// connect-ahead lookups and, in "retry", one timed-out attempt and its backoff.
func BenchmarkDialContext(b *testing.B) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.Run("connect", func(b *testing.B) {
		d := &Dialer{Limiter: rate.NewLimiter(rate.Inf, 1),
			dial: func(context.Context, string, string) (net.Conn, error) { return c1, nil }}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.DialContext(ctx, "tcp", "127.0.0.1:445"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("retry", func(b *testing.B) {
		n := 0
		d := &Dialer{Limiter: rate.NewLimiter(rate.Inf, 1), Retries: 1, RetryBackoff: time.Nanosecond,
			dial: func(context.Context, string, string) (net.Conn, error) {
				if n++; n%2 == 1 {
					return nil, timeoutErr
				}
				return c1, nil
			}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.DialContext(ctx, "tcp", "127.0.0.1:445"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
