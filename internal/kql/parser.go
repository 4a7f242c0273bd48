package kql

import (
	"strings"
)

// maxDepth bounds expression and sub-query nesting so that hostile input
// cannot exhaust the stack.
const maxDepth = 64

// maxOps bounds the binary operators of one operator or let statement: the
// compiled SQL of a long chain grows with each operator, so the work is
// quadratic in its length.
const maxOps = 1000

type parser struct {
	toks  []token
	i     int
	depth int
	ops   int // binary operators in the current operator or let statement
}

// op counts one binary operator of the current expression.
func (p *parser) op(pos Pos) *Error {
	p.ops++
	if p.ops > maxOps {
		return errAt(pos, "expression has too many operators (more than %d)", maxOps)
	}
	return nil
}

// Parse parses a query into its syntax tree.
func Parse(src string) (*Query, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, perr := p.query()
	if perr != nil {
		return nil, perr
	}
	return q, nil
}

func (p *parser) tok() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) adv() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) isOp(s string) bool {
	t := p.tok()
	return t.kind == tOp && t.text == s
}

func (p *parser) isWord(s string) bool {
	t := p.tok()
	return t.kind == tIdent && t.text == s
}

func (p *parser) expected(what string) *Error {
	t := p.tok()
	return errAt(t.pos, "expected %s, found %s", what, t.describe())
}

func (p *parser) expectOp(s string) (token, *Error) {
	if !p.isOp(s) {
		return token{}, p.expected("'" + s + "'")
	}
	return p.adv(), nil
}

func (p *parser) expectWord(s string) *Error {
	if !p.isWord(s) {
		return p.expected("'" + s + "'")
	}
	p.adv()
	return nil
}

func (p *parser) ident(what string) (token, *Error) {
	t := p.tok()
	if t.kind != tIdent {
		return t, p.expected(what)
	}
	return p.adv(), nil
}

