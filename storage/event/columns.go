package event

import (
	"bytes"

	"github.com/valyala/fastjson"
)

// Bits of Event.Columns. They say whether the extracted fields are the
// record's own top-level columns as a SQL query reads them (by name, the
// exact spelling first, else any spelling that differs only in case), so
// that a query over those columns alone can be answered without parsing the
// record again.
const (
	// ColumnsExact: the columns eventID, eventTime, eventName, eventSource,
	// recipientAccountId, awsRegion, errorCode, sourceIPAddress and readOnly
	// are given by the Event's fields and the Has bits below: eventTime is
	// EventTimeUnixNano; readOnly is true, false or (when ReadOnly is "")
	// NULL; a column whose Has bit is clear is NULL.
	//
	// It is clear when a query could read something else: eventName or
	// eventSource taken from insightDetails, an eventTime not in the canonical
	// form 2006-01-02T15:04:05Z, a key spelled like one of those columns in
	// another case, an empty recipientAccountId, or an errorCode or
	// sourceIPAddress that is not a string.
	ColumnsExact uint32 = 1 << iota
	// HasRecipientAccountID: recipientAccountId is the Event's Account.
	HasRecipientAccountID
	// HasAWSRegion: awsRegion is the Event's Region.
	HasAWSRegion
	// HasErrorCode: errorCode is the Event's ErrorCode.
	HasErrorCode
	// HasSourceIPAddress: sourceIPAddress is the Event's SourceIp.
	HasSourceIPAddress
)

// summaryColumns are the columns ColumnsExact speaks for.
var summaryColumns = [...]string{"eventID", "eventTime", "eventName", "eventSource",
	"recipientAccountId", "awsRegion", "errorCode", "sourceIPAddress", "readOnly"}

// isColumnVariant reports whether k is one of summaryColumns spelled
// differently in case. Parse calls it for the keys it does not know.
func isColumnVariant(k []byte) bool {
	for _, c := range summaryColumns {
		if len(k) == len(c) && bytes.EqualFold(k, []byte(c)) {
			return true
		}
	}
	return false
}

// columns computes Event.Columns. insight says eventName or eventSource came
// from insightDetails; timeText is eventTime as written.
func (r *record) columns(insight bool, timeText []byte) uint32 {
	if insight || r.columnVariant || !canonicalTime(timeText) {
		return 0
	}
	bits := ColumnsExact
	set := func(v *fastjson.Value, bit uint32) bool {
		switch {
		case isAbsent(v):
			return true
		case v.Type() != fastjson.TypeString:
			return false
		}
		bits |= bit
		return true
	}
	if !set(r.recipientAccountID, HasRecipientAccountID) || !set(r.awsRegion, HasAWSRegion) ||
		!set(r.errorCode, HasErrorCode) || !set(r.sourceIP, HasSourceIPAddress) {
		return 0
	}
	if bits&HasRecipientAccountID != 0 && len(r.recipientAccountID.GetStringBytes()) == 0 {
		return 0 // the account came from userIdentity; the column is ""
	}
	return bits
}

// canonicalTime reports whether b has CloudTrail's form 2006-01-02T15:04:05Z.
// It checks only the shape: b has already parsed as a time.
func canonicalTime(b []byte) bool {
	return len(b) == 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' &&
		b[13] == ':' && b[16] == ':' && b[19] == 'Z'
}
