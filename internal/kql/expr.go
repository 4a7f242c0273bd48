package kql

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// scope is what names an expression can see.
type scope struct {
	cols []col
	agg  bool   // aggregation functions allowed (summarize)
	qual string // prefix for column references ("_q1.") or ""
}

// qualifier tells whether the dialect wants column references qualified
// with the stage's alias: ClickHouse lets a SELECT alias shadow a column of
// the same name (SELECT toStartOfDay(t) AS t ... GROUP BY toStartOfDay(t)).
type qualifier interface{ QualifyColumns() bool }

func (c *compiler) scopeOf(r *rel) *scope {
	s := &scope{cols: r.cols}
	if q, ok := c.d.(qualifier); ok && q.QualifyColumns() {
		s.qual = r.name + "."
	}
	return s
}

// colRef is a reference to column name of stage r.
func (c *compiler) colRef(r *rel, name string) string {
	return c.scopeOf(r).qual + c.d.QuoteIdent(name)
}

func (s *scope) with(cl col) *scope {
	n := &scope{agg: s.agg, qual: s.qual, cols: make([]col, 0, len(s.cols)+1)}
	for _, c := range s.cols {
		if c.name != cl.name {
			n.cols = append(n.cols, c)
		}
	}
	n.cols = append(n.cols, cl)
	return n
}

func (s *scope) lookup(name string) (col, bool) {
	for i := len(s.cols) - 1; i >= 0; i-- {
		if s.cols[i].name == name {
			return s.cols[i], true
		}
	}
	return col{}, false
}

// cexpr is a compiled expression.
type cexpr struct {
	sql  string
	t    Type
	k    *Literal // the constant value, when known at compile time
	agg  bool     // contains an aggregation
	bare bool     // uses a column outside any aggregation
	raw  bool     // a stored column: possibly unsigned and narrower than long
}

