package daemon

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/smbsweep/smbsweep/output"
)

// maxDefaultJitter caps the default jitter of a job.
const maxDefaultJitter = time.Minute

// jitterFor returns the delay added to each scheduled time of job: a fixed fraction, derived
// from the job name, of the maximum jitter. The maximum is the job's jitter key when set (0s
// disables jitter) and otherwise a tenth of the schedule's period, at most one minute. Being
// deterministic, it spreads different jobs apart while one job keeps a steady rhythm.
func jitterFor(j *Job, interval time.Duration) time.Duration {
	maxJ := min(interval/10, maxDefaultJitter)
	if j.Jitter != nil {
		maxJ = j.Jitter.d()
	}
	if maxJ <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(j.Name))
	frac := float64(h.Sum64()>>11) / float64(1<<53) // [0, 1)
	return time.Duration(frac * float64(maxJ))
}

// jobState is one job across reloads: the current definition, its scheduling loop and
// whether a run is in progress. A job's runs never overlap, whatever reloads happen.
type jobState struct {
	name string
	scan *output.ScanMetrics

	mu       sync.Mutex
	job      *Job
	running  bool
	removed  bool
	stopLoop chan struct{} // closed to end the current scheduling loop
	last     *runReport
}

func (js *jobState) current() *Job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.job
}

// scheduler runs every job on its schedule.
type scheduler struct {
	d *Daemon
	// ctx ends dispatch (shutdown): no new runs start and running ones stop dispatching hosts;
	// abort also stops the hosts in flight.
	ctx, abort context.Context

	mu    sync.Mutex
	jobs  map[string]*jobState
	loops sync.WaitGroup
	runs  sync.WaitGroup
}

func newScheduler(d *Daemon, ctx, abort context.Context) *scheduler {
	return &scheduler{d: d, ctx: ctx, abort: abort, jobs: make(map[string]*jobState)}
}

// apply makes the scheduler follow jobs: new jobs start, removed ones stop scheduling (a run
// in progress finishes), changed ones take the new definition for their next run and, when
// their timing changed, a new schedule.
func (s *scheduler) apply(jobs []*Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		keep[j.Name] = true
		js, ok := s.jobs[j.Name]
		if !ok {
			js = &jobState{name: j.Name}
			s.jobs[j.Name] = js
			js.scan = s.d.metrics.addJob(j.Name, interval(j.schedule, s.d.now()))
			s.d.restoreJob(j)
		} else {
			s.d.metrics.addJob(j.Name, interval(j.schedule, s.d.now()))
		}
		js.mu.Lock()
		old := js.job
		js.job, js.removed = j, false
		restart := old == nil || js.stopLoop == nil || timingChanged(old, j)
		if restart && js.stopLoop != nil {
			close(js.stopLoop)
			js.stopLoop = nil
		}
		var stop chan struct{}
		if js.stopLoop == nil {
			stop = make(chan struct{})
			js.stopLoop = stop
		}
		js.mu.Unlock()
		if stop != nil {
			s.loops.Add(1)
			go s.loop(js, stop)
		}
	}
	for name, js := range s.jobs {
		if keep[name] {
			continue
		}
		js.mu.Lock()
		if js.stopLoop != nil {
			close(js.stopLoop)
			js.stopLoop = nil
		}
		js.removed = true
		running := js.running
		js.mu.Unlock()
		if !running {
			delete(s.jobs, name)
			s.d.metrics.removeJob(name)
		}
	}
}

func timingChanged(a, b *Job) bool {
	ja, jb := a.Jitter, b.Jitter
	return a.Schedule != b.Schedule || a.Timezone != b.Timezone ||
		(ja == nil) != (jb == nil) || (ja != nil && *ja != *jb)
}

// loop waits for each scheduled time of js and triggers a run, until stop or shutdown.
func (s *scheduler) loop(js *jobState, stop <-chan struct{}) {
	defer s.loops.Done()
	base := s.d.now()
	for {
		j := js.current()
		next := j.schedule.Next(base)
		if next.IsZero() {
			select {
			case <-stop:
			case <-s.ctx.Done():
			}
			return
		}
		at := next.Add(jitterFor(j, interval(j.schedule, base)))
		s.d.metrics.nextRun.WithLabelValues(js.name).Set(unixSeconds(at))
		t := time.NewTimer(at.Sub(s.d.now()))
		select {
		case <-t.C:
			s.trigger(js)
			base = next
		case <-stop:
			t.Stop()
			return
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// trigger starts a run of js unless one is still going (then the run is skipped and counted).
func (s *scheduler) trigger(js *jobState) {
	if s.ctx.Err() != nil {
		return
	}
	js.mu.Lock()
	if js.running {
		js.mu.Unlock()
		s.d.metrics.skipped.WithLabelValues(js.name).Inc()
		s.d.log.Warn("run skipped: the previous run is still going", "job", js.name)
		return
	}
	js.running = true
	j := js.job
	js.mu.Unlock()
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		rep := s.d.runJob(s.ctx, s.abort, j, js.scan)
		js.mu.Lock()
		js.running = false
		js.last = &rep
		removed := js.removed
		js.mu.Unlock()
		if removed {
			s.mu.Lock()
			if cur, ok := s.jobs[js.name]; ok && cur == js {
				js.mu.Lock()
				if js.removed {
					delete(s.jobs, js.name)
					s.d.metrics.removeJob(js.name)
				}
				js.mu.Unlock()
			}
			s.mu.Unlock()
		}
		if s.d.onRun != nil {
			s.d.onRun(rep)
		}
	}()
}

// wait blocks until every loop and run has ended (after ctx is done).
func (s *scheduler) wait() {
	s.loops.Wait()
	s.runs.Wait()
}
