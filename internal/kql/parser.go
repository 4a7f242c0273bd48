package kql

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
	return commaList(p, p.tableArg)
}

// commaList parses one or more items separated by commas.
func commaList[T any](p *parser, item func() (T, *Error)) ([]T, *Error) {
	var out []T
	for {
		v, err := item()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if !p.isOp(",") {
			return out, nil
		}
		p.adv()
	}
}
