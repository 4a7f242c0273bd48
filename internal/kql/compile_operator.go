package kql

import (
	"fmt"
	"strconv"
	"strings"
)

func (c *compiler) operator(r *rel, op Operator) (*rel, error) {
	switch op := op.(type) {
	case *Where:
		e, err := c.expr(op.Pred, c.scopeOf(r))
		if err != nil {
			return nil, err
		}
		if e.t != TBool && e.t != TNull {
			return nil, errAt(op.Pred.exprPos(), "where needs a boolean condition, found a %s expression", e.t)
		}
		return c.stage("SELECT * FROM "+c.from(r, r.name)+" WHERE "+e.sql, r.cols, r.order), nil
	case *Project:
		return c.project(r, op.Items, false)
	case *Extend:
		return c.project(r, op.Items, true)
	case *ProjectAway:
		drop := map[string]bool{}
		for _, id := range op.Cols {
			if _, ok := r.col(id.Name); !ok {
				return nil, c.unknownColumn(id, r.cols)
			}
			drop[id.Name] = true
		}
		var keep []col
		for _, cl := range r.cols {
			if !drop[cl.name] {
				keep = append(keep, cl)
			}
		}
		if len(keep) == 0 {
			return nil, errAt(op.Pos, "project-away would leave no columns")
		}
		return c.selectCols(r, keep), nil
	case *ProjectKeep:
		want := map[string]bool{}
		for _, id := range op.Cols {
			if _, ok := r.col(id.Name); !ok {
				return nil, c.unknownColumn(id, r.cols)
			}
			want[id.Name] = true
		}
		var keep []col
		for _, cl := range r.cols {
			if want[cl.name] {
				keep = append(keep, cl)
			}
		}
		return c.selectCols(r, keep), nil
	case *ProjectRename:
		return c.rename(r, op)
	case *Summarize:
		return c.summarize(r, op)
	case *Sort:
		return c.sort(r, op.Keys, nil)
	case *Top:
		n, err := c.constLong(op.N, "top")
		if err != nil {
			return nil, err
		}
		return c.sort(r, []SortKey{op.Key}, &n)
	case *Take:
		n, err := c.constLong(op.N, "take")
		if err != nil {
			return nil, err
		}
		return c.stage("SELECT * FROM "+c.from(r, r.name)+c.orderBy(r.order)+" LIMIT "+strconv.FormatInt(n, 10), r.cols, r.order), nil
	case *Distinct:
		if op.Items == nil {
			return c.stage("SELECT DISTINCT * FROM "+c.from(r, r.name), r.cols, nil), nil
		}
		p, err := c.project(r, op.Items, false)
		if err != nil {
			return nil, err
		}
		p.sel = "SELECT DISTINCT" + strings.TrimPrefix(p.sel, "SELECT")
		if c.d.UseCTE() {
			c.ctes[len(c.ctes)-1] = p.name + " AS (\n  " + p.sel + "\n)"
		}
		p.order = nil
		return p, nil
	case *Count:
		return c.stage("SELECT count(*) AS "+c.d.QuoteIdent("Count")+" FROM "+c.from(r, r.name), []col{{name: "Count", t: TLong}}, nil), nil
	case *GetSchema:
		q := c.d.QuoteIdent
		rows := make([]string, len(r.cols))
		for i, cl := range r.cols {
			rows[i] = "SELECT " + c.d.QuoteString(cl.name) + " AS " + q("ColumnName") + ", " + strconv.Itoa(i) + " AS " +
				q("ColumnOrdinal") + ", " + c.d.QuoteString(string(cl.t)) + " AS " + q("ColumnType")
		}
		return c.stage(strings.Join(rows, " UNION ALL "), []col{{name: "ColumnName", t: TString},
			{name: "ColumnOrdinal", t: TLong}, {name: "ColumnType", t: TString}}, []orderKey{{name: "ColumnOrdinal", asc: true}}), nil
	case *Join:
		return c.join(r, op)
	case *Union:
		return c.union(op.Pos, r, op.Tables)
	case *As:
		c.tabs[op.Name] = r
		return r, nil
	case *RenderOp:
		if !renderKinds[op.Kind] {
			return nil, errAt(op.Pos, "unknown render kind '%s' (expected one of %s)", op.Kind, strings.Join(sortedKeys(renderKinds), ", "))
		}
		c.render = &Render{Kind: op.Kind, Options: op.Options}
		return r, nil
	}
	return nil, fmt.Errorf("internal: unknown operator %T", op)
}

var renderKinds = map[string]bool{
	"table": true, "timechart": true, "linechart": true, "columnchart": true, "barchart": true,
	"piechart": true, "areachart": true, "stackedareachart": true, "scatterchart": true,
	"anomalychart": true, "card": true, "pivotchart": true, "ladderchart": true, "timepivot": true, "treemap": true,
}

