package kql

import (
	"strconv"
	"strings"
)

// aggregations lists the aggregation functions (summarize only).
var aggregations = map[string]bool{
	"count": true, "countif": true, "sum": true, "sumif": true, "avg": true, "min": true, "max": true,
	"dcount": true, "percentile": true, "percentiles": true, "make_set": true, "make_list": true,
	"arg_max": true, "arg_min": true, "any": true, "take_any": true,
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
