package query

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Time functions. Every time is UTC; a string argument is parsed as a
// timestamp (parseTimestamp), leniently.

var timeFuncs = map[string]*scalarFunc{
	// Compiled to constants from Options.Now (see compileCall).
	"now":               {min: 0, max: 0, ret: fixed(tTimestamp)},
	"current_timestamp": {min: 0, max: 0, ret: fixed(tTimestamp)},
	"localtimestamp":    {min: 0, max: 0, ret: fixed(tTimestamp)},
	"current_date":      {min: 0, max: 0, ret: fixed(tDate)},

	"date":                   {min: 1, max: 1, ret: fixed(tDate), eval: fnDate},
	"date_trunc":             {min: 2, max: 2, ret: func(a []expr) typ { return timeType(a[1]) }, eval: fnDateTrunc, prepare: prepareUnit(truncUnits)},
	"date_add":               {min: 3, max: 3, ret: func(a []expr) typ { return timeType(a[2]) }, eval: fnDateAdd, prepare: prepareUnit(addUnits)},
	"date_diff":              {min: 3, max: 3, ret: fixed(tInt), eval: fnDateDiff, prepare: prepareUnit(addUnits)},
	"from_iso8601_timestamp": {min: 1, max: 1, ret: fixed(tTimestamp), eval: fnFromISO},
	"from_iso8601_date":      {min: 1, max: 1, ret: fixed(tDate), eval: fnDate},
	"to_iso8601":             {min: 1, max: 1, ret: fixed(tString), eval: fnToISO},
	"from_unixtime":          {min: 1, max: 1, ret: fixed(tTimestamp), eval: fnFromUnixtime},
	"to_unixtime":            {min: 1, max: 1, ret: fixed(tFloat), eval: fnToUnixtime},
	"date_format":            {min: 2, max: 2, ret: fixed(tString), eval: fnDateFormat},
	"date_parse":             {min: 2, max: 2, ret: fixed(tTimestamp), eval: fnDateParse},
	"year":                   {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Year() })},
	"quarter":                {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return (int(t.Month())-1)/3 + 1 })},
	"month":                  {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return int(t.Month()) })},
	"week":                   {min: 1, max: 1, ret: fixed(tInt), eval: field(isoWeek)},
	"week_of_year":           {min: 1, max: 1, ret: fixed(tInt), eval: field(isoWeek)},
	"year_of_week":           {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { y, _ := t.ISOWeek(); return y })},
	"day":                    {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Day() })},
	"day_of_month":           {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Day() })},
	"day_of_week":            {min: 1, max: 1, ret: fixed(tInt), eval: field(isoWeekday)},
	"dow":                    {min: 1, max: 1, ret: fixed(tInt), eval: field(isoWeekday)},
	"day_of_year":            {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.YearDay() })},
	"doy":                    {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.YearDay() })},
	"hour":                   {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Hour() })},
	"minute":                 {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Minute() })},
	"second":                 {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Second() })},
	"millisecond":            {min: 1, max: 1, ret: fixed(tInt), eval: field(func(t time.Time) int { return t.Nanosecond() / 1e6 })},
	"last_day_of_month": {min: 1, max: 1, ret: fixed(tDate), eval: func(c *ctx, _ *callExpr, a []Value) Value {
		t, ok := timeArg(c, a[0])
		if !ok {
			return nullValue
		}
		y, m, _ := t.Date()
		return dateValue(time.Date(y, m, daysIn(y, int(m)), 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}},
}

// extractFields maps EXTRACT's fields to the functions above.
var extractFields = map[string]string{
	"YEAR": "year", "QUARTER": "quarter", "MONTH": "month", "WEEK": "week", "DAY": "day",
	"DAY_OF_MONTH": "day", "DAY_OF_WEEK": "day_of_week", "DOW": "day_of_week",
	"DAY_OF_YEAR": "day_of_year", "DOY": "day_of_year", "YEAR_OF_WEEK": "year_of_week",
	"YOW": "year_of_week", "HOUR": "hour", "MINUTE": "minute", "SECOND": "second",
}

func timeType(e expr) typ {
	if e.typ() == tDate {
		return tDate
	}
	return tTimestamp
}

func isoWeek(t time.Time) int {
	_, w := t.ISOWeek()
	return w
}

func isoWeekday(t time.Time) int {
	if d := int(t.Weekday()); d != 0 {
		return d
	}
	return 7
}

// timeArg converts a timestamp, a date or a string holding a time.
func timeArg(c *ctx, v Value) (time.Time, bool) {
	switch v.kind {
	case KindTimestamp, KindDate:
		return v.Time(), true
	case KindString:
		if ns, ok := parseTimestamp(v.s); ok {
			return time.Unix(0, ns).UTC(), true
		}
		c.fail("%s is not a timestamp", quoteSQL(shortText(v.s)))
		return time.Time{}, false
	}
	c.fail("a timestamp is needed, not %s", v.kind)
	return time.Time{}, false
}

func field(f func(time.Time) int) func(*ctx, *callExpr, []Value) Value {
	return func(c *ctx, _ *callExpr, a []Value) Value {
		t, ok := timeArg(c, a[0])
		if !ok {
			return nullValue
		}
		return IntValue(int64(f(t)))
	}
}

func fnDate(c *ctx, _ *callExpr, a []Value) Value {
	v, ok := castValue(a[0], castDate)
	if !ok {
		return c.fail("cannot convert %s to a date", quoteSQL(shortText(asString(a[0]))))
	}
	return v
}

func fnFromISO(c *ctx, _ *callExpr, a []Value) Value {
	ns, ok := parseTimestamp(asString(a[0]))
	if !ok {
		return c.fail("%s is not an ISO 8601 timestamp", quoteSQL(shortText(asString(a[0]))))
	}
	return tsValue(ns)
}

func fnToISO(c *ctx, _ *callExpr, a []Value) Value {
	switch a[0].kind {
	case KindTimestamp, KindDate:
		return StringValue(a[0].String())
	}
	return c.fail("to_iso8601 needs a timestamp or date, not %s", a[0].kind)
}

func fnFromUnixtime(c *ctx, _ *callExpr, a []Value) Value {
	if !isNumeric(a[0].kind) {
		return c.fail("from_unixtime needs a number, not %s", a[0].kind)
	}
	f := a[0].Float() * 1e9
	if math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return c.fail("from_unixtime(%s) is out of range", a[0])
	}
	if a[0].kind == KindInt && a[0].n < math.MaxInt64/int64(1e9) && a[0].n > math.MinInt64/int64(1e9) {
		return tsValue(a[0].n * 1e9)
	}
	return tsValue(int64(f))
}

