package kql

import "time"

// Query is a parsed KQL query: let statements followed by one tabular expression.
type Query struct {
	Lets []*Let
	Body *Pipeline
}

// Let binds a name to a scalar expression or a tabular expression.
type Let struct {
	Pos     Pos
	Name    string
	Scalar  Expr      // set for scalar lets
	Tabular *Pipeline // set for tabular lets
}

// Pipeline is a source followed by piped operators.
type Pipeline struct {
	Pos    Pos
	Source Source
	Ops    []Operator
}

// Source is where a pipeline's rows come from.
type Source interface{ srcPos() Pos }

// TableRef names a table, a let-bound tabular expression or an `as` name.
type TableRef struct {
	Pos  Pos
	Name string
}

// SubPipeline is a parenthesised pipeline used as a source.
type SubPipeline struct {
	Pos  Pos
	Pipe *Pipeline
}

// UnionSource is `union A, B, ...` at the start of a pipeline.
type UnionSource struct {
	Pos    Pos
	Tables []*Pipeline
}

func (s *TableRef) srcPos() Pos    { return s.Pos }
func (s *SubPipeline) srcPos() Pos { return s.Pos }
func (s *UnionSource) srcPos() Pos { return s.Pos }

// Operator is one tabular operator after a pipe.
type Operator interface{ opPos() Pos }

// NamedExpr is an expression with an optional output name (name = expr).
type NamedExpr struct {
	Pos  Pos    // where the item starts (its name when named)
	Name string // empty when not given
	Expr Expr
}

// Where filters rows.
type Where struct {
	Pos  Pos
	Pred Expr
}

// Project selects and computes columns.
type Project struct {
	Pos   Pos
	Items []NamedExpr
}

// ProjectAway drops columns.
type ProjectAway struct {
	Pos  Pos
	Cols []*Ident
}

// ProjectKeep keeps only the named columns, in their current order.
type ProjectKeep struct {
	Pos  Pos
	Cols []*Ident
}

// ProjectRename renames columns (new = old).
type ProjectRename struct {
	Pos   Pos
	Pairs []RenamePair
}

// RenamePair is one new = old of project-rename.
type RenamePair struct {
	New string
	Old *Ident
}

// Extend adds computed columns.
type Extend struct {
	Pos   Pos
	Items []NamedExpr
}

// Summarize aggregates rows by keys.
type Summarize struct {
	Pos  Pos
	Aggs []NamedExpr
	By   []NamedExpr
}

// SortKey is one key of sort/order by and top.
type SortKey struct {
	Expr       Expr
	Asc        bool
	NullsFirst bool
}

// Sort orders rows.
type Sort struct {
	Pos  Pos
	Keys []SortKey
}

// Top keeps the first N rows by a key.
type Top struct {
	Pos Pos
	N   Expr
	Key SortKey
}

// Take keeps at most N rows.
type Take struct {
	Pos Pos
	N   Expr
}

// Distinct keeps distinct combinations of columns (nil Items = all columns).
type Distinct struct {
	Pos   Pos
	Items []NamedExpr
}

// Count replaces the rows with their number.
type Count struct{ Pos Pos }

// JoinCond is one equality of a join: a single column name for both sides
// (Left == Right) or $left.a == $right.b.
type JoinCond struct {
	Pos         Pos
	Left, Right string
}

// Join combines rows with another table or sub-query.
type Join struct {
	Pos   Pos
	Kind  string
	Right *Pipeline
	On    []JoinCond
}

// Union appends rows of other tables.
type Union struct {
	Pos    Pos
	Tables []*Pipeline
}

// As names the rows so far for later reference.
type As struct {
	Pos  Pos
	Name string
}

// RenderOp is the render operator: the chart hint returned with the result.
type RenderOp struct {
	Pos     Pos
	Kind    string
	Options map[string]string
}

// GetSchema replaces the rows with the list of columns and their types.
type GetSchema struct{ Pos Pos }

func (o *GetSchema) opPos() Pos     { return o.Pos }
func (o *Where) opPos() Pos         { return o.Pos }
func (o *Project) opPos() Pos       { return o.Pos }
func (o *ProjectAway) opPos() Pos   { return o.Pos }
func (o *ProjectKeep) opPos() Pos   { return o.Pos }
func (o *ProjectRename) opPos() Pos { return o.Pos }
func (o *Extend) opPos() Pos        { return o.Pos }
func (o *Summarize) opPos() Pos     { return o.Pos }
func (o *Sort) opPos() Pos          { return o.Pos }
func (o *Top) opPos() Pos           { return o.Pos }
func (o *Take) opPos() Pos          { return o.Pos }
func (o *Distinct) opPos() Pos      { return o.Pos }
func (o *Count) opPos() Pos         { return o.Pos }
func (o *Join) opPos() Pos          { return o.Pos }
func (o *Union) opPos() Pos         { return o.Pos }
func (o *As) opPos() Pos            { return o.Pos }
func (o *RenderOp) opPos() Pos      { return o.Pos }

// Expr is a scalar expression.
type Expr interface{ exprPos() Pos }

// Ident is a column or let name; Scope is "$left"/"$right" for join sides.
type Ident struct {
	Pos   Pos
	Name  string
	Scope string
}

// LitKind tells the type of a literal.
type LitKind uint8

// Literal kinds.
const (
	LitString LitKind = iota + 1
	LitLong
	LitReal
	LitBool
	LitTimespan
	LitDatetime
	LitNull
)

// Literal is a constant.
type Literal struct {
	Pos  Pos
	Kind LitKind
	Str  string
	Int  int64
	Real float64
	Bool bool
	Dur  time.Duration
	Time time.Time
}

// Binary is a binary operator (arithmetic, comparison, logical, string operators).
type Binary struct {
	Pos  Pos
	Op   string
	L, R Expr
}

// Unary is unary minus or plus.
type Unary struct {
	Pos Pos
	Op  string
	X   Expr
}

// Call is a function call; Star is set for count(*)-style calls and arg_max(x, *).
type Call struct {
	Pos  Pos
	Name string
	Args []Expr
}

// Star is `*` as a function argument.
type Star struct{ Pos Pos }

// InList is x in (a, b, ...) and its negated/case-insensitive forms.
type InList struct {
	Pos  Pos
	Op   string // in, !in, in~, !in~
	X    Expr
	List []Expr
}

// Between is x between (lo .. hi) and !between.
type Between struct {
	Pos    Pos
	Not    bool
	X      Expr
	Lo, Hi Expr
}

// Index is x[i] on a dynamic array.
type Index struct {
	Pos Pos
	X   Expr
	I   Expr
}

func (e *Ident) exprPos() Pos   { return e.Pos }
func (e *Literal) exprPos() Pos { return e.Pos }
func (e *Binary) exprPos() Pos  { return e.Pos }
func (e *Unary) exprPos() Pos   { return e.Pos }
func (e *Call) exprPos() Pos    { return e.Pos }
func (e *Star) exprPos() Pos    { return e.Pos }
func (e *InList) exprPos() Pos  { return e.Pos }
func (e *Between) exprPos() Pos { return e.Pos }
func (e *Index) exprPos() Pos   { return e.Pos }
