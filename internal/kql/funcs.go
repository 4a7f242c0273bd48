package kql

import (
	"fmt"
	"strconv"
	"strings"
)

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

// typedArgs is args with every argument checked to be one of types.
func (c *compiler) typedArgs(x *Call, sc *scope, min, max int, types ...Type) ([]cexpr, error) {
	a, err := c.args(x, sc, min, max)
	if err != nil {
		return nil, err
	}
	for i := range a {
		if err := need(x, i, a[i], types...); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// stringArgs is args with every argument converted to a string.
func (c *compiler) stringArgs(x *Call, sc *scope, min, max int) ([]cexpr, error) {
	a, err := c.args(x, sc, min, max)
	if err != nil {
		return nil, err
	}
	for i := range a {
		if a[i], err = c.asString(a[i]); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// castLong casts an integer function's result to the dialect's long type
// (engines return narrower or wider integers).
func (c *compiler) castLong(e cexpr, err error) (cexpr, error) {
	e.sql = "CAST(" + e.sql + " AS " + c.d.SQLType(TLong) + ")"
	return e, err
}

// scalarFamily is a group of scalar functions compiled by one method; each
// family lives in its own funcs_<family>.go.
type scalarFamily struct {
	names   []string
	compile func(*compiler, *Call, *scope) (cexpr, error)
}

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
