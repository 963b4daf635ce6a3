package query

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// scalarFunc is a built-in function. Unless lenient, a NULL argument makes
// the result NULL without calling eval.
type scalarFunc struct {
	min, max int // argument counts; max < 0: no upper bound
	lenient  bool
	ret      func(args []expr) typ
	eval     func(c *ctx, e *callExpr, args []Value) Value
	// prepare checks constant arguments and precomputes from them at
	// compile time; it returns a message for a compile error, or "".
	prepare func(e *callExpr) string
}

// callExpr is a call of a scalar function.
type callExpr struct {
	name string
	fn   *scalarFunc
	args []expr
	t    typ

	re       *regexp.Regexp // regexp_*: the pattern, when constant
	path     []step         // json_*: the JSON path, when constant
	mapValue bool           // element_at on a map(varchar, varchar)
}

func (e *callExpr) eval(c *ctx) Value {
	var buf [4]Value
	args := buf[:0]
	for _, a := range e.args {
		v := a.eval(c)
		if v.IsNull() && !e.fn.lenient {
			return nullValue
		}
		args = append(args, v)
	}
	return e.fn.eval(c, e, args)
}

func (e *callExpr) typ() typ { return e.t }

func fixed(t typ) func([]expr) typ { return func([]expr) typ { return t } }

// firstType is the type of the first argument whose type is known.
func firstType(args []expr) typ {
	for _, a := range args {
		if t := a.typ(); t != tNull && t != tAny {
			return t
		}
	}
	return tAny
}

// funcs is the function library, by lower-case name. Aggregates are in
// aggregates; coalesce, if, now and the like are compiled specially (see
// compileCall) but are listed here for arity checks and suggestions.
var funcs map[string]*scalarFunc

func init() {
	funcs = map[string]*scalarFunc{
		// Strings.
		"lower":       {min: 1, max: 1, ret: fixed(tString), eval: strFunc(strings.ToLower)},
		"upper":       {min: 1, max: 1, ret: fixed(tString), eval: strFunc(strings.ToUpper)},
		"trim":        {min: 1, max: 1, ret: fixed(tString), eval: strFunc(func(s string) string { return strings.TrimFunc(s, unicode.IsSpace) })},
		"ltrim":       {min: 1, max: 1, ret: fixed(tString), eval: strFunc(func(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) })},
		"rtrim":       {min: 1, max: 1, ret: fixed(tString), eval: strFunc(func(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) })},
		"reverse":     {min: 1, max: 1, ret: fixed(tString), eval: strFunc(reverse)},
		"length":      {min: 1, max: 1, ret: fixed(tInt), eval: fnLength},
		"substr":      {min: 2, max: 3, ret: fixed(tString), eval: fnSubstr},
		"substring":   {min: 2, max: 3, ret: fixed(tString), eval: fnSubstr},
		"replace":     {min: 2, max: 3, ret: fixed(tString), eval: fnReplace},
		"split_part":  {min: 3, max: 3, ret: fixed(tString), eval: fnSplitPart},
		"split":       {min: 2, max: 2, ret: fixed(tArray), eval: fnSplit},
		"strpos":      {min: 2, max: 2, ret: fixed(tInt), eval: fnStrpos},
		"starts_with": {min: 2, max: 2, ret: fixed(tBool), eval: fnStartsWith},
		"concat":      {min: 1, max: -1, ret: fixed(tString), eval: fnConcat},
		"lpad":        {min: 3, max: 3, ret: fixed(tString), eval: fnPad(true)},
		"rpad":        {min: 3, max: 3, ret: fixed(tString), eval: fnPad(false)},
		"chr":         {min: 1, max: 1, ret: fixed(tString), eval: fnChr},
		"regexp_like": {min: 2, max: 2, ret: fixed(tBool), eval: fnRegexpLike, prepare: prepareRegexp},
		"regexp_extract": {min: 2, max: 3, ret: fixed(tString), eval: fnRegexpExtract,
			prepare: prepareRegexp},
		"regexp_replace": {min: 2, max: 3, ret: fixed(tString), eval: fnRegexpReplace,
			prepare: prepareRegexp},
		"regexp_count": {min: 2, max: 2, ret: fixed(tInt), eval: fnRegexpCount, prepare: prepareRegexp},

		// Conditionals and comparison.
		"coalesce": {min: 1, max: -1, lenient: true, ret: firstType},
		"if":       {min: 2, max: 3, lenient: true, ret: firstType},
		"nullif":   {min: 2, max: 2, lenient: true, ret: firstType, eval: fnNullif},
		"greatest": {min: 1, max: -1, ret: firstType, eval: fnExtreme(1)},
		"least":    {min: 1, max: -1, ret: firstType, eval: fnExtreme(-1)},
		"typeof":   {min: 1, max: 1, lenient: true, ret: fixed(tString), eval: fnTypeof},

		// Numbers.
		"abs":     {min: 1, max: 1, ret: firstType, eval: fnAbs},
		"round":   {min: 1, max: 2, ret: firstType, eval: fnRound},
		"floor":   {min: 1, max: 1, ret: firstType, eval: fnFloatFunc(math.Floor)},
		"ceil":    {min: 1, max: 1, ret: firstType, eval: fnFloatFunc(math.Ceil)},
		"ceiling": {min: 1, max: 1, ret: firstType, eval: fnFloatFunc(math.Ceil)},
		"mod":     {min: 2, max: 2, ret: firstType, eval: func(c *ctx, _ *callExpr, a []Value) Value { return arith(c, '%', a[0], a[1]) }},
		"power":   {min: 2, max: 2, ret: fixed(tFloat), eval: fnPower},
		"pow":     {min: 2, max: 2, ret: fixed(tFloat), eval: fnPower},
		"sqrt":    {min: 1, max: 1, ret: fixed(tFloat), eval: func(_ *ctx, _ *callExpr, a []Value) Value { return FloatValue(math.Sqrt(a[0].Float())) }},

		// Arrays and maps (held as JSON).
		"element_at":  {min: 2, max: 2, ret: fixed(tAny), eval: fnElementAt},
		"cardinality": {min: 1, max: 1, ret: fixed(tInt), eval: fnCardinality},
		"contains":    {min: 2, max: 2, ret: fixed(tBool), eval: fnContains},
		"array_join":  {min: 2, max: 3, ret: fixed(tString), eval: fnArrayJoin},
		"map_keys":    {min: 1, max: 1, ret: fixed(tArray), eval: fnMapKeys},
		"map_values":  {min: 1, max: 1, ret: fixed(tArray), eval: fnMapValues},
	}
	for name, f := range jsonFuncs {
		funcs[name] = f
	}
	for name, f := range timeFuncs {
		funcs[name] = f
	}
}

