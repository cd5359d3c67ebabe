package sambatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The registry is a directory of small JSON records, one per running fleet,
// naming the owning process, the loopback addresses the fleet adds and the
// configuration paths its daemons carry on their command lines. All changes
// happen under an flock on registry/lock, so concurrent test binaries never
// pick the same address block, and a fleet whose owner died (a test binary
// killed by a timeout) is reaped by the next StartFleet.

type claimRecord struct {
	OwnerPID   int      `json:"owner_pid"`
	OwnerStart uint64   `json:"owner_start"`
	Dir        string   `json:"dir"`
	Block      string   `json:"block,omitempty"` // "127.x.y.0/24"; empty in high-port mode
	Addrs      []string `json:"addrs,omitempty"` // addresses added to lo
	Confs      []string `json:"confs"`           // instance smb.conf paths
	Created    string   `json:"created"`
}

type registry struct {
	dir string
}

func openRegistry() (*registry, error) {
	candidates := []string{"/run/smbsweep-sambatest"}
	candidates = append(candidates, filepath.Join(os.TempDir(), "smbsweep-sambatest-"+strconv.Itoa(os.Geteuid())))
	var lastErr error
	for _, d := range candidates {
		if err := os.MkdirAll(d, 0o700); err != nil {
			lastErr = err
			continue
		}
		f, err := os.OpenFile(filepath.Join(d, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			lastErr = err
			continue
		}
		f.Close()
		return &registry{dir: d}, nil
	}
	return nil, fmt.Errorf("sambatest: no usable registry directory: %w", lastErr)
}

// locked runs fn while holding the registry lock.
func (r *registry) locked(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(r.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("sambatest: lock registry: %w", err)
	}
	defer unlockFile(f)
	return fn()
}

func (r *registry) records() (map[string]claimRecord, error) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	out := map[string]claimRecord{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(r.dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec claimRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			// A torn or foreign file: drop it only when old enough that
			// no writer can still be busy with it.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.Remove(p)
			}
			continue
		}
		out[p] = rec
	}
	return out, nil
}

// reapLocked removes every record whose owner is dead, after killing the
// processes of its instances and removing its loopback addresses. The
// caller holds the lock.
func (r *registry) reapLocked(log io.Writer) error {
	recs, err := r.records()
	if err != nil {
		return err
	}
	for p, rec := range recs {
		if processAlive(rec.OwnerPID, rec.OwnerStart) {
			continue
		}
		n, err := killInstances(rec.Confs, time.Second)
		if err != nil {
			return fmt.Errorf("sambatest: reap stale fleet %s: %w", rec.Dir, err)
		}
		for _, a := range rec.Addrs {
			if addr, err := netip.ParseAddr(a); err == nil && addr.IsLoopback() {
				delLoopbackAddr(addr) // may already be gone
			}
		}
		os.Remove(p)
		fmt.Fprintf(log, "sambatest: reaped stale fleet %s (owner pid %d gone; %d processes killed, %d addresses removed)\n",
			rec.Dir, rec.OwnerPID, n, len(rec.Addrs))
	}
	return nil
}

// Reap kills the daemons and removes the loopback addresses of every fleet
// whose owning process has died. StartFleet does this on its own; Reap is
// for tools that only want to clean up.
func Reap(log io.Writer) error {
	if !supported {
		return errUnsupported
	}
	if log == nil {
		log = io.Discard
	}
	r, err := openRegistry()
	if err != nil {
		return err
	}
	return r.locked(func() error { return r.reapLocked(log) })
}