func (p *parser) enter() *Error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(p.tok().pos, "query nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}
func (p *parser) leave() { p.depth-- }

func (p *parser) query() (*Query, *Error) {
	q := &Query{}
	for p.isWord("let") {
		l, err := p.let()
		if err != nil {
			return nil, err
		}
		q.Lets = append(q.Lets, l)
		if _, err := p.expectOp(";"); err != nil {
			return nil, err
		}
	}
	if p.tok().kind == tEOF {
		return nil, p.expected("a table name or tabular expression")
	}
	body, err := p.pipeline()
	if err != nil {
		return nil, err
	}
	q.Body = body
	for p.isOp(";") {
		p.adv()
	}
	if p.tok().kind != tEOF {
		return nil, p.expected("'|' or end of query")
	}
	return q, nil
}

func (p *parser) let() (*Let, *Error) {
	p.ops = 0
	start := p.adv().pos
	name, err := p.ident("a name after 'let'")
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp("="); err != nil {
		return nil, err
	}
	l := &Let{Pos: start, Name: name.text}
	t, next := p.tok(), p.peekN(1)
	tabular := t.kind == tIdent && t.text != "true" && t.text != "false" && t.text != "null" &&
		(next.kind == tEOF || (next.kind == tOp && (next.text == "|" || next.text == ";")))
	if t.kind == tIdent && t.text == "union" {
		tabular = true
	}
	if t.kind == tOp && t.text == "(" && p.parenHasPipe() {
		tabular = true
	}
	if tabular {
		l.Tabular, err = p.pipeline()
	} else {
		l.Scalar, err = p.expr()
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// parenHasPipe reports whether the parenthesised group at the cursor holds a
// top-level pipe, i.e. is a tabular sub-query rather than a scalar.
func (p *parser) parenHasPipe() bool {
	depth := 0
	for j := p.i; j < len(p.toks); j++ {
		t := p.toks[j]
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return false
			}
		case "|":
			if depth == 1 {
				return true
			}
		}
	}
	return false
}

func (p *parser) pipeline() (*Pipeline, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	pl := &Pipeline{Pos: p.tok().pos}
	src, err := p.source()
	if err != nil {
		return nil, err
	}
	pl.Source = src
	for p.isOp("|") {
		p.adv()
		op, err := p.operator()
		if err != nil {
			return nil, err
		}
		pl.Ops = append(pl.Ops, op)
	}
	return pl, nil
}

func (p *parser) source() (Source, *Error) {
	t := p.tok()
	switch {
	case t.kind == tOp && t.text == "(":
		p.adv()
		sub, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &SubPipeline{Pos: t.pos, Pipe: sub}, nil
	case t.kind == tIdent && t.text == "union":
		p.adv()
		tables, err := p.unionTables()
		if err != nil {
			return nil, err
		}
		return &UnionSource{Pos: t.pos, Tables: tables}, nil
	case t.kind == tIdent:
		p.adv()
		return &TableRef{Pos: t.pos, Name: t.text}, nil
	}
	return nil, p.expected("a table name")
}

// tableArg parses a table name or a parenthesised sub-query.
func (p *parser) tableArg() (*Pipeline, *Error) {
	t := p.tok()
	if t.kind == tOp && t.text == "(" {
		p.adv()
		sub, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return sub, nil
	}
	if t.kind == tIdent {
		p.adv()
		return &Pipeline{Pos: t.pos, Source: &TableRef{Pos: t.pos, Name: t.text}}, nil
	}
	return nil, p.expected("a table name or '(' sub-query ')'")
}

func (p *parser) unionTables() ([]*Pipeline, *Error) {
	// optional parameters: kind=outer|inner is accepted only as outer
	if p.isWord("kind") && p.peekN(1).kind == tOp && p.peekN(1).text == "=" {
		p.adv()
		p.adv()
		k, err := p.ident("union kind")
		if err != nil {
			return nil, err
		}
		if k.text != "outer" {
			return nil, errAt(k.pos, "union kind=%s is not supported (expected outer)", k.text)
		}
	}
	var out []*Pipeline
	for {
		tp, err := p.tableArg()
		if err != nil {
			return nil, err
		}
		out = append(out, tp)
		if !p.isOp(",") {
			return out, nil
		}
		p.adv()
	}
}

var operatorNames = "where, project, project-away, project-keep, project-rename, extend, summarize, top, sort, order, take, limit, distinct, count, join, union, as, getschema, render"

func (p *parser) operator() (Operator, *Error) {
	p.ops = 0
	t := p.tok()
	if t.kind != tIdent {
		return nil, p.expected("an operator (" + operatorNames + ")")
	}
	pos := t.pos
	switch t.text {
	case "where", "filter":
		p.adv()
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &Where{Pos: pos, Pred: e}, nil
	case "project":
		p.adv()
		items, err := p.namedList(false)
		if err != nil {
			return nil, err
		}
		return &Project{Pos: pos, Items: items}, nil
	case "extend":
		p.adv()
		items, err := p.namedList(false)
		if err != nil {
			return nil, err
		}
		return &Extend{Pos: pos, Items: items}, nil
	case "project-away", "project-keep":
		p.adv()
		var cols []*Ident
		for {
			id, err := p.ident("a column name")
			if err != nil {
				return nil, err
			}
			cols = append(cols, &Ident{Pos: id.pos, Name: id.text})
			if !p.isOp(",") {
				break
			}
			p.adv()
		}
		if t.text == "project-away" {
			return &ProjectAway{Pos: pos, Cols: cols}, nil
		}
		return &ProjectKeep{Pos: pos, Cols: cols}, nil
	case "project-rename":
		p.adv()
		op := &ProjectRename{Pos: pos}
		for {
			n, err := p.ident("a new column name")
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp("="); err != nil {
				return nil, err
			}
			o, err := p.ident("an existing column name")
			if err != nil {
				return nil, err
			}
			op.Pairs = append(op.Pairs, RenamePair{New: n.text, Old: &Ident{Pos: o.pos, Name: o.text}})
			if !p.isOp(",") {
				break
			}
			p.adv()
		}
		return op, nil
	case "summarize":
		p.adv()
		op := &Summarize{Pos: pos}
		if !p.isWord("by") {
			aggs, err := p.namedList(false)
			if err != nil {
				return nil, err
			}
			op.Aggs = aggs
		}
		if p.isWord("by") {
			p.adv()
			by, err := p.namedList(false)
			if err != nil {
				return nil, err
			}
			op.By = by
		}
		if len(op.Aggs) == 0 && len(op.By) == 0 {
			return nil, p.expected("an aggregation or 'by'")
		}
		return op, nil
	case "top":
		p.adv()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("by"); err != nil {
			return nil, err
		}
		k, err := p.sortKey()
		if err != nil {
			return nil, err
		}
		return &Top{Pos: pos, N: n, Key: k}, nil
	case "sort", "order":
		p.adv()
		if err := p.expectWord("by"); err != nil {
			return nil, err
		}
		op := &Sort{Pos: pos}
		for {
			k, err := p.sortKey()
			if err != nil {
				return nil, err
			}
			op.Keys = append(op.Keys, k)
			if !p.isOp(",") {
				break
			}
			p.adv()
		}
		return op, nil
	case "take", "limit":
		p.adv()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &Take{Pos: pos, N: n}, nil
	case "distinct":
		p.adv()
		if p.isOp("*") {
			p.adv()
			return &Distinct{Pos: pos}, nil
		}
		items, err := p.namedList(false)
		if err != nil {
			return nil, err
		}
		return &Distinct{Pos: pos, Items: items}, nil
	case "count":
		p.adv()
		return &Count{Pos: pos}, nil
	case "getschema":
		p.adv()
		return &GetSchema{Pos: pos}, nil
	case "join":
		return p.join()
	case "union":
		p.adv()
		tables, err := p.unionTables()
		if err != nil {
			return nil, err
		}
		return &Union{Pos: pos, Tables: tables}, nil
	case "as":
		p.adv()
		n, err := p.ident("a name after 'as'")
		if err != nil {
			return nil, err
		}
		return &As{Pos: pos, Name: n.text}, nil
	case "render":
		return p.render()
	}
	return nil, errAt(pos, "unknown operator '%s' (expected one of %s)", t.text, operatorNames)
}

func (p *parser) sortKey() (SortKey, *Error) {
	e, err := p.expr()
	if err != nil {
		return SortKey{}, err
	}
	k := SortKey{Expr: e}
	if p.isWord("asc") {
		p.adv()
		k.Asc = true
	} else if p.isWord("desc") {
		p.adv()
	}
	// KQL default: nulls last when descending, first when ascending.
	k.NullsFirst = k.Asc
	if p.isWord("nulls") {
		p.adv()
		switch {
		case p.isWord("first"):
			k.NullsFirst = true
		case p.isWord("last"):
			k.NullsFirst = false
		default:
			return k, p.expected("'first' or 'last'")
		}
		p.adv()
	}
	return k, nil
}

func (p *parser) join() (Operator, *Error) {
	pos := p.adv().pos
	op := &Join{Pos: pos}
	for p.tok().kind == tIdent && p.peekN(1).kind == tOp && p.peekN(1).text == "=" {
		key := p.adv()
		p.adv()
		val, err := p.ident("a join parameter value")
		if err != nil {
			return nil, err
		}
		if key.text != "kind" {
			if strings.HasPrefix(key.text, "hint") {
				continue
			}
			return nil, errAt(key.pos, "unknown join parameter '%s' (expected kind=...)", key.text)
		}
		switch val.text {
		case "inner", "innerunique", "leftouter", "rightouter", "fullouter", "leftsemi", "leftanti", "leftantisemi", "rightsemi", "rightanti":
			op.Kind = val.text
		default:
			return nil, errAt(val.pos, "unknown join kind '%s' (expected inner, leftouter, rightouter, fullouter, leftsemi or leftanti)", val.text)
		}
	}
	right, err := p.tableArg()
	if err != nil {
		return nil, err
	}
	op.Right = right
	if err := p.expectWord("on"); err != nil {
		return nil, err
	}
	for {
		c, err := p.joinCond()
		if err != nil {
			return nil, err
		}
		op.On = append(op.On, c)
		if !p.isOp(",") && !p.isWord("and") {
			break
		}
		p.adv()
	}
	return op, nil
}

func (p *parser) joinCond() (JoinCond, *Error) {
	t := p.tok()
	side := func() (string, string, *Error) {
		id, err := p.ident("a column or $left./$right. name")
		if err != nil {
			return "", "", err
		}
		if id.text == "$left" || id.text == "$right" {
			if _, err := p.expectOp("."); err != nil {
				return "", "", err
			}
			c, err := p.ident("a column name")
			if err != nil {
				return "", "", err
			}
			return id.text, c.text, nil
		}
		return "", id.text, nil
	}
	s1, c1, err := side()
	if err != nil {
		return JoinCond{}, err
	}
	if s1 == "" {
		return JoinCond{Pos: t.pos, Left: c1, Right: c1}, nil
	}
	if _, err := p.expectOp("=="); err != nil {
		return JoinCond{}, err
	}
	s2, c2, err := side()
	if err != nil {
		return JoinCond{}, err
	}
	if s2 == "" || s2 == s1 {
		return JoinCond{}, errAt(t.pos, "join condition must compare $left.column with $right.column")
	}
	if s1 == "$right" {
		c1, c2 = c2, c1
	}
	return JoinCond{Pos: t.pos, Left: c1, Right: c2}, nil
}

func (p *parser) render() (Operator, *Error) {
	pos := p.adv().pos
	k, err := p.ident("a chart kind (timechart, columnchart, barchart, piechart, table, ...)")
	if err != nil {
		return nil, err
	}
	op := &RenderOp{Pos: pos, Kind: k.text}
	if !p.isWord("with") {
		return op, nil
	}
	p.adv()
	if _, err := p.expectOp("("); err != nil {
		return nil, err
	}
	op.Options = map[string]string{}
	for !p.isOp(")") {
		key, err := p.ident("a render option name")
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp("="); err != nil {
			return nil, err
		}
		var vals []string
		for {
			v := p.tok()
			switch v.kind {
			case tIdent, tString, tInt, tReal:
				vals = append(vals, v.text)
				p.adv()
			default:
				return nil, p.expected("a render option value")
			}
			// ycolumns=a, b: a value list continues while the next token is
			// not itself "name =".
			if p.isOp(",") && !(p.peekN(2).kind == tOp && p.peekN(2).text == "=") && p.peekN(1).kind != tEOF {
				p.adv()
				continue
			}
			break
		}
		op.Options[key.text] = strings.Join(vals, ",")
		if p.isOp(",") {
			p.adv()
			continue
		}
		if !p.isOp(")") {
			return nil, p.expected("',' or ')'")
		}
	}
	p.adv()
	return op, nil
}

// namedList parses "name = expr, expr, ...".
func (p *parser) namedList(_ bool) ([]NamedExpr, *Error) {
	var out []NamedExpr
	for {
		ne := NamedExpr{Pos: p.tok().pos}
		t, next := p.tok(), p.peekN(1)
		if t.kind == tIdent && next.kind == tOp && next.text == "=" {
			ne.Name = t.text
			p.adv()
			p.adv()
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		ne.Expr = e
		out = append(out, ne)
		if !p.isOp(",") {
			return out, nil
		}
		p.adv()
	}
}

// Expressions, lowest precedence first.

func (p *parser) expr() (Expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.orExpr()
}

func (p *parser) orExpr() (Expr, *Error) {
	return p.leftAssoc(p.andExpr, func() bool { return p.isWord("or") })
}

// leftAssoc parses one left-associative precedence level: operands parsed
// by next, joined by the operators at reports.
func (p *parser) leftAssoc(next func() (Expr, *Error), at func() bool) (Expr, *Error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for at() {
		t := p.adv()
		if err := p.op(t.pos); err != nil {
			return nil, err
		}
		r, err := next()
		if err != nil {
			return nil, err
		}
		l = &Binary{Pos: t.pos, Op: t.text, L: l, R: r}
	}
	return l, nil
}

func (p *parser) andExpr() (Expr, *Error) {
	return p.leftAssoc(p.cmpExpr, func() bool { return p.isWord("and") })
}

// stringOps are the word operators between two string expressions.
var stringOps = map[string]bool{
	"contains": true, "contains_cs": true, "has": true, "has_cs": true,
	"startswith": true, "startswith_cs": true, "endswith": true, "endswith_cs": true,
	"hasprefix": true, "hassuffix": true, "hasprefix_cs": true, "hassuffix_cs": true,
	"like": false,
}

func (p *parser) cmpExpr() (Expr, *Error) {
	l, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	for {
		t := p.tok()
		var op string
		switch {
		case t.kind == tOp:
			switch t.text {
			case "==", "!=", "<>", "<", "<=", ">", ">=", "=~", "!~":
				op = t.text
			case "in~", "!in", "!in~":
				return p.inList(l)
			case "!between":
				return p.between(l)
			default:
				if strings.HasPrefix(t.text, "!") && stringOps[t.text[1:]] {
					op = t.text
				} else if strings.HasPrefix(t.text, "!") {
					return nil, errAt(t.pos, "unknown operator '%s'", t.text)
				}
			}
		case t.kind == tIdent:
			switch {
			case t.text == "in":
				return p.inList(l)
			case t.text == "between":
				return p.between(l)
			case stringOps[t.text]:
				op = t.text
			case t.text == "matches":
				p.adv()
				if !p.isWord("regex") {
					return nil, p.expected("'regex' after 'matches'")
				}
				op = "matches regex"
			}
		}
		if op == "" {
			return l, nil
		}
		if err := p.op(t.pos); err != nil {
			return nil, err
		}
		p.adv()
		r, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		if op == "<>" {
			op = "!="
		}
		l = &Binary{Pos: t.pos, Op: op, L: l, R: r}
	}
}

func (p *parser) inList(x Expr) (Expr, *Error) {
	t := p.adv()
	if _, err := p.expectOp("("); err != nil {
		return nil, err
	}
	in := &InList{Pos: t.pos, Op: t.text, X: x}
	if p.isOp(")") {
		return nil, p.expected("a value")
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		in.List = append(in.List, e)
		if !p.isOp(",") {
			break
		}
		p.adv()
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return in, nil
}

func (p *parser) between(x Expr) (Expr, *Error) {
	t := p.adv()
	if _, err := p.expectOp("("); err != nil {
		return nil, err
	}
	lo, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp(".."); err != nil {
		return nil, err
	}
	hi, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return &Between{Pos: t.pos, Not: t.text == "!between", X: x, Lo: lo, Hi: hi}, nil
}

func (p *parser) addExpr() (Expr, *Error) {
	return p.leftAssoc(p.mulExpr, func() bool { return p.isOp("+") || p.isOp("-") })
}

func (p *parser) mulExpr() (Expr, *Error) {
	return p.leftAssoc(p.unary, func() bool { return p.isOp("*") || p.isOp("/") || p.isOp("%") })
}

func (p *parser) unary() (Expr, *Error) {
	if p.isOp("-") || p.isOp("+") {
		t := p.adv()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Unary{Pos: t.pos, Op: t.text, X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Expr, *Error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.isOp("[") {
		t := p.adv()
		i, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp("]"); err != nil {
			return nil, err
		}
		x = &Index{Pos: t.pos, X: x, I: i}
	}
	return x, nil
}

func (p *parser) primary() (Expr, *Error) {
	t := p.tok()
	switch t.kind {
	case tString:
		p.adv()
		return &Literal{Pos: t.pos, Kind: LitString, Str: t.text}, nil
	case tInt:
		p.adv()
		return &Literal{Pos: t.pos, Kind: LitLong, Int: t.i}, nil
	case tReal:
		p.adv()
		return &Literal{Pos: t.pos, Kind: LitReal, Real: t.f}, nil
	case tTimespan:
		p.adv()
		return &Literal{Pos: t.pos, Kind: LitTimespan, Dur: t.d}, nil
	case tDatetime:
		p.adv()
		return &Literal{Pos: t.pos, Kind: LitDatetime, Time: t.t}, nil
	case tIdent:
		p.adv()
		switch t.text {
		case "true", "false":
			return &Literal{Pos: t.pos, Kind: LitBool, Bool: t.text == "true"}, nil
		case "null":
			return &Literal{Pos: t.pos, Kind: LitNull}, nil
		}
		if t.text == "$left" || t.text == "$right" {
			if _, err := p.expectOp("."); err != nil {
				return nil, err
			}
			c, err := p.ident("a column name")
			if err != nil {
				return nil, err
			}
			return &Ident{Pos: t.pos, Name: c.text, Scope: t.text}, nil
		}
		if p.isOp("(") {
			return p.call(t)
		}
		return &Ident{Pos: t.pos, Name: t.text}, nil
	case tOp:
		if t.text == "(" {
			p.adv()
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
	}
	return nil, p.expected("an expression")
}

func (p *parser) call(name token) (Expr, *Error) {
	p.adv() // (
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	c := &Call{Pos: name.pos, Name: name.text}
	if p.isOp(")") {
		p.adv()
		return c, nil
	}
	for {
		if p.isOp("*") && (p.peekN(1).kind == tOp && (p.peekN(1).text == ")" || p.peekN(1).text == ",")) {
			c.Args = append(c.Args, &Star{Pos: p.adv().pos})
		} else {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, e)
		}
		if !p.isOp(",") {
			break
		}
		p.adv()
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return c, nil
}
