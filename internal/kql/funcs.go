package kql

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// aggregations lists the aggregation functions (summarize only).
var aggregations = map[string]bool{
	"count": true, "countif": true, "sum": true, "sumif": true, "avg": true, "min": true, "max": true,
	"dcount": true, "percentile": true, "percentiles": true, "make_set": true, "make_list": true,
	"arg_max": true, "arg_min": true, "any": true, "take_any": true,
}

func (c *compiler) args(x *Call, sc *scope, min, max int) ([]cexpr, error) {
	if len(x.Args) < min || (max >= 0 && len(x.Args) > max) {
		want := strconv.Itoa(min)
		switch {
		case max < 0:
			want = "at least " + want
		case max != min:
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return nil, errAt(x.Pos, "%s() expects %s argument(s), found %d", x.Name, want, len(x.Args))
	}
	out := make([]cexpr, len(x.Args))
	for i, a := range x.Args {
		e, err := c.expr(a, sc)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func need(x *Call, i int, e cexpr, types ...Type) error {
	for _, t := range types {
		if e.t == t || e.t == TNull {
			return nil
		}
	}
	names := make([]string, len(types))
	for j, t := range types {
		names[j] = string(t)
	}
	return errAt(x.Args[i].exprPos(), "argument %d of %s() must be %s, found %s", i+1, x.Name, strings.Join(names, " or "), e.t)
}

func (c *compiler) fn(t Type, name string, parts ...cexpr) (cexpr, error) {
	sqls := make([]string, len(parts))
	for i, p := range parts {
		sqls[i] = p.sql
	}
	s, err := c.d.Func(name, sqls...)
	return merge(t, s, parts...), err
}

// scalarFamily is a group of scalar functions compiled by one method; each
// family lives in its own funcs_<family>.go.
type scalarFamily struct {
	names   []string
	compile func(*compiler, *Call, *scope) (cexpr, error)
}

var timeFuncs = []string{"now", "ago", "datetime", "todatetime", "startofday", "startofweek", "startofmonth", "startofyear", "datetime_diff", "datetime_add", "dayofweek", "hourofday", "dayofmonth", "getmonth", "getyear", "bin", "floor"}

var mathFuncs = []string{"round", "abs", "ceiling", "sqrt", "log", "log10", "exp", "pow"}

var stringFuncs = []string{"strcat", "tostring", "toint", "tolong", "toreal", "todouble", "tolower", "toupper", "strlen", "substring", "replace_string", "split", "array_length"}

var logicFuncs = []string{"iff", "iif", "case", "coalesce", "max_of", "min_of", "isempty", "isnotempty", "isnull", "isnotnull", "not"}

var ipFuncs = []string{"ipv4_is_private", "ipv4_is_in_range", "ipv4_is_in_any_range", "ipv4_is_match", "ipv6_is_in_range", "ip_in_range", "ipv6_is_match"}

// scalars maps a scalar function's name to its family's method, and
// scalarFuncs lists the names for error messages. They are filled by init:
// the methods compile arguments through call, which reads scalars.
var (
	scalars     = map[string]func(*compiler, *Call, *scope) (cexpr, error){}
	scalarFuncs []string
)

func init() {
	for _, f := range []scalarFamily{
		{timeFuncs, (*compiler).timeCall},
		{mathFuncs, (*compiler).mathCall},
		{stringFuncs, (*compiler).stringCall},
		{logicFuncs, (*compiler).logicCall},
		{ipFuncs, (*compiler).ipFunc},
	} {
		for _, n := range f.names {
			scalars[n] = f.compile
		}
		scalarFuncs = append(scalarFuncs, f.names...)
	}
}

func (c *compiler) call(x *Call, sc *scope) (cexpr, error) {
	if aggregations[x.Name] {
		if !sc.agg {
			return cexpr{}, errAt(x.Pos, "%s() is an aggregation; use it in summarize", x.Name)
		}
		e, err := c.aggregate(x, &scope{cols: sc.cols, qual: sc.qual})
		e.agg, e.bare = true, false
		return e, err
	}
	if f := scalars[x.Name]; f != nil {
		return f(c, x, sc)
	}
	return cexpr{}, c.unknownFunc(x)
}

func (c *compiler) unknownFunc(x *Call) error {
	return errAt(x.Pos, "unknown function '%s'%s", x.Name, didYouMean(x.Name, append(append([]string{}, scalarFuncs...), sortedKeys(aggregations)...)))
}

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
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TTimespan); err != nil {
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
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TDatetime); err != nil {
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
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TDatetime); err != nil {
			return cexpr{}, err
		}
		return c.fn(TTimespan, "dayofweek", a[0])
	case "hourofday", "dayofmonth", "getmonth", "getyear":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TDatetime); err != nil {
			return cexpr{}, err
		}
		e, err := c.fn(TLong, x.Name, a[0])
		e.sql = "CAST(" + e.sql + " AS " + c.d.SQLType(TLong) + ")"
		return e, err
	case "bin", "floor":
		if x.Name == "floor" && len(x.Args) == 1 {
			a, err := c.args(x, sc, 1, 1)
			if err != nil {
				return cexpr{}, err
			}
			if err := need(x, 0, a[0], TLong, TReal); err != nil {
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

// mathCall compiles the numeric functions.
func (c *compiler) mathCall(x *Call, sc *scope) (cexpr, error) {
	switch x.Name {
	case "round":
		a, err := c.args(x, sc, 1, 2)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TLong, TReal); err != nil {
			return cexpr{}, err
		}
		if len(a) == 2 {
			if a[1].k == nil || a[1].k.Kind != LitLong {
				return cexpr{}, errAt(x.Args[1].exprPos(), "round() precision must be an integer constant")
			}
			return merge(TReal, "round("+a[0].sql+", "+a[1].sql+")", a[0]), nil
		}
		return merge(a[0].t, "round("+a[0].sql+")", a[0]), nil
	case "abs", "ceiling", "sqrt", "log", "log10", "exp":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TLong, TReal); err != nil {
			return cexpr{}, err
		}
		t := TReal
		if x.Name == "abs" || x.Name == "ceiling" {
			t = a[0].t
		}
		name := map[string]string{"ceiling": "ceil", "log": "ln"}[x.Name]
		if name == "" {
			name = x.Name
		}
		if c.d.Name() == "clickhouse" && name == "ln" {
			name = "log"
		}
		return merge(t, name+"("+a[0].sql+")", a[0]), nil
	case "pow":
		a, err := c.args(x, sc, 2, 2)
		if err != nil {
			return cexpr{}, err
		}
		for i := range a {
			if err := need(x, i, a[i], TLong, TReal); err != nil {
				return cexpr{}, err
			}
		}
		return merge(TReal, "pow("+a[0].sql+", "+a[1].sql+")", a...), nil
	}
	return cexpr{}, c.unknownFunc(x)
}

// stringCall compiles the string, conversion and array functions.
func (c *compiler) stringCall(x *Call, sc *scope) (cexpr, error) {
	switch x.Name {
	case "strcat":
		a, err := c.args(x, sc, 1, 64)
		if err != nil {
			return cexpr{}, err
		}
		for i := range a {
			if a[i], err = c.asString(a[i]); err != nil {
				return cexpr{}, err
			}
		}
		return c.fn(TString, "concat", a...)
	case "tostring":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		return c.asString(a[0])
	case "toint", "tolong", "toreal", "todouble":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if a[0].t == TIP || a[0].t == TDynamic {
			return cexpr{}, need(x, 0, a[0], TString, TLong, TReal)
		}
		switch x.Name {
		case "toint":
			return c.fn(TLong, "try_int", a[0])
		case "tolong":
			return c.fn(TLong, "try_long", a[0])
		}
		return c.fn(TReal, "try_real", a[0])
	case "tolower", "toupper":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		s, err := c.asString(a[0])
		if err != nil {
			return cexpr{}, err
		}
		return c.fn(TString, strings.TrimPrefix(x.Name, "to"), s)
	case "strlen":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		s, err := c.asString(a[0])
		if err != nil {
			return cexpr{}, err
		}
		e, err := c.fn(TLong, "strlen", s)
		e.sql = "CAST(" + e.sql + " AS " + c.d.SQLType(TLong) + ")"
		return e, err
	case "substring":
		a, err := c.args(x, sc, 2, 3)
		if err != nil {
			return cexpr{}, err
		}
		s, err := c.asString(a[0])
		if err != nil {
			return cexpr{}, err
		}
		for i := 1; i < len(a); i++ {
			if err := need(x, i, a[i], TLong); err != nil {
				return cexpr{}, err
			}
		}
		// KQL counts from 0, SQL from 1
		start := merge(TLong, "("+a[1].sql+" + 1)", a[1])
		if a[1].k != nil {
			start.sql = strconv.FormatInt(a[1].k.Int+1, 10)
		}
		parts := []cexpr{s, start}
		if len(a) == 3 {
			parts = append(parts, a[2])
		}
		return c.fn(TString, "substring", parts...)
	case "replace_string":
		a, err := c.args(x, sc, 3, 3)
		if err != nil {
			return cexpr{}, err
		}
		for i := range a {
			if a[i], err = c.asString(a[i]); err != nil {
				return cexpr{}, err
			}
		}
		return c.fn(TString, "replace", a...)
	case "split":
		a, err := c.args(x, sc, 2, 3)
		if err != nil {
			return cexpr{}, err
		}
		s, err := c.asString(a[0])
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 1, a[1], TString); err != nil {
			return cexpr{}, err
		}
		e, err := c.fn(TDynamic, "split", s, a[1])
		if err != nil || len(a) == 2 {
			return e, err
		}
		if err := need(x, 2, a[2], TLong); err != nil {
			return cexpr{}, err
		}
		a[2].sql = c.indexArg(a[2])
		return c.fn(TString, "index", e, a[2])
	case "array_length":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TDynamic); err != nil {
			return cexpr{}, err
		}
		e, err := c.fn(TLong, "array_length", a[0])
		e.sql = "CAST(" + e.sql + " AS " + c.d.SQLType(TLong) + ")"
		return e, err
	}
	return cexpr{}, c.unknownFunc(x)
}

