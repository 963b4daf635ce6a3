package query

import (
	"errors"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// JSON functions. JSON, arrays, maps and structs are all held as JSON text;
// these parse it with the ctx's scratch parser.

var jsonFuncs = map[string]*scalarFunc{
	"json_extract_scalar": {min: 2, max: 2, ret: fixed(tString), eval: fnJSONExtract(true), prepare: prepareJSONPath},
	"json_extract":        {min: 2, max: 2, ret: fixed(tJSON), eval: fnJSONExtract(false), prepare: prepareJSONPath},
	"json_size":           {min: 2, max: 2, ret: fixed(tInt), eval: fnJSONSize, prepare: prepareJSONPath},
	"json_array_get":      {min: 2, max: 2, ret: fixed(tJSON), eval: fnJSONArrayGet},
	"json_array_length":   {min: 1, max: 1, ret: fixed(tInt), eval: fnJSONArrayLength},
	"json_array_contains": {min: 2, max: 2, ret: fixed(tBool), eval: fnJSONArrayContains},
	"json_parse":          {min: 1, max: 1, ret: fixed(tJSON), eval: fnJSONParse},
	"json_format":         {min: 1, max: 1, ret: fixed(tString), eval: func(_ *ctx, _ *callExpr, a []Value) Value { return StringValue(a[0].s) }},
}

// parseJSONPath parses the JSON paths of json_extract: $ followed by .key,
// ["key"], ['key'] or [index] (0-based) steps. Keys match exactly.
func parseJSONPath(p string) ([]step, error) {
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "$") {
		return nil, errors.New("a JSON path starts with $")
	}
	var steps []step
	for i := 1; i < len(p); {
		switch p[i] {
		case '.':
			i++
			start := i
			for i < len(p) && p[i] != '.' && p[i] != '[' {
				i++
			}
			name := p[start:i]
			switch name {
			case "":
				return nil, errors.New("a key must follow '.'")
			case "*":
				return nil, errors.New("wildcards are not supported")
			}
			steps = append(steps, step{kind: stepKey, name: name})
		case '[':
			i++
			if i < len(p) && (p[i] == '"' || p[i] == '\'') {
				q := p[i]
				end := strings.IndexByte(p[i+1:], q)
				if end < 0 {
					return nil, errors.New("unterminated key")
				}
				steps = append(steps, step{kind: stepKey, name: p[i+1 : i+1+end]})
				i += end + 2
			} else {
				end := strings.IndexByte(p[i:], ']')
				if end < 0 {
					return nil, errors.New("missing ]")
				}
				n, err := strconv.ParseInt(strings.TrimSpace(p[i:i+end]), 10, 64)
				if err != nil || n < 0 {
					if strings.TrimSpace(p[i:i+end]) == "*" {
						return nil, errors.New("wildcards are not supported")
					}
					return nil, errors.New("an array index must be a whole number")
				}
				steps = append(steps, step{kind: stepIndex, index: n + 1})
				i += end
			}
			if i >= len(p) || p[i] != ']' {
				return nil, errors.New("missing ]")
			}
			i++
		default:
			return nil, errors.New("expected '.' or '['")
		}
	}
	return steps, nil
}

func prepareJSONPath(e *callExpr) string {
	k, ok := e.args[1].(*constExpr)
	if !ok || k.v.IsNull() {
		return ""
	}
	steps, err := parseJSONPath(asString(k.v))
	if err != nil {
		return "invalid JSON path " + quoteSQL(asString(k.v)) + ": " + err.Error()
	}
	e.path = steps
	return ""
}

func pathOf(c *ctx, e *callExpr, p Value) ([]step, bool) {
	if e.path != nil || e.args[1] != nil && isConst(e.args[1]) {
		return e.path, true
	}
	steps, err := parseJSONPath(asString(p))
	if err != nil {
		c.fail("invalid JSON path %s: %v", quoteSQL(asString(p)), err)
		return nil, false
	}
	return steps, true
}

// scalarOf is json_extract_scalar's result for a node: a string's value, a
// number's or boolean's text, NULL for anything else.
func scalarOf(v *fastjson.Value) Value {
	if v == nil {
		return nullValue
	}
	switch v.Type() {
	case fastjson.TypeString:
		return StringValue(string(v.GetStringBytes()))
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return StringValue(string(v.MarshalTo(nil)))
	}
	return nullValue
}

func jsonOf(v *fastjson.Value) Value {
	if v == nil {
		return nullValue
	}
	return JSONValue(string(v.MarshalTo(nil)))
}

func fnJSONExtract(scalar bool) func(*ctx, *callExpr, []Value) Value {
	return func(c *ctx, e *callExpr, a []Value) Value {
		steps, ok := pathOf(c, e, a[1])
		if !ok {
			return nullValue
		}
		v := walk(c.parseJSON(asString(a[0])), steps)
		if scalar {
			return scalarOf(v)
		}
		return jsonOf(v)
	}
}

// jsonPathExpr is json_extract_scalar or json_extract of eventJson with a
// constant path: it walks the parsed record instead of parsing it again.
type jsonPathExpr struct {
	steps  []step
	scalar bool
}

