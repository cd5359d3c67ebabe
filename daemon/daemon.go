// Package daemon is `smbsweep serve`: scheduled scan jobs that write each run as JSONL (+ CSV)
// with a diff against the previous run, the HTTP JSON API of the seed documents (single-host
// SMB probes, streaming scans, blackbox-style /probe), and Prometheus metrics — secure by
// default: loopback only unless bearer tokens are configured, targets limited to an
// allowlist, write access off.
//
// The configuration format is docs/DAEMON.md (example: configs/smbsweep.yml); the API is
// docs/API.md.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbsweep/smbsweep/scanner"
)

// Overrides are command-line settings that take precedence over the file, on start and on
// every reload.
type Overrides struct {
	Listen       string   // -listen
	AllowTargets []string // -allow-targets (nil: keep the file's)
	AllowWrite   bool     // -allow-write (can only enable)
	TokenFile    string   // -token-file (replaces the file's tokens)
}

// Options configure a Daemon.
type Options struct {
	// ConfigFile is the YAML configuration; "" runs the API alone with defaults and Overrides.
	ConfigFile string
	Overrides  Overrides
	// Version goes into smbsweep_build_info.
	Version string
	// Log receives the daemon's logs (default: text to stderr). Request bodies, credentials and
	// tokens are never logged.
	Log *slog.Logger
	// Env looks up environment variables (default os.LookupEnv).
	Env Env
	// Resolver resolves target names (default net.DefaultResolver).
	Resolver scanner.Resolver
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnRun, when set, is called after every job run (tests).
	OnRun func(runReport)
}

// Daemon is a running `smbsweep serve`.
type Daemon struct {
	opts     Options
	log      *slog.Logger
	env      Env
	resolver scanner.Resolver
	now      func() time.Time
	onRun    func(runReport)
	metrics  *daemonMetrics
	// budget bounds the hosts probed at once by API requests and jobs together.
	budget *hostBudget
	// listenFn is net.Listen (tests watch the network it is given).
	listenFn func(network, addr string) (net.Listener, error)
	// writeTimeout is the http.Server's WriteTimeout (scan streams extend their own deadline).
	writeTimeout time.Duration

	cfg   atomic.Pointer[Config]
	ready atomic.Bool

	reloadMu sync.Mutex
	sched    *scheduler
	ln       net.Listener
	srv      *http.Server
	api      *apiServer

	// shutdown ends API scans and job dispatch when Run's context ends.
	shutdown       context.Context
	cancelShutdown context.CancelFunc
}

