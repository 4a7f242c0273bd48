package kql

import (
	"strings"
)

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
	list, err := commaList(p, p.expr)
	if err != nil {
		return nil, err
	}
	in.List = list
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
	args, err := commaList(p, func() (Expr, *Error) {
		if p.isOp("*") && (p.peekN(1).kind == tOp && (p.peekN(1).text == ")" || p.peekN(1).text == ",")) {
			return &Star{Pos: p.adv().pos}, nil
		}
		return p.expr()
	})
	if err != nil {
		return nil, err
	}
	c.Args = args
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	return c, nil
}
