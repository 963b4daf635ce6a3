package query

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Reading values out of a parsed record. The *fastjson.Values belong to a
// parser and are valid only until its next Parse; everything returned here
// is copied out of them.

// stepKind is the kind of one step of a path into a record.
type stepKind uint8

const (
	stepField stepKind = iota // struct field: matched ignoring case
	stepKey                   // map key: matched exactly (element_at(map, 'key'))
	stepIndex                 // array element: 1-based, negative from the end
)

type step struct {
	kind  stepKind
	name  string
	index int64
}

// walk follows steps from v; nil when a step finds nothing.
func walk(v *fastjson.Value, steps []step) *fastjson.Value {
	for _, s := range steps {
		if v == nil {
			return nil
		}
		switch s.kind {
		case stepField:
			v = getFold(v, s.name)
		case stepKey:
			o, err := v.Object()
			if err != nil {
				return nil
			}
			v = o.Get(s.name)
		case stepIndex:
			a, err := v.Array()
			if err != nil {
				return nil
			}
			v = nil
			i := s.index
			if i < 0 {
				i += int64(len(a)) + 1
			}
			if i >= 1 && i <= int64(len(a)) {
				v = a[i-1]
			}
		}
	}
	return v
}

// getFold returns the field name of object v: the exact key when present,
// else the first key equal to name ignoring case; nil when v is not an object
// or has no such key.
func getFold(v *fastjson.Value, name string) *fastjson.Value {
	o, err := v.Object()
	if err != nil {
		return nil
	}
	if x := o.Get(name); x != nil {
		return x
	}
	var found *fastjson.Value
	o.Visit(func(k []byte, x *fastjson.Value) {
		if found == nil && len(k) == len(name) && strings.EqualFold(string(k), name) {
			found = x
		}
	})
	return found
}

// fromJSON converts a JSON value whose type is known only now: a string is
// varchar, a number bigint (when integral and in range) or double, true and
// false boolean, null or nil NULL, and an object or array JSON text.
func fromJSON(v *fastjson.Value) Value {
	if v == nil {
		return nullValue
	}
	switch v.Type() {
	case fastjson.TypeString:
		return StringValue(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		return numberValue(string(v.MarshalTo(nil)))
	case fastjson.TypeTrue:
		return BoolValue(true)
	case fastjson.TypeFalse:
		return BoolValue(false)
	case fastjson.TypeObject, fastjson.TypeArray:
		return JSONValue(string(v.MarshalTo(nil)))
	}
	return nullValue
}

// numberValue converts JSON number text.
func numberValue(s string) Value {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return IntValue(i)
		}
	}
	f, _ := strconv.ParseFloat(s, 64)
	return FloatValue(f)
}

// mapValue converts the value of a map(varchar, varchar) entry: a string as
// it is, anything else but null as its JSON text.
func mapValue(v *fastjson.Value) Value {
	if v == nil {
		return nullValue
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nullValue
	case fastjson.TypeString:
		return StringValue(string(v.GetStringBytes()))
	}
	return StringValue(string(v.MarshalTo(nil)))
}

// columnValue converts a top-level field to its column's type t; a value of
// another JSON type than the column's is NULL, except that a varchar column
// holding a non-string holds its JSON text.
func columnValue(v *fastjson.Value, t typ) Value {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nullValue
	}
	switch t {
	case tString:
		return mapValue(v)
	case tTimestamp:
		if b, err := v.StringBytes(); err == nil {
			if ns, ok := parseTimestamp(string(b)); ok {
				return tsValue(ns)
			}
		}
	case tBool:
		switch v.Type() {
		case fastjson.TypeTrue:
			return BoolValue(true)
		case fastjson.TypeFalse:
			return BoolValue(false)
		case fastjson.TypeString:
			switch strings.ToLower(string(v.GetStringBytes())) {
			case "true":
				return BoolValue(true)
			case "false":
				return BoolValue(false)
			}
		}
	case tMap, tStruct:
		if v.Type() == fastjson.TypeObject {
			return JSONValue(string(v.MarshalTo(nil)))
		}
	case tArray:
		if v.Type() == fastjson.TypeArray {
			return JSONValue(string(v.MarshalTo(nil)))
		}
	default:
		return fromJSON(v)
	}
	return nullValue
}
