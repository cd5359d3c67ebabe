package sambatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errUnsupported is returned on systems other than Linux.
var errUnsupported = errors.New("sambatest: only supported on Linux")

// Options configure StartFleet.
type Options struct {
	// Dir is the root under which every instance gets its directory
	// (Dir/<config name>/). Default: a new directory under os.TempDir().
	// Every ancestor must be searchable by other users, because Samba
	// serves guest shares as "nobody".
	Dir string
	// Configs are the instances to start; default DefaultConfigs().
	Configs []Config
	// Base, when valid, is an address of the 127.x.y.0/24 block to use
	// instead of a random free one.
	Base netip.Addr
	// HighPorts puts every server on 127.0.0.1 with its own high port
	// instead of giving each its own address with port 445.
	HighPorts bool
	// StartTimeout bounds the start of each instance (default 60s; a
	// loaded two-core machine needs several seconds per instance).
	StartTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL
	// (default 5s).
	StopGrace time.Duration
	// NoWarmUp skips the share listing StartFleet makes against every
	// server once it is up (with smbclient, when installed), which starts
	// the RPC workers so that the first SRVSVC call of a test does not pay
	// for their start.
	NoWarmUp bool
	// RemoveOnStop makes Stop delete the instance directories (and Dir,
	// when StartFleet created it). By default they stay for debugging.
	RemoveOnStop bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Server is one running smbd instance.
type Server struct {
	Name     string
	Config   Config
	Addr     netip.Addr
	Port     uint16
	PID      int // smbd's main process; also its process group
	RPCPID   int // samba-dcerpcd started by the harness (0 if smbd starts it on demand)
	Dir      string
	ConfPath string
	LogPath  string

	shares map[string]string // share name -> path
	procs  []*daemon
}

// AddrPort is the server's TCP endpoint.
func (s *Server) AddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Addr, s.Port) }

// Target is the server as a scan target: the bare address when the port is
// 445, address:port otherwise.
func (s *Server) Target() string { return targetString(s.AddrPort()) }

// SharePath returns the directory that backs share name, or "" if the
// server has no such share.
func (s *Server) SharePath(name string) string { return s.shares[name] }

func targetString(ap netip.AddrPort) string {
	if ap.Port() == 445 {
		return ap.Addr().String()
	}
	return ap.String()
}

// Fleet is a set of running Samba instances plus the fake endpoints.
type Fleet struct {
	Dir     string
	Servers []*Server
	// Silent accepts TCP connections, reads and never answers.
	Silent netip.AddrPort
	// HTTP answers whatever it receives with an HTTP/1.1 400 response and
	// closes the connection.
	HTTP netip.AddrPort
	// Closed is an address of the fleet where nothing listens (connection
	// refused).
	Closed netip.AddrPort
	// Block is the fleet's 127.x.y.0/24 block (invalid in high-port mode).
	Block netip.Prefix
	// HighPorts tells whether the servers share 127.0.0.1 with high ports.
	HighPorts bool
	// StartDuration is how long StartFleet took.
	StartDuration time.Duration

	opts        Options
	createdDir  bool
	claim       *claim
	claimLayout layout
	addrs       []netip.Addr // added to lo
	fakes       *fakeListeners
	stopOnce    sync.Once
	stopErr     error
}