// logicCall compiles the conditional and null-testing functions.
func (c *compiler) logicCall(x *Call, sc *scope) (cexpr, error) {
	switch x.Name {
	case "iff", "iif":
		a, err := c.args(x, sc, 3, 3)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TBool); err != nil {
			return cexpr{}, err
		}
		t, ok := unify(a[1].t, a[2].t)
		if !ok {
			return cexpr{}, errAt(x.Pos, "%s() branches have different types: %s and %s", x.Name, a[1].t, a[2].t)
		}
		return merge(t, "CASE WHEN "+a[0].sql+" THEN "+a[1].sql+" ELSE "+a[2].sql+" END", a...), nil
	case "case":
		a, err := c.args(x, sc, 3, -1)
		if err != nil {
			return cexpr{}, err
		}
		if len(a)%2 == 0 {
			return cexpr{}, errAt(x.Pos, "case() expects condition, value pairs and an else value (an odd number of arguments)")
		}
		t := a[len(a)-1].t
		var b strings.Builder
		b.WriteString("CASE")
		for i := 0; i+1 < len(a); i += 2 {
			if err := need(x, i, a[i], TBool); err != nil {
				return cexpr{}, err
			}
			var ok bool
			if t, ok = unify(t, a[i+1].t); !ok {
				return cexpr{}, errAt(x.Args[i+1].exprPos(), "case() values have different types: %s and %s", t, a[i+1].t)
			}
			b.WriteString(" WHEN " + a[i].sql + " THEN " + a[i+1].sql)
		}
		b.WriteString(" ELSE " + a[len(a)-1].sql + " END")
		return merge(t, b.String(), a...), nil
	case "coalesce", "max_of", "min_of":
		a, err := c.args(x, sc, 1, 64)
		if err != nil {
			return cexpr{}, err
		}
		t := a[0].t
		sqls := make([]string, len(a))
		for i := range a {
			var ok bool
			if t, ok = unify(t, a[i].t); !ok {
				return cexpr{}, errAt(x.Args[i].exprPos(), "%s() arguments have different types: %s and %s", x.Name, t, a[i].t)
			}
			sqls[i] = a[i].sql
		}
		name := map[string]string{"coalesce": "coalesce", "max_of": "greatest", "min_of": "least"}[x.Name]
		return merge(t, name+"("+strings.Join(sqls, ", ")+")", a...), nil
	case "isempty", "isnotempty":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		var s string
		switch a[0].t {
		case TString:
			s = "(" + a[0].sql + " IS NULL OR " + a[0].sql + " = '')"
		case TIP:
			s = "(" + a[0].sql + " IS NULL OR " + a[0].sql + " = " + c.d.Addr(flow.Addr{}) + ")"
		default:
			s = "(" + a[0].sql + " IS NULL)"
		}
		if x.Name == "isnotempty" {
			s = "(NOT " + s + ")"
		}
		return merge(TBool, s, a[0]), nil
	case "isnull", "isnotnull":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		kw := " IS NULL)"
		if x.Name == "isnotnull" {
			kw = " IS NOT NULL)"
		}
		return merge(TBool, "("+a[0].sql+kw, a[0]), nil
	case "not":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TBool); err != nil {
			return cexpr{}, err
		}
		return merge(TBool, "(NOT "+a[0].sql+")", a[0]), nil
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