func fnToUnixtime(c *ctx, _ *callExpr, a []Value) Value {
	t, ok := timeArg(c, a[0])
	if !ok {
		return nullValue
	}
	return FloatValue(float64(t.UnixNano()) / 1e9)
}

// Units of date_trunc, and of date_add and date_diff, with their lengths in
// nanoseconds (0 for calendar units).
var truncUnits = map[string]int64{"millisecond": 1e6, "second": 1e9, "minute": 60e9, "hour": 3600e9,
	"day": 86400e9, "week": 0, "month": 0, "quarter": 0, "year": 0}
var addUnits = map[string]int64{"millisecond": 1e6, "second": 1e9, "minute": 60e9, "hour": 3600e9,
	"day": 86400e9, "week": 7 * 86400e9, "month": 0, "quarter": 0, "year": 0}

func prepareUnit(units map[string]int64) func(*callExpr) string {
	return func(e *callExpr) string {
		k, ok := e.args[0].(*constExpr)
		if !ok || k.v.IsNull() {
			return ""
		}
		if _, ok := units[strings.ToLower(asString(k.v))]; !ok {
			return "unknown unit " + quoteSQL(asString(k.v)) + " for " + e.name + "; use one of " + unitList(units)
		}
		return ""
	}
}

func unitList(units map[string]int64) string {
	var names []string
	for _, u := range []string{"millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"} {
		if _, ok := units[u]; ok {
			names = append(names, "'"+u+"'")
		}
	}
	return strings.Join(names, ", ")
}

func unitArg(c *ctx, v Value, units map[string]int64) (string, int64, bool) {
	u := strings.ToLower(asString(v))
	n, ok := units[u]
	if !ok {
		c.fail("unknown unit %s; use one of %s", quoteSQL(asString(v)), unitList(units))
	}
	return u, n, ok
}

