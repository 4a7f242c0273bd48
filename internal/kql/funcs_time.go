package kql

import (
	"strings"
	"time"
)

var timeFuncs = []string{"now", "ago", "datetime", "todatetime", "startofday", "startofweek", "startofmonth", "startofyear", "datetime_diff", "datetime_add", "dayofweek", "hourofday", "dayofmonth", "getmonth", "getyear", "bin", "floor"}

// timeCall compiles the date and time functions and bin().
func (c *compiler) timeCall(x *Call, sc *scope) (cexpr, error) {
	switch x.Name {
	case "now":
		a, err := c.args(x, sc, 0, 1)
		if err != nil {
			return cexpr{}, err
		}
		t := c.now
		if len(a) == 1 {
			if a[0].k == nil || a[0].k.Kind != LitTimespan {
				return cexpr{}, errAt(x.Args[0].exprPos(), "now() takes a constant timespan offset")
			}
			t = t.Add(a[0].k.Dur)
		}
		return c.lit(&Literal{Pos: x.Pos, Kind: LitDatetime, Time: t})
	case "ago":
		a, err := c.typedArgs(x, sc, 1, 1, TTimespan)
		if err != nil {
			return cexpr{}, err
		}
		if a[0].k != nil {
			return c.lit(&Literal{Pos: x.Pos, Kind: LitDatetime, Time: c.now.Add(-a[0].k.Dur)})
		}
		return merge(TDatetime, "("+c.d.Timestamp(c.now)+" - "+a[0].sql+")", a[0]), nil
	case "datetime", "todatetime":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		switch {
		case a[0].t == TDatetime:
			return a[0], nil
		case a[0].k != nil && a[0].k.Kind == LitString:
			t, perr := parseDatetime(a[0].k.Str)
			if perr != nil {
				return cexpr{}, errAt(x.Args[0].exprPos(), "'%s' is not a datetime", a[0].k.Str)
			}
			return c.lit(&Literal{Pos: x.Pos, Kind: LitDatetime, Time: t})
		case a[0].t == TString:
			return c.fn(TDatetime, "try_datetime", a[0])
		}
		return cexpr{}, need(x, 0, a[0], TString, TDatetime)
	case "startofday", "startofweek", "startofmonth", "startofyear":
		a, err := c.typedArgs(x, sc, 1, 1, TDatetime)
		if err != nil {
			return cexpr{}, err
		}
		if a[0].k != nil {
			return c.lit(&Literal{Pos: x.Pos, Kind: LitDatetime, Time: startOf(x.Name, a[0].k.Time)})
		}
		return c.fn(TDatetime, x.Name, a[0])
	case "datetime_diff", "datetime_add":
		a, err := c.args(x, sc, 3, 3)
		if err != nil {
			return cexpr{}, err
		}
		if a[0].k == nil || a[0].k.Kind != LitString || dateParts[strings.ToLower(a[0].k.Str)] == "" {
			return cexpr{}, errAt(x.Args[0].exprPos(), "%s() needs a constant period: %s", x.Name, strings.Join(sortedKeys(datePartSet), ", "))
		}
		unit := dateParts[strings.ToLower(a[0].k.Str)]
		if x.Name == "datetime_diff" {
			for i := 1; i < 3; i++ {
				if err := need(x, i, a[i], TDatetime); err != nil {
					return cexpr{}, err
				}
			}
			// Kusto: datetime_diff(period, a, b) is a - b
			s, err := c.d.Func("date_diff", c.d.QuoteString(strings.ToLower(unit)), a[2].sql, a[1].sql)
			return merge(TLong, "CAST("+s+" AS "+c.d.SQLType(TLong)+")", a...), err
		}
		if err := need(x, 1, a[1], TLong); err != nil {
			return cexpr{}, err
		}
		if err := need(x, 2, a[2], TDatetime); err != nil {
			return cexpr{}, err
		}
		s, err := c.d.Func("date_add", unit, a[1].sql, a[2].sql)
		return merge(TDatetime, s, a...), err
	case "dayofweek":
		a, err := c.typedArgs(x, sc, 1, 1, TDatetime)
		if err != nil {
			return cexpr{}, err
		}
		return c.fn(TTimespan, "dayofweek", a[0])
	case "hourofday", "dayofmonth", "getmonth", "getyear":
		a, err := c.typedArgs(x, sc, 1, 1, TDatetime)
		if err != nil {
			return cexpr{}, err
		}
		return c.castLong(c.fn(TLong, x.Name, a[0]))
	case "bin", "floor":
		if x.Name == "floor" && len(x.Args) == 1 {
			a, err := c.typedArgs(x, sc, 1, 1, TLong, TReal)
			if err != nil {
				return cexpr{}, err
			}
			return merge(a[0].t, "floor("+a[0].sql+")", a[0]), nil
		}
		a, err := c.args(x, sc, 2, 2)
		if err != nil {
			return cexpr{}, err
		}
		return c.bin(x, a[0], a[1])
	}
	return cexpr{}, c.unknownFunc(x)
}