// prefixRange is the first and last 16-byte address of a prefix.
func prefixRange(p netip.Prefix) (lo, hi flow.Addr) {
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	a := flow.AddrFromNetip(p.Masked().Addr())
	lo, hi = a, a
	for i := bits; i < 128; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	return lo, hi
}

// parseRange accepts "a.b.c.d/n", "a.b.c.d", IPv6 forms likewise.
func parseRange(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return p, err
		}
		return p, nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var privateV4 = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func (c *compiler) ipFunc(x *Call, sc *scope) (cexpr, error) {
	v4 := strings.HasPrefix(x.Name, "ipv4_")
	minArgs, maxArgs := 2, 2
	switch x.Name {
	case "ipv4_is_private":
		minArgs, maxArgs = 1, 1
	case "ipv4_is_in_any_range":
		maxArgs = -1
	case "ipv4_is_match", "ipv6_is_match":
		maxArgs = 3
	}
	a, err := c.args(x, sc, minArgs, maxArgs)
	if err != nil {
		return cexpr{}, err
	}
	var prefixes []netip.Prefix
	if x.Name == "ipv4_is_private" {
		prefixes = privateV4
	}
	match := x.Name == "ipv4_is_match" || x.Name == "ipv6_is_match"
	for i := 1; i < len(a); i++ {
		if match && i == 2 {
			break // the prefix length, read below
		}
		if a[i].k == nil || a[i].k.Kind != LitString {
			return cexpr{}, errAt(x.Args[i].exprPos(), "%s() needs a constant address range string such as \"10.0.0.0/8\"", x.Name)
		}
		p, perr := parseRange(a[i].k.Str)
		if perr != nil {
			return cexpr{}, errAt(x.Args[i].exprPos(), "'%s' is not an address range", a[i].k.Str)
		}
		if v4 && !p.Addr().Is4() {
			return cexpr{}, errAt(x.Args[i].exprPos(), "'%s' is not an IPv4 range", a[i].k.Str)
		}
		if match && len(a) == 3 {
			if a[2].k == nil || a[2].k.Kind != LitLong || a[2].k.Int < 0 || int(a[2].k.Int) > p.Addr().BitLen() {
				return cexpr{}, errAt(x.Args[2].exprPos(), "%s() needs a constant prefix length", x.Name)
			}
			p = netip.PrefixFrom(p.Addr(), int(a[2].k.Int))
		}
		prefixes = append(prefixes, p)
	}
	addr := a[0]
	if addr.t == TString && addr.k != nil && addr.k.Kind == LitString {
		// all constant: answer now
		ip, perr := netip.ParseAddr(addr.k.Str)
		if perr != nil {
			return cexpr{}, errAt(x.Args[0].exprPos(), "'%s' is not an IP address", addr.k.Str)
		}
		in := false
		for _, p := range prefixes {
			lo, hi := prefixRange(p)
			fa := flow.AddrFromNetip(ip)
			in = in || (string(fa[:]) >= string(lo[:]) && string(fa[:]) <= string(hi[:]))
		}
		return c.lit(&Literal{Pos: x.Pos, Kind: LitBool, Bool: in})
	}
	if addr.t != TIP {
		return cexpr{}, errAt(x.Args[0].exprPos(), "%s() needs an address column or a constant address, found %s", x.Name, addr.t)
	}
	terms := make([]string, len(prefixes))
	for i, p := range prefixes {
		lo, hi := prefixRange(p)
		terms[i] = "(" + addr.sql + " BETWEEN " + c.d.Addr(lo) + " AND " + c.d.Addr(hi) + ")"
	}
	s := terms[0]
	if len(terms) > 1 {
		s = "(" + strings.Join(terms, " OR ") + ")"
	}
	return merge(TBool, s, addr), nil
}

