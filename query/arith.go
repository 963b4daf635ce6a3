package query

import (
	"math"
	"time"
)

// arithExpr is + - * / % over numbers, times and intervals.
type arithExpr struct {
	op   byte
	l, r expr
	t    typ
}

func (e *arithExpr) eval(c *ctx) Value {
	return arith(c, e.op, e.l.eval(c), e.r.eval(c))
}
func (e *arithExpr) typ() typ { return e.t }

func arith(c *ctx, op byte, a, b Value) Value {
	if a.IsNull() || b.IsNull() {
		return nullValue
	}
	switch {
	case a.kind == KindInt && b.kind == KindInt:
		return intArith(c, op, a.n, b.n)
	case isNumeric(a.kind) && isNumeric(b.kind):
		x, y := a.Float(), b.Float()
		switch op {
		case '+':
			return FloatValue(x + y)
		case '-':
			return FloatValue(x - y)
		case '*':
			return FloatValue(x * y)
		case '/':
			return FloatValue(x / y)
		case '%':
			return FloatValue(math.Mod(x, y))
		}
	case (a.kind == KindTimestamp || a.kind == KindDate) && (b.kind == KindInterval || b.kind == KindMonths) && (op == '+' || op == '-'):
		return timeArith(c, op, a, b)
	case (a.kind == KindInterval || a.kind == KindMonths) && (b.kind == KindTimestamp || b.kind == KindDate) && op == '+':
		return timeArith(c, op, b, a)
	case a.kind == KindTimestamp && b.kind == KindTimestamp && op == '-':
		return intervalValue(a.n - b.n)
	case a.kind == b.kind && (a.kind == KindInterval || a.kind == KindMonths) && (op == '+' || op == '-'):
		v := intArith(c, op, a.n, b.n)
		return Value{kind: a.kind, n: v.n}
	case (a.kind == KindInterval || a.kind == KindMonths) && b.kind == KindInt && (op == '*' || op == '/'):
		v := intArith(c, op, a.n, b.n)
		return Value{kind: a.kind, n: v.n}
	}
	return c.fail("cannot apply %c to %s and %s", op, a.kind, b.kind)
}

func intArith(c *ctx, op byte, x, y int64) Value {
	switch op {
	case '+':
		s := x + y
		if (s > x) != (y > 0) {
			return c.fail("bigint overflow: %d + %d", x, y)
		}
		return IntValue(s)
	case '-':
		s := x - y
		if (s < x) != (y > 0) {
			return c.fail("bigint overflow: %d - %d", x, y)
		}
		return IntValue(s)
	case '*':
		if x != 0 && y != 0 {
			p := x * y
			if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return c.fail("bigint overflow: %d * %d", x, y)
			}
			return IntValue(p)
		}
		return IntValue(0)
	case '/', '%':
		if y == 0 {
			return c.fail("division by zero")
		}
		if x == math.MinInt64 && y == -1 {
			if op == '%' {
				return IntValue(0)
			}
			return c.fail("bigint overflow: %d / %d", x, y)
		}
		if op == '/' {
			return IntValue(x / y)
		}
		return IntValue(x % y)
	}
	return c.fail("unknown operator %c", op)
}

// timeArith adds (op '+') or subtracts an interval iv from a timestamp or
// date t. A date plus whole days stays a date; plus hours it becomes a
// timestamp. Months are added as Trino does: the day of the month is kept,
// or clamped to the month's last day.
func timeArith(c *ctx, op byte, t, iv Value) Value {
	n := iv.n
	if op == '-' {
		if n == math.MinInt64 {
			return c.fail("interval overflow")
		}
		n = -n
	}
	if iv.kind == KindMonths {
		r, ok := addMonths(t.Time(), n)
		if !ok {
			return c.fail("time out of range")
		}
		if t.kind == KindDate {
			return dateValue(floorDiv(r, 86400e9))
		}
		return tsValue(r)
	}
	if t.kind == KindDate && n%(86400e9) == 0 {
		return dateValue(t.n + n/86400e9)
	}
	base := toNanos(t)
	s := base + n
	if (s > base) != (n > 0) && n != 0 {
		return c.fail("time out of range")
	}
	return tsValue(s)
}

// addMonths adds n months to t, clamping the day to the month's length.
func addMonths(t time.Time, n int64) (int64, bool) {
	if n > 12*1000 || n < -12*1000 {
		return 0, false
	}
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(floorDiv(total, 12)), int(total-floorDiv(total, 12)*12)+1
	if dd := daysIn(ny, nm); d > dd {
		d = dd
	}
	r := time.Date(ny, time.Month(nm), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return checkedNanos(r)
}