// Server returns the server started from the config with that name, or nil.
func (f *Fleet) Server(name string) *Server {
	for _, s := range f.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Targets returns every endpoint of the fleet as scan targets: the servers
// in config order, then Silent, HTTP and Closed.
func (f *Fleet) Targets() []string {
	var out []string
	for _, s := range f.Servers {
		out = append(out, s.Target())
	}
	return append(out, targetString(f.Silent), targetString(f.HTTP), targetString(f.Closed))
}

func (o *Options) defaults() {
	if len(o.Configs) == 0 {
		o.Configs = DefaultConfigs()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// StartFleet starts one smbd per configuration, each with its own address
// (or port), directories and passdb, and the in-process fake listeners. It
// returns once every server answers an SMB2 NEGOTIATE. On error everything
// already started is stopped.
func StartFleet(ctx context.Context, opts Options) (f *Fleet, err error) {
	if !supported {
		return nil, errUnsupported
	}
	start := time.Now()
	opts.defaults()
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	if err := checkConfigNames(opts.Configs); err != nil {
		return nil, err
	}
	f = &Fleet{opts: opts}
	if err := f.makeDir(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.opts.RemoveOnStop = false // the logs explain the failure
			f.Stop()
			err = fmt.Errorf("%w\n(instance directories kept in %s)", err, f.Dir)
			f = nil
		}
	}()
	if err := f.prepareDir(); err != nil {
		return f, err
	}
	becomeSubreaper()
	if err := ensureTestUser(ctx); err != nil {
		return f, err
	}
	if err := f.layOut(); err != nil {
		return f, err
	}
	if err := f.startInstances(ctx, bins); err != nil {
		return f, err
	}
	if !f.opts.NoWarmUp {
		warmUp(ctx, f.Servers, f.opts.Log)
	}
	f.StartDuration = time.Since(start)
	return f, nil
}

// checkConfigNames validates each configuration and refuses a name used twice.
func checkConfigNames(configs []Config) error {
	names := map[string]bool{}
	for _, c := range configs {
		if err := c.validate(); err != nil {
			return err
		}
		if names[c.Name] {
			return fmt.Errorf("sambatest: duplicate config name %q", c.Name)
		}
		names[c.Name] = true
	}
	return nil
}

// makeDir creates the fleet's directory (a new temporary one unless Options.Dir names it) and
// records its absolute path.
func (f *Fleet) makeDir() error {
	if f.opts.Dir == "" {
		d, err := os.MkdirTemp("", "smbsweep-fleet-")
		if err != nil {
			return err
		}
		f.createdDir = true
		f.opts.Dir = d
	} else if err := os.MkdirAll(f.opts.Dir, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(f.opts.Dir)
	if err != nil {
		return err
	}
	f.Dir, f.opts.Dir = dir, dir
	return nil
}

// prepareDir makes the directory searchable by smbd and leaves a README saying whose it is.
func (f *Fleet) prepareDir() error {
	if err := os.Chmod(f.Dir, 0o755); err != nil {
		return err
	}
	if err := checkSearchable(f.Dir); err != nil {
		return err
	}
	note := fmt.Sprintf("Samba test fleet of pid %d, started %s.\n"+
		"Removing this directory while that process runs breaks its servers.\n"+
		"Stale fleets (owner gone) are cleaned up by the next StartFleet or `smbfleet -reap`;\n"+
		"directories kept after failed tests can be deleted once their owner has exited.\n",
		os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	return os.WriteFile(filepath.Join(f.Dir, "README.txt"), []byte(note), 0o644)
}

// layOut claims the addresses (or ports) of the servers and fakes, starts the fakes and
// describes each server.
func (f *Fleet) layOut() error {
	confs := make([]string, len(f.opts.Configs))
	for i, c := range f.opts.Configs {
		confs[i] = filepath.Join(f.Dir, c.Name, "smb.conf")
	}
	reg, err := openRegistry()
	if err != nil {
		return err
	}
	if f.claim, err = f.claimAndAddAddrs(reg, confs); err != nil {
		return err
	}
	lay := f.claimLayout
	f.HighPorts = lay.highPorts
	f.Block = lay.block
	f.Silent, f.HTTP, f.Closed = lay.silent, lay.http, lay.closed
	fmt.Fprintf(f.opts.Log, "sambatest: fleet in %s, %s\n", f.Dir, f.describeLayout())
	if f.fakes, err = startFakes(lay.silent, lay.http); err != nil {
		return err
	}
	for i, c := range f.opts.Configs {
		ap := lay.servers[i]
		s := &Server{
			Name: c.Name, Config: c, Addr: ap.Addr(), Port: ap.Port(),
			Dir: filepath.Join(f.Dir, c.Name), ConfPath: confs[i],
		}
		s.LogPath = filepath.Join(s.Dir, "log", "samba.log")
		f.Servers = append(f.Servers, s)
	}
	return nil
}

// startInstances starts every smbd at once and waits for all of them.
func (f *Fleet) startInstances(ctx context.Context, bins binaries) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range f.Servers {
		wg.Go(func() {
			t0 := time.Now()
			err := startInstance(ctx, bins, s, f.opts.StartTimeout, f.opts.Log)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("instance %s: %w", s.Name, err))
				mu.Unlock()
				return
			}
			fmt.Fprintf(f.opts.Log, "sambatest: %-8s ready on %s in %v (smbd pid %d)\n", s.Name, s.AddrPort(), time.Since(t0).Round(time.Millisecond), s.PID)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// claimAndAddAddrs records a layout in the registry and adds the servers'
// addresses to lo. When the addresses cannot be added (no CAP_NET_ADMIN) it
// falls back to high ports on 127.0.0.1.
func (f *Fleet) claimAndAddAddrs(reg *registry, confs []string) (*claim, error) {
	highPorts := f.opts.HighPorts
	for {
		c, lay, err := reg.claimLayout(f.Dir, f.opts.Base, highPorts, confs, f.opts.Log)
		if err != nil {
			return nil, err
		}
		f.claimLayout = lay
		if lay.highPorts {
			return c, nil
		}
		var addErr error
		for _, ap := range lay.servers {
			if err := addLoopbackAddr(ap.Addr()); err != nil {
				addErr = fmt.Errorf("add %s/32 to lo: %w", ap.Addr(), err)
				break
			}
			f.addrs = append(f.addrs, ap.Addr())
		}
		if addErr == nil {
			return c, nil
		}
		f.delAddrs()
		c.release()
		if f.opts.Base.IsValid() || !(errors.Is(addErr, syscall.EPERM) || errors.Is(addErr, syscall.EACCES)) {
			return nil, fmt.Errorf("sambatest: %w", addErr)
		}
		fmt.Fprintf(f.opts.Log, "sambatest: %v; falling back to high ports on 127.0.0.1\n", addErr)
		highPorts = true
	}
}

func (f *Fleet) describeLayout() string {
	if f.HighPorts {
		return "servers on 127.0.0.1 with high ports"
	}
	return "servers in " + f.Block.String() + " on port 445"
}

func (f *Fleet) delAddrs() {
	for _, a := range f.addrs {
		delLoopbackAddr(a)
	}
	f.addrs = nil
}

// Stop terminates every daemon of the fleet (SIGTERM to each process group,
// SIGKILL after the grace period, then a sweep of /proc for any process
// still carrying an instance's configuration path), closes the fake
// listeners, removes the added loopback addresses and the registry entry.
// The instance directories stay unless Options.RemoveOnStop. Stop is safe
// to call more than once.
func (f *Fleet) Stop() error {
	if f == nil {
		return nil
	}
	f.stopOnce.Do(func() { f.stopErr = f.stop() })
	return f.stopErr
}

func (f *Fleet) stop() error {
	var errs []error
	if f.fakes != nil {
		f.fakes.close()
	}
	var wg sync.WaitGroup
	for _, s := range f.Servers {
		wg.Go(func() { stopDaemons(s.procs, f.opts.StopGrace) })
	}
	wg.Wait()
	confs := make([]string, 0, len(f.Servers))
	pgids := map[int]bool{}
	for _, s := range f.Servers {
		confs = append(confs, s.ConfPath)
		for _, d := range s.procs {
			pgids[d.cmd.Process.Pid] = true
		}
	}
	if n, err := killInstances(confs, f.opts.StopGrace); err != nil {
		errs = append(errs, fmt.Errorf("sambatest: stop: %w", err))
	} else if n > 0 {
		fmt.Fprintf(f.opts.Log, "sambatest: stop: killed %d leftover processes\n", n)
	}
	for deadline := time.Now().Add(3 * time.Second); reapOrphans(pgids) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for _, a := range f.addrs {
		if err := delLoopbackAddr(a); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("sambatest: remove %s from lo: %w", a, err))
		}
	}
	f.addrs = nil
	if len(errs) == 0 {
		// Keep the record while something may still be running, so a
		// later StartFleet reaps it.
		if err := f.claim.release(); err != nil {
			errs = append(errs, err)
		}
	}
	if f.opts.RemoveOnStop && len(errs) == 0 {
		if err := f.removeDirs(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *Fleet) removeDirs() error {
	if f.createdDir {
		return os.RemoveAll(f.Dir)
	}
	var errs []error
	for _, s := range f.Servers {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// checkSearchable verifies that "other" users can traverse every ancestor of
// dir: guest shares are served as the unix user nobody.
func checkSearchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("sambatest: %s (mode %v) is not searchable by other users, so guest shares below it cannot work; use a directory under %s", d, st.Mode().Perm(), os.TempDir())
		}
		if p := filepath.Dir(d); p == d {
			return nil
		}
	}
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// String describes the server in one line.
func (s *Server) String() string {
	return s.Name + "@" + s.AddrPort().String() + " (pid " + strconv.Itoa(s.PID) + ")"
}