func (c *compiler) selectCols(r *rel, cols []col) *rel {
	parts := make([]string, len(cols))
	for i, cl := range cols {
		parts[i] = c.d.QuoteIdent(cl.name)
	}
	return c.stage("SELECT "+strings.Join(parts, ", ")+" FROM "+c.from(r, r.name), cols, keepOrder(r.order, cols, nil))
}

// keepOrder carries the sort keys that survive into cols (renamed per
// renames, new name -> old name).
func keepOrder(order []orderKey, cols []col, renames map[string]string) []orderKey {
	var out []orderKey
	for _, k := range order {
		found := false
		for _, cl := range cols {
			old := cl.name
			if renames != nil {
				if o, ok := renames[cl.name]; ok {
					old = o
				} else {
					continue
				}
			}
			if old == k.name {
				k.name = cl.name
				found = true
				break
			}
		}
		if !found {
			// Later keys only break ties of earlier ones; stop at a gap.
			break
		}
		out = append(out, k)
	}
	return out
}

func (c *compiler) constLong(e Expr, what string) (int64, error) {
	ce, err := c.expr(e, &scope{})
	if err != nil {
		return 0, err
	}
	if ce.k == nil || ce.k.Kind != LitLong || ce.k.Int < 0 {
		return 0, errAt(e.exprPos(), "%s needs a non-negative integer constant", what)
	}
	return ce.k.Int, nil
}

func (c *compiler) project(r *rel, items []NamedExpr, extend bool) (*rel, error) {
	var out []col
	var exprs []string
	renames := map[string]string{}
	if extend {
		for _, cl := range r.cols {
			out = append(out, cl)
			exprs = append(exprs, c.d.QuoteIdent(cl.name))
			renames[cl.name] = cl.name
		}
	}
	sc := c.scopeOf(r)
	auto := 0
	replacedAny := false
	for _, it := range items {
		e, err := c.expr(it.Expr, sc)
		if err != nil {
			return nil, err
		}
		name := it.Name
		if name == "" {
			name = defaultName(it.Expr)
			if name == "" {
				auto++
				name = "Column" + strconv.Itoa(auto)
			}
		}
		if id, ok := it.Expr.(*Ident); ok && id.Scope == "" {
			if _, isCol := r.col(id.Name); isCol {
				renames[name] = id.Name
			}
		} else {
			delete(renames, name)
		}
		replaced := false
		for i := range out {
			if out[i].name == name {
				if !extend {
					return nil, errAt(it.Pos, "duplicate column name '%s'", name)
				}
				out[i] = col{name: name, t: e.t, raw: e.raw}
				exprs[i] = e.sql
				replaced = true
				if i < len(r.cols) {
					replacedAny = true
				}
			}
		}
		if !replaced {
			out = append(out, col{name: name, t: e.t, raw: e.raw})
			exprs = append(exprs, e.sql)
		}
		// later items of the same extend/project may use this one
		sc = sc.with(col{name: name, t: e.t, sql: e.sql, raw: e.raw})
	}
	first := 0
	if extend && !replacedAny {
		// only new columns: keep the input's columns as they are
		first = len(r.cols)
	}
	parts := make([]string, 0, len(out))
	if first > 0 {
		parts = append(parts, "*")
	}
	for i := first; i < len(out); i++ {
		q := c.d.QuoteIdent(out[i].name)
		if exprs[i] == q {
			parts = append(parts, q)
		} else {
			parts = append(parts, exprs[i]+" AS "+q)
		}
	}
	return c.stage("SELECT "+strings.Join(parts, ", ")+" FROM "+c.from(r, r.name), out, keepOrder(r.order, out, renames)), nil
}

func (c *compiler) rename(r *rel, op *ProjectRename) (*rel, error) {
	newOf := map[string]string{}
	for _, p := range op.Pairs {
		if _, ok := r.col(p.Old.Name); !ok {
			return nil, c.unknownColumn(p.Old, r.cols)
		}
		newOf[p.Old.Name] = p.New
	}
	var out []col
	var parts []string
	renames := map[string]string{}
	seen := map[string]bool{}
	for _, cl := range r.cols {
		n := cl.name
		if nn, ok := newOf[cl.name]; ok {
			n = nn
		}
		if seen[n] {
			return nil, errAt(op.Pos, "duplicate column name '%s' after project-rename", n)
		}
		seen[n] = true
		renames[n] = cl.name
		out = append(out, col{name: n, t: cl.t, raw: cl.raw})
		if n == cl.name {
			parts = append(parts, c.d.QuoteIdent(n))
		} else {
			parts = append(parts, c.d.QuoteIdent(cl.name)+" AS "+c.d.QuoteIdent(n))
		}
	}
	return c.stage("SELECT "+strings.Join(parts, ", ")+" FROM "+c.from(r, r.name), out, keepOrder(r.order, out, renames)), nil
}

