package kql

var mathFuncs = []string{"round", "abs", "ceiling", "sqrt", "log", "log10", "exp", "pow"}

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
		a, err := c.typedArgs(x, sc, 1, 1, TLong, TReal)
		if err != nil {
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
		a, err := c.typedArgs(x, sc, 2, 2, TLong, TReal)
		if err != nil {
			return cexpr{}, err
		}
		return merge(TReal, "pow("+a[0].sql+", "+a[1].sql+")", a...), nil
	}
	return cexpr{}, c.unknownFunc(x)
}