// fnDateTrunc truncates to the unit; weeks start on Monday.
func fnDateTrunc(c *ctx, _ *callExpr, a []Value) Value {
	u, n, ok := unitArg(c, a[0], truncUnits)
	if !ok {
		return nullValue
	}
	t, ok := timeArg(c, a[1])
	if !ok {
		return nullValue
	}
	var r time.Time
	y, m, d := t.Date()
	switch u {
	case "week":
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		r = day.AddDate(0, 0, -(isoWeekday(day) - 1))
	case "month":
		r = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		r = time.Date(y, time.Month((int(m)-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	case "year":
		r = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		ns := t.UnixNano()
		r = time.Unix(0, floorDiv(ns, n)*n).UTC()
	}
	if a[1].kind == KindDate {
		return dateValue(floorDiv(r.Unix(), 86400))
	}
	ns, ok := checkedNanos(r)
	if !ok {
		return c.fail("time out of range")
	}
	return tsValue(ns)
}

func fnDateAdd(c *ctx, _ *callExpr, a []Value) Value {
	u, unit, ok := unitArg(c, a[0], addUnits)
	if !ok {
		return nullValue
	}
	n, ok := intArg(c, a[1])
	if !ok {
		return nullValue
	}
	base := a[2]
	if base.kind == KindString {
		t, ok := timeArg(c, base)
		if !ok {
			return nullValue
		}
		base = TimeValue(t)
	}
	if base.kind != KindTimestamp && base.kind != KindDate {
		return c.fail("date_add needs a timestamp or date, not %s", base.kind)
	}
	switch u {
	case "month", "quarter", "year":
		months := n
		switch u {
		case "quarter":
			months *= 3
		case "year":
			months *= 12
		}
		return timeArith(c, '+', base, monthsValue(months))
	}
	if n > math.MaxInt64/unit || n < math.MinInt64/unit {
		return c.fail("date_add(%s, %d) is out of range", u, n)
	}
	return timeArith(c, '+', base, intervalValue(n*unit))
}

// fnDateDiff is the number of whole units from a to b (negative when b is
// earlier).
func fnDateDiff(c *ctx, _ *callExpr, a []Value) Value {
	u, unit, ok := unitArg(c, a[0], addUnits)
	if !ok {
		return nullValue
	}
	t1, ok1 := timeArg(c, a[1])
	t2, ok2 := timeArg(c, a[2])
	if !ok1 || !ok2 {
		return nullValue
	}
	if unit != 0 {
		return IntValue((t2.UnixNano() - t1.UnixNano()) / unit)
	}
	y1, m1, _ := t1.Date()
	y2, m2, _ := t2.Date()
	months := int64(y2-y1)*12 + int64(m2-m1)
	r1 := int64(t1.Day())*86400e9 + nanoOfDay(t1)
	r2 := int64(t2.Day())*86400e9 + nanoOfDay(t2)
	switch {
	case months > 0 && r2 < r1:
		months--
	case months < 0 && r2 > r1:
		months++
	}
	switch u {
	case "quarter":
		months /= 3
	case "year":
		months /= 12
	}
	return IntValue(months)
}

func nanoOfDay(t time.Time) int64 {
	return int64(t.Hour())*3600e9 + int64(t.Minute())*60e9 + int64(t.Second())*1e9 + int64(t.Nanosecond())
}

// mysqlLayout converts a MySQL date_format pattern (%Y-%m-%d %H:%i:%s) to a
// Go time layout. ok is false for a specifier it does not know.
func mysqlLayout(f string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString("2006")
		case 'y':
			b.WriteString("06")
		case 'm':
			b.WriteString("01")
		case 'c':
			b.WriteString("1")
		case 'd':
			b.WriteString("02")
		case 'e':
			b.WriteString("2")
		case 'H', 'k':
			b.WriteString("15")
		case 'h', 'I', 'l':
			b.WriteString("03")
		case 'i':
			b.WriteString("04")
		case 's', 'S':
			b.WriteString("05")
		case 'f':
			b.WriteString("000000")
		case 'p':
			b.WriteString("PM")
		case 'b':
			b.WriteString("Jan")
		case 'M':
			b.WriteString("January")
		case 'a':
			b.WriteString("Mon")
		case 'W':
			b.WriteString("Monday")
		case 'j':
			b.WriteString("002")
		case 'T':
			b.WriteString("15:04:05")
		case 'r':
			b.WriteString("03:04:05 PM")
		case '%':
			b.WriteByte('%')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// fnDateFormat formats with MySQL specifiers (%Y-%m-%d %H:%i:%s and the
// like), as Trino's date_format does.
func fnDateFormat(c *ctx, _ *callExpr, a []Value) Value {
	t, ok := timeArg(c, a[0])
	if !ok {
		return nullValue
	}
	f := asString(a[1])
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		if f[i] == 'f' {
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
			continue
		}
		layout, ok := mysqlLayout("%" + f[i:i+1])
		if !ok {
			return c.fail("unsupported date_format specifier %%%c", f[i])
		}
		b.WriteString(t.Format(layout))
	}
	return StringValue(b.String())
}

func fnDateParse(c *ctx, _ *callExpr, a []Value) Value {
	layout, ok := mysqlLayout(asString(a[1]))
	if !ok {
		return c.fail("unsupported date_parse pattern %s", quoteSQL(asString(a[1])))
	}
	t, err := time.Parse(layout, asString(a[0]))
	if err != nil {
		return c.fail("cannot parse %s with %s", quoteSQL(shortText(asString(a[0]))), quoteSQL(asString(a[1])))
	}
	ns, ok := checkedNanos(t)
	if !ok {
		return c.fail("time out of range")
	}
	return tsValue(ns)
}