func startOf(name string, t time.Time) time.Time {
	y, m, d := t.Date()
	switch name {
	case "startofweek":
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -int(day.Weekday()))
	case "startofmonth":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case "startofyear":
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dateParts maps Kusto's period names to SQL date part keywords.
var dateParts = map[string]string{
	"year": "YEAR", "quarter": "QUARTER", "month": "MONTH", "week": "WEEK", "day": "DAY",
	"hour": "HOUR", "minute": "MINUTE", "second": "SECOND", "millisecond": "MILLISECOND", "microsecond": "MICROSECOND",
}

var datePartSet = func() map[string]bool {
	m := map[string]bool{}
	for k := range dateParts {
		m[k] = true
	}
	return m
}()

var truncUnits = map[time.Duration]string{24 * time.Hour: "day", time.Hour: "hour", time.Minute: "minute", time.Second: "second"}

func (c *compiler) bin(x *Call, v, size cexpr) (cexpr, error) {
	if size.k == nil {
		return cexpr{}, errAt(x.Args[1].exprPos(), "%s() needs a constant bin size", x.Name)
	}
	switch v.t {
	case TDatetime:
		if size.k.Kind != LitTimespan || size.k.Dur < time.Microsecond {
			return cexpr{}, errAt(x.Args[1].exprPos(), "%s() of a datetime needs a positive timespan size such as 1h", x.Name)
		}
		if v.k != nil {
			t := v.k.Time.Truncate(size.k.Dur)
			return c.lit(&Literal{Kind: LitDatetime, Time: t})
		}
		// whole units truncate, which engines do faster than bucketing
		if unit, ok := truncUnits[size.k.Dur]; ok {
			return c.fn(TDatetime, "trunc_"+unit, v)
		}
		return c.fn(TDatetime, "time_bin", v, size)
	case TLong, TReal:
		switch {
		case size.k.Kind == LitLong && size.k.Int > 0 && v.t == TLong:
			s, err := c.d.Func("intdiv", "CAST("+v.sql+" AS "+c.d.SQLType(TLong)+")", size.sql)
			return merge(TLong, "("+s+" * "+size.sql+")", v), err
		case (size.k.Kind == LitLong && size.k.Int > 0) || (size.k.Kind == LitReal && size.k.Real > 0):
			return merge(TReal, "(floor("+v.sql+" / "+size.sql+") * "+size.sql+")", v), nil
		}
		return cexpr{}, errAt(x.Args[1].exprPos(), "%s() of a number needs a positive number size", x.Name)
	case TTimespan:
		return cexpr{}, errAt(x.Args[0].exprPos(), "%s() of a timespan is not supported", x.Name)
	}
	return cexpr{}, need(x, 0, v, TDatetime, TLong, TReal)
}
