package sql

// The AST of one SELECT. Every node records Pos, the byte offset in the
// source of the token that best locates an error about it: the first token
// for most nodes, the operator for binary operators and predicates. Start
// gives the offset where an expression's text begins.
//
// String() on any node prints canonical SQL that parses back to an equal AST
// (keywords upper case, identifiers as written, only the parentheses that
// precedence needs). Canonical(e) prints the same with every identifier and
// function name lower-cased, so that two spellings of one expression (Trino
// identifiers are case-insensitive) compare equal.

// Select is a query: SELECT … FROM … WHERE … GROUP BY … HAVING … ORDER BY …
// LIMIT.
type Select struct {
	Pos      int
	Distinct bool
	Items    []*SelectItem
	From     *Table // nil when the query has no FROM
	Where    Expr   // nil when absent
	GroupBy  []Expr
	Having   Expr         // nil when absent
	Union    []*UnionPart // further SELECTs combined with this one
	OrderBy  []*OrderItem // of the whole query, after any UNION
	Limit    *Limit       // nil when absent or LIMIT ALL
}

// UnionPart is one UNION [ALL] SELECT … of a query. Its Select has no
// ORDER BY or LIMIT: those of the query apply to the union.
type UnionPart struct {
	Pos    int
	All    bool
	Select *Select
}

// SelectItem is one output expression, or * (Star).
type SelectItem struct {
	Pos   int
	Star  bool     // SELECT * or SELECT t.*
	Qual  []string // t in t.*; nil for a plain *
	Expr  Expr     // nil when Star
	Alias string   // "" when none
}

// Table is the table in FROM, e.g. events or "my-store" or cairn.events.
type Table struct {
	Pos   int
	Name  []string // the dotted parts, unquoted
	Alias string   // "" when none
}

// NullsOrder is where an ORDER BY item puts NULLs.
type NullsOrder uint8

// NULLS FIRST, NULLS LAST, or not said (Trino then puts NULLs last).
const (
	NullsDefault NullsOrder = iota
	NullsFirst
	NullsLast
)

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Expr  Expr
	Desc  bool
	Nulls NullsOrder
}

// Limit is LIMIT N.
type Limit struct {
	Pos int
	N   int64
}

// Expr is an expression node.
type Expr interface {
	Position() int
	String() string
	expr()
}

// Ident is a column reference: one name or a dotted path such as
// userIdentity.sessionContext.sessionIssuer.userName.
type Ident struct {
	Pos    int
	Parts  []string
	Quoted []bool // whether each part was written "quoted"
}

// Deref is field access on an expression that is not a plain name, such as
// element_at(resources, 1).arn.
type Deref struct {
	Pos   int // of the field name
	X     Expr
	Field string
}

// Subscript is X[Index]: an array element (1-based) or a map value.
type Subscript struct {
	Pos      int // of "["
	X, Index Expr
}

// NullLit is NULL.
type NullLit struct{ Pos int }

// BoolLit is TRUE or FALSE.
type BoolLit struct {
	Pos int
	Val bool
}

// NumberLit is a numeric literal as written: 12, 1.5, 1e3.
type NumberLit struct {
	Pos  int
	Text string
}

// StringLit is a 'string' literal (unescaped).
type StringLit struct {
	Pos int
	Val string
}

// TypedLit is a literal of a named type: TIMESTAMP '2026-01-01 00:00:00',
// DATE '2026-01-01'. Type is upper case as written.
type TypedLit struct {
	Pos  int
	Type string
	Val  string
}

// IntervalLit is INTERVAL [-]'7' DAY. Unit is upper case and singular.
type IntervalLit struct {
	Pos  int
	Neg  bool
	Val  string
	Unit string
}

// ArrayLit is ARRAY[a, b, …].
type ArrayLit struct {
	Pos   int
	Elems []Expr
}

// Unary is NOT x, -x or +x.
type Unary struct {
	Pos int
	Op  string // "NOT", "-", "+"
	X   Expr
}

// Binary is a binary operator: AND, OR, = <> < <= > >=, IS DISTINCT FROM,
// IS NOT DISTINCT FROM, + - * / %, ||. The != operator is stored as <>.
type Binary struct {
	Pos  int
	Op   string
	L, R Expr
}

