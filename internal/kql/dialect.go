package kql

import (
	"fmt"

	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// Dialect turns the compiler's neutral constructs into one database's SQL.
// Everything user-supplied reaches SQL only through QuoteIdent, QuoteString
// or the typed literal methods.
type Dialect interface {
	// Name is "duckdb" or "clickhouse".
	Name() string
	// UseCTE tells whether pipeline stages become WITH clauses (true) or
	// nested sub-queries.
	UseCTE() bool
	QuoteIdent(name string) string
	QuoteString(s string) string
	Bool(b bool) string
	// SQLType is the SQL type used for typed NULLs and casts.
	SQLType(t Type) string
	// Timestamp is a literal for a UTC instant (microsecond precision).
	Timestamp(t time.Time) string
	// Interval is a literal timespan (microsecond precision).
	Interval(d time.Duration) string
	// Addr is a literal for an address in the 16-byte storage form.
	Addr(a flow.Addr) string
	// FormatAddr renders a 16-byte address expression as text ("" for the
	// zero address, IPv4 in dotted form, IPv6 in RFC 5952 form).
	FormatAddr(expr string) string
	// Func renders a neutral function (see funcs.go for the names); args are
	// SQL expressions already compiled.
	Func(name string, args ...string) (string, error)
	// JoinKeyword is the SQL join keyword for a KQL join kind.
	JoinKeyword(kind string) string
}

// DuckDB is the dialect of the embedded engine.
var DuckDB Dialect = duckDB{}

// ClickHouse is the dialect of the scale-out store.
var ClickHouse Dialect = clickHouse{}

type duckDB struct{}

func (duckDB) Name() string { return "duckdb" }
func (duckDB) UseCTE() bool { return true }

func (duckDB) QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString relies on DuckDB's standard strings, where a backslash has no
// special meaning; only the quote itself needs doubling.
func (duckDB) QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (duckDB) Bool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

func (duckDB) SQLType(t Type) string {
	switch t {
	case TBool:
		return "BOOLEAN"
	case TLong:
		return "BIGINT"
	case TReal:
		return "DOUBLE"
	case TDatetime:
		return "TIMESTAMP"
	case TTimespan:
		return "INTERVAL"
	case TIP:
		return "BLOB"
	case TDynamic:
		return "VARCHAR[]"
	}
	return "VARCHAR"
}

func formatTS(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02 15:04:05.000000")
	}
	return t.Format("2006-01-02 15:04:05")
}

func (duckDB) Timestamp(t time.Time) string { return "TIMESTAMP '" + formatTS(t) + "'" }

// intervalParts picks the coarsest unit that represents d exactly.
func intervalParts(d time.Duration) (int64, string) {
	us := d.Microseconds()
	units := []struct {
		n    int64
		name string
	}{{86400e6, "DAY"}, {3600e6, "HOUR"}, {60e6, "MINUTE"}, {1e6, "SECOND"}, {1e3, "MILLISECOND"}}
	for _, u := range units {
		if us%u.n == 0 && us != 0 {
			return us / u.n, u.name
		}
	}
	return us, "MICROSECOND"
}

func (duckDB) Interval(d time.Duration) string {
	n, unit := intervalParts(d)
	return fmt.Sprintf("INTERVAL '%d %s'", n, strings.ToLower(unit))
}

func (duckDB) Addr(a flow.Addr) string {
	var b strings.Builder
	b.WriteString("'")
	for _, c := range a {
		fmt.Fprintf(&b, `\x%02X`, c)
	}
	b.WriteString("'::BLOB")
	return b.String()
}

