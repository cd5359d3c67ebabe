package daemon

import (
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleNext(t *testing.T) {
	cases := []struct {
		spec, from string
		want       []string // successive Next results
	}{
		{"* * * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"}},
		{"* * * * *", "2026-01-01T00:00:30Z", []string{"2026-01-01T00:01:00Z"}},
		{"0 */6 * * *", "2026-01-01T05:59:59Z", []string{"2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", "2026-01-02T00:00:00Z"}},
		{"30 2 * * *", "2026-03-10T03:00:00Z", []string{"2026-03-11T02:30:00Z"}},
		{"15,45 9-10 * * *", "2026-01-01T09:20:00Z", []string{"2026-01-01T09:45:00Z", "2026-01-01T10:15:00Z", "2026-01-01T10:45:00Z", "2026-01-02T09:15:00Z"}},
		{"0 0 1 * *", "2026-01-15T00:00:00Z", []string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}},
		{"0 0 29 2 *", "2026-01-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},
		{"0 12 * JAN,jul MON", "2026-01-01T00:00:00Z", []string{"2026-01-05T12:00:00Z", "2026-01-12T12:00:00Z"}},
		{"0 0 * * SUN", "2026-01-01T00:00:00Z", []string{"2026-01-04T00:00:00Z"}},
		{"0 0 * * 7", "2026-01-01T00:00:00Z", []string{"2026-01-04T00:00:00Z"}},
		{"0 0 * * 5-7", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"}},
		{"0 0 * * 1-5/2", "2026-01-04T00:00:00Z", []string{"2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-12T00:00:00Z"}},
		{"10/20 * * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z", "2026-01-01T01:10:00Z"}},
		// Both day fields restricted: either matches (1st of the month or a Monday).
		{"0 0 1 * MON", "2026-01-01T00:00:00Z", []string{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z", "2026-01-26T00:00:00Z", "2026-02-01T00:00:00Z"}},
		// Only day-of-week restricted ('?' in day-of-month).
		{"0 0 ? * MON", "2026-01-01T00:00:00Z", []string{"2026-01-05T00:00:00Z"}},
		{"@hourly", "2026-01-01T00:00:00Z", []string{"2026-01-01T01:00:00Z"}},
		{"@daily", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z"}},
		{"@midnight", "2026-01-01T10:00:00Z", []string{"2026-01-02T00:00:00Z"}},
		{"@weekly", "2026-01-01T00:00:00Z", []string{"2026-01-04T00:00:00Z"}},
		{"@monthly", "2026-01-01T00:00:00Z", []string{"2026-02-01T00:00:00Z"}},
		{"@yearly", "2026-01-01T00:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"@annually", "2026-06-01T00:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		{"@every 6h", "2026-01-01T00:00:00Z", []string{"2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z"}},
		{"@every 1m30s", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:01:30Z"}},
	}
	for _, c := range cases {
		s, err := parseSchedule(c.spec, nil)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		at := mustTime(t, c.from)
		for i, w := range c.want {
			at = s.Next(at)
			if !at.Equal(mustTime(t, w)) {
				t.Errorf("%q from %s: Next #%d = %s, want %s", c.spec, c.from, i+1, at.UTC().Format(time.RFC3339), w)
				break
			}
		}
	}
}

func TestScheduleNeverRuns(t *testing.T) {
	s, err := parseSchedule("0 0 30 2 *", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(mustTime(t, "2026-01-01T00:00:00Z")); !got.IsZero() {
		t.Errorf("Feb 30 ran at %s", got)
	}
	if interval(s, time.Now()) != 0 {
		t.Error("interval of a schedule that never runs is not 0")
	}
}

func TestScheduleTimezone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	s, err := parseSchedule("0 3 * * *", berlin)
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 in Berlin is 02:00 UTC in winter, 01:00 UTC in summer.
	if got := s.Next(mustTime(t, "2026-01-10T00:00:00Z")); !got.Equal(mustTime(t, "2026-01-10T02:00:00Z")) {
		t.Errorf("winter: %s", got.UTC())
	}
	if got := s.Next(mustTime(t, "2026-07-10T00:00:00Z")); !got.Equal(mustTime(t, "2026-07-10T01:00:00Z")) {
		t.Errorf("summer: %s", got.UTC())
	}
	// 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00): skipped.
	s, _ = parseSchedule("30 2 * * *", berlin)
	if got := s.Next(mustTime(t, "2026-03-28T12:00:00Z")); !got.Equal(mustTime(t, "2026-03-30T00:30:00Z")) {
		t.Errorf("spring gap: %s", got.UTC())
	}
	// 2026-10-25 02:30 happens twice in Berlin: the job runs once that night.
	s, _ = parseSchedule("30 2 * * *", berlin)
	first := s.Next(mustTime(t, "2026-10-24T12:00:00Z"))
	second := s.Next(first)
	if (!first.Equal(mustTime(t, "2026-10-25T00:30:00Z")) && !first.Equal(mustTime(t, "2026-10-25T01:30:00Z"))) ||
		second.Sub(first) < 24*time.Hour {
		t.Errorf("fall back: %s then %s", first.UTC(), second.UTC())
	}
	// Hourly across the fall-back hour keeps moving forward.
	s, _ = parseSchedule("15 * * * *", berlin)
	at := mustTime(t, "2026-10-24T23:00:00Z")
	for i := 0; i < 5; i++ {
		next := s.Next(at)
		if !next.After(at) || next.Sub(at) > time.Hour {
			t.Fatalf("hourly near fall back: %s → %s", at.UTC(), next.UTC())
		}
		at = next
	}
}

func TestScheduleErrors(t *testing.T) {
	cases := []struct{ spec, want string }{
		{"", "empty schedule"},
		{"* * * *", "want 5 fields (minute hour day-of-month month day-of-week), got 4"},
		{"* * * * * *", "want 5 fields (minute hour day-of-month month day-of-week), got 6"},
		{"60 * * * *", "minute: 60 is out of range 0-59"},
		{"* 24 * * *", "hour: 24 is out of range 0-23"},
		{"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
		{"* * * 13 *", "month: 13 is out of range 1-12"},
		{"* * * * 8", "day-of-week: 8 is out of range 0-7"},
		{"* * * FOO *", `month: "FOO" is not a number or a name (JAN-DEC)`},
		{"x * * * *", `minute: "x" is not a number`},
		{"5-1 * * * *", "minute: range 5-1 is backwards (5 > 1)"},
		{"*/0 * * * *", `minute: step "0" must be a positive number`},
		{"*/x * * * *", `minute: step "x" must be a positive number`},
		{"*/61 * * * *", "minute: step 61 is larger than the field's range 0-59"},
		{"1,,2 * * * *", "minute: empty list element"},
		{"? * * * *", "minute: '?' is only allowed in the day-of-month and day-of-week fields"},
		{"@often", "unknown descriptor @often: want @yearly, @monthly, @weekly, @daily, @hourly or @every DURATION"},
		{"@every", `@every needs a duration, e.g. "@every 6h"`},
		{"@every 6 hours", `@every: "6 hours" is not a Go duration (e.g. 30s, 15m, 6h)`},
		{"@every 500ms", "@every: 500ms is shorter than the minimum 1s"},
		{"TZ=UTC 0 * * * *", "a time zone inside the schedule is not supported: use the job's timezone key"},
	}
	for _, c := range cases {
		_, err := parseSchedule(c.spec, nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: error %v, want %q", c.spec, err, c.want)
		}
	}
}

func TestInterval(t *testing.T) {
	for spec, want := range map[string]time.Duration{
		"@every 2s": 2 * time.Second, "*/5 * * * *": 5 * time.Minute, "@hourly": time.Hour, "0 */6 * * *": 6 * time.Hour,
	} {
		s, err := parseSchedule(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := interval(s, mustTime(t, "2026-01-01T00:00:00Z")); got != want {
			t.Errorf("%s: interval %s, want %s", spec, got, want)
		}
	}
}

func TestJitter(t *testing.T) {
	j := &Job{Name: "lan"}
	got := jitterFor(j, time.Hour)
	if got < 0 || got >= maxDefaultJitter {
		t.Errorf("default jitter for 1h = %s, want [0, 1m)", got)
	}
	if again := jitterFor(&Job{Name: "lan"}, time.Hour); again != got {
		t.Errorf("jitter not deterministic: %s then %s", got, again)
	}
	if jitterFor(&Job{Name: "dmz"}, time.Hour) == got {
		t.Error("two job names got the same jitter")
	}
	if d := jitterFor(j, 2*time.Second); d < 0 || d >= 200*time.Millisecond {
		t.Errorf("jitter for @every 2s = %s, want under 10%%", d)
	}
	zero := duration(0)
	if d := jitterFor(&Job{Name: "lan", Jitter: &zero}, time.Hour); d != 0 {
		t.Errorf("jitter: 0s gave %s", d)
	}
	five := duration(5 * time.Minute)
	if d := jitterFor(&Job{Name: "lan", Jitter: &five}, time.Hour); d < 0 || d >= 5*time.Minute {
		t.Errorf("explicit jitter 5m gave %s", d)
	}
}
