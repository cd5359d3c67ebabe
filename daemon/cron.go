package daemon

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// schedule says when a job runs next.
type schedule interface {
	// Next returns the first run time strictly after t, or the zero time when there is none
	// within five years (e.g. "0 0 30 2 *").
	Next(t time.Time) time.Time
}

// minEvery is the shortest @every interval accepted: a scan job more often than this is a
// configuration mistake (and a load on the network).
const minEvery = time.Second

// parseSchedule parses a schedule in the syntax of Kubernetes CronJob (the robfig/cron
// standard parser it uses): five fields "minute hour day-of-month month day-of-week" with
// '*', '?' (day fields), numbers, names (JAN-DEC, SUN-SAT, case-insensitive), ranges a-b,
// steps */n, a/n (from a to the end) and a-b/n, lists a,b,c, day-of-week 7 as Sunday; or one
// of @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly; or "@every D" with
// a Go duration D of at least one second. Times are computed in loc (UTC when nil).
func parseSchedule(spec string, loc *time.Location) (schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("a time zone inside the schedule is not supported: use the job's timezone key")
	}
	if spec == "@every" || strings.HasPrefix(spec, "@every ") || strings.HasPrefix(spec, "@every\t") {
		return parseEvery(strings.TrimSpace(strings.TrimPrefix(spec, "@every")))
	}
	if strings.HasPrefix(spec, "@") {
		expanded, ok := cronDescriptors[strings.ToLower(spec)]
		if !ok {
			return nil, fmt.Errorf("unknown descriptor %s: want @yearly, @monthly, @weekly, @daily, @hourly or @every DURATION", spec)
		}
		spec = expanded
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return nil, fmt.Errorf("want 5 fields (minute hour day-of-month month day-of-week), got %d", len(fields))
	}
	c := &cronSchedule{loc: loc}
	var err error
	if c.minute, _, err = parseCronField(fields[0], minuteField); err != nil {
		return nil, err
	}
	if c.hour, _, err = parseCronField(fields[1], hourField); err != nil {
		return nil, err
	}
	if c.dom, c.domStar, err = parseCronField(fields[2], domField); err != nil {
		return nil, err
	}
	if c.month, _, err = parseCronField(fields[3], monthField); err != nil {
		return nil, err
	}
	if c.dow, c.dowStar, err = parseCronField(fields[4], dowField); err != nil {
		return nil, err
	}
	if c.dow&(1<<7) != 0 { // 7 is Sunday too
		c.dow = c.dow&^(1<<7) | 1
	}
	return c, nil
}

// cronDescriptors are the @ names of cron schedules.
var cronDescriptors = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
	"@monthly": "0 0 1 * *",
	"@weekly":  "0 0 * * 0",
	"@daily":   "0 0 * * *", "@midnight": "0 0 * * *",
	"@hourly": "0 * * * *",
}

// parseEvery reads the duration of "@every D".
func parseEvery(arg string) (schedule, error) {
	if arg == "" {
		return nil, errors.New(`@every needs a duration, e.g. "@every 6h"`)
	}
	d, err := time.ParseDuration(arg)
	if err != nil {
		return nil, fmt.Errorf("@every: %q is not a Go duration (e.g. 30s, 15m, 6h)", arg)
	}
	if d < minEvery {
		return nil, fmt.Errorf("@every: %s is shorter than the minimum %s", d, minEvery)
	}
	return every(d), nil
}

// every is the schedule "@every D": runs D apart.
type every time.Duration

// Next returns t + D.
func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// cronField describes one of the five fields.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i (months, weekdays)
	question bool     // '?' allowed (day fields)
}