// New loads and checks the configuration (an error here is the user's to fix: exit 2) and
// prepares the metrics. Nothing listens or runs until Listen and Run.
func New(opts Options) (*Daemon, error) {
	d := &Daemon{opts: opts, log: opts.Log, env: opts.Env, resolver: opts.Resolver, now: opts.Now, onRun: opts.OnRun,
		listenFn: net.Listen, writeTimeout: httpWriteTimeout}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if d.env == nil {
		d.env = os.LookupEnv
	}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	if d.now == nil {
		d.now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	d.metrics = newDaemonMetrics(opts.Version)
	d.budget = newHostBudget(d.metrics)
	cfg, err := d.loadConfig()
	if err != nil {
		d.metrics.reloaded(false, d.now())
		return nil, err
	}
	d.metrics.reloaded(true, d.now())
	d.cfg.Store(cfg)
	d.applyLimits(cfg)
	d.warnExposure(cfg)
	d.shutdown, d.cancelShutdown = context.WithCancel(context.Background())
	d.api = newAPIServer(d)
	return d, nil
}

// httpWriteTimeout bounds writing one response: longer than the longest single-host request
// (maxRequestTimeout); scan streams set their own deadline per line.
const httpWriteTimeout = maxRequestTimeout + 30*time.Second

// applyLimits sets the process-wide limits of a configuration: the soft open-file limit raised
// towards what the jobs and the API's scans need should they all run at once, the budget of
// hosts in flight (max_hosts_in_flight, or sized from that open-file limit), and the API's
// request cap. It warns, with the fix, when the limit is lower than the budget needs: sockets
// that cannot be opened would otherwise fail hosts with "too many open files".
func (d *Daemon) applyLimits(cfg *Config) {
	need := scanner.FilesNeeded(maxScanConcurrency*cfg.API.MaxConcurrentRequests, 0) // the API's scans
	for i := range cfg.Jobs {
		need += cfg.Jobs[i].filesNeeded()
	}
	if cfg.MaxHostsInFlight > 0 {
		need = min(need, scanner.FilesNeeded(cfg.MaxHostsInFlight, cfg.aheadTotal()))
	}
	need += 2 * uint64(cfg.API.MaxConcurrentRequests) // the HTTP connections
	soft, hard, err := scanner.RaiseOpenFileLimit(need)
	if err != nil {
		soft, hard = need, need
	}
	budget := hostBudgetFor(cfg, soft)
	d.budget.setLimit(budget)
	d.metrics.apiLimit.Set(float64(cfg.API.MaxConcurrentRequests))
	if soft >= need {
		return
	}
	if cfg.MaxHostsInFlight > 0 {
		d.log.Warn("the open-file limit is lower than max_hosts_in_flight needs (2 per host + connect_ahead per job + the HTTP connections); hosts may fail with \"too many open files\": raise LimitNOFILE (systemd) or ulimit -n, or lower max_hosts_in_flight or connect_ahead",
			"need", need, "limit", soft, "hard_limit", hard)
		return
	}
	d.log.Info("the hosts probed at once by API requests and jobs together are bounded by the open-file limit; raise LimitNOFILE (systemd) or ulimit -n for more, or set max_hosts_in_flight",
		"max_hosts_in_flight", budget, "limit", soft, "hard_limit", hard)
}

// warnExposure warns when the API can reach more than loopback, or write, without tokens: any
// local user or process (and any web page the browser checks do not catch) can then use it.
func (d *Daemon) warnExposure(cfg *Config) {
	if cfg.API.hasTokens() {
		return
	}
	var wide []string
	for _, p := range cfg.API.allow {
		if !isLoopbackPrefix(p) {
			wide = append(wide, p.String())
		}
	}
	if len(wide) > 0 {
		d.log.Warn("the API has no bearer token and may probe networks beyond loopback: any local user or process can scan them (and use /api/cifs/* with credentials it supplies) through this daemon; create a token (openssl rand -hex 32 > token; chmod 600 token) and set api.token_file or -token-file",
			"allow_targets", strings.Join(wide, ","))
	}
	if cfg.API.AllowWrite {
		d.log.Warn("the API has no bearer token and allow_write is on: any local user or process can write files to the shares it can log on to through this daemon; create a token (openssl rand -hex 32 > token; chmod 600 token) and set api.token_file or -token-file, or turn allow_write off")
	}
}

// isLoopbackPrefix reports whether every address of p is loopback.
func isLoopbackPrefix(p netip.Prefix) bool {
	a := p.Addr()
	if a.Is4() {
		return p.Bits() >= 8 && a.IsLoopback()
	}
	return p.Bits() == 128 && a.IsLoopback()
}

// loadConfig reads the file (if any) and applies the overrides; the exposure check (no
// tokens on a non-loopback listener) runs after the overrides, which may fix or cause it.
func (d *Daemon) loadConfig() (*Config, error) {
	cfg := newConfig()
	if d.opts.ConfigFile == "" {
		if err := cfg.resolve("", d.env); err != nil {
			return nil, err
		}
	} else {
		var err error
		if cfg, err = loadFile(d.opts.ConfigFile, d.env, false); err != nil {
			return nil, err
		}
	}
	if err := cfg.applyOverrides(d.opts.Overrides); err != nil {
		return nil, err
	}
	for _, w := range cfg.SecretFileWarnings() {
		d.log.Warn(w)
	}
	return cfg, nil
}

// applyOverrides applies command-line settings, then checks again that a non-loopback
// listener has tokens.
func (c *Config) applyOverrides(o Overrides) error {
	if o.Listen != "" {
		if err := checkListen(o.Listen); err != nil {
			return fmt.Errorf("-listen: %v", strings.TrimPrefix(err.Error(), "listen "))
		}
		c.Listen = o.Listen
	}
	if o.AllowTargets != nil {
		allow, err := parseAllowTargets(o.AllowTargets)
		if err != nil {
			return fmt.Errorf("-allow-targets: %v", err)
		}
		c.API.AllowTargets, c.API.allow = o.AllowTargets, allow
	}
	if o.AllowWrite {
		c.API.AllowWrite = true
	}
	if o.TokenFile != "" {
		c.API.tokens = nil
		c.API.TokenFile = o.TokenFile
		if err := c.API.loadTokenFile(o.TokenFile); err != nil {
			return fmt.Errorf("-token-file: %v", err)
		}
	}
	return c.checkExposure()
}

// config returns the configuration in force.
func (d *Daemon) config() *Config { return d.cfg.Load() }

// Listen binds the configured address. Run calls it when it was not called before.
func (d *Daemon) Listen() (net.Addr, error) {
	if d.ln != nil {
		return d.ln.Addr(), nil
	}
	addr := d.cfg.Load().Listen
	ln, err := d.listenFn(listenNetwork(addr), addr)
	if err != nil {
		return nil, err
	}
	d.ln = ln
	return ln.Addr(), nil
}

// listenNetwork is "tcp4" for an IPv4 literal (0.0.0.0 binds IPv4 only, not IPv6 too), "tcp6"
// for an IPv6 literal, else "tcp".
func listenNetwork(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp"
	}
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "tcp"
	case a.Is4() || a.Is4In6():
		return "tcp4"
	}
	return "tcp6"
}