func (c *compiler) lit(l *Literal) (cexpr, error) {
	e := cexpr{k: l}
	switch l.Kind {
	case LitString:
		e.t, e.sql = TString, c.d.QuoteString(l.Str)
	case LitLong:
		e.t, e.sql = TLong, strconv.FormatInt(l.Int, 10)
		if l.Int < 0 {
			e.sql = "(" + e.sql + ")"
		}
	case LitReal:
		if math.IsNaN(l.Real) || math.IsInf(l.Real, 0) {
			return e, errAt(l.Pos, "number out of range")
		}
		s := strconv.FormatFloat(l.Real, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		if l.Real < 0 {
			s = "(" + s + ")"
		}
		e.t, e.sql = TReal, s
	case LitBool:
		e.t, e.sql = TBool, c.d.Bool(l.Bool)
	case LitTimespan:
		e.t, e.sql = TTimespan, c.d.Interval(l.Dur)
	case LitDatetime:
		if l.Time.Year() < 1 || l.Time.Year() > 9999 {
			return e, errAt(l.Pos, "datetime out of range")
		}
		e.t, e.sql = TDatetime, c.d.Timestamp(l.Time)
	case LitNull:
		e.t, e.sql = TNull, "NULL"
	}
	return e, nil
}

// maxSQL bounds the SQL text of one expression and of one query: inlined
// let bindings can double an expression at every step.
const maxSQL = 1 << 20

func (c *compiler) expr(x Expr, sc *scope) (cexpr, error) {
	e, err := c.expr1(x, sc)
	if err == nil && len(e.sql) > maxSQL {
		return e, errAt(x.exprPos(), "expression too large (more than %d bytes of SQL)", maxSQL)
	}
	return e, err
}

func (c *compiler) expr1(x Expr, sc *scope) (cexpr, error) {
	switch x := x.(type) {
	case *Literal:
		return c.lit(x)
	case *Ident:
		if x.Scope != "" {
			return cexpr{}, errAt(x.Pos, "%s.%s is only allowed in a join's on clause", x.Scope, x.Name)
		}
		if cl, ok := sc.lookup(x.Name); ok {
			s := cl.sql
			if s == "" {
				s = sc.qual + c.d.QuoteIdent(cl.name)
			}
			return cexpr{sql: s, t: cl.t, bare: true, raw: cl.raw}, nil
		}
		if v, ok := c.scalars[x.Name]; ok {
			return v, nil
		}
		names := make([]string, 0, len(sc.cols))
		for _, cl := range sc.cols {
			names = append(names, cl.name)
		}
		return cexpr{}, errAt(x.Pos, "unknown column or name '%s'%s", x.Name, didYouMean(x.Name, names))
	case *Unary:
		e, err := c.expr(x.X, sc)
		if err != nil {
			return e, err
		}
		if !e.t.numeric() && e.t != TTimespan {
			return e, errAt(x.Pos, "unary %s needs a number or timespan, found %s", x.Op, e.t)
		}
		if x.Op == "+" {
			return e, nil
		}
		if e.k != nil {
			nk := *e.k
			nk.Int, nk.Real, nk.Dur = -nk.Int, -nk.Real, -nk.Dur
			return c.lit(&nk)
		}
		if e.raw && e.t == TLong {
			e.sql = "CAST(" + e.sql + " AS " + c.d.SQLType(TLong) + ")"
		}
		e.sql = "(-" + e.sql + ")"
		e.k, e.raw = nil, false
		return e, nil
	case *Binary:
		return c.binary(x, sc)
	case *InList:
		return c.inList(x, sc)
	case *Between:
		return c.between(x, sc)
	case *Index:
		a, err := c.expr(x.X, sc)
		if err != nil {
			return a, err
		}
		i, err := c.expr(x.I, sc)
		if err != nil {
			return i, err
		}
		if a.t != TDynamic || i.t != TLong {
			return a, errAt(x.Pos, "indexing needs a dynamic array and an integer index, found %s[%s]", a.t, i.t)
		}
		s, err := c.d.Func("index", a.sql, c.indexArg(i))
		return cexpr{sql: s, t: TString, agg: a.agg || i.agg, bare: a.bare || i.bare}, err
	case *Call:
		return c.call(x, sc)
	case *Star:
		return cexpr{}, errAt(x.Pos, "'*' is only allowed as an argument of count or arg_max/arg_min")
	}
	return cexpr{}, errInternal
}

func merge(t Type, sql string, parts ...cexpr) cexpr {
	e := cexpr{sql: sql, t: t}
	for _, p := range parts {
		e.agg = e.agg || p.agg
		e.bare = e.bare || p.bare
	}
	return e
}

// asString converts an expression to text (addresses are formatted).
func (c *compiler) asString(e cexpr) (cexpr, error) {
	switch e.t {
	case TString, TNull:
		return e, nil
	case TIP:
		if e.k != nil {
			return e, nil
		}
		return merge(TString, c.d.FormatAddr(e.sql), e), nil
	}
	if e.k != nil && e.k.Kind == LitLong {
		return c.lit(&Literal{Kind: LitString, Str: strconv.FormatInt(e.k.Int, 10)})
	}
	s, err := c.d.Func("tostring", e.sql)
	return merge(TString, s, e), err
}

func comparable(a, b Type) bool {
	return a == b || a == TNull || b == TNull || (a.numeric() && b.numeric())
}

func unify(a, b Type) (Type, bool) {
	switch {
	case a == b:
		return a, true
	case a == TNull:
		return b, true
	case b == TNull:
		return a, true
	case a.numeric() && b.numeric():
		return TReal, true
	}
	return "", false
}

// addrLit turns a string literal into a 16-byte address literal.
func (c *compiler) addrLit(e cexpr, pos Pos) (cexpr, error) {
	if e.k.Str == "" {
		// "" is how an absent address prints, so it compares equal to one
		return cexpr{sql: c.d.Addr(flow.Addr{}), t: TIP}, nil
	}
	a, err := netip.ParseAddr(e.k.Str)
	if err != nil {
		return e, errAt(pos, "'%s' is not an IP address", e.k.Str)
	}
	return cexpr{sql: c.d.Addr(flow.AddrFromNetip(a)), t: TIP}, nil
}

// coercePair lines up the types of two comparison operands: string
// literals become addresses or datetimes next to such columns; an address
// next to other text is formatted. lpos and rpos locate the operands for
// error messages.
func (c *compiler) coercePair(l, r cexpr, lpos, rpos Pos) (cexpr, cexpr, error) {
	var err error
	fix := func(a, b cexpr, bpos Pos) (cexpr, cexpr, error) {
		if a.t == TIP && b.t == TString {
			if b.k != nil && b.k.Kind == LitString {
				b, err = c.addrLit(b, bpos)
				return a, b, err
			}
			a, err = c.asString(a)
			return a, b, err
		}
		if a.t == TDatetime && b.t == TString && b.k != nil && b.k.Kind == LitString {
			t, perr := parseDatetime(b.k.Str)
			if perr != nil {
				return a, b, errAt(bpos, "'%s' is not a datetime", b.k.Str)
			}
			b, err = c.lit(&Literal{Kind: LitDatetime, Time: t})
			return a, b, err
		}
		return a, b, nil
	}
	if l, r, err = fix(l, r, rpos); err != nil {
		return l, r, err
	}
	r, l, err = fix(r, l, lpos)
	return l, r, err
}

var cmpOps = map[string]string{"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func (c *compiler) binary(x *Binary, sc *scope) (cexpr, error) {
	l, err := c.expr(x.L, sc)
	if err != nil {
		return l, err
	}
	r, err := c.expr(x.R, sc)
	if err != nil {
		return r, err
	}
	op := x.Op
	switch op {
	case "and", "or":
		if (l.t != TBool && l.t != TNull) || (r.t != TBool && r.t != TNull) {
			return l, errAt(x.Pos, "'%s' needs boolean operands, found %s and %s", op, l.t, r.t)
		}
		return merge(TBool, "("+l.sql+" "+strings.ToUpper(op)+" "+r.sql+")", l, r), nil
	case "==", "!=", "<", "<=", ">", ">=":
		if l, r, err = c.coercePair(l, r, x.L.exprPos(), x.R.exprPos()); err != nil {
			return l, err
		}
		if !comparable(l.t, r.t) || l.t == TDynamic || r.t == TDynamic {
			return l, errAt(x.Pos, "cannot compare %s with %s", l.t, r.t)
		}
		return merge(TBool, "("+l.sql+" "+cmpOps[op]+" "+r.sql+")", l, r), nil
	case "=~", "!~":
		if l, r, err = c.coercePair(l, r, x.L.exprPos(), x.R.exprPos()); err != nil {
			return l, err
		}
		if l.t == TIP && r.t == TIP {
			return merge(TBool, "("+l.sql+" "+cmpOps[map[string]string{"=~": "==", "!~": "!="}[op]]+" "+r.sql+")", l, r), nil
		}
		if l, err = c.asString(l); err != nil {
			return l, err
		}
		if r, err = c.asString(r); err != nil {
			return r, err
		}
		ls, _ := c.d.Func("lower", l.sql)
		rs, _ := c.d.Func("lower", r.sql)
		cmp := " = "
		if op == "!~" {
			cmp = " <> "
		}
		return merge(TBool, "("+ls+cmp+rs+")", l, r), nil
	case "+", "-", "*", "/", "%":
		return c.arith(x, l, r)
	case "matches regex":
		if l, err = c.asString(l); err != nil {
			return l, err
		}
		if r.k == nil || r.k.Kind != LitString {
			return l, errAt(x.R.exprPos(), "matches regex needs a constant string pattern")
		}
		if _, rerr := regexp.Compile(r.k.Str); rerr != nil {
			return l, errAt(x.R.exprPos(), "invalid regular expression: %v", rerr)
		}
		s, err := c.d.Func("regex", l.sql, r.sql)
		return merge(TBool, s, l, r), err
	}
	neg := strings.HasPrefix(op, "!")
	base := strings.TrimPrefix(op, "!")
	if !stringOps[base] {
		return l, errAt(x.Pos, "unknown operator '%s'", op)
	}
	if l, err = c.asString(l); err != nil {
		return l, err
	}
	if r, err = c.asString(r); err != nil {
		return r, err
	}
	var s string
	switch base {
	case "has", "has_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs":
		// has looks for a whole term: the value bounded by non-alphanumerics.
		if r.k == nil || r.k.Kind != LitString {
			return l, errAt(x.R.exprPos(), "%s needs a constant string on its right", base)
		}
		pat := regexp.QuoteMeta(r.k.Str)
		if !strings.HasPrefix(base, "hassuffix") {
			pat = "(^|[^[:alnum:]])" + pat
		}
		if !strings.HasPrefix(base, "hasprefix") {
			pat += "($|[^[:alnum:]])"
		}
		if !strings.HasSuffix(base, "_cs") {
			pat = "(?i)" + pat
		}
		s, err = c.d.Func("regex", l.sql, c.d.QuoteString(pat))
	default:
		s, err = c.d.Func(base, l.sql, r.sql)
	}
	if err != nil {
		return l, err
	}
	if neg {
		s = "(NOT " + s + ")"
	}
	return merge(TBool, s, l, r), nil
}

func (c *compiler) arith(x *Binary, l, r cexpr) (cexpr, error) {
	op := x.Op
	// constant folding keeps time windows literal for the engine's pruning
	if l.k != nil && r.k != nil {
		if k, ok := foldArith(op, l.k, r.k); ok {
			k.Pos = x.Pos
			return c.lit(k)
		}
	}
	long := func(e cexpr) string {
		if !e.raw {
			return e.sql
		}
		// storage columns are unsigned and narrow; KQL arithmetic is on
		// signed 64-bit values (no overflow on a - b or a + b)
		return "CAST(" + e.sql + " AS " + c.d.SQLType(TLong) + ")"
	}
	sqlOp := op
	switch {
	case l.t.numeric() && r.t.numeric():
		if l.t == TLong && r.t == TLong {
			if op == "/" {
				s, err := c.d.Func("intdiv", long(l), long(r))
				return merge(TLong, s, l, r), err
			}
			return merge(TLong, "("+long(l)+" "+sqlOp+" "+long(r)+")", l, r), nil
		}
		ls, rs := l.sql, r.sql
		if l.t == TLong {
			ls = long(l)
		}
		if r.t == TLong {
			rs = long(r)
		}
		return merge(TReal, "("+ls+" "+sqlOp+" "+rs+")", l, r), nil
	case l.t == TDatetime && r.t == TTimespan && (op == "+" || op == "-"):
		return merge(TDatetime, "("+l.sql+" "+op+" "+r.sql+")", l, r), nil
	case l.t == TTimespan && r.t == TDatetime && op == "+":
		return merge(TDatetime, "("+r.sql+" + "+l.sql+")", l, r), nil
	case l.t == TDatetime && r.t == TDatetime && op == "-":
		s, err := c.d.Func("dt_diff", l.sql, r.sql)
		return merge(TTimespan, s, l, r), err
	case l.t == TTimespan && r.t == TTimespan && (op == "+" || op == "-"):
		return merge(TTimespan, "("+l.sql+" "+op+" "+r.sql+")", l, r), nil
	case l.t == TTimespan && r.t == TTimespan && op == "/":
		a, err1 := c.d.Func("timespan_seconds", l.sql)
		b, err2 := c.d.Func("timespan_seconds", r.sql)
		if err1 != nil || err2 != nil {
			return l, errAt(x.Pos, "timespan division is not supported by %s", c.d.Name())
		}
		return merge(TReal, "("+a+" / "+b+")", l, r), nil
	case l.t == TTimespan && r.t.numeric() && (op == "*" || op == "/"):
		return merge(TTimespan, "("+l.sql+" "+op+" "+r.sql+")", l, r), nil
	case l.t.numeric() && r.t == TTimespan && op == "*":
		return merge(TTimespan, "("+r.sql+" * "+l.sql+")", l, r), nil
	}
	return l, errAt(x.Pos, "operator '%s' cannot combine %s and %s", op, l.t, r.t)
}

func foldArith(op string, a, b *Literal) (*Literal, bool) {
	switch {
	case a.Kind == LitLong && b.Kind == LitLong:
		switch op {
		case "+":
			return &Literal{Kind: LitLong, Int: a.Int + b.Int}, true
		case "-":
			return &Literal{Kind: LitLong, Int: a.Int - b.Int}, true
		case "*":
			return &Literal{Kind: LitLong, Int: a.Int * b.Int}, true
		}
	case a.Kind == LitDatetime && b.Kind == LitTimespan && op == "+":
		return &Literal{Kind: LitDatetime, Time: a.Time.Add(b.Dur)}, true
	case a.Kind == LitDatetime && b.Kind == LitTimespan && op == "-":
		return &Literal{Kind: LitDatetime, Time: a.Time.Add(-b.Dur)}, true
	case a.Kind == LitTimespan && b.Kind == LitTimespan && op == "+":
		return &Literal{Kind: LitTimespan, Dur: a.Dur + b.Dur}, true
	case a.Kind == LitTimespan && b.Kind == LitTimespan && op == "-":
		return &Literal{Kind: LitTimespan, Dur: a.Dur - b.Dur}, true
	case a.Kind == LitTimespan && b.Kind == LitLong && op == "*":
		return &Literal{Kind: LitTimespan, Dur: a.Dur * time.Duration(b.Int)}, true
	case a.Kind == LitLong && b.Kind == LitTimespan && op == "*":
		return &Literal{Kind: LitTimespan, Dur: b.Dur * time.Duration(a.Int)}, true
	}
	return nil, false
}

func (c *compiler) inList(x *InList, sc *scope) (cexpr, error) {
	e, err := c.expr(x.X, sc)
	if err != nil {
		return e, err
	}
	ci := strings.HasSuffix(x.Op, "~")
	neg := strings.HasPrefix(x.Op, "!")
	if ci {
		if e, err = c.asString(e); err != nil {
			return e, err
		}
		s, _ := c.d.Func("lower", e.sql)
		e = merge(TString, s, e)
	}
	items := make([]string, len(x.List))
	parts := []cexpr{e}
	for i, it := range x.List {
		v, err := c.expr(it, sc)
		if err != nil {
			return v, err
		}
		if e.t == TIP && v.t == TString {
			if v.k == nil || v.k.Kind != LitString {
				return v, errAt(it.exprPos(), "a list of addresses needs constant strings")
			}
			if v, err = c.addrLit(v, it.exprPos()); err != nil {
				return v, err
			}
		} else if e.t == TDatetime && v.t == TString && v.k != nil {
			_, v, err = c.coercePair(e, v, x.X.exprPos(), it.exprPos())
			if err != nil {
				return v, err
			}
		}
		if ci {
			if v, err = c.asString(v); err != nil {
				return v, err
			}
			if v.k != nil && v.k.Kind == LitString {
				v, _ = c.lit(&Literal{Kind: LitString, Str: strings.ToLower(v.k.Str)})
			} else {
				s, _ := c.d.Func("lower", v.sql)
				v = merge(TString, s, v)
			}
		}
		if !comparable(e.t, v.t) {
			return v, errAt(it.exprPos(), "'%s' list mixes %s with %s", x.Op, e.t, v.t)
		}
		items[i] = v.sql
		parts = append(parts, v)
	}
	kw := " IN ("
	if neg {
		kw = " NOT IN ("
	}
	return merge(TBool, "("+e.sql+kw+strings.Join(items, ", ")+"))", parts...), nil
}

func (c *compiler) between(x *Between, sc *scope) (cexpr, error) {
	e, err := c.expr(x.X, sc)
	if err != nil {
		return e, err
	}
	lo, err := c.expr(x.Lo, sc)
	if err != nil {
		return lo, err
	}
	hi, err := c.expr(x.Hi, sc)
	if err != nil {
		return hi, err
	}
	if e, lo, err = c.coercePair(e, lo, x.X.exprPos(), x.Lo.exprPos()); err != nil {
		return e, err
	}
	if e, hi, err = c.coercePair(e, hi, x.X.exprPos(), x.Hi.exprPos()); err != nil {
		return e, err
	}
	if !comparable(e.t, lo.t) || !comparable(e.t, hi.t) {
		return e, errAt(x.Pos, "between needs bounds of the same type as the value (%s), found %s and %s", e.t, lo.t, hi.t)
	}
	kw := " BETWEEN "
	if x.Not {
		kw = " NOT BETWEEN "
	}
	return merge(TBool, "("+e.sql+kw+lo.sql+" AND "+hi.sql+")", e, lo, hi), nil
}

// indexArg is the 0-based index passed to the dialect's "index", which adds
// one; Kusto's negative indexes count from the end, as SQL's do, so they
// are shifted to come out unchanged.
func (c *compiler) indexArg(i cexpr) string {
	if i.k != nil && i.k.Kind == LitLong && i.k.Int < 0 {
		return "(" + strconv.FormatInt(i.k.Int-1, 10) + ")"
	}
	return i.sql
}

// defaultName is the column name KQL gives an unnamed expression: the
// column itself, or the column a bin()/floor()/startof*() call rounds.
func defaultName(x Expr) string {
	switch x := x.(type) {
	case *Ident:
		if x.Scope == "" {
			return x.Name
		}
	case *Call:
		switch x.Name {
		case "bin", "floor", "startofday", "startofweek", "startofmonth", "startofyear", "bin_at":
			if len(x.Args) > 0 {
				return defaultName(x.Args[0])
			}
		}
	}
	return ""
}