// funcNames lists the scalar and aggregate function names, for suggestions.
func funcNames() []string {
	names := make([]string, 0, len(funcs)+len(aggregates))
	for n := range funcs {
		names = append(names, n)
	}
	for n := range aggregates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func strFunc(f func(string) string) func(*ctx, *callExpr, []Value) Value {
	return func(_ *ctx, _ *callExpr, a []Value) Value { return StringValue(f(asString(a[0]))) }
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func fnLength(_ *ctx, _ *callExpr, a []Value) Value {
	return IntValue(int64(utf8.RuneCountInString(asString(a[0]))))
}

// fnSubstr is substr(s, start[, length]): 1-based characters; a negative
// start counts from the end; start 0 gives ”.
func fnSubstr(c *ctx, _ *callExpr, a []Value) Value {
	s := []rune(asString(a[0]))
	start, ok := intArg(c, a[1])
	if !ok {
		return nullValue
	}
	n := int64(len(s))
	if start == 0 || start > n || -start > n {
		return StringValue("")
	}
	if start < 0 {
		start = n + start + 1
	}
	end := n
	if len(a) == 3 {
		l, ok := intArg(c, a[2])
		if !ok {
			return nullValue
		}
		if l < 0 {
			return c.fail("substr length must not be negative")
		}
		if l < n-start+1 {
			end = start - 1 + l
		}
	}
	return StringValue(string(s[start-1 : end]))
}

func intArg(c *ctx, v Value) (int64, bool) {
	switch v.kind {
	case KindInt:
		return v.n, true
	case KindFloat:
		return int64(v.Float()), true
	}
	if iv, ok := coerceTo(v, KindInt); ok && iv.kind == KindInt {
		return iv.n, true
	}
	c.fail("%s is not a number", v)
	return 0, false
}

func fnReplace(_ *ctx, _ *callExpr, a []Value) Value {
	to := ""
	if len(a) == 3 {
		to = asString(a[2])
	}
	return StringValue(strings.ReplaceAll(asString(a[0]), asString(a[1]), to))
}

// fnSplitPart is split_part(s, delimiter, index): the index-th field
// (1-based), NULL past the last.
func fnSplitPart(c *ctx, _ *callExpr, a []Value) Value {
	idx, ok := intArg(c, a[2])
	if !ok {
		return nullValue
	}
	if idx < 1 {
		return c.fail("split_part index must be greater than zero")
	}
	s, d := asString(a[0]), asString(a[1])
	var parts []string
	if d == "" {
		parts = []string{s}
	} else {
		parts = strings.Split(s, d)
	}
	if idx > int64(len(parts)) {
		return nullValue
	}
	return StringValue(parts[idx-1])
}

func fnSplit(_ *ctx, _ *callExpr, a []Value) Value {
	s, d := asString(a[0]), asString(a[1])
	var parts []string
	if d == "" {
		for _, r := range s {
			parts = append(parts, string(r))
		}
	} else {
		parts = strings.Split(s, d)
	}
	b := []byte{'['}
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p)
	}
	return JSONValue(string(append(b, ']')))
}

