package daemon

import (
	"container/list"
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smbsweep/smbsweep/scanner"
)

// Sources of hosts in flight (label values of smbsweep_host_slots_used and
// smbsweep_host_slots_waiting).
const (
	sourceAPI  = "api"
	sourceJobs = "jobs"
)

var hostSources = []string{sourceAPI, sourceJobs}

// minAutoHostBudget is the smallest budget sized from the open-file limit, however low that
// limit is (the start-up log then says to raise it or set max_hosts_in_flight).
const minAutoHostBudget = 16

// slotPool is a counting semaphore whose size can change (on reload): waiters are served first
// come, first served; a smaller limit takes effect as slots are given back.
type slotPool struct {
	mu      sync.Mutex
	limit   int
	used    int
	waiters list.List // of chan struct{}, closed when the waiter was given a slot
}

func (p *slotPool) setLimit(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limit = n
	for p.used < p.limit && p.waiters.Len() > 0 {
		p.used++
		close(p.waiters.Remove(p.waiters.Front()).(chan struct{}))
	}
}

// acquire takes a slot, waiting for one until ctx ends; it reports whether it got one.
func (p *slotPool) acquire(ctx context.Context, waiting prometheus.Gauge) bool {
	p.mu.Lock()
	if p.used < p.limit && p.waiters.Len() == 0 {
		p.used++
		p.mu.Unlock()
		return true
	}
	if ctx.Err() != nil {
		p.mu.Unlock()
		return false
	}
	ch := make(chan struct{})
	el := p.waiters.PushBack(ch)
	p.mu.Unlock()
	waiting.Inc()
	defer waiting.Dec()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
	}
	p.mu.Lock()
	select {
	case <-ch: // handed a slot just as ctx ended: give it back
		p.mu.Unlock()
		p.release()
	default:
		p.waiters.Remove(el)
		p.mu.Unlock()
	}
	return false
}

func (p *slotPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used <= p.limit && p.waiters.Len() > 0 {
		close(p.waiters.Remove(p.waiters.Front()).(chan struct{})) // the slot passes on
		return
	}
	p.used--
}

func (p *slotPool) limitNow() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

func (p *slotPool) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// hostBudget is the process-wide budget of hosts in flight: API scans, single-host API requests
// and scheduled jobs all take their slots from it, so that the descriptors and memory they hold
// together stay bounded whatever the clients and the schedules do.
type hostBudget struct {
	pool  slotPool
	limit prometheus.Gauge
	views map[string]*budgetView
}

// budgetView is the budget as one source sees it (scanner.HostSlots), with its own gauges.
type budgetView struct {
	b        *hostBudget
	inFlight prometheus.Gauge
	waiting  prometheus.Gauge
}

func newHostBudget(m *daemonMetrics) *hostBudget {
	b := &hostBudget{limit: m.hostsLimit, views: make(map[string]*budgetView, len(hostSources))}
	for _, src := range hostSources {
		b.views[src] = &budgetView{b: b, inFlight: m.hostsInFlight.WithLabelValues(src), waiting: m.hostsWaiting.WithLabelValues(src)}
	}
	return b
}

func (b *hostBudget) setLimit(n int) {
	b.pool.setLimit(n)
	b.limit.Set(float64(n))
}

// slots returns the budget as source (sourceAPI or sourceJobs) takes from it.
func (b *hostBudget) slots(source string) *budgetView { return b.views[source] }

// Acquire implements scanner.HostSlots.
func (v *budgetView) Acquire(ctx context.Context) bool {
	if !v.b.pool.acquire(ctx, v.waiting) {
		return false
	}
	v.inFlight.Inc()
	return true
}

// Release implements scanner.HostSlots.
func (v *budgetView) Release() {
	v.inFlight.Dec()
	v.b.pool.release()
}

var _ scanner.HostSlots = (*budgetView)(nil)

// hostBudgetFor is the budget a configuration asks for: max_hosts_in_flight, or when that is 0
// what the open-file limit soft allows once the HTTP connections, the connect-ahead sockets of
// every job and the process's own files are set aside (scanner.FDsPerHost per host).
func hostBudgetFor(cfg *Config, soft uint64) int {
	if cfg.MaxHostsInFlight > 0 {
		return cfg.MaxHostsInFlight
	}
	reserve := scanner.FilesNeeded(0, cfg.aheadTotal()) + 2*uint64(cfg.API.MaxConcurrentRequests)
	if soft <= reserve+minAutoHostBudget*scanner.FDsPerHost {
		return minAutoHostBudget
	}
	return int(min((soft-reserve)/scanner.FDsPerHost, maxAutoHostBudget))
}

// maxAutoHostBudget caps the budget sized from a very large open-file limit.
const maxAutoHostBudget = 100000

// aheadTotal is how many connect-ahead sockets the jobs may hold together.
func (c *Config) aheadTotal() int {
	n := 0
	for _, j := range c.Jobs {
		n += j.ahead()
	}
	return n
}
