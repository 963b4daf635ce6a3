package query

import (
	"encoding/binary"
	"math"
	"sort"
	"strings"
)

// aggFunc is an aggregate function.
type aggFunc struct {
	min, max int  // argument counts (count(*) has none)
	star     bool // accepts count(*)
	// distinct: DISTINCT changes the result (not for min, max, …);
	// always: the function is distinct by nature (approx_distinct).
	distinct, always bool
	ret              func(args []expr) typ
	newState         func() aggState
}

// aggState is the partial state of one aggregate for one group. States are
// merged in any order and any grouping; the result is the same (except for
// the last bits of double sums, and for arbitrary, max_by and min_by, which
// pick any of several candidates).
type aggState interface {
	add(c *ctx, args []Value)
	merge(c *ctx, other aggState)
	result() Value
	appendTo(dst []byte) []byte
	parse(src []byte) (rest []byte, err error)
}

// aggregates is the aggregate library, by lower-case name.
var aggregates = map[string]*aggFunc{
	"count":           {min: 0, max: 1, star: true, distinct: true, ret: fixed(tInt), newState: func() aggState { return &countState{} }},
	"count_if":        {min: 1, max: 1, ret: fixed(tInt), newState: func() aggState { return &countState{ifTrue: true} }},
	"approx_distinct": {min: 1, max: 2, distinct: true, always: true, ret: fixed(tInt), newState: func() aggState { return &countState{} }},
	"sum":             {min: 1, max: 1, distinct: true, ret: sumType, newState: func() aggState { return &sumState{} }},
	"avg":             {min: 1, max: 1, distinct: true, ret: fixed(tFloat), newState: func() aggState { return &sumState{avg: true} }},
	"min":             {min: 1, max: 1, ret: firstType, newState: func() aggState { return &extremeState{sign: -1} }},
	"max":             {min: 1, max: 1, ret: firstType, newState: func() aggState { return &extremeState{sign: 1} }},
	"min_by":          {min: 2, max: 2, ret: firstType, newState: func() aggState { return &byState{sign: -1} }},
	"max_by":          {min: 2, max: 2, ret: firstType, newState: func() aggState { return &byState{sign: 1} }},
	"arbitrary":       {min: 1, max: 1, ret: firstType, newState: func() aggState { return &extremeState{} }},
	"any_value":       {min: 1, max: 1, ret: firstType, newState: func() aggState { return &extremeState{} }},
	"bool_and":        {min: 1, max: 1, ret: fixed(tBool), newState: func() aggState { return &boolState{and: true} }},
	"every":           {min: 1, max: 1, ret: fixed(tBool), newState: func() aggState { return &boolState{and: true} }},
	"bool_or":         {min: 1, max: 1, ret: fixed(tBool), newState: func() aggState { return &boolState{} }},
}

func isAggregate(name string) bool { return aggregates[strings.ToLower(name)] != nil }

func sumType(args []expr) typ {
	if t := args[0].typ(); t == tInt || t == tFloat {
		return t
	}
	return tAny
}

// aggCall is one aggregate of a plan, with its arguments (evaluated on
// records).
type aggCall struct {
	name     string
	fn       *aggFunc
	args     []expr
	distinct bool
}

// newState returns an empty state; b bounds the values DISTINCT keeps.
func (a *aggCall) newState(b *budget) aggState {
	if (a.distinct && a.fn.distinct) || a.fn.always {
		return &distinctState{inner: a.fn.newState, set: map[string]Value{}, budget: b, count: a.fn == aggregates["count"] || a.fn.always}
	}
	return a.fn.newState()
}

// countState is count(*), count(x) (non-NULL x) and count_if(x) (true x).
type countState struct {
	n      int64
	ifTrue bool
}