func (c *compiler) sort(r *rel, keys []SortKey, limit *int64) (*rel, error) {
	sc := c.scopeOf(r)
	var terms []string
	var order []orderKey
	tracked := true
	for _, k := range keys {
		e, err := c.expr(k.Expr, sc)
		if err != nil {
			return nil, err
		}
		if e.t == TDynamic {
			return nil, errAt(k.Expr.exprPos(), "cannot sort by a dynamic value")
		}
		terms = append(terms, c.orderTerm(e.sql, k.Asc, k.NullsFirst))
		if id, ok := k.Expr.(*Ident); ok && tracked {
			order = append(order, orderKey{name: id.Name, asc: k.Asc, nullsFirst: k.NullsFirst})
		} else {
			tracked = false
		}
	}
	if limit == nil && tracked {
		// The order is carried to the next LIMIT and to the final SELECT,
		// where it is applied once.
		return &rel{name: r.name, sel: r.sel, cols: r.cols, order: order, inline: r.inline}, nil
	}
	sel := "SELECT * FROM " + c.from(r, r.name) + " ORDER BY " + strings.Join(terms, ", ")
	if limit != nil {
		sel += " LIMIT " + strconv.FormatInt(*limit, 10)
	}
	return c.stage(sel, r.cols, order), nil
}

func (c *compiler) join(l *rel, op *Join) (*rel, error) {
	r, err := c.pipeline(op.Right, false)
	if err != nil {
		return nil, err
	}
	var conds []string
	for _, jc := range op.On {
		lc, ok := l.col(jc.Left)
		if !ok {
			return nil, errAt(jc.Pos, "unknown column '%s' on the left side of the join", jc.Left)
		}
		rc, ok := r.col(jc.Right)
		if !ok {
			return nil, errAt(jc.Pos, "unknown column '%s' on the right side of the join", jc.Right)
		}
		if !comparable(lc.t, rc.t) {
			return nil, errAt(jc.Pos, "cannot join %s column '%s' with %s column '%s'", lc.t, lc.name, rc.t, rc.name)
		}
		conds = append(conds, "l."+c.d.QuoteIdent(lc.name)+" = r."+c.d.QuoteIdent(rc.name))
	}
	kind := op.Kind
	var out []col
	var parts []string
	for _, cl := range l.cols {
		out = append(out, cl)
		parts = append(parts, "l."+c.d.QuoteIdent(cl.name)+" AS "+c.d.QuoteIdent(cl.name))
	}
	if kind != "leftsemi" && kind != "leftanti" && kind != "leftantisemi" {
		if kind == "rightsemi" || kind == "rightanti" {
			return nil, errAt(op.Pos, "join kind=%s is not supported", kind)
		}
		taken := map[string]bool{}
		for _, cl := range l.cols {
			taken[cl.name] = true
		}
		for _, cl := range r.cols {
			n := cl.name
			for i := 1; taken[n]; i++ {
				n = cl.name + strconv.Itoa(i)
			}
			taken[n] = true
			out = append(out, col{name: n, t: cl.t, raw: cl.raw})
			parts = append(parts, "r."+c.d.QuoteIdent(cl.name)+" AS "+c.d.QuoteIdent(n))
		}
	}
	sel := "SELECT " + strings.Join(parts, ", ") + " FROM " + c.from(l, "l") + " " + c.d.JoinKeyword(kind) + " " + c.from(r, "r") + " ON " + strings.Join(conds, " AND ")
	return c.stage(sel, out, nil), nil
}

func (c *compiler) union(pos Pos, first *rel, tables []*Pipeline) (*rel, error) {
	var rels []*rel
	if first != nil {
		rels = append(rels, first)
	}
	for _, t := range tables {
		r, err := c.pipeline(t, false)
		if err != nil {
			return nil, err
		}
		rels = append(rels, r)
	}
	var all []col
	idx := map[string]int{}
	for _, r := range rels {
		for _, cl := range r.cols {
			if i, ok := idx[cl.name]; ok {
				if all[i].t != cl.t {
					return nil, errAt(pos, "union: column '%s' is %s in one table and %s in another", cl.name, all[i].t, cl.t)
				}
				continue
			}
			idx[cl.name] = len(all)
			all = append(all, col{name: cl.name, t: cl.t, raw: true})
		}
	}
	var branches []string
	for i, r := range rels {
		parts := make([]string, len(all))
		for j, cl := range all {
			q := c.d.QuoteIdent(cl.name)
			if _, ok := r.col(cl.name); ok {
				parts[j] = q
			} else {
				parts[j] = "CAST(NULL AS " + c.d.SQLType(cl.t) + ") AS " + q
			}
		}
		branches = append(branches, "SELECT "+strings.Join(parts, ", ")+" FROM "+c.from(r, "_u"+strconv.Itoa(i)))
	}
	return c.stage(strings.Join(branches, "\n  UNION ALL\n  "), all, nil), nil
}
