package kql

import (
	"strings"
)

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
		cols, err := commaList(p, func() (*Ident, *Error) {
			id, err := p.ident("a column name")
			if err != nil {
				return nil, err
			}
			return &Ident{Pos: id.pos, Name: id.text}, nil
		})
		if err != nil {
			return nil, err
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
		keys, err := commaList(p, p.sortKey)
		if err != nil {
			return nil, err
		}
		return &Sort{Pos: pos, Keys: keys}, nil
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
