package kql

import (
	"strings"

	"github.com/flowlake/flowlake/internal/flow"
)

var logicFuncs = []string{"iff", "iif", "case", "coalesce", "max_of", "min_of", "isempty", "isnotempty", "isnull", "isnotnull", "not"}

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
		a, err := c.typedArgs(x, sc, 1, 1, TBool)
		if err != nil {
			return cexpr{}, err
		}
		return merge(TBool, "(NOT "+a[0].sql+")", a[0]), nil
	}
	return cexpr{}, c.unknownFunc(x)
}
