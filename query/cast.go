package query

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// castType is a type CAST can convert to.
type castType uint8

const (
	castVarchar castType = iota
	castBigint
	castDouble
	castBoolean
	castTimestamp
	castDate
	castJSON
)

var castTypes = map[string]castType{
	"varchar": castVarchar, "char": castVarchar, "string": castVarchar,
	"bigint": castBigint, "integer": castBigint, "int": castBigint, "smallint": castBigint, "tinyint": castBigint,
	"double": castDouble, "double precision": castDouble, "real": castDouble, "decimal": castDouble, "float": castDouble,
	"boolean":   castBoolean,
	"timestamp": castTimestamp, "timestamp with time zone": castTimestamp,
	"date": castDate,
	"json": castJSON,
}

var castResult = [...]typ{castVarchar: tString, castBigint: tInt, castDouble: tFloat, castBoolean: tBool,
	castTimestamp: tTimestamp, castDate: tDate, castJSON: tJSON}

// lookupCastType maps a normalised type name such as "varchar(10)" or
// "timestamp(3) with time zone" to a castType. Parameters of varchar, char,
// decimal and timestamp are accepted and ignored (values are not truncated,
// decimals are doubles, timestamps keep nanoseconds).
func lookupCastType(name string) (castType, bool) {
	base := name
	if i := strings.IndexByte(name, '('); i >= 0 {
		j := strings.IndexByte(name, ')')
		if j < i {
			return 0, false
		}
		base = name[:i] + name[j+1:]
		switch name[:i] {
		case "varchar", "char", "decimal", "timestamp":
		default:
			return 0, false
		}
	}
	t, ok := castTypes[base]
	return t, ok
}

// castValue converts v; ok is false when v does not convert (CAST fails,
// TRY_CAST gives NULL).
func castValue(v Value, to castType) (Value, bool) {
	if v.IsNull() {
		return v, true
	}
	switch to {
	case castVarchar:
		return castToString(v)
	case castBigint:
		switch v.kind {
		case KindInt:
			return v, true
		case KindFloat:
			f := math.Round(v.Float())
			if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
				return nullValue, false
			}
			return IntValue(int64(f)), true
		case KindBool:
			return IntValue(v.n), true
		case KindString, KindJSON:
			i, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64)
			if err != nil {
				return nullValue, false
			}
			return IntValue(i), true
		}
	case castDouble:
		switch v.kind {
		case KindInt, KindFloat:
			return FloatValue(v.Float()), true
		case KindBool:
			return FloatValue(float64(v.n)), true
		case KindString, KindJSON:
			s := strings.TrimSpace(v.s)
			switch strings.ToLower(s) {
			case "nan":
				return FloatValue(math.NaN()), true
			case "infinity", "+infinity":
				return FloatValue(math.Inf(1)), true
			case "-infinity":
				return FloatValue(math.Inf(-1)), true
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || strings.ContainsAny(s, "xXpP_") || strings.EqualFold(s, "inf") {
				return nullValue, false
			}
			return FloatValue(f), true
		}
	case castBoolean:
		switch v.kind {
		case KindBool:
			return v, true
		case KindInt, KindFloat:
			return BoolValue(v.Float() != 0), true
		case KindString, KindJSON:
			switch strings.ToLower(strings.TrimSpace(v.s)) {
			case "true", "t", "1":
				return BoolValue(true), true
			case "false", "f", "0":
				return BoolValue(false), true
			}
		}
	case castTimestamp:
		switch v.kind {
		case KindTimestamp:
			return v, true
		case KindDate:
			return tsValue(toNanos(v)), true
		case KindString:
			if ns, ok := parseTimestamp(strings.TrimSpace(v.s)); ok {
				return tsValue(ns), true
			}
		}
	case castDate:
		switch v.kind {
		case KindDate:
			return v, true
		case KindTimestamp:
			return dateValue(floorDiv(v.n, 86400e9)), true
		case KindString:
			if d, ok := parseDate(strings.TrimSpace(v.s)); ok {
				return dateValue(d), true
			}
		}
	case castJSON:
		if v.kind == KindJSON {
			return v, true
		}
		return JSONValue(string(v.appendJSON(nil))), true
	}
	return nullValue, false
}

// castToString is CAST(v AS varchar). Timestamps print as Trino prints a
// timestamp(3): 2026-01-02 03:04:05.000. A JSON string becomes its content.
func castToString(v Value) (Value, bool) {
	switch v.kind {
	case KindNull, KindString:
		return v, true
	case KindJSON:
		if len(v.s) > 0 && v.s[0] == '"' {
			if j, err := fastjson.Parse(v.s); err == nil && j.Type() == fastjson.TypeString {
				return StringValue(string(j.GetStringBytes())), true
			}
		}
		return StringValue(v.s), true
	case KindTimestamp:
		t := time.Unix(0, v.n).UTC()
		layout := "2006-01-02 15:04:05.000"
		if t.Nanosecond()%1e6 != 0 {
			layout = "2006-01-02 15:04:05.000000000"
		}
		return StringValue(t.Format(layout)), true
	}
	return StringValue(v.String()), true
}
