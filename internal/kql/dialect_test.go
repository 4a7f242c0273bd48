package kql

import (
	"strings"
	"testing"
	"time"
)

// TestDialectsCoverFuncs: every neutral function the compiler emits has a
// form in both dialects (a missing one would surface as an unpositioned
// internal error at compile time).
func TestDialectsCoverFuncs(t *testing.T) {
	funcs := map[string]int{
		"lower": 1, "upper": 1, "strlen": 1, "tostring": 1, "try_long": 1, "try_int": 1, "try_real": 1, "try_datetime": 1,
		"startofday": 1, "startofweek": 1, "startofmonth": 1, "startofyear": 1, "hourofday": 1, "dayofmonth": 1,
		"getmonth": 1, "getyear": 1, "dayofweek": 1, "array_length": 1, "timespan_seconds": 1,
		"trunc_day": 1, "trunc_hour": 1, "trunc_minute": 1, "trunc_second": 1,
		"count": 1, "sum": 1, "sum_long": 1, "avg": 1, "min": 1, "max": 1, "any": 1, "dcount": 1,
		"make_set": 1, "make_list": 1, "countif": 1,
		"contains": 2, "contains_cs": 2, "startswith": 2, "startswith_cs": 2, "endswith": 2, "endswith_cs": 2,
		"regex": 2, "split": 2, "intdiv": 2, "time_bin": 2, "sumif": 2, "sumif_long": 2, "percentile": 2,
		"arg_max": 2, "arg_min": 2, "index": 2, "dt_diff": 2,
		"concat": 3, "substring": 3, "replace": 3, "date_diff": 3, "date_add": 3,
	}
	for _, d := range []Dialect{DuckDB, ClickHouse} {
		for name, n := range funcs {
			args := make([]string, n)
			for i := range args {
				args[i] = "a" + string(rune('0'+i))
			}
			s, err := d.Func(name, args...)
			if err != nil {
				t.Errorf("%s: %s: %v", d.Name(), name, err)
				continue
			}
			for _, a := range args {
				if !strings.Contains(s, a) {
					t.Errorf("%s: %s drops argument %s: %s", d.Name(), name, a, s)
				}
			}
		}
		if _, err := d.Func("no_such_function", "x"); err == nil {
			t.Errorf("%s accepts an unknown function", d.Name())
		}
	}
}

func TestLiterals(t *testing.T) {
	ts := time.Date(2026, 11, 30, 10, 0, 0, 123456000, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{DuckDB.Timestamp(ts), "TIMESTAMP '2026-11-30 10:00:00.123456'"},
		{DuckDB.Timestamp(ts.Truncate(time.Second)), "TIMESTAMP '2026-11-30 10:00:00'"},
		{DuckDB.Interval(90 * time.Minute), "INTERVAL '90 minute'"},
		{DuckDB.Interval(7 * 24 * time.Hour), "INTERVAL '7 day'"},
		{DuckDB.Interval(-1500 * time.Millisecond), "INTERVAL '-1500 millisecond'"},
		{ClickHouse.Interval(time.Hour), "INTERVAL 1 HOUR"},
		{ClickHouse.Timestamp(ts), "toDateTime64('2026-11-30 10:00:00.123456', 6, 'UTC')"},
		{DuckDB.QuoteString("it's"), "'it''s'"},
		{ClickHouse.QuoteString(`it's \ here`), `'it\'s \\ here'`},
		{DuckDB.QuoteIdent(`a"b`), `"a""b"`},
		{ClickHouse.QuoteIdent("a`b"), "`a\\`b`"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}