func (s *countState) add(c *ctx, args []Value) {
	n := max(c.weight, 1)
	switch {
	case len(args) == 0:
		s.n += n
	case s.ifTrue:
		if b, ok := truth(args[0]); ok && b {
			s.n += n
		}
	case !args[0].IsNull():
		s.n += n
	}
}
func (s *countState) merge(_ *ctx, o aggState) { s.n += o.(*countState).n }
func (s *countState) result() Value            { return IntValue(s.n) }
func (s *countState) appendTo(dst []byte) []byte {
	return binary.AppendVarint(dst, s.n)
}
func (s *countState) parse(src []byte) ([]byte, error) {
	n, k := binary.Varint(src)
	if k <= 0 {
		return nil, corrupt("bad count state")
	}
	s.n = n
	return src[k:], nil
}

// sumState is sum and avg: an exact bigint sum while every input is a
// bigint, plus a double sum of the doubles.
type sumState struct {
	avg      bool
	n        int64 // values added
	i        int64
	f        float64
	hasFloat bool
}

func (s *sumState) add(c *ctx, args []Value) {
	v := args[0]
	switch v.kind {
	case KindNull:
		return
	case KindInt:
		r := s.i + v.n
		if (r > s.i) != (v.n > 0) && v.n != 0 {
			c.fail("bigint overflow in sum")
			return
		}
		s.i = r
	case KindFloat:
		s.f += v.Float()
		s.hasFloat = true
	default:
		c.fail("cannot sum %s values", v.kind)
		return
	}
	s.n++
}

func (s *sumState) merge(c *ctx, o aggState) {
	x := o.(*sumState)
	r := s.i + x.i
	if (r > s.i) != (x.i > 0) && x.i != 0 {
		c.fail("bigint overflow in sum")
		return
	}
	s.i, s.f, s.n = r, s.f+x.f, s.n+x.n
	s.hasFloat = s.hasFloat || x.hasFloat
}

func (s *sumState) result() Value {
	switch {
	case s.n == 0:
		return nullValue
	case s.avg:
		return FloatValue((float64(s.i) + s.f) / float64(s.n))
	case s.hasFloat:
		return FloatValue(float64(s.i) + s.f)
	}
	return IntValue(s.i)
}

func (s *sumState) appendTo(dst []byte) []byte {
	dst = binary.AppendVarint(dst, s.n)
	dst = binary.AppendVarint(dst, s.i)
	flag := byte(0)
	if s.hasFloat {
		flag = 1
	}
	dst = append(dst, flag)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(s.f))
}

func (s *sumState) parse(src []byte) ([]byte, error) {
	n, k1 := binary.Varint(src)
	if k1 <= 0 {
		return nil, corrupt("bad sum state")
	}
	i, k2 := binary.Varint(src[k1:])
	if k2 <= 0 || len(src) < k1+k2+9 {
		return nil, corrupt("bad sum state")
	}
	src = src[k1+k2:]
	s.n, s.i, s.hasFloat = n, i, src[0] == 1
	s.f = math.Float64frombits(binary.LittleEndian.Uint64(src[1:]))
	return src[9:], nil
}

// extremeState is min (sign -1), max (sign 1) and arbitrary (sign 0: the
// first non-NULL value).
type extremeState struct {
	sign int
	v    Value
}

func (s *extremeState) add(_ *ctx, args []Value) { s.take(args[0]) }

func (s *extremeState) take(v Value) {
	if v.IsNull() {
		return
	}
	if s.v.IsNull() || order(v, s.v)*s.sign > 0 {
		s.v = v
	}
}
func (s *extremeState) merge(_ *ctx, o aggState)   { s.take(o.(*extremeState).v) }
func (s *extremeState) result() Value              { return s.v }
func (s *extremeState) appendTo(dst []byte) []byte { return appendValue(dst, s.v) }
func (s *extremeState) parse(src []byte) ([]byte, error) {
	return parseValue(src, &s.v)
}

// byState is max_by(x, y) (sign 1) and min_by(x, y) (sign -1): the x of the
// greatest (least) non-NULL y.
type byState struct {
	sign int
	x, y Value
}