func fnStrpos(_ *ctx, _ *callExpr, a []Value) Value {
	s, sub := asString(a[0]), asString(a[1])
	i := strings.Index(s, sub)
	if i < 0 {
		return IntValue(0)
	}
	return IntValue(int64(utf8.RuneCountInString(s[:i])) + 1)
}

func fnStartsWith(_ *ctx, _ *callExpr, a []Value) Value {
	return BoolValue(strings.HasPrefix(asString(a[0]), asString(a[1])))
}

func fnConcat(_ *ctx, _ *callExpr, a []Value) Value {
	var b strings.Builder
	for _, v := range a {
		b.WriteString(asString(v))
	}
	return StringValue(b.String())
}

func fnPad(left bool) func(*ctx, *callExpr, []Value) Value {
	return func(c *ctx, _ *callExpr, a []Value) Value {
		s := []rune(asString(a[0]))
		n, ok := intArg(c, a[1])
		if !ok {
			return nullValue
		}
		pad := []rune(asString(a[2]))
		if n < 0 || n > 1<<20 {
			return c.fail("pad length %d is out of range", n)
		}
		if int64(len(s)) >= n {
			return StringValue(string(s[:n]))
		}
		if len(pad) == 0 {
			return c.fail("padding string must not be empty")
		}
		fill := make([]rune, 0, n-int64(len(s)))
		for int64(len(fill)) < n-int64(len(s)) {
			fill = append(fill, pad[len(fill)%len(pad)])
		}
		if left {
			return StringValue(string(fill) + string(s))
		}
		return StringValue(string(s) + string(fill))
	}
}

func fnChr(c *ctx, _ *callExpr, a []Value) Value {
	n, ok := intArg(c, a[0])
	if !ok {
		return nullValue
	}
	if n < 0 || n > unicode.MaxRune {
		return c.fail("not a valid Unicode code point: %d", n)
	}
	return StringValue(string(rune(n)))
}

// prepareRegexp compiles a constant pattern once. Patterns are RE2 (Go's
// regexp), close to the Java patterns Trino uses for everything CloudTrail
// queries need; backreferences and lookaround are not supported.
func prepareRegexp(e *callExpr) string {
	k, ok := e.args[1].(*constExpr)
	if !ok || k.v.IsNull() {
		return ""
	}
	re, err := regexp.Compile(asString(k.v))
	if err != nil {
		return fmt.Sprintf("invalid regular expression %s: %v", quoteSQL(asString(k.v)), err)
	}
	e.re = re
	return ""
}

func regexpOf(c *ctx, e *callExpr, pat Value) *regexp.Regexp {
	if e.re != nil {
		return e.re
	}
	re, err := regexp.Compile(asString(pat))
	if err != nil {
		c.fail("invalid regular expression %s: %v", quoteSQL(asString(pat)), err)
		return nil
	}
	return re
}

func fnRegexpLike(c *ctx, e *callExpr, a []Value) Value {
	re := regexpOf(c, e, a[1])
	if re == nil {
		return nullValue
	}
	return BoolValue(re.MatchString(asString(a[0])))
}