var (
	minuteField = cronField{name: "minute", min: 0, max: 59}
	hourField   = cronField{name: "hour", min: 0, max: 23}
	domField    = cronField{name: "day-of-month", min: 1, max: 31, question: true}
	monthField  = cronField{name: "month", min: 1, max: 12,
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	dowField = cronField{name: "day-of-week", min: 0, max: 7, question: true,
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

// parseCronField parses a comma-separated list into a bit set (bit v = value v). star reports
// a field that is "*" or "?" (unrestricted), which matters for the day-of-month/day-of-week rule.
func parseCronField(s string, f cronField) (set uint64, star bool, err error) {
	star = true
	for part := range strings.SplitSeq(s, ",") {
		bitsOf, isStar, err := parseCronRange(part, f)
		if err != nil {
			return 0, false, err
		}
		set |= bitsOf
		star = star && isStar
	}
	return set, star, nil
}

func parseCronRange(part string, f cronField) (uint64, bool, error) {
	if part == "" {
		return 0, false, fmt.Errorf("%s: empty list element", f.name)
	}
	rng, stepStr, hasStep := strings.Cut(part, "/")
	lo, hi, step, star := f.min, f.max, 1, false
	if f.name == "day-of-week" {
		hi = 6 // "*" means Sunday..Saturday once; 7 only by name
	}
	switch {
	case rng == "*" || (rng == "?" && f.question):
		star = true
	case rng == "?":
		return 0, false, fmt.Errorf("%s: '?' is only allowed in the day-of-month and day-of-week fields", f.name)
	default:
		a, b, isRange := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(a); err != nil {
			return 0, false, err
		}
		switch {
		case isRange:
			if hi, err = f.value(b); err != nil {
				return 0, false, err
			}
		case hasStep:
			hi = f.max // "a/n" means a to the end, every n
			if f.name == "day-of-week" {
				hi = 6
			}
		default:
			hi = lo
		}
		if lo > hi {
			return 0, false, fmt.Errorf("%s: range %s is backwards (%d > %d)", f.name, rng, lo, hi)
		}
	}
	if hasStep {
		n, err := strconv.Atoi(stepStr)
		if err != nil || n <= 0 {
			return 0, false, fmt.Errorf("%s: step %q must be a positive number", f.name, stepStr)
		}
		if n > f.max-f.min+1 {
			return 0, false, fmt.Errorf("%s: step %d is larger than the field's range %d-%d", f.name, n, f.min, f.max)
		}
		step = n
		if step > 1 {
			star = false
		}
	}
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << uint(v)
	}
	return set, star, nil
}

// value parses a number or a name of the field and checks its range.
func (f cronField) value(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%s: missing value", f.name)
	}
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if len(f.names) > 0 {
			return 0, fmt.Errorf("%s: %q is not a number or a name (%s-%s)", f.name, s,
				strings.ToUpper(f.names[0]), strings.ToUpper(f.names[len(f.names)-1]))
		}
		return 0, fmt.Errorf("%s: %q is not a number", f.name, s)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%s: %d is out of range %d-%d", f.name, v, f.min, f.max)
	}
	return v, nil
}

// cronSchedule is a parsed five-field expression; each field is a bit set of allowed values.
type cronSchedule struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
	loc                           *time.Location
}

// dayMatches applies cron's day rule: when both day fields are restricted, a day matching
// either runs; when one is "*", only the other restricts.
func (c *cronSchedule) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<uint(t.Day())) != 0
	dow := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domStar || c.dowStar {
		return dom && dow
	}
	return dom || dow
}

// Next implements Schedule. It walks forward field by field (month, day, hour, minute) in the
// schedule's zone. A local time skipped by a daylight-saving jump never matches, as in the
// cron implementation Kubernetes uses; a repeated local hour runs once.
func (c *cronSchedule) Next(after time.Time) time.Time {
	t := after.In(c.loc)
	t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, c.loc)
	for !t.After(after) {
		t = t.Add(time.Minute)
	}
	limit := t.Year() + 5
	for t.Year() <= limit {
		if c.month&(1<<uint(t.Month())) == 0 {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, c.loc)
			continue
		}
		if !c.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, c.loc)
			continue
		}
		if c.hour&(1<<uint(t.Hour())) == 0 {
			next := time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, c.loc)
			if !next.After(t) { // the repeated hour of a fall-back transition
				next = t.Add(time.Hour - time.Duration(t.Minute())*time.Minute)
			}
			t = next
			continue
		}
		if c.minute&(1<<uint(t.Minute())) == 0 {
			// Jump straight to the next allowed minute of this hour, if any.
			rest := c.minute >> uint(t.Minute()+1) << uint(t.Minute()+1)
			if rest == 0 {
				t = t.Add(time.Duration(60-t.Minute()) * time.Minute)
			} else {
				t = t.Add(time.Duration(bits.TrailingZeros64(rest)-t.Minute()) * time.Minute)
			}
			continue
		}
		return t
	}
	return time.Time{}
}

// interval estimates a schedule's period at t: the gap between its next two runs. It is 0
// when the schedule has no next run.
func interval(s schedule, t time.Time) time.Duration {
	if e, ok := s.(every); ok {
		return time.Duration(e)
	}
	a := s.Next(t)
	if a.IsZero() {
		return 0
	}
	b := s.Next(a)
	if b.IsZero() {
		return 0
	}
	return b.Sub(a)
}