// duckFormatAddr is the DuckDB address formatter with \x00 standing for
// the expression; it binds hex(e) once through a one-element list_transform
// (DuckDB has no LET for expressions), so hex() runs once per value.
var duckFormatAddr = func() string {
	octet := func(i int) string { return fmt.Sprintf("('0x' || substr(h, %d, 2))::INTEGER", 25+2*i) }
	v4 := fmt.Sprintf("concat_ws('.', %s, %s, %s, %s)", octet(0), octet(1), octet(2), octet(3))
	// IPv6: lower-case groups without leading zeros, then the longest run
	// of two or more zero groups (the first one on a tie) becomes "::"
	// (eight zero groups is the zero address, handled first).
	groups := `regexp_replace(rtrim(lower(regexp_replace(h, '(....)', '\1:', 'g')), ':'), '(^|:)0+([0-9a-f])', '\1\2', 'g')`
	var v6 strings.Builder
	v6.WriteString("list_transform([" + groups + "], g -> CASE")
	for k := 7; k >= 2; k-- {
		pat := "'(^|:)0" + strings.Repeat("(:0)", k-1) + "(:|$)'"
		fmt.Fprintf(&v6, " WHEN regexp_matches(g, %s) THEN regexp_replace(g, %s, '::')", pat, pat)
	}
	v6.WriteString(" ELSE g END)[1]")
	return fmt.Sprintf("list_transform([hex(\x00)], h -> CASE WHEN h = '%s' THEN '' WHEN substr(h, 1, 24) = '00000000000000000000FFFF' THEN %s ELSE %s END)[1]",
		strings.Repeat("0", 32), v4, v6.String())
}()

func (duckDB) FormatAddr(e string) string { return strings.Replace(duckFormatAddr, "\x00", e, 1) }

func (duckDB) JoinKeyword(kind string) string {
	switch kind {
	case "leftouter":
		return "LEFT JOIN"
	case "rightouter":
		return "RIGHT JOIN"
	case "fullouter":
		return "FULL OUTER JOIN"
	case "leftsemi":
		return "SEMI JOIN"
	case "leftanti", "leftantisemi":
		return "ANTI JOIN"
	}
	return "INNER JOIN"
}

func argc(name string, args []string, n int) error {
	if len(args) != n {
		return fmt.Errorf("internal: %s needs %d arguments, got %d", name, n, len(args))
	}
	return nil
}

// duckOne and duckTwo map one- and two-argument neutral functions to SQL.
var duckOne = map[string]string{
	"lower": "lower(%s)", "upper": "upper(%s)", "strlen": "length(%s)",
	"tostring": "CAST(%s AS VARCHAR)", "try_long": "TRY_CAST(%s AS BIGINT)", "try_int": "TRY_CAST(%s AS INTEGER)",
	"try_real": "TRY_CAST(%s AS DOUBLE)", "try_datetime": "TRY_CAST(%s AS TIMESTAMP)",
	"trunc_day": "date_trunc('day', %s)", "trunc_hour": "date_trunc('hour', %s)", "trunc_minute": "date_trunc('minute', %s)", "trunc_second": "date_trunc('second', %s)",
	"startofday": "date_trunc('day', %s)", "startofmonth": "date_trunc('month', %s)", "startofyear": "date_trunc('year', %s)",
	// KQL weeks start on Sunday; 1970-01-04 was one.
	"startofweek": "time_bucket(INTERVAL '7 days', %s, TIMESTAMP '1970-01-04 00:00:00')",
	"hourofday":   "hour(%s)", "dayofmonth": "day(%s)", "getmonth": "month(%s)", "getyear": "year(%s)",
	// KQL sums of longs are longs. Summing BIGINTs, not the lake's
	// UBIGINTs: DuckDB sums UBIGINT in 128 bits per row, 1.3x the time of
	// a top-10-sources query over 100 M flows. The cast per row fails only
	// on a value of 2^63 or more, whose sum would not fit a long anyway.
	"count": "count(%s)", "sum": "sum(%s)", "sum_long": "CAST(sum(CAST(%s AS BIGINT)) AS BIGINT)", "avg": "avg(%s)", "min": "min(%s)", "max": "max(%s)",
	"dcount": "count(DISTINCT %s)", "make_set": "list(DISTINCT %s)", "make_list": "list(%s)", "any": "any_value(%s)",
	"countif": "count(*) FILTER (WHERE %s)", "timespan_seconds": "epoch(%s)", "array_length": "len(%s)",
}

