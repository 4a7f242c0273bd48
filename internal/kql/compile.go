package kql

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options controls compilation.
type Options struct {
	// From and To bound time_received of every scan of the flows table
	// (From inclusive, To exclusive); a zero value leaves that side open.
	From, To time.Time
	// MaxRows, when positive, limits the rows of the result.
	MaxRows int
	// Dialect is the SQL dialect; nil means DuckDB.
	Dialect Dialect
	// Now is the instant now() and ago() refer to; zero means the clock.
	// Fixing it makes compiled SQL reproducible.
	Now time.Time
	// Tables adds tables (for example enrichment tables) or replaces
	// built-in ones, by KQL name.
	Tables map[string]Table
}

// Table is a table the caller makes available to queries.
type Table struct {
	// Relation is the SQL table or view name (quoted by the dialect);
	// empty means the KQL name.
	Relation string
	// TimeColumn, when set, receives the Options time window.
	TimeColumn string
	// Columns lists the columns with their KQL types (TIP columns hold
	// 16-byte addresses).
	Columns []Column
}

// Render is the chart hint of the query's render operator.
type Render struct {
	Kind    string            `json:"kind"`
	Options map[string]string `json:"options,omitempty"`
}

// Compiled is a query compiled to one SQL SELECT statement.
type Compiled struct {
	SQL string
	// Columns are the result columns in order; TIP columns arrive as text.
	Columns []Column
	// Render is nil when the query has no render operator.
	Render *Render
	// Bounds tells which rows of the flows table the query can need, so
	// that the caller can skip lake files; the SQL filters rows regardless.
	Bounds Bounds
}

// Compile parses and compiles a query. Errors are *Error with the position
// in src.
func Compile(src string, opts Options) (*Compiled, error) {
	q, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return CompileQuery(q, opts)
}

type col struct {
	name string
	t    Type
	sql  string // expression for the column inside the current stage; "" = the quoted name
	raw  bool   // holds a stored value (see cexpr.raw)
}

type orderKey struct {
	name            string
	asc, nullsFirst bool
}

// rel is the result of a pipeline stage: a SELECT with known columns.
type rel struct {
	name  string
	sel   string
	cols  []col
	order []orderKey
	// inline stages are written out where used instead of as a CTE: a
	// table scan referenced twice must not be materialized by the engine.
	inline bool
}

func (r *rel) col(name string) (col, bool) {
	for _, c := range r.cols {
		if c.name == name {
			return c, true
		}
	}
	return col{}, false
}

type compiler struct {
	d         Dialect
	opts      Options
	now       time.Time
	ctes      []string
	n         int
	scalars   map[string]cexpr
	tabs      map[string]*rel
	tableRels map[string]*rel
	render    *Render
	size      int   // bytes of SQL generated so far
	tooBig    error // set once the SQL grows past the limit
}

// CompileQuery compiles a parsed query.
func CompileQuery(q *Query, opts Options) (*Compiled, error) {
	c := &compiler{d: opts.Dialect, opts: opts, now: opts.Now, scalars: map[string]cexpr{}, tabs: map[string]*rel{}, tableRels: map[string]*rel{}}
	if c.d == nil {
		c.d = DuckDB
	}
	if c.now.IsZero() {
		c.now = time.Now()
	}
	c.now = c.now.UTC().Truncate(time.Microsecond)
	for _, l := range q.Lets {
		if err := c.let(l); err != nil {
			return nil, err
		}
	}
	r, err := c.pipeline(q.Body, true)
	if err != nil {
		return nil, err
	}
	out := c.finish(r)
	out.Bounds = c.bounds(q)
	return out, nil
}

func (c *compiler) let(l *Let) error {
	if l.Tabular != nil {
		// "let x = y;" where y is a scalar let is a scalar alias.
		if tr, ok := l.Tabular.Source.(*TableRef); ok && len(l.Tabular.Ops) == 0 {
			if s, ok := c.scalars[tr.Name]; ok {
				c.scalars[l.Name] = s
				delete(c.tabs, l.Name)
				return nil
			}
		}
		r, err := c.pipeline(l.Tabular, false)
		if err != nil {
			return err
		}
		c.tabs[l.Name] = r
		delete(c.scalars, l.Name)
		return nil
	}
	e, err := c.expr(l.Scalar, &scope{})
	if err != nil {
		return err
	}
	c.scalars[l.Name] = e
	delete(c.tabs, l.Name)
	return nil
}

func (c *compiler) finish(r *rel) *Compiled {
	var b strings.Builder
	if len(c.ctes) > 0 {
		b.WriteString("WITH ")
		b.WriteString(strings.Join(c.ctes, ",\n"))
		b.WriteString("\n")
	}
	out := &Compiled{Render: c.render}
	b.WriteString("SELECT ")
	for i, cl := range r.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		q := c.d.QuoteIdent(cl.name)
		if cl.t == TIP {
			b.WriteString(c.d.FormatAddr(c.colRef(r, cl.name)) + " AS " + q)
		} else {
			b.WriteString(q)
		}
		out.Columns = append(out.Columns, Column{Name: cl.name, Type: cl.t})
	}
	b.WriteString("\nFROM " + c.from(r, r.name))
	b.WriteString(c.orderBy(r.order))
	if c.opts.MaxRows > 0 {
		b.WriteString("\nLIMIT " + strconv.Itoa(c.opts.MaxRows))
	}
	out.SQL = b.String()
	return out
}

