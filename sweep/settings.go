package sweep

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/smbsweep/smbsweep/probes"
	"github.com/smbsweep/smbsweep/scanner"
)

// DefaultSessionTimeout is the session stages' own deadline unless a scan sets another:
// servers delay failed logons, and one slow logon must not use up the host's deadline.
const DefaultSessionTimeout = 5 * time.Second

// DefaultRetries is how many more connect attempts follow a timed-out one by default.
const DefaultRetries = 1

// Settings are how a scan reaches and probes each host. Every way of starting a scan — the
// CLI's scan command, a daemon job, POST /api/v1/scans, the /probe endpoint and the seed API —
// starts from DefaultSettings and overrides what its user chose, so they share one set of
// defaults and one way of building the dialer and the probe options.
type Settings struct {
	// Concurrency is how many hosts are probed at once (scanner.DefaultConcurrency when 0).
	Concurrency int
	// HostTimeout is each host's deadline.
	HostTimeout time.Duration
	// ConnectTimeout is one TCP connect attempt's deadline (never more than HostTimeout).
	ConnectTimeout time.Duration
	// Retries is how many more connect attempts follow a timed-out one, within the host
	// deadline.
	Retries int
	// Rate is at most how many new TCP connections per second the scan opens (0: no limit).
	Rate float64
	// SessionTimeout is the session stages' own deadline (never more than HostTimeout; 0 uses
	// the host deadline alone).
	SessionTimeout time.Duration
}

// DefaultSettings returns the defaults every scan starts from.
func DefaultSettings() Settings {
	return Settings{
		Concurrency:    scanner.DefaultConcurrency,
		HostTimeout:    scanner.DefaultHostTimeout,
		ConnectTimeout: scanner.DefaultConnectTimeout,
		Retries:        DefaultRetries,
		SessionTimeout: DefaultSessionTimeout,
	}
}

// capped is d, but no longer than the host deadline.
func (s Settings) capped(d time.Duration) time.Duration {
	if s.HostTimeout > 0 {
		return min(d, s.HostTimeout)
	}
	return d
}

// Dialer returns the scan's dialer: the connect deadline, the retries, and a rate limiter
// with a burst of a tenth of a second's connections when Rate is set.
func (s Settings) Dialer() *scanner.Dialer {
	d := &scanner.Dialer{ConnectTimeout: s.capped(s.ConnectTimeout), Retries: s.Retries}
	if s.Rate > 0 {
		d.Limiter = rate.NewLimiter(rate.Limit(s.Rate), max(1, int(s.Rate/10)))
	}
	return d
}

// ProbeOptions returns probe options with the scan's dialer and session deadline; the caller
// adds what its scan asks for (shares, credentials, paths, limits).
func (s Settings) ProbeOptions() *probes.Options {
	return &probes.Options{Dialer: s.Dialer(), SessionTimeout: s.capped(s.SessionTimeout)}
}

// Scanner returns the worker pool's configuration: concurrency and the host deadline.
func (s Settings) Scanner() scanner.Config {
	return scanner.Config{Concurrency: s.Concurrency, HostTimeout: s.HostTimeout}
}
