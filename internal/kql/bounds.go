package kql

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
)

// Bounds is what every row the query reads from the flows table satisfies, derived from
// the where clauses right after its scan; the caller may skip lake files that hold no such
// row. The zero value constrains nothing.
//
// Bounds are only derived when the query reads the flows table exactly once,
// starting its main pipeline with `flows` followed by one or more where
// operators; anything the derivation does not understand constrains nothing,
// so skipping files by Bounds never loses a row the SQL would return.
type Bounds struct {
	// SrcAddrs, when not nil, lists every src_addr value a row can have, as
	// stored: 16 bytes, IPv4 addresses IPv4-mapped (::ffff:a.b.c.d), the
	// empty string as the zero address. An empty non-nil list means that no
	// row matches.
	SrcAddrs [][16]byte
	// DstAddrs, likewise for dst_addr.
	DstAddrs [][16]byte
	// Times bounds the time columns by name ("time_received", "time_start", "time_end"):
	// every row has Min <= value <= Max (closed; a zero Min or Max is open).
	// A Min after Max means that no row matches.
	Times map[string]TimeBounds
}

// TimeBounds is a closed interval; zero ends are open.
type TimeBounds struct{ Min, Max time.Time }

// boundTimeColumns are the time columns Bounds reports.
var boundTimeColumns = map[string]bool{"time_received": true, "time_start": true, "time_end": true}

// flowsReaders are the built-in tables that read the flows table (directly
// or through flowsScan).
var flowsReaders = map[string]bool{"flows": true, "NTANetAnalytics": true, "NTAIpDetails": true, "AzureNetworkAnalytics_CL": true}

// bounds derives the Bounds of a query that compiled successfully; it runs
// after the SQL is written, so the expressions it compiles again leave the
// output untouched.
func (c *compiler) bounds(q *Query) Bounds {
	if q.Body == nil {
		return Bounds{}
	}
	src, ok := q.Body.Source.(*TableRef)
	if !ok || src.Name != "flows" || c.flowsReads(q) != 1 {
		return Bounds{}
	}
	if _, shadowed := c.tabs["flows"]; shadowed {
		// a let or `as` named flows: the source may not be the table
		return Bounds{}
	}
	r, ok := c.tableRels["flows"]
	if !ok {
		return Bounds{}
	}
	b := &boundsBuilder{}
	// the compiler's own time window, applied at the scan
	tb, ok := c.opts.Tables["flows"]
	if !ok {
		tb = FlowsTable()
	}
	if cl, ok := r.col(tb.TimeColumn); ok && cl.t == TDatetime && boundTimeColumns[cl.name] {
		// From is inclusive, To exclusive: [From, To] is a (wider) closed interval.
		var lo, hi time.Time
		if boundable(c.opts.From) {
			lo = sqlInstant(c.opts.From)
		}
		if boundable(c.opts.To) {
			hi = sqlInstant(c.opts.To)
		}
		b.time(cl.name, lo, hi)
	}
	sc := c.scopeOf(r)
	for _, op := range q.Body.Ops {
		w, ok := op.(*Where)
		if !ok {
			break
		}
		for _, x := range conjuncts(w.Pred, nil) {
			c.boundConjunct(b, x, sc)
		}
	}
	return b.result()
}

// flowsReads counts the table references in the whole query that may read
// the flows table: the built-in tables built on it, caller tables over the
// same relation, and names bound with `as` (which may stand for a stage that
// reads it). A name bound by a tabular let is not counted at its uses: the
// let's own pipeline is walked, so its reads of flows are counted there.
// Over-counting only costs the bounds, never rows.
func (c *compiler) flowsReads(q *Query) int {
	flowsRel := "flows"
	if tb, ok := c.opts.Tables["flows"]; ok && tb.Relation != "" {
		flowsRel = tb.Relation
	}
	var refs []string
	asNames := map[string]bool{}
	var walk func(p *Pipeline)
	walk = func(p *Pipeline) {
		if p == nil {
			return
		}
		switch s := p.Source.(type) {
		case *TableRef:
			refs = append(refs, s.Name)
		case *SubPipeline:
			walk(s.Pipe)
		case *UnionSource:
			for _, t := range s.Tables {
				walk(t)
			}
		}
		for _, op := range p.Ops {
			switch op := op.(type) {
			case *Join:
				walk(op.Right)
			case *Union:
				for _, t := range op.Tables {
					walk(t)
				}
			case *As:
				asNames[op.Name] = true
			}
		}
	}
	for _, l := range q.Lets {
		walk(l.Tabular)
	}
	walk(q.Body)
	n := 0
	for _, name := range refs {
		reads := flowsReaders[name] || asNames[name]
		if tb, ok := c.opts.Tables[name]; ok {
			rel := tb.Relation
			if rel == "" {
				rel = name
			}
			// DuckDB matches quoted identifiers case-insensitively.
			reads = reads || strings.EqualFold(rel, flowsRel) || strings.EqualFold(rel, "flows")
		}
		if reads {
			n++
		}
	}
	return n
}