// aggregate compiles an aggregation call; sc has aggregation disabled
// (no nesting).
func (c *compiler) aggregate(x *Call, sc *scope) (cexpr, error) {
	switch x.Name {
	case "count":
		if len(x.Args) == 1 {
			if _, ok := x.Args[0].(*Star); ok {
				return cexpr{sql: "count(*)", t: TLong}, nil
			}
		}
		if _, err := c.args(x, sc, 0, 0); err != nil {
			return cexpr{}, err
		}
		return cexpr{sql: "count(*)", t: TLong}, nil
	case "countif":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TBool); err != nil {
			return cexpr{}, err
		}
		return c.fn(TLong, "countif", a[0])
	case "sum", "sumif":
		n := 1
		if x.Name == "sumif" {
			n = 2
		}
		a, err := c.args(x, sc, n, n)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TLong, TReal, TTimespan); err != nil {
			return cexpr{}, err
		}
		if n == 2 {
			if err := need(x, 1, a[1], TBool); err != nil {
				return cexpr{}, err
			}
		}
		name := x.Name
		if a[0].t == TLong {
			name += "_long"
		}
		return c.fn(a[0].t, name, a...)
	case "avg":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if err := need(x, 0, a[0], TLong, TReal); err != nil {
			return cexpr{}, err
		}
		return c.fn(TReal, "avg", a[0])
	case "min", "max", "any", "take_any":
		a, err := c.args(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		if a[0].t == TDynamic {
			return cexpr{}, need(x, 0, a[0], TLong, TReal, TString, TDatetime, TTimespan, TIP, TBool)
		}
		name := x.Name
		if name == "take_any" {
			name = "any"
		}
		return c.fn(a[0].t, name, a[0])
	case "dcount":
		a, err := c.args(x, sc, 1, 2)
		if err != nil {
			return cexpr{}, err
		}
		return c.fn(TLong, "dcount", a[0])
	case "percentile":
		a, err := c.args(x, sc, 2, 2)
		if err != nil {
			return cexpr{}, err
		}
		return c.percentile(x, a[0], a[1], x.Args[1])
	case "make_set", "make_list":
		a, err := c.args(x, sc, 1, 2)
		if err != nil {
			return cexpr{}, err
		}
		v, err := c.asString(a[0])
		if a[0].t != TIP {
			v = a[0]
		}
		if err != nil {
			return cexpr{}, err
		}
		return c.fn(TDynamic, x.Name, v)
	case "percentiles", "arg_max", "arg_min":
		return cexpr{}, errAt(x.Pos, "%s() produces several columns; use it directly in summarize, not inside an expression", x.Name)
	}
	return cexpr{}, errAt(x.Pos, "unknown aggregation '%s'", x.Name)
}