// Like is X [NOT] LIKE Pattern [ESCAPE Escape].
type Like struct {
	Pos        int
	Not        bool
	X, Pattern Expr
	Escape     Expr // nil when absent
}

// In is X [NOT] IN (List…).
type In struct {
	Pos  int
	Not  bool
	X    Expr
	List []Expr
}

// Between is X [NOT] BETWEEN Lo AND Hi.
type Between struct {
	Pos       int
	Not       bool
	X, Lo, Hi Expr
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	Pos int
	Not bool
	X   Expr
}

// Case is CASE [Operand] WHEN … THEN … [ELSE …] END. With an Operand it is
// the simple form (Operand = When.Cond), without it the searched form.
type Case struct {
	Pos     int
	Operand Expr // nil for the searched form
	Whens   []*When
	Else    Expr // nil when absent
}

// When is one WHEN Cond THEN Result of a Case.
type When struct {
	Cond, Result Expr
}

// Cast is CAST(X AS Type) or TRY_CAST(X AS Type). Type is normalised lower
// case text such as "varchar", "double", "timestamp(3)".
type Cast struct {
	Pos  int
	Try  bool
	X    Expr
	Type string
}

// Extract is EXTRACT(Field FROM X). Field is upper case.
type Extract struct {
	Pos   int
	Field string
	X     Expr
}

// Call is a function call name(args). Star marks count(*); Distinct marks
// an aggregate over distinct values. NoParens marks the niladic SQL
// functions written without parentheses: CURRENT_TIMESTAMP, CURRENT_DATE.
type Call struct {
	Pos      int
	Name     string // as written
	Distinct bool
	Star     bool
	NoParens bool
	Args     []Expr
}

func (e *Ident) Position() int       { return e.Pos }
func (e *Deref) Position() int       { return e.Pos }
func (e *Subscript) Position() int   { return e.Pos }
func (e *NullLit) Position() int     { return e.Pos }
func (e *BoolLit) Position() int     { return e.Pos }
func (e *NumberLit) Position() int   { return e.Pos }
func (e *StringLit) Position() int   { return e.Pos }
func (e *TypedLit) Position() int    { return e.Pos }
func (e *IntervalLit) Position() int { return e.Pos }
func (e *ArrayLit) Position() int    { return e.Pos }
func (e *Unary) Position() int       { return e.Pos }
func (e *Binary) Position() int      { return e.Pos }
func (e *Like) Position() int        { return e.Pos }
func (e *In) Position() int          { return e.Pos }
func (e *Between) Position() int     { return e.Pos }
func (e *IsNull) Position() int      { return e.Pos }
func (e *Case) Position() int        { return e.Pos }
func (e *Cast) Position() int        { return e.Pos }
func (e *Extract) Position() int     { return e.Pos }
func (e *Call) Position() int        { return e.Pos }

func (*Ident) expr()       {}
func (*Deref) expr()       {}
func (*Subscript) expr()   {}
func (*NullLit) expr()     {}
func (*BoolLit) expr()     {}
func (*NumberLit) expr()   {}
func (*StringLit) expr()   {}
func (*TypedLit) expr()    {}
func (*IntervalLit) expr() {}
func (*ArrayLit) expr()    {}
func (*Unary) expr()       {}
func (*Binary) expr()      {}
func (*Like) expr()        {}
func (*In) expr()          {}
func (*Between) expr()     {}
func (*IsNull) expr()      {}
func (*Case) expr()        {}
func (*Cast) expr()        {}
func (*Extract) expr()     {}
func (*Call) expr()        {}

// Start returns the byte offset where e's text begins: Pos of its left-most
// part.
func Start(e Expr) int {
	switch e := e.(type) {
	case *Deref:
		return Start(e.X)
	case *Subscript:
		return Start(e.X)
	case *Binary:
		return Start(e.L)
	case *Like:
		return Start(e.X)
	case *In:
		return Start(e.X)
	case *Between:
		return Start(e.X)
	case *IsNull:
		return Start(e.X)
	}
	return e.Position()
}
