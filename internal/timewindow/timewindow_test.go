package timewindow

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 30, 14, 7, 0, 0, time.UTC)
	d := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	cases := []struct {
		since, until string
		from, to     time.Time
	}{
		{"yesterday", "", d("2026-11-29T00:00:00Z"), d("2026-11-30T00:00:00Z")},
		{"yesterday 00:00 to 00:00", "", d("2026-11-29T00:00:00Z"), d("2026-11-30T00:00:00Z")},
		{"yesterday 06:00", "yesterday 18:30", d("2026-11-29T06:00:00Z"), d("2026-11-29T18:30:00Z")},
		{"today", "", d("2026-11-30T00:00:00Z"), d("2026-12-01T00:00:00Z")},
		{"last 24 hours", "", d("2026-11-29T14:07:00Z"), now},
		{"Last 7 Days", "", d("2026-11-23T14:07:00Z"), now},
		{"last hour", "", d("2026-11-30T13:07:00Z"), now},
		{"30m", "", d("2026-11-30T13:37:00Z"), now},
		{"2026-03-03", "", d("2026-03-03T00:00:00Z"), now},
		{"2026-03-03", "2026-03-04", d("2026-03-03T00:00:00Z"), d("2026-03-04T00:00:00Z")},
		{"2026-03-03..2026-03-05", "", d("2026-03-03T00:00:00Z"), d("2026-03-05T00:00:00Z")},
		{"2026-03-03T10:00:00+01:00", "2026-03-03T12:00:00Z", d("2026-03-03T09:00:00Z"), d("2026-03-03T12:00:00Z")},
		{"2026-03-03 22:00", "02:00", d("2026-03-03T22:00:00Z"), d("2026-03-04T02:00:00Z")},
		{"", "", time.Time{}, time.Time{}},
		{"", "yesterday", time.Time{}, d("2026-11-29T00:00:00Z")},
	}
	for _, c := range cases {
		w, err := Parse(c.since, c.until, now)
		if err != nil {
			t.Errorf("%q %q: %v", c.since, c.until, err)
			continue
		}
		if !w.From.Equal(c.from) || !w.To.Equal(c.to) {
			t.Errorf("%q %q: got %s .. %s, want %s .. %s", c.since, c.until, w.From, w.To, c.from, c.to)
		}
	}
	for _, bad := range [][2]string{{"sometime", ""}, {"today", "yesterday"}, {"25:00", ""}, {"a to b", "c"}} {
		if _, err := Parse(bad[0], bad[1], now); err == nil {
			t.Errorf("%q %q accepted", bad[0], bad[1])
		}
	}
}
