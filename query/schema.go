package query

import "strings"

// typ is the static type of a compiled expression, as far as it is known
// before run time. tAny is a value read from JSON whose type shows only at
// run time (a nested struct field, say).
type typ uint8

const (
	tAny typ = iota
	tNull
	tBool
	tInt
	tFloat
	tString
	tTimestamp
	tDate
	tInterval
	tMonths
	tJSON   // json (json_parse, json_extract)
	tMap    // map(varchar, varchar): requestParameters and the like
	tArray  // array: resources
	tStruct // row: userIdentity, tlsDetails, …
)

var typNames = [...]string{"unknown", "null", "boolean", "bigint", "double", "varchar", "timestamp",
	"date", "interval day to second", "interval year to month", "json", "map", "array", "row"}

func (t typ) String() string { return typNames[t] }

// column is one column of the events table: a top-level field of the
// CloudTrail record, under its JSON name.
type column struct {
	name   string
	typ    typ
	hidden bool // not part of SELECT *
	// special marks the columns computed from the whole record.
	special specialCol
	// field is the column's place in Fields; noField if Fields lacks it.
	field fieldCol
}

type specialCol uint8

const (
	plainCol specialCol = iota
	eventJSONCol
	eventJSONChecksumCol
)

// columns is the CloudTrail Lake event schema, in the order SELECT * returns
// it. Names are the JSON field names of the record; queries may spell them
// in any case. Types follow CloudTrail Lake: the four request/response maps
// are map(varchar, varchar) (element_at gives a value's JSON text when it is
// not a string), structs are rows whose fields are looked up in the record
// case-insensitively, and readOnly, managementEvent and
// sessionCredentialFromConsole are booleans (written by AWS as JSON booleans
// or as the strings "true"/"false").
//
// eventJson is the whole record as received; eventJsonChecksum is Cairn's
// own: the lower-case hex SHA-256 of eventJson (CloudTrail Lake does not
// document how it computes its own).
var columns = []column{
	{name: "eventVersion", typ: tString},
	{name: "userIdentity", typ: tStruct},
	{name: "eventTime", typ: tTimestamp, field: fEventTime},
	{name: "eventSource", typ: tString, field: fEventSource},
	{name: "eventName", typ: tString, field: fEventName},
	{name: "awsRegion", typ: tString, field: fAWSRegion},
	{name: "sourceIPAddress", typ: tString, field: fSourceIPAddress},
	{name: "userAgent", typ: tString},
	{name: "errorCode", typ: tString, field: fErrorCode},
	{name: "errorMessage", typ: tString},
	{name: "requestParameters", typ: tMap},
	{name: "responseElements", typ: tMap},
	{name: "additionalEventData", typ: tMap},
	{name: "requestID", typ: tString},
	{name: "eventID", typ: tString, field: fEventID},
	{name: "readOnly", typ: tBool, field: fReadOnly},
	{name: "resources", typ: tArray},
	{name: "eventType", typ: tString},
	{name: "apiVersion", typ: tString},
	{name: "managementEvent", typ: tBool},
	{name: "recipientAccountId", typ: tString, field: fRecipientAccountID},
	{name: "serviceEventDetails", typ: tMap},
	{name: "sharedEventID", typ: tString},
	{name: "annotation", typ: tString},
	{name: "vpcEndpointId", typ: tString},
	{name: "vpcEndpointAccountId", typ: tString},
	{name: "eventCategory", typ: tString},
	{name: "addendum", typ: tStruct},
	{name: "sessionCredentialFromConsole", typ: tBool},
	{name: "edgeDeviceDetails", typ: tStruct},
	{name: "tlsDetails", typ: tStruct},
	{name: "insightDetails", typ: tStruct},
	{name: "eventJson", typ: tString, hidden: true, special: eventJSONCol},
	{name: "eventJsonChecksum", typ: tString, hidden: true, special: eventJSONChecksumCol},
}

// columnsByLower indexes columns by lower-case name.
var columnsByLower = func() map[string]*column {
	m := make(map[string]*column, len(columns))
	for i := range columns {
		m[strings.ToLower(columns[i].name)] = &columns[i]
	}
	return m
}()

func lookupColumn(name string) *column { return columnsByLower[strings.ToLower(name)] }

// columnNames lists every column name, for suggestions.
func columnNames() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

// suggest returns the candidate closest to name by edit distance (ignoring
// case), or "" when none is close enough to be a likely typo.
func suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	ln := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(ln, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if n := len(name) / 3; n > limit {
		limit = n
	}
	if bestD == 0 || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (in bytes), with a
// transposition of neighbours counting as one edit.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