func (e *jsonPathExpr) eval(c *ctx) Value {
	if c.root == nil {
		return c.fail("eventJson read outside a record")
	}
	v := walk(c.root, e.steps)
	if e.scalar {
		return scalarOf(v)
	}
	return jsonOf(v)
}

func (e *jsonPathExpr) typ() typ {
	if e.scalar {
		return tString
	}
	return tJSON
}

func fnJSONSize(c *ctx, e *callExpr, a []Value) Value {
	steps, ok := pathOf(c, e, a[1])
	if !ok {
		return nullValue
	}
	v := walk(c.parseJSON(asString(a[0])), steps)
	if v == nil {
		return nullValue
	}
	switch v.Type() {
	case fastjson.TypeArray:
		return IntValue(int64(len(v.GetArray())))
	case fastjson.TypeObject:
		return IntValue(int64(v.GetObject().Len()))
	}
	return IntValue(0)
}

// fnJSONArrayGet is json_array_get(json, index): 0-based, negative from the
// end, NULL when out of range.
func fnJSONArrayGet(c *ctx, _ *callExpr, a []Value) Value {
	i, ok := intArg(c, a[1])
	if !ok {
		return nullValue
	}
	if i >= 0 {
		i++
	}
	return jsonOf(walk(c.parseJSON(asString(a[0])), []step{{kind: stepIndex, index: i}}))
}

func fnJSONArrayLength(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil || v.Type() != fastjson.TypeArray {
		return nullValue
	}
	return IntValue(int64(len(v.GetArray())))
}

func fnJSONArrayContains(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil || v.Type() != fastjson.TypeArray {
		return nullValue
	}
	for _, el := range v.GetArray() {
		if n, ok := compare(fromJSON(el), a[1]); ok && n == 0 && fromJSON(el).kind != KindJSON {
			return BoolValue(true)
		}
	}
	return BoolValue(false)
}

func fnJSONParse(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil {
		return c.fail("cannot convert %s to JSON", quoteSQL(shortText(asString(a[0]))))
	}
	return JSONValue(string(v.MarshalTo(nil)))
}

func shortText(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// fnElementAt is element_at(container, key) when the compiler could not
// turn it into a path step: the container is computed at run time.
func fnElementAt(c *ctx, e *callExpr, a []Value) Value {
	if a[0].kind != KindJSON && a[0].kind != KindString {
		return c.fail("element_at of %s", a[0].kind)
	}
	root := c.parseJSON(a[0].s)
	if root == nil {
		return nullValue
	}
	var s step
	switch {
	case root.Type() == fastjson.TypeArray:
		i, ok := intArg(c, a[1])
		if !ok {
			return nullValue
		}
		if i == 0 {
			return c.fail("SQL array indices start at 1")
		}
		s = step{kind: stepIndex, index: i}
	default:
		s = step{kind: stepKey, name: asString(a[1])}
	}
	v := walk(root, []step{s})
	if e.mapValue {
		return mapValue(v)
	}
	return fromJSON(v)
}

func fnCardinality(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil {
		return nullValue
	}
	switch v.Type() {
	case fastjson.TypeArray:
		return IntValue(int64(len(v.GetArray())))
	case fastjson.TypeObject:
		return IntValue(int64(v.GetObject().Len()))
	}
	return c.fail("cardinality of %s", a[0].kind)
}

// fnContains is contains(array, x): true when an element equals x, NULL
// when none does but one is NULL.
func fnContains(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil || v.Type() != fastjson.TypeArray {
		return c.fail("contains needs an array, not %s", a[0].kind)
	}
	sawNull := false
	for _, el := range v.GetArray() {
		x := fromJSON(el)
		if x.IsNull() {
			sawNull = true
			continue
		}
		if n, ok := compare(x, a[1]); ok && n == 0 {
			return BoolValue(true)
		}
	}
	if sawNull {
		return nullValue
	}
	return BoolValue(false)
}

func fnArrayJoin(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil || v.Type() != fastjson.TypeArray {
		return c.fail("array_join needs an array, not %s", a[0].kind)
	}
	var b strings.Builder
	first := true
	for _, el := range v.GetArray() {
		x := fromJSON(el)
		if x.IsNull() {
			if len(a) < 3 {
				continue
			}
			x = a[2]
		}
		if !first {
			b.WriteString(asString(a[1]))
		}
		first = false
		b.WriteString(asString(x))
	}
	return StringValue(b.String())
}

func fnMapKeys(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil || v.Type() != fastjson.TypeObject {
		return c.fail("map_keys needs a map, not %s", a[0].kind)
	}
	b := []byte{'['}
	v.GetObject().Visit(func(k []byte, _ *fastjson.Value) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, string(k))
	})
	return JSONValue(string(append(b, ']')))
}

func fnMapValues(c *ctx, _ *callExpr, a []Value) Value {
	v := c.parseJSON(asString(a[0]))
	if v == nil || v.Type() != fastjson.TypeObject {
		return c.fail("map_values needs a map, not %s", a[0].kind)
	}
	b := []byte{'['}
	v.GetObject().Visit(func(_ []byte, x *fastjson.Value) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = x.MarshalTo(b)
	})
	return JSONValue(string(append(b, ']')))
}