// conjuncts appends the top-level operands of and-chains in x to out.
func conjuncts(x Expr, out []Expr) []Expr {
	if b, ok := x.(*Binary); ok && b.Op == "and" {
		return conjuncts(b.R, conjuncts(b.L, out))
	}
	return append(out, x)
}

// sqlInstant is the instant the dialects' Timestamp literal for t denotes:
// t truncated to the microsecond.
func sqlInstant(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// boundable tells whether a bound at t is safe to report: ClickHouse's
// DateTime64 saturates outside 1900..2299, so a literal out there may not
// mean what it says.
func boundable(t time.Time) bool {
	return !t.IsZero() && t.Year() >= 1900 && t.Year() < 2262
}

// boundCol is the bounded column an expression names, if any: a bare
// reference to src_addr, dst_addr (addresses) or a time column of the scan.
func boundCol(x Expr, sc *scope) (col, bool) {
	id, ok := x.(*Ident)
	if !ok || id.Scope != "" {
		return col{}, false
	}
	cl, ok := sc.lookup(id.Name)
	if !ok || cl.sql != "" {
		return col{}, false
	}
	switch {
	case cl.t == TIP && (cl.name == "src_addr" || cl.name == "dst_addr"):
		return cl, true
	case cl.t == TDatetime && boundTimeColumns[cl.name]:
		return cl, true
	}
	return col{}, false
}

// flipped is the comparison with its operands swapped.
var flipped = map[string]string{"==": "==", "=~": "=~", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// boundConjunct narrows b by one conjunct of a where predicate; forms it
// does not recognise leave b as it is.
func (c *compiler) boundConjunct(b *boundsBuilder, x Expr, sc *scope) {
	switch x := x.(type) {
	case *Binary:
		op, ok := flipped[x.Op]
		if !ok {
			return
		}
		colX, other := x.L, x.R
		cl, ok := boundCol(colX, sc)
		if !ok {
			colX, other = x.R, x.L
			if cl, ok = boundCol(colX, sc); !ok {
				return
			}
		} else {
			op = x.Op
		}
		if _, both := boundCol(other, sc); both {
			return
		}
		if cl.t == TIP {
			if op != "==" && op != "=~" {
				return
			}
			if a, ok := c.constAddr(other, sc); ok {
				b.addrs(cl.name, []flow.Addr{a})
			}
			return
		}
		if op == "=~" {
			return
		}
		t, ok := c.constTime(cl, colX, other, sc)
		if !ok {
			return
		}
		switch op {
		case "==":
			b.time(cl.name, t, t)
		case ">", ">=":
			b.time(cl.name, t, time.Time{})
		case "<", "<=":
			b.time(cl.name, time.Time{}, t)
		}
	case *InList:
		if x.Op != "in" {
			return
		}
		cl, ok := boundCol(x.X, sc)
		if !ok || len(x.List) == 0 {
			return
		}
		if cl.t == TIP {
			addrs := make([]flow.Addr, 0, len(x.List))
			for _, it := range x.List {
				a, ok := c.constAddr(it, sc)
				if !ok {
					return
				}
				addrs = append(addrs, a)
			}
			b.addrs(cl.name, addrs)
			return
		}
		var lo, hi time.Time
		for i, it := range x.List {
			t, ok := c.constTime(cl, x.X, it, sc)
			if !ok {
				return
			}
			if i == 0 || t.Before(lo) {
				lo = t
			}
			if i == 0 || t.After(hi) {
				hi = t
			}
		}
		b.time(cl.name, lo, hi)
	case *Between:
		if x.Not {
			return
		}
		cl, ok := boundCol(x.X, sc)
		if !ok || cl.t != TDatetime {
			return
		}
		lo, ok1 := c.constTime(cl, x.X, x.Lo, sc)
		hi, ok2 := c.constTime(cl, x.X, x.Hi, sc)
		if ok1 && ok2 {
			b.time(cl.name, lo, hi)
		}
	}
}

// constAddr is the stored address a constant compared with an address
// column stands for. It follows the compiler's addrLit: only string
// constants become addresses there, "" is the zero (absent) address.
func (c *compiler) constAddr(x Expr, sc *scope) (flow.Addr, bool) {
	e, err := c.expr(x, sc)
	if err != nil || e.k == nil || e.k.Kind != LitString || e.t != TString {
		return flow.Addr{}, false
	}
	if e.k.Str == "" {
		return flow.Addr{}, true
	}
	a, err := netip.ParseAddr(e.k.Str)
	if err != nil {
		return flow.Addr{}, false
	}
	return flow.AddrFromNetip(a), true
}

// constTime is the instant the SQL compares time column cl with when the
// other operand is a constant: the operand is compiled and coerced as the
// compiler does it (datetime strings parse, now/ago use Options.Now), then
// cut to the microsecond like the SQL literal.
func (c *compiler) constTime(cl col, colX, x Expr, sc *scope) (time.Time, bool) {
	e, err := c.expr(x, sc)
	if err != nil || e.k == nil {
		return time.Time{}, false
	}
	ce := cexpr{sql: c.d.QuoteIdent(cl.name), t: cl.t, bare: true, raw: cl.raw}
	if _, e, err = c.coercePair(ce, e, colX.exprPos(), x.exprPos()); err != nil {
		return time.Time{}, false
	}
	if e.t != TDatetime || e.k == nil || e.k.Kind != LitDatetime || !boundable(e.k.Time) {
		return time.Time{}, false
	}
	return sqlInstant(e.k.Time), true
}

// boundsBuilder intersects the constraints of the conjuncts.
type boundsBuilder struct {
	src, dst []flow.Addr // nil = unconstrained
	srcSet   bool
	dstSet   bool
	times    map[string]TimeBounds
}

func (b *boundsBuilder) addrs(name string, vals []flow.Addr) {
	set, have := &b.src, &b.srcSet
	if name == "dst_addr" {
		set, have = &b.dst, &b.dstSet
	}
	if !*have {
		*set, *have = slices.Clone(vals), true
		return
	}
	kept := []flow.Addr{}
	for _, a := range *set {
		if slices.Contains(vals, a) {
			kept = append(kept, a)
		}
	}
	*set = kept
}

// time intersects the bounds of column name with [lo, hi] (zero ends open).
func (b *boundsBuilder) time(name string, lo, hi time.Time) {
	if lo.IsZero() && hi.IsZero() {
		return
	}
	if b.times == nil {
		b.times = map[string]TimeBounds{}
	}
	tb := b.times[name]
	if !lo.IsZero() && (tb.Min.IsZero() || lo.After(tb.Min)) {
		tb.Min = lo
	}
	if !hi.IsZero() && (tb.Max.IsZero() || hi.Before(tb.Max)) {
		tb.Max = hi
	}
	b.times[name] = tb
}

func (b *boundsBuilder) result() Bounds {
	out := Bounds{Times: b.times}
	list := func(set []flow.Addr, have bool) [][16]byte {
		if !have {
			return nil
		}
		l := make([][16]byte, 0, len(set))
		for _, a := range set {
			l = append(l, [16]byte(a))
		}
		slices.SortFunc(l, func(x, y [16]byte) int { return bytes.Compare(x[:], y[:]) })
		return slices.Compact(l)
	}
	out.SrcAddrs = list(b.src, b.srcSet)
	out.DstAddrs = list(b.dst, b.dstSet)
	return out
}