func (c *compiler) percentile(x *Call, v, p cexpr, pe Expr) (cexpr, error) {
	if err := need(x, 0, v, TLong, TReal, TDatetime, TTimespan); err != nil {
		return cexpr{}, err
	}
	var f float64
	switch {
	case p.k != nil && p.k.Kind == LitLong:
		f = float64(p.k.Int)
	case p.k != nil && p.k.Kind == LitReal:
		f = p.k.Real
	default:
		return cexpr{}, errAt(pe.exprPos(), "percentile needs a constant between 0 and 100")
	}
	if f < 0 || f > 100 {
		return cexpr{}, errAt(pe.exprPos(), "percentile needs a constant between 0 and 100")
	}
	// 15 digits: 99.9/100 prints as 0.999, not 0.9990000000000001
	frac := cexpr{sql: strconv.FormatFloat(f/100, 'g', 15, 64), t: TReal}
	if !strings.ContainsAny(frac.sql, ".e") {
		frac.sql += ".0"
	}
	return c.fn(v.t, "percentile", v, frac)
}

// aggName is KQL's default name of an aggregation column (sum_bytes).
func aggName(x Expr) string {
	call, ok := x.(*Call)
	if !ok {
		return ""
	}
	prefix := map[string]string{"make_set": "set", "make_list": "list", "take_any": "any"}[call.Name]
	if prefix == "" {
		prefix = call.Name
	}
	name := prefix + "_"
	if len(call.Args) > 0 {
		if id, ok := call.Args[0].(*Ident); ok {
			name += id.Name
		}
	}
	return name
}