func fnRegexpCount(c *ctx, e *callExpr, a []Value) Value {
	re := regexpOf(c, e, a[1])
	if re == nil {
		return nullValue
	}
	return IntValue(int64(len(re.FindAllStringIndex(asString(a[0]), -1))))
}

func fnRegexpExtract(c *ctx, e *callExpr, a []Value) Value {
	re := regexpOf(c, e, a[1])
	if re == nil {
		return nullValue
	}
	group := int64(0)
	if len(a) == 3 {
		var ok bool
		if group, ok = intArg(c, a[2]); !ok {
			return nullValue
		}
	}
	if group < 0 || group > int64(re.NumSubexp()) {
		return c.fail("pattern has %d groups, cannot access group %d", re.NumSubexp(), group)
	}
	m := re.FindStringSubmatchIndex(asString(a[0]))
	if m == nil || m[2*group] < 0 {
		return nullValue
	}
	return StringValue(asString(a[0])[m[2*group]:m[2*group+1]])
}

// fnRegexpReplace replaces every match; in the replacement $1 (or ${1})
// stands for a group, as in Trino.
func fnRegexpReplace(c *ctx, e *callExpr, a []Value) Value {
	re := regexpOf(c, e, a[1])
	if re == nil {
		return nullValue
	}
	repl := ""
	if len(a) == 3 {
		repl = goReplacement(asString(a[2]))
	}
	return StringValue(re.ReplaceAllString(asString(a[0]), repl))
}

// goReplacement converts a Trino (Java) replacement, where $1 is a group
// and \$ a dollar sign, to Go's syntax, where $1x would name group "1x".
func goReplacement(s string) string {
	if !strings.ContainsAny(s, "$\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func fnNullif(_ *ctx, _ *callExpr, a []Value) Value {
	if n, ok := compare(a[0], a[1]); ok && n == 0 {
		return nullValue
	}
	return a[0]
}

func fnExtreme(sign int) func(*ctx, *callExpr, []Value) Value {
	return func(_ *ctx, _ *callExpr, a []Value) Value {
		best := a[0]
		for _, v := range a[1:] {
			if order(v, best)*sign > 0 {
				best = v
			}
		}
		return best
	}
}

func fnTypeof(_ *ctx, _ *callExpr, a []Value) Value {
	if a[0].kind == KindNull {
		return StringValue("unknown")
	}
	return StringValue(a[0].kind.String())
}

func fnAbs(c *ctx, _ *callExpr, a []Value) Value {
	switch a[0].kind {
	case KindInt:
		if a[0].n == math.MinInt64 {
			return c.fail("bigint overflow: abs(%d)", a[0].n)
		}
		if a[0].n < 0 {
			return IntValue(-a[0].n)
		}
		return a[0]
	case KindFloat:
		return FloatValue(math.Abs(a[0].Float()))
	}
	return c.fail("abs of %s", a[0].kind)
}

// fnRound rounds half away from zero, to d decimal places (default 0).
func fnRound(c *ctx, _ *callExpr, a []Value) Value {
	d := int64(0)
	if len(a) == 2 {
		var ok bool
		if d, ok = intArg(c, a[1]); !ok {
			return nullValue
		}
	}
	switch a[0].kind {
	case KindInt:
		if d >= 0 {
			return a[0]
		}
		p := math.Pow(10, float64(-d))
		return IntValue(int64(math.Round(float64(a[0].n)/p) * p))
	case KindFloat:
		p := math.Pow(10, float64(d))
		return FloatValue(math.Round(a[0].Float()*p) / p)
	}
	return c.fail("round of %s", a[0].kind)
}

func fnFloatFunc(f func(float64) float64) func(*ctx, *callExpr, []Value) Value {
	return func(c *ctx, _ *callExpr, a []Value) Value {
		switch a[0].kind {
		case KindInt:
			return a[0]
		case KindFloat:
			return FloatValue(f(a[0].Float()))
		}
		return c.fail("not a number: %s", a[0].kind)
	}
}

func fnPower(c *ctx, _ *callExpr, a []Value) Value {
	if !isNumeric(a[0].kind) || !isNumeric(a[1].kind) {
		return c.fail("power of %s and %s", a[0].kind, a[1].kind)
	}
	return FloatValue(math.Pow(a[0].Float(), a[1].Float()))
}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