var duckTwo = map[string]string{
	"contains_cs": "contains(%s, %s)", "startswith_cs": "starts_with(%s, %s)", "endswith_cs": "ends_with(%s, %s)",
	"contains": "contains(lower(%s), lower(%s))", "startswith": "starts_with(lower(%s), lower(%s))", "endswith": "ends_with(lower(%s), lower(%s))",
	"regex": "regexp_matches(%s, %s)", "split": "string_split(%s, %s)", "intdiv": "(%s // %s)",
	"time_bin": "time_bucket(%[2]s, %[1]s, TIMESTAMP '1970-01-01 00:00:00')",
	"sumif":    "sum(%s) FILTER (WHERE %s)", "sumif_long": "CAST(sum(CAST(%s AS BIGINT)) FILTER (WHERE %s) AS BIGINT)",
	"percentile": "quantile_disc(%s, %s)", "arg_max": "arg_max(%s, %s)", "arg_min": "arg_min(%s, %s)",
	"index": "%s[(%s) + 1]", "dt_diff": "(%s - %s)",
}

// fromTemplate renders name from a dialect's one- and two-argument
// templates; ok is false when neither table has it.
func fromTemplate(one, two map[string]string, name string, a []string) (sql string, ok bool, err error) {
	if f, found := one[name]; found {
		if err := argc(name, a, 1); err != nil {
			return "", true, err
		}
		return fmt.Sprintf(f, a[0]), true, nil
	}
	if f, found := two[name]; found {
		if err := argc(name, a, 2); err != nil {
			return "", true, err
		}
		return fmt.Sprintf(f, a[0], a[1]), true, nil
	}
	return "", false, nil
}

func (d duckDB) Func(name string, a ...string) (string, error) {
	if sql, ok, err := fromTemplate(duckOne, duckTwo, name, a); ok {
		return sql, err
	}
	switch name {
	case "concat":
		return "concat(" + strings.Join(a, ", ") + ")", nil
	case "substring":
		return "substr(" + strings.Join(a, ", ") + ")", nil
	case "date_diff": // unit (a string literal), start, end
		if err := argc(name, a, 3); err != nil {
			return "", err
		}
		return fmt.Sprintf("date_diff(%s, %s, %s)", a[0], a[1], a[2]), nil
	case "date_add": // unit (a bare SQL unit keyword), count, datetime
		if err := argc(name, a, 3); err != nil {
			return "", err
		}
		return fmt.Sprintf("(%s + INTERVAL (%s) %s)", a[2], a[1], a[0]), nil
	case "dayofweek":
		if err := argc(name, a, 1); err != nil {
			return "", err
		}
		return fmt.Sprintf("to_days(CAST(dayofweek(%s) AS INTEGER))", a[0]), nil
	case "replace":
		if err := argc(name, a, 3); err != nil {
			return "", err
		}
		return fmt.Sprintf("replace(%s, %s, %s)", a[0], a[1], a[2]), nil
	}
	return "", fmt.Errorf("internal: function %s has no %s form", name, d.Name())
}

type clickHouse struct{}

func (clickHouse) Name() string { return "clickhouse" }

// QualifyColumns: see the qualifier interface in expr.go.
func (clickHouse) QualifyColumns() bool { return true }
func (clickHouse) UseCTE() bool         { return false }

// ClickHouse reads backslash escapes in quoted names and strings, so both
// the quote and the backslash are escaped.
func (clickHouse) QuoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

func (clickHouse) QuoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (clickHouse) Bool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (clickHouse) SQLType(t Type) string {
	switch t {
	case TBool:
		return "UInt8"
	case TLong:
		return "Int64"
	case TReal:
		return "Float64"
	case TDatetime:
		return "DateTime64(6, 'UTC')"
	case TTimespan:
		return "Int64"
	case TIP:
		return "FixedString(16)"
	case TDynamic:
		return "Array(String)"
	}
	return "String"
}

func (clickHouse) Timestamp(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000000") + "', 6, 'UTC')"
}

func (clickHouse) Interval(d time.Duration) string {
	n, unit := intervalParts(d)
	return fmt.Sprintf("INTERVAL %d %s", n, unit)
}

func (clickHouse) Addr(a flow.Addr) string {
	return fmt.Sprintf("toFixedString(unhex('%X'), 16)", a[:])
}

func (c clickHouse) FormatAddr(e string) string {
	return fmt.Sprintf("if(%s = %s, '', if(substring(%s, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(%s, 13, 4)))), IPv6NumToString(%s)))",
		e, c.Addr(flow.Addr{}), e, e, e)
}

func (clickHouse) JoinKeyword(kind string) string {
	switch kind {
	case "leftouter":
		return "LEFT JOIN"
	case "rightouter":
		return "RIGHT JOIN"
	case "fullouter":
		return "FULL OUTER JOIN"
	case "leftsemi":
		return "LEFT SEMI JOIN"
	case "leftanti", "leftantisemi":
		return "LEFT ANTI JOIN"
	}
	return "INNER JOIN"
}