func percentileSuffix(e cexpr) string {
	if e.k == nil {
		return ""
	}
	if e.k.Kind == LitLong {
		return strconv.FormatInt(e.k.Int, 10)
	}
	return strings.ReplaceAll(strconv.FormatFloat(e.k.Real, 'f', -1, 64), ".", "_")
}

func (c *compiler) summarize(r *rel, op *Summarize) (*rel, error) {
	sc := c.scopeOf(r)
	var out []col
	var parts, groups []string
	taken := map[string]bool{}
	add := func(name string, e cexpr, pos Pos) error {
		if taken[name] {
			return errAt(pos, "duplicate column name '%s' (name it: name = ...)", name)
		}
		taken[name] = true
		// aggregates keep the stored (unsigned, narrow) type: min(proto)
		out = append(out, col{name: name, t: e.t, raw: e.raw || e.t == TLong})
		if q := c.d.QuoteIdent(name); e.sql == q {
			parts = append(parts, q)
		} else {
			parts = append(parts, e.sql+" AS "+q)
		}
		return nil
	}
	auto := 0
	autoName := func() string { auto++; return "Column" + strconv.Itoa(auto) }
	for _, b := range op.By {
		e, err := c.expr(b.Expr, sc)
		if err != nil {
			return nil, err
		}
		name := b.Name
		if name == "" {
			if name = defaultName(b.Expr); name == "" {
				name = autoName()
			}
		}
		if err := add(name, e, b.Pos); err != nil {
			return nil, err
		}
		groups = append(groups, e.sql)
	}
	plain := c.scopeOf(r)
	asc := &scope{cols: r.cols, agg: true, qual: plain.qual}
	for _, a := range op.Aggs {
		if call, ok := a.Expr.(*Call); ok {
			switch call.Name {
			case "arg_max", "arg_min":
				if err := c.argMax(call, plain, a.Name, add, r, op.By); err != nil {
					return nil, err
				}
				continue
			case "percentiles":
				args, err := c.args(call, plain, 2, -1)
				if err != nil {
					return nil, err
				}
				for i := 1; i < len(args); i++ {
					e, err := c.percentile(call, args[0], args[i], call.Args[i])
					if err != nil {
						return nil, err
					}
					name := "percentile_" + aggName(call)[len("percentiles_"):] + "_" + percentileSuffix(args[i])
					if err := add(name, e, call.Pos); err != nil {
						return nil, err
					}
				}
				continue
			}
		}
		e, err := c.expr(a.Expr, asc)
		if err != nil {
			return nil, err
		}
		if !e.agg {
			return nil, errAt(a.Expr.exprPos(), "expected an aggregation such as count() or sum(column)")
		}
		if e.bare {
			return nil, errAt(a.Expr.exprPos(), "a column is used outside an aggregation; put it in 'by' or inside an aggregation")
		}
		name := a.Name
		if name == "" {
			if name = aggName(a.Expr); name == "" {
				name = autoName()
			}
		}
		if err := add(name, e, a.Pos); err != nil {
			return nil, err
		}
	}
	sel := "SELECT " + strings.Join(parts, ", ") + " FROM " + c.from(r, r.name)
	if len(groups) > 0 {
		sel += " GROUP BY " + strings.Join(groups, ", ")
	}
	return c.stage(sel, out, nil), nil
}