// stage registers a SELECT as the next pipeline stage.
func (c *compiler) stage(sel string, cols []col, order []orderKey) *rel {
	r := &rel{name: "_q" + strconv.Itoa(c.n), sel: sel, cols: cols, order: order}
	c.n++
	c.size += len(sel)
	if c.size > 4*maxSQL && c.tooBig == nil {
		c.tooBig = errors.New("query too large: the SQL would exceed 4 MiB")
	}
	if c.d.UseCTE() {
		c.ctes = append(c.ctes, r.name+" AS (\n  "+sel+"\n)")
	}
	return r
}

// from is the FROM-clause reference to r under alias.
func (c *compiler) from(r *rel, alias string) string {
	if r.inline {
		return "(" + r.sel + ") AS " + alias
	}
	if c.d.UseCTE() {
		if alias == r.name {
			return r.name
		}
		return r.name + " AS " + alias
	}
	return "(\n  " + r.sel + "\n) AS " + alias
}

func (c *compiler) orderBy(keys []orderKey) string {
	if len(keys) == 0 {
		return ""
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = c.orderTerm(c.d.QuoteIdent(k.name), k.asc, k.nullsFirst)
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

func (c *compiler) orderTerm(sql string, asc, nullsFirst bool) string {
	s := sql
	if asc {
		s += " ASC"
	} else {
		s += " DESC"
	}
	if nullsFirst {
		return s + " NULLS FIRST"
	}
	return s + " NULLS LAST"
}

func (c *compiler) pipeline(p *Pipeline, top bool) (*rel, error) {
	r, err := c.source(p.Source)
	if err != nil {
		return nil, err
	}
	if c.tooBig != nil {
		return nil, errAt(p.Pos, "%v", c.tooBig)
	}
	for i, op := range p.Ops {
		if ro, ok := op.(*RenderOp); ok {
			if !top || i != len(p.Ops)-1 {
				return nil, errAt(ro.Pos, "render must be the last operator of the query")
			}
		}
		r, err = c.operator(r, op)
		if err != nil {
			return nil, err
		}
		if c.tooBig != nil {
			return nil, errAt(op.opPos(), "%v", c.tooBig)
		}
	}
	return r, nil
}

func (c *compiler) source(s Source) (*rel, error) {
	switch s := s.(type) {
	case *SubPipeline:
		return c.pipeline(s.Pipe, false)
	case *UnionSource:
		return c.union(s.Pos, nil, s.Tables)
	case *TableRef:
		return c.table(s)
	}
	return nil, fmt.Errorf("internal: unknown source %T", s)
}

func (c *compiler) table(t *TableRef) (*rel, error) {
	if r, ok := c.tabs[t.Name]; ok {
		return r, nil
	}
	if _, ok := c.scalars[t.Name]; ok {
		return nil, errAt(t.Pos, "'%s' is a scalar, not a table", t.Name)
	}
	if r, ok := c.tableRels[t.Name]; ok {
		return r, nil
	}
	var r *rel
	if tb, ok := c.opts.Tables[t.Name]; ok {
		if len(tb.Columns) == 0 {
			return nil, errAt(t.Pos, "table '%s' declares no columns", t.Name)
		}
		r = c.scan(t.Name, tb)
	} else if b, ok := builtinTables[t.Name]; ok {
		r = b(c)
	} else {
		names := c.tableNames()
		return nil, errAt(t.Pos, "unknown table '%s'%s (tables: %s)", t.Name, didYouMean(t.Name, names), strings.Join(names, ", "))
	}
	c.tableRels[t.Name] = r
	return r, nil
}

func (c *compiler) tableNames() []string {
	seen := map[string]bool{}
	for n := range builtinTables {
		seen[n] = true
	}
	for n := range c.opts.Tables {
		seen[n] = true
	}
	for n := range c.tabs {
		seen[n] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func didYouMean(name string, candidates []string) string {
	for _, cand := range candidates {
		if strings.EqualFold(cand, name) {
			return fmt.Sprintf(" (did you mean '%s'?)", cand)
		}
	}
	return ""
}

// scan is the first stage over a physical table, with the time window
// applied right at the scan so that the engine can prune files and row groups.
func (c *compiler) scan(name string, tb Table) *rel {
	relation := tb.Relation
	if relation == "" {
		relation = name
	}
	cols := make([]col, len(tb.Columns))
	for i, cl := range tb.Columns {
		cols[i] = col{name: cl.Name, t: cl.Type, raw: true}
	}
	sel := "SELECT * FROM " + c.d.QuoteIdent(relation) + c.window(tb.TimeColumn)
	r := &rel{name: "_q" + strconv.Itoa(c.n), sel: sel, cols: cols, inline: true}
	c.n++
	return r
}

func (c *compiler) window(timeCol string) string {
	if timeCol == "" {
		return ""
	}
	var conds []string
	q := c.d.QuoteIdent(timeCol)
	if !c.opts.From.IsZero() {
		conds = append(conds, q+" >= "+c.d.Timestamp(c.opts.From))
	}
	if !c.opts.To.IsZero() {
		conds = append(conds, q+" < "+c.d.Timestamp(c.opts.To))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *compiler) unknownColumn(id *Ident, cols []col) *Error {
	names := make([]string, len(cols))
	for i, cl := range cols {
		names[i] = cl.name
	}
	return errAt(id.Pos, "unknown column '%s'%s", id.Name, didYouMean(id.Name, names))
}

// errInternal reports a syntax tree the compiler does not know (a bug).
var errInternal = errors.New("internal compiler error")