// Run serves the API and runs the jobs until ctx ends, then shuts down: no new runs or API
// scans start, job runs stop dispatching and let hosts in flight finish (aborted after
// shutdown_timeout), every file is written whole, the HTTP server drains. It returns nil
// after a clean shutdown.
func (d *Daemon) Run(ctx context.Context) error {
	if _, err := d.Listen(); err != nil {
		return err
	}
	cfg := d.cfg.Load()
	abort, abortAll := context.WithCancel(context.Background())
	defer abortAll()
	d.reloadMu.Lock()
	d.sched = newScheduler(d, d.shutdown, abort)
	d.sched.apply(cfg.Jobs)
	d.reloadMu.Unlock()

	d.srv = &http.Server{
		Handler:           d.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // headers and body
		WriteTimeout:      d.writeTimeout,   // scan streams extend their own deadline per line
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- d.srv.Serve(d.ln) }()
	d.ready.Store(true)
	d.log.Info("smbsweep serve started", "listen", d.ln.Addr().String(), "jobs", len(cfg.Jobs),
		"tokens", cfg.API.hasTokens(), "allow_write", cfg.API.AllowWrite)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	d.ready.Store(false)
	grace := d.cfg.Load().ShutdownTimeout.d()
	d.log.Info("shutting down: no new runs; hosts in flight finish", "grace", grace)
	d.cancelShutdown()
	timer := time.AfterFunc(grace, func() {
		d.log.Warn("shutdown grace over: aborting hosts in flight")
		abortAll()
	})
	defer timer.Stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sctx, cancel := context.WithTimeout(context.Background(), grace+5*time.Second)
		defer cancel()
		if err := d.srv.Shutdown(sctx); err != nil {
			d.srv.Close()
		}
	}()
	d.sched.wait()
	wg.Wait()
	d.log.Info("stopped")
	return runErr
}

// Reload reads the configuration again and applies it atomically: a bad file is rejected
// (the old configuration stays, smbsweep_config_last_reload_successful drops to 0); a good
// one replaces the API settings and the jobs, without interrupting a run in progress.
func (d *Daemon) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	cfg, err := d.loadConfig()
	if err != nil {
		d.metrics.reloaded(false, d.now())
		d.log.Error("reload rejected; keeping the running configuration", "err", err)
		return err
	}
	old := d.cfg.Load()
	if cfg.Listen != old.Listen {
		d.log.Warn("listen changed in the configuration; it takes effect on restart", "listen", cfg.Listen, "in_use", old.Listen)
		cfg.Listen = old.Listen
		if err := cfg.checkExposure(); err != nil {
			d.metrics.reloaded(false, d.now())
			return err
		}
	}
	d.cfg.Store(cfg)
	d.applyLimits(cfg)
	d.warnExposure(cfg)
	if d.sched != nil {
		d.sched.apply(cfg.Jobs)
	}
	d.metrics.reloaded(true, d.now())
	d.log.Info("configuration reloaded", "jobs", len(cfg.Jobs))
	return nil
}
