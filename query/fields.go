package query

import (
	"fmt"
	"slices"
)

// Fields is an event as a shard's summary of it gives it: the columns a
// plan can read without the raw record. A plan for which NeedsRecord is
// false reads no others, so Partial.AddFields evaluates it on Fields alone,
// which is several times cheaper than parsing the record.
//
// A nil slice is NULL. The slices are not retained after AddFields returns.
type Fields struct {
	EventTime                       int64 // unix nanoseconds
	EventID, EventName, EventSource []byte
	RecipientAccountID, AWSRegion   []byte
	ErrorCode, SourceIPAddress      []byte
	ReadOnly                        []byte // "true" or "false"; anything else is NULL
}

// fieldCol names the columns Fields holds; noField is every other column.
type fieldCol uint8

const (
	noField fieldCol = iota
	fEventTime
	fEventID
	fEventName
	fEventSource
	fRecipientAccountID
	fAWSRegion
	fErrorCode
	fSourceIPAddress
	fReadOnly
)

// value returns the column col of f.
func (f *Fields) value(col fieldCol) Value {
	var b []byte
	switch col {
	case fEventTime:
		return tsValue(f.EventTime)
	case fReadOnly:
		switch string(f.ReadOnly) {
		case "true":
			return BoolValue(true)
		case "false":
			return BoolValue(false)
		}
		return nullValue
	case fEventID:
		b = f.EventID
	case fEventName:
		b = f.EventName
	case fEventSource:
		b = f.EventSource
	case fRecipientAccountID:
		b = f.RecipientAccountID
	case fAWSRegion:
		b = f.AWSRegion
	case fErrorCode:
		b = f.ErrorCode
	case fSourceIPAddress:
		b = f.SourceIPAddress
	default:
		return nullValue
	}
	if b == nil {
		return nullValue
	}
	return StringValue(string(b))
}

// NeedsRecord reports whether the plan reads anything of an event that
// Fields does not hold, so that it must be given raw records (Add) rather
// than Fields (AddFields).
func (p *Plan) NeedsRecord() bool { return p.needsRecord }

// AddFields is Add for an event given by its Fields. The plan must not need
// the record (NeedsRecord); if it does, AddFields returns an ErrEval error.
func (pa *Partial) AddFields(f *Fields) error { return pa.AddFieldsN(f, 1) }

// weighable are the aggregates that give the same result for one event
// added n times as for n equal events: count and count_if add n, the others
// ignore repeats.
var weighable = []string{"count", "count_if", "min", "max", "min_by", "max_by", "arbitrary", "any_value", "bool_and", "every", "bool_or"}

// CountsOnly reports whether the plan can run on counts of equal events
// (AddFieldsN) instead of on the events: it aggregates, it reads no column
// but the named ones (each one Fields holds), and its aggregates count or
// ignore repeats: all but sum and avg without DISTINCT.
func (p *Plan) CountsOnly(columns ...string) bool {
	if !p.agg || p.needsRecord {
		return false
	}
	var allowed uint32
	for _, name := range columns {
		if col := lookupColumn(name); col != nil && col.field != noField {
			allowed |= 1 << col.field
		}
	}
	return p.fieldsRead&^allowed == 0 && p.weighable()
}

// weighable reports whether every aggregate of the plan counts or ignores
// repeats.
func (p *Plan) weighable() bool {
	for _, a := range p.aggs {
		distinctSet := a.fn.always || (a.distinct && a.fn.distinct) // ignores repeats
		if !distinctSet && !slices.Contains(weighable, a.name) {
			return false
		}
	}
	return true
}

// AddFieldsN is AddFields for n equal events. For n above 1 the plan must
// aggregate, with aggregates that count or ignore repeats (see CountsOnly);
// if it does not, AddFieldsN returns an ErrEval error.
func (pa *Partial) AddFieldsN(f *Fields, n int64) error {
	switch {
	case pa.err != nil:
		return pa.err
	case pa.plan.needsRecord:
		pa.err = fmt.Errorf("%w: the query reads columns an event's fields do not hold", ErrEval)
	case n < 1:
		pa.err = fmt.Errorf("%w: %d events", ErrEval, n)
	case n > 1 && !(pa.plan.agg && pa.plan.weighable()):
		pa.err = fmt.Errorf("%w: the query's aggregates cannot take counted events", ErrEval)
	}
	if pa.err != nil {
		return pa.err
	}
	pa.stats.Seen += n
	if pa.done {
		return nil
	}
	c := &pa.c
	c.fields, c.weight = f, n
	defer func() { c.fields, c.weight = nil, 0 }()
	return pa.addCurrent()
}