// killInstances terminates every process carrying one of confs on its
// command line: SIGTERM, then SIGKILL after grace. It returns how many
// processes it found.
func killInstances(confs []string, grace time.Duration) (int, error) {
	procs, err := processesReferencing(confs)
	if err != nil || len(procs) == 0 {
		return 0, err
	}
	for _, p := range procs {
		killPID(p.PID, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		left, _ := processesReferencing(confs)
		if len(left) == 0 {
			return len(procs), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	left, _ := processesReferencing(confs)
	for _, p := range left {
		killPID(p.PID, syscall.SIGKILL)
	}
	deadline = time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if left, _ := processesReferencing(confs); len(left) == 0 {
			return len(procs), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	left, _ = processesReferencing(confs)
	if len(left) > 0 {
		return len(procs), fmt.Errorf("%d processes survived SIGKILL (first: pid %d %q)", len(left), left[0].PID, left[0].Cmdline)
	}
	return len(procs), nil
}

// claim is a fleet's entry in the registry.
type claim struct {
	reg  *registry
	path string
	rec  claimRecord
}

func (c *claim) release() error {
	if c == nil {
		return nil
	}
	return c.reg.locked(func() error {
		err := os.Remove(c.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// layout is where a fleet's servers and listeners go.
type layout struct {
	block     netip.Prefix // zero in high-port mode
	servers   []netip.AddrPort
	silent    netip.AddrPort
	http      netip.AddrPort
	closed    netip.AddrPort
	highPorts bool
}

// Offsets within a 127.x.y.0/24 block.
const (
	offsetSilent  = 2
	offsetHTTP    = 3
	offsetClosed  = 4
	offsetServers = 10
)

func blockAddr(base netip.Addr, off int) netip.Addr {
	a := base.As4()
	a[3] = byte(off)
	return netip.AddrFrom4(a)
}

// portFree reports whether a TCP listener can be opened on ap.
func portFree(ap netip.AddrPort) error {
	l, err := net.Listen("tcp4", ap.String())
	if err != nil {
		return err
	}
	return l.Close()
}

// tryBlock checks that every address of the block the fleet would use is
// free: not configured on an interface and with port 445 free.
func tryBlock(base netip.Addr, nServers int, configured []netip.Addr) (layout, error) {
	block := netip.PrefixFrom(base, 24).Masked()
	for _, a := range configured {
		if block.Contains(a) {
			return layout{}, fmt.Errorf("address %s already configured", a)
		}
	}
	l := layout{block: block}
	for i := range nServers {
		l.servers = append(l.servers, netip.AddrPortFrom(blockAddr(base, offsetServers+i), 445))
	}
	l.silent = netip.AddrPortFrom(blockAddr(base, offsetSilent), 445)
	l.http = netip.AddrPortFrom(blockAddr(base, offsetHTTP), 445)
	l.closed = netip.AddrPortFrom(blockAddr(base, offsetClosed), 445)
	all := append([]netip.AddrPort{l.silent, l.http, l.closed}, l.servers...)
	for _, ap := range all {
		if err := portFree(ap); err != nil {
			return layout{}, err
		}
	}
	return l, nil
}

// freeHighPort returns a currently unused TCP port on 127.0.0.1.
func freeHighPort() (uint16, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

func highPortLayout(nServers int) (layout, error) {
	lo := netip.MustParseAddr("127.0.0.1")
	l := layout{highPorts: true}
	seen := map[uint16]bool{}
	next := func() (netip.AddrPort, error) {
		for range 100 {
			p, err := freeHighPort()
			if err != nil {
				return netip.AddrPort{}, err
			}
			if !seen[p] {
				seen[p] = true
				return netip.AddrPortFrom(lo, p), nil
			}
		}
		return netip.AddrPort{}, errors.New("no free port")
	}
	var err error
	for range nServers {
		var ap netip.AddrPort
		if ap, err = next(); err != nil {
			return layout{}, err
		}
		l.servers = append(l.servers, ap)
	}
	if l.silent, err = next(); err != nil {
		return layout{}, err
	}
	if l.http, err = next(); err != nil {
		return layout{}, err
	}
	if l.closed, err = next(); err != nil {
		return layout{}, err
	}
	return l, nil
}

// claimLayout reaps stale fleets, then picks and records an address layout
// for a new fleet whose instance configuration paths are confs.
func (r *registry) claimLayout(dir string, base netip.Addr, highPorts bool, confs []string, log io.Writer) (*claim, layout, error) {
	var (
		c   *claim
		lay layout
	)
	err := r.locked(func() error {
		if err := r.reapLocked(log); err != nil {
			return err
		}
		recs, err := r.records()
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if rec.Dir == dir {
				return fmt.Errorf("sambatest: directory %s is in use by a fleet of pid %d", dir, rec.OwnerPID)
			}
		}
		lay, err = pickLayout(recs, base, highPorts, len(confs), log)
		if err != nil {
			return err
		}
		rec := claimRecord{
			OwnerPID: os.Getpid(), OwnerStart: selfStart(), Dir: dir, Confs: confs,
			Created: time.Now().UTC().Format(time.RFC3339),
		}
		name := fmt.Sprintf("ports-%d-%d.json", os.Getpid(), rand.Uint32())
		if !lay.highPorts {
			rec.Block = lay.block.String()
			for _, ap := range lay.servers {
				rec.Addrs = append(rec.Addrs, ap.Addr().String())
			}
			b := lay.block.Addr().As4()
			name = fmt.Sprintf("block-%d.%d.%d.json", b[0], b[1], b[2])
		}
		data, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return err
		}
		p := filepath.Join(r.dir, name)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("sambatest: claim %s: %w", name, err)
		}
		if _, err := f.Write(append(data, '\n')); err != nil {
			f.Close()
			os.Remove(p)
			return err
		}
		if err := f.Close(); err != nil {
			os.Remove(p)
			return err
		}
		c = &claim{reg: r, path: p, rec: rec}
		return nil
	})
	return c, lay, err
}

func pickLayout(recs map[string]claimRecord, base netip.Addr, highPorts bool, n int, log io.Writer) (layout, error) {
	if n > 240 {
		return layout{}, fmt.Errorf("sambatest: %d servers do not fit a /24 block", n)
	}
	if highPorts {
		return highPortLayout(n)
	}
	claimed := map[string]bool{}
	for _, rec := range recs {
		if rec.Block != "" {
			claimed[rec.Block] = true
		}
	}
	configured, err := configuredAddrs()
	if err != nil {
		return layout{}, err
	}
	if base.IsValid() {
		if !base.Is4() || !base.IsLoopback() {
			return layout{}, fmt.Errorf("sambatest: base %s is not an IPv4 loopback address", base)
		}
		b := base.As4()
		if b[1] == 0 && b[2] == 0 {
			return layout{}, fmt.Errorf("sambatest: base %s: 127.0.0.0/24 holds 127.0.0.1; pick another block", base)
		}
		if claimed[netip.PrefixFrom(base, 24).Masked().String()] {
			return layout{}, fmt.Errorf("sambatest: block of %s is used by another fleet", base)
		}
		lay, err := tryBlock(base, n, configured)
		if err != nil {
			return layout{}, fmt.Errorf("sambatest: block of %s is not free: %w", base, err)
		}
		return lay, nil
	}
	var lastErr error
	for range 20 {
		base := netip.AddrFrom4([4]byte{127, byte(160 + rand.IntN(95)), byte(rand.IntN(256)), 0})
		if claimed[netip.PrefixFrom(base, 24).String()] {
			continue
		}
		lay, err := tryBlock(base, n, configured)
		if err == nil {
			return lay, nil
		}
		lastErr = err
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			break // not allowed to bind port 445: no point trying other blocks
		}
	}
	fmt.Fprintf(log, "sambatest: cannot use port 445 on per-server addresses (%v); falling back to high ports on 127.0.0.1\n", lastErr)
	return highPortLayout(n)
}

// containsArg reports whether the space-joined command line has conf as a
// whole argument or as the value of an --option=conf argument.
func containsArg(cmdline, conf string) bool {
	for _, a := range strings.Fields(cmdline) {
		if a == conf || strings.HasSuffix(a, "="+conf) {
			return true
		}
	}
	return false
}
