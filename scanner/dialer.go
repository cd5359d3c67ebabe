package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// Dialer defaults.
const (
	DefaultConnectTimeout = 3 * time.Second
	DefaultRetryBackoff   = 250 * time.Millisecond
)

// ErrRateLimitWait reports that a connection was never attempted because the host's deadline
// would pass while waiting for the new-connection rate limiter. It means the scan is configured
// with more concurrency than the rate can serve within the host timeout (lower the concurrency
// or raise the rate); it says nothing about the host.
var ErrRateLimitWait = errors.New("host deadline would pass while waiting for the connection rate limiter")

// Dialer makes TCP connections for probes under a global new-connection rate limit. Its zero
// value is usable (no limit, 3 s connect timeout, no retries). It is safe for concurrent use if
// the fields are not changed after first use.
//
// The limiter is shared by every host of a scan and waited on before every connection attempt,
// retries included, within the host's deadline. Keep Concurrency at most about rate × host
// timeout, or hosts will spend their deadline queueing (ErrRateLimitWait).
type Dialer struct {
	Limiter        *rate.Limiter // new connections per second; nil = unlimited
	ConnectTimeout time.Duration // per attempt, capped by the ctx deadline (default 3s)
	Retries        int           // extra attempts after a connect timeout (a dropped SYN); 0 = none
	RetryBackoff   time.Duration // pause before the first retry, doubled for each next one (default 250ms)

	// dial replaces the real connect in tests.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialContext connects to addr on network ("tcp", "tcp4", "tcp6"). Before every attempt it waits
// for the limiter; each attempt is bounded by min(ConnectTimeout, ctx deadline). An attempt that
// times out is retried up to Retries times after a short backoff while the ctx deadline leaves
// room; a refused connection and every other error are returned at once. Errors keep their
// cause for errors.Is and ClassifyDialError.
//
// When the scheduler's connect-ahead stage already connected to addr for this target
// (Config.ConnectAhead), the first DialContext for addr returns that connection, or the error
// of that attempt, instead of dialing again; a later connect for the same host that times out,
// or whose SYN was retransmitted, counts as a sign of overload, or of saturation, for the stage's
// congestion window (see Congestion).
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if fc := takeFirstConn(ctx, addr); fc != nil {
		return fc.conn, fc.err
	}
	backoff := d.RetryBackoff
	if backoff <= 0 {
		backoff = DefaultRetryBackoff
	}
	dial := d.dial
	if dial == nil {
		// Built here, not in a helper, so that it stays on the stack. No TCP keep-alive: a
		// probe's connection lives for seconds, and enabling keep-alive costs four setsockopt
		// calls per connection (the net package's default).
		ct := d.ConnectTimeout
		if ct <= 0 {
			ct = DefaultConnectTimeout
		}
		nd := &net.Dialer{Timeout: ct, KeepAlive: -1}
		dial = nd.DialContext
	}
	var lastErr error // the previous attempt's timeout, when retrying
	for attempt := 0; ; attempt++ {
		if err := d.waitTurn(ctx, network, addr, lastErr, attempt); err != nil {
			return nil, err
		}
		c, err := dialObserved(ctx, dial, network, addr)
		if err == nil {
			return c, nil
		}
		if attempt >= d.Retries || ctx.Err() != nil || !isTimeout(err) || errors.Is(err, syscall.ECONNREFUSED) {
			if attempt > 0 {
				err = afterAttempts(err, attempt+1)
			}
			return nil, err
		}
		// A connect timeout with time left: back off, then try again, unless the backoff
		// alone would use up the host's deadline.
		lastErr = err
		if !sleepBackoff(ctx, backoff<<min(attempt, 10)) {
			return nil, afterAttempts(err, attempt+1)
		}
	}
}

// waitTurn returns nil when attempt may start: ctx is live and the limiter gave its token.
// Otherwise it returns the error DialContext ends with: the previous attempt's timeout when
// there was one, else the cancellation, or ErrRateLimitWait when the deadline would pass in
// the limiter's queue.
func (d *Dialer) waitTurn(ctx context.Context, network, addr string, lastErr error, attempt int) error {
	if err := ctx.Err(); err != nil {
		if lastErr != nil {
			return afterAttempts(lastErr, attempt)
		}
		return fmt.Errorf("dial %s %s: %w", network, addr, err)
	}
	if d.Limiter == nil {
		return nil
	}
	if err := d.Limiter.Wait(ctx); err != nil {
		switch {
		case lastErr != nil:
			return afterAttempts(lastErr, attempt)
		case errors.Is(ctx.Err(), context.Canceled):
			return fmt.Errorf("dial %s %s: %w", network, addr, ctx.Err())
		}
		return fmt.Errorf("dial %s %s: %w", network, addr, ErrRateLimitWait)
	}
	return nil
}

// dialObserved makes one connect attempt. For a later connection of a host that connect-ahead
// found live, it records what the attempt says about the server: one that timed out means the
// server is falling behind, one whose SYN was retransmitted that it is saturated.
func dialObserved(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), network, addr string) (net.Conn, error) {
	t0 := time.Now()
	c, err := dial(ctx, network, addr)
	if fc := hostFirstConn(ctx); fc != nil && fc.conn != nil {
		switch {
		case err == nil && slowConnectSign(c, time.Since(t0)):
			fc.slow.Store(true)
		case err != nil && isTimeout(err) && ctx.Err() == nil:
			fc.overload.Store(true)
		}
	}
	return c, err
}

// sleepBackoff waits wait before a retry and reports whether to make it: false when ctx ends
// first, or when its deadline leaves no more than wait.
func sleepBackoff(ctx context.Context, wait time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return false
	}
	t := time.NewTimer(wait)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C:
		return true
	}
}

// afterAttempts adds how many connect attempts were made to the error of the last one.
func afterAttempts(err error, attempts int) error {
	return fmt.Errorf("%w (after %d attempts)", err, attempts)
}

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Dial error classes returned by ClassifyDialError; they match the host status vocabulary.
const (
	DialRefused = "connection-refused"
	DialTimeout = "connection-timeout"
	DialReset   = "connection-reset"
	DialError   = "error"
)

// ClassifyDialError maps a DialContext error to "connection-refused", "connection-timeout",
// "connection-reset" or "error" (anything else, including cancellation, unreachable networks and
// ErrRateLimitWait). It returns "" for a nil error.
func ClassifyDialError(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRateLimitWait), errors.Is(err, context.Canceled):
		return DialError
	case errors.Is(err, syscall.ECONNREFUSED):
		return DialRefused
	case errors.Is(err, syscall.ECONNRESET):
		return DialReset
	case isTimeout(err):
		return DialTimeout
	}
	return DialError
}