func (s *byState) add(_ *ctx, args []Value) { s.take(args[0], args[1]) }

func (s *byState) take(x, y Value) {
	if y.IsNull() {
		return
	}
	if s.y.IsNull() || order(y, s.y)*s.sign > 0 {
		s.x, s.y = x, y
	}
}
func (s *byState) merge(_ *ctx, o aggState) { b := o.(*byState); s.take(b.x, b.y) }
func (s *byState) result() Value            { return s.x }
func (s *byState) appendTo(dst []byte) []byte {
	return appendValue(appendValue(dst, s.x), s.y)
}
func (s *byState) parse(src []byte) ([]byte, error) {
	src, err := parseValue(src, &s.x)
	if err != nil {
		return nil, err
	}
	return parseValue(src, &s.y)
}

// boolState is bool_and/every (and) and bool_or.
type boolState struct {
	and       bool
	seen, val bool
}

func (s *boolState) add(_ *ctx, args []Value) {
	if b, ok := truth(args[0]); ok {
		s.take(b)
	}
}

func (s *boolState) take(b bool) {
	switch {
	case !s.seen:
		s.seen, s.val = true, b
	case s.and:
		s.val = s.val && b
	default:
		s.val = s.val || b
	}
}

func (s *boolState) merge(_ *ctx, o aggState) {
	if b := o.(*boolState); b.seen {
		s.take(b.val)
	}
}

func (s *boolState) result() Value {
	if !s.seen {
		return nullValue
	}
	return BoolValue(s.val)
}

func (s *boolState) appendTo(dst []byte) []byte {
	switch {
	case !s.seen:
		return append(dst, 0)
	case s.val:
		return append(dst, 2)
	}
	return append(dst, 1)
}

func (s *boolState) parse(src []byte) ([]byte, error) {
	if len(src) == 0 || src[0] > 2 {
		return nil, corrupt("bad boolean state")
	}
	s.seen, s.val = src[0] != 0, src[0] == 2
	return src[1:], nil
}

// distinctState keeps the distinct non-NULL values of an aggregate's
// argument, exactly; the result feeds them, in encoding order, to the
// aggregate itself (or counts them, for count and approx_distinct).
type distinctState struct {
	inner  func() aggState
	count  bool
	set    map[string]Value
	budget *budget
}

func (s *distinctState) add(c *ctx, args []Value) {
	if args[0].IsNull() {
		return
	}
	s.put(c, string(appendValue(nil, args[0])), args[0])
}

func (s *distinctState) put(c *ctx, k string, v Value) {
	if _, ok := s.set[k]; ok {
		return
	}
	if err := s.budget.take(1); err != nil {
		c.failErr(err)
		return
	}
	s.set[k] = v
}

func (s *distinctState) merge(c *ctx, o aggState) {
	for k, v := range o.(*distinctState).set {
		s.put(c, k, v)
	}
}

func (s *distinctState) result() Value {
	if s.count {
		return IntValue(int64(len(s.set)))
	}
	st := s.inner()
	var c ctx
	for _, k := range s.sortedKeys() {
		st.add(&c, []Value{s.set[k]})
	}
	return st.result()
}

func (s *distinctState) sortedKeys() []string {
	keys := make([]string, 0, len(s.set))
	for k := range s.set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *distinctState) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.set)))
	for _, k := range s.sortedKeys() {
		dst = append(dst, k...)
	}
	return dst
}

func (s *distinctState) parse(src []byte) ([]byte, error) {
	var n uint64
	src, err := parseUvarint(src, &n, uint64(len(src)))
	if err != nil {
		return nil, err
	}
	for range n {
		var v Value
		rest, err := parseValue(src, &v)
		if err != nil {
			return nil, err
		}
		s.set[string(src[:len(src)-len(rest)])] = v
		src = rest
	}
	return src, nil
}
