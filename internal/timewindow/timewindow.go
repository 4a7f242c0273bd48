// Package timewindow parses the time windows users give every query front
// end (--since/--until, the API's since/until): "yesterday", "today",
// "last 24 hours", "7d", calendar dates, ISO times and ranges such as
// "yesterday 00:00 to 00:00" or "2026-03-03..2026-03-04". Times are UTC.
package timewindow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Window is the half-open interval [From, To). A zero From or To is open.
type Window struct {
	From, To time.Time
}

// IsZero reports whether w bounds nothing.
func (w Window) IsZero() bool { return w.From.IsZero() && w.To.IsZero() }

var (
	lastRe  = regexp.MustCompile(`^(?:last|past)\s+(\d+)?\s*(second|minute|hour|day|week|month)s?$`)
	shortRe = regexp.MustCompile(`^(\d+)\s*(s|m|min|h|d|w)$`)
	clockRe = regexp.MustCompile(`^(\d{1,2}):(\d{2})(?::(\d{2}))?$`)
	units   = map[string]time.Duration{
		"second": time.Second, "s": time.Second, "minute": time.Minute, "m": time.Minute, "min": time.Minute,
		"hour": time.Hour, "h": time.Hour, "day": 24 * time.Hour, "d": 24 * time.Hour,
		"week": 7 * 24 * time.Hour, "w": 7 * 24 * time.Hour, "month": 30 * 24 * time.Hour,
	}
)

// Parse resolves since and until (either may be empty) against now. since
// may itself be a range ("A to B", "A..B"); then until must be empty.
// "yesterday" and "today" end with their day unless until says otherwise;
// any other since ends now.
func Parse(since, until string, now time.Time) (Window, error) {
	now = now.UTC()
	since, until = strings.TrimSpace(since), strings.TrimSpace(until)
	if a, b, ok := splitRange(since); ok {
		if until != "" {
			return Window{}, fmt.Errorf("since %q is a range; leave until empty", since)
		}
		since, until = a, b
	}
	var w Window
	if since != "" {
		from, end, err := point(since, now, time.Time{})
		if err != nil {
			return Window{}, fmt.Errorf("since: %w", err)
		}
		w.From, w.To = from, end
	}
	if until != "" {
		to, _, err := point(until, now, w.From)
		if err != nil {
			return Window{}, fmt.Errorf("until: %w", err)
		}
		w.To = to
	} else if since != "" && w.To.IsZero() {
		w.To = now
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.To.After(w.From) {
		return Window{}, fmt.Errorf("window %s .. %s is empty", w.From.Format(time.RFC3339), w.To.Format(time.RFC3339))
	}
	return w, nil
}

func splitRange(s string) (string, string, bool) {
	for _, sep := range []string{"..", " to ", " - "} {
		if a, b, ok := strings.Cut(s, sep); ok {
			return strings.TrimSpace(a), strings.TrimSpace(b), true
		}
	}
	return "", "", false
}

// point resolves one expression to an instant, and, for expressions naming
// a period, the end of that period. A bare clock time ("00:00") after a
// start means the first such time after the start, so "yesterday 00:00 to
// 00:00" is one day.
func point(s string, now, after time.Time) (time.Time, time.Time, error) {
	l := strings.ToLower(strings.Join(strings.Fields(s), " "))
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	today := day(now)
	// "yesterday 06:00", "today 13:30", "2026-03-03 10:00"
	if base, clock, ok := strings.Cut(l, " "); ok && clockRe.MatchString(clock) {
		b, _, err := point(base, now, time.Time{})
		if err == nil {
			d, err := clockOffset(clock)
			if err != nil {
				return time.Time{}, time.Time{}, err
			}
			return day(b).Add(d), time.Time{}, nil
		}
	}
	switch l {
	case "now":
		return now, time.Time{}, nil
	case "today":
		return today, today.AddDate(0, 0, 1), nil
	case "yesterday":
		return today.AddDate(0, 0, -1), today, nil
	case "this week":
		wd := (int(today.Weekday()) + 6) % 7 // weeks start on Monday
		return today.AddDate(0, 0, -wd), time.Time{}, nil
	case "this month":
		return time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC), time.Time{}, nil
	}
	if m := lastRe.FindStringSubmatch(l); m != nil {
		n := 1
		if m[1] != "" {
			n, _ = strconv.Atoi(m[1])
		}
		return now.Add(-time.Duration(n) * units[m[2]]), time.Time{}, nil
	}
	if m := shortRe.FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		return now.Add(-time.Duration(n) * units[m[2]]), time.Time{}, nil
	}
	if clockRe.MatchString(l) {
		d, err := clockOffset(l)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		base := today
		if !after.IsZero() {
			base = day(after)
			if !base.Add(d).After(after) {
				base = base.AddDate(0, 0, 1)
			}
		}
		return base.Add(d), time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", l); err == nil {
		// "since 2026-03-01" means until now; a range names one day.
		return t, time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02t15:04:05", "2006-01-02t15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, l); err == nil {
			return t.UTC(), time.Time{}, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), time.Time{}, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("%q: want now, today, yesterday, \"last 24 hours\", 7d, 2006-01-02, 2006-01-02T15:04:05Z, a clock time, or a range \"A to B\"", s)
}

func clockOffset(s string) (time.Duration, error) {
	m := clockRe.FindStringSubmatch(s)
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec := 0
	if m[3] != "" {
		sec, _ = strconv.Atoi(m[3])
	}
	if h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi > 0 || sec > 0)) {
		return 0, fmt.Errorf("%q: not a clock time", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second, nil
}