// chOne and chTwo map one- and two-argument neutral functions to SQL.
var chOne = map[string]string{
	"lower": "lower(%s)", "upper": "upper(%s)", "strlen": "lengthUTF8(%s)",
	"tostring": "toString(%s)", "try_long": "toInt64OrNull(toString(%s))", "try_int": "toInt32OrNull(toString(%s))",
	"try_real": "toFloat64OrNull(toString(%s))", "try_datetime": "parseDateTime64BestEffortOrNull(toString(%s), 6, 'UTC')",
	"trunc_day": "toStartOfDay(%s)", "trunc_hour": "toStartOfHour(%s)", "trunc_minute": "toStartOfMinute(%s)", "trunc_second": "toStartOfSecond(%s)",
	"startofday": "toStartOfDay(%s)", "startofmonth": "toDateTime64(toStartOfMonth(%s), 6, 'UTC')", "startofyear": "toDateTime64(toStartOfYear(%s), 6, 'UTC')",
	"startofweek": "toDateTime64(toStartOfWeek(%s, 0), 6, 'UTC')",
	"hourofday":   "toHour(%s)", "dayofmonth": "toDayOfMonth(%s)", "getmonth": "toMonth(%s)", "getyear": "toYear(%s)",
	"count": "count(%s)", "sum": "sum(%s)", "sum_long": "toInt64(sum(%s))", "avg": "avg(%s)", "min": "min(%s)", "max": "max(%s)",
	"dcount": "uniqExact(%s)", "make_set": "groupUniqArray(%s)", "make_list": "groupArray(%s)", "any": "any(%s)",
	"countif": "countIf(%s)", "timespan_seconds": "(%s / 1000000)", "array_length": "length(%s)",
}

var chTwo = map[string]string{
	"contains_cs": "(position(%s, %s) > 0)", "startswith_cs": "startsWith(%s, %s)", "endswith_cs": "endsWith(%s, %s)",
	"contains": "(positionCaseInsensitiveUTF8(%s, %s) > 0)", "startswith": "startsWith(lower(%s), lower(%s))", "endswith": "endsWith(lower(%s), lower(%s))",
	"regex": "match(%s, %s)", "split": "splitByString(%[2]s, %[1]s)", "intdiv": "intDiv(%s, %s)",
	"time_bin": "toStartOfInterval(%s, %s)",
	"sumif":    "sumIf(%s, %s)", "sumif_long": "toInt64(sumIf(%s, %s))",
	"percentile": "quantileExact(%[2]s)(%[1]s)", "arg_max": "argMax(%s, %s)", "arg_min": "argMin(%s, %s)",
	"index": "arrayElement(%s, (%s) + 1)", "dt_diff": "(toUnixTimestamp64Micro(%s) - toUnixTimestamp64Micro(%s))",
}

func (c clickHouse) Func(name string, a ...string) (string, error) {
	if sql, ok, err := fromTemplate(chOne, chTwo, name, a); ok {
		return sql, err
	}
	switch name {
	case "concat":
		return "concat(" + strings.Join(a, ", ") + ")", nil
	case "substring":
		return "substringUTF8(" + strings.Join(a, ", ") + ")", nil
	case "date_diff":
		if err := argc(name, a, 3); err != nil {
			return "", err
		}
		return fmt.Sprintf("dateDiff(%s, %s, %s)", a[0], a[1], a[2]), nil
	case "date_add":
		if err := argc(name, a, 3); err != nil {
			return "", err
		}
		return fmt.Sprintf("(%s + INTERVAL %s %s)", a[2], a[1], a[0]), nil
	case "dayofweek":
		if err := argc(name, a, 1); err != nil {
			return "", err
		}
		return fmt.Sprintf("toIntervalDay(toDayOfWeek(%s) %% 7)", a[0]), nil
	case "replace":
		if err := argc(name, a, 3); err != nil {
			return "", err
		}
		return fmt.Sprintf("replaceAll(%s, %s, %s)", a[0], a[1], a[2]), nil
	}
	return "", fmt.Errorf("internal: function %s has no %s form", name, c.Name())
}
