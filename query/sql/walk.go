package sql

// Walk calls fn for e and then, if fn returns true, for each of e's
// sub-expressions, depth first.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	for _, k := range children(e) {
		Walk(k, fn)
	}
}

// children returns e's direct sub-expressions.
func children(e Expr) []Expr {
	switch e := e.(type) {
	case *Deref:
		return []Expr{e.X}
	case *Subscript:
		return []Expr{e.X, e.Index}
	case *ArrayLit:
		return e.Elems
	case *Unary:
		return []Expr{e.X}
	case *Binary:
		return []Expr{e.L, e.R}
	case *Like:
		if e.Escape != nil {
			return []Expr{e.X, e.Pattern, e.Escape}
		}
		return []Expr{e.X, e.Pattern}
	case *In:
		return append([]Expr{e.X}, e.List...)
	case *Between:
		return []Expr{e.X, e.Lo, e.Hi}
	case *IsNull:
		return []Expr{e.X}
	case *Case:
		var ks []Expr
		if e.Operand != nil {
			ks = append(ks, e.Operand)
		}
		for _, w := range e.Whens {
			ks = append(ks, w.Cond, w.Result)
		}
		if e.Else != nil {
			ks = append(ks, e.Else)
		}
		return ks
	case *Cast:
		return []Expr{e.X}
	case *Extract:
		return []Expr{e.X}
	case *Call:
		return e.Args
	}
	return nil
}