// argMax expands arg_max(by, col, ...) into max(by) and one arg_max per column.
func (c *compiler) argMax(call *Call, sc *scope, name string, add func(string, cexpr, Pos) error, r *rel, keys []NamedExpr) error {
	if len(call.Args) < 2 {
		return errAt(call.Pos, "%s() expects the expression to maximize and at least one column (or *)", call.Name)
	}
	by, err := c.expr(call.Args[0], sc)
	if err != nil {
		return err
	}
	if by.t == TDynamic {
		return errAt(call.Args[0].exprPos(), "cannot maximize a dynamic value")
	}
	ext := strings.TrimPrefix(call.Name, "arg_")
	byName := name
	if byName == "" {
		if byName = defaultName(call.Args[0]); byName == "" {
			byName = ext + "_"
		}
	}
	byAgg, err := c.fn(by.t, ext, by)
	if err != nil {
		return err
	}
	if err := add(byName, byAgg, call.Pos); err != nil {
		return err
	}
	keyNames := map[string]bool{byName: true}
	for _, k := range keys {
		n := k.Name
		if n == "" {
			n = defaultName(k.Expr)
		}
		keyNames[n] = true
	}
	var cols []col
	for _, a := range call.Args[1:] {
		switch a := a.(type) {
		case *Star:
			for _, cl := range r.cols {
				if !keyNames[cl.name] {
					cols = append(cols, cl)
				}
			}
		case *Ident:
			cl, ok := r.col(a.Name)
			if !ok {
				return c.unknownColumn(a, r.cols)
			}
			cols = append(cols, cl)
		default:
			return errAt(a.exprPos(), "%s() takes column names (or *) after the expression", call.Name)
		}
	}
	for _, cl := range cols {
		if keyNames[cl.name] && cl.name != byName {
			continue
		}
		if cl.name == byName {
			continue
		}
		e, err := c.fn(cl.t, call.Name, cexpr{sql: c.colRef(r, cl.name)}, by)
		if err != nil {
			return err
		}
		if err := add(cl.name, e, call.Pos); err != nil {
			return err
		}
	}
	return nil
}
