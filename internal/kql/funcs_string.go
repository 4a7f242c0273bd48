package kql

import (
	"strconv"
	"strings"
)

var stringFuncs = []string{"strcat", "tostring", "toint", "tolong", "toreal", "todouble", "tolower", "toupper", "strlen", "substring", "replace_string", "split", "array_length"}

// stringCall compiles the string, conversion and array functions.
func (c *compiler) stringCall(x *Call, sc *scope) (cexpr, error) {
	switch x.Name {
	case "strcat", "replace_string":
		min, max, name := 1, 64, "concat"
		if x.Name == "replace_string" {
			min, max, name = 3, 3, "replace"
		}
		a, err := c.stringArgs(x, sc, min, max)
		if err != nil {
			return cexpr{}, err
		}
		return c.fn(TString, name, a...)
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
		a, err := c.stringArgs(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		return c.fn(TString, strings.TrimPrefix(x.Name, "to"), a[0])
	case "strlen":
		a, err := c.stringArgs(x, sc, 1, 1)
		if err != nil {
			return cexpr{}, err
		}
		return c.castLong(c.fn(TLong, "strlen", a[0]))
	case "substring":
		a, err := c.subjectArgs(x, sc, 2, 3)
		if err != nil {
			return cexpr{}, err
		}
		s := a[0]
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
	case "split":
		a, err := c.subjectArgs(x, sc, 2, 3)
		if err != nil {
			return cexpr{}, err
		}
		s := a[0]
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
		a, err := c.typedArgs(x, sc, 1, 1, TDynamic)
		if err != nil {
			return cexpr{}, err
		}
		return c.castLong(c.fn(TLong, "array_length", a[0]))
	}
	return cexpr{}, c.unknownFunc(x)
}

// subjectArgs is args with the first argument, the string operated on,
// converted to a string.
func (c *compiler) subjectArgs(x *Call, sc *scope, min, max int) ([]cexpr, error) {
	a, err := c.args(x, sc, min, max)
	if err != nil {
		return nil, err
	}
	a[0], err = c.asString(a[0])
	return a, err
}
