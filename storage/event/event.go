// Package event validates one raw CloudTrail record and extracts the fields the
// cluster keys, routes and indexes it by.
//
// Parse is on the ingest hot path of every node and is used by the agent, so it
// parses with fastjson (pooled parsers, no reflection) and copies nothing it
// does not keep: the returned Event's Raw is the caller's slice, and all its
// extracted strings share one allocation.
//
// The package must not import Pebble, Raft or gRPC directly (see
// TestImportRules); it returns the wire type cairnv1.Event.
package event

import (
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

const (
	// MaxEventSize is the largest record Parse accepts, in bytes: AWS's own cap
	// on one CloudTrail event (256 KB).
	MaxEventSize = 256 * 1024

	// MaxFutureSkew is how far eventTime may lie after the receiving node's
	// clock. AWS stamps eventTime when it handles the request, so an event from
	// the future means a wrong clock somewhere; an hour absorbs any sane skew.
	MaxFutureSkew = time.Hour

	// MaxKeyFieldLen is the longest eventID, account or region Parse accepts, in
	// bytes. They are part of every storage key of the event; real values are at
	// most a few dozen bytes.
	MaxKeyFieldLen = 256
)

// parsers holds fastjson parsers. A parser keeps its buffers between uses,
// which is what makes parsing allocation-free in the steady state.
var parsers fastjson.ParserPool

// Parse validates raw, one CloudTrail record, and returns the extracted Event.
//
// The returned Event's Raw is raw itself, not a copy: the caller must not
// modify raw afterwards. now is the receiving node's clock, used only to reject
// events from the future (eventTime > now + MaxFutureSkew). Parse is safe for
// concurrent use.
//
// Every error Parse returns is a *RejectError wrapping one of the sentinel
// errors of this package (ErrTooLarge, ErrNotJSON, …).
//
// # What is required
//
//   - raw is at most MaxEventSize bytes of valid UTF-8 holding exactly one
//     strictly valid JSON object (RFC 8259: no NaN, no bad escapes or numbers,
//     no raw control characters, nothing after the object). Checking
//     strictly matters because the bytes are stored and returned as they are:
//     another reader must read the same record we indexed.
//   - eventID, eventTime, eventName and eventSource are non-empty strings.
//     Insights events (eventType "AwsCloudTrailInsight") carry eventName and
//     eventSource only inside insightDetails; they are taken from there, which
//     is also what LookupEvents matches them against.
//   - eventTime is an RFC 3339 time (see parseTime): with or without fractional
//     seconds, with "Z" or a numeric offset, converted to UTC. It must not lie
//     more than MaxFutureSkew after now.
//   - The account is recipientAccountId, else userIdentity.accountId; one of
//     them must be a non-empty string. Its form is not checked (real records
//     carry 9- to 13-digit ids and "redacted"): the cluster checks the account
//     against the agent's binding.
//   - No field that is keyed or indexed contains a 0x00 byte (JSON "\u0000"),
//     appears twice in its object, or (for eventID, account and region) is
//     longer than MaxKeyFieldLen. awsRegion, recipientAccountId, userIdentity
//     and userIdentity.accountId, when present and not null, have the right
//     type.
//
// # What is extracted
//
// Optional fields that are absent, null or of another type come out empty;
// the record is still stored and returned whole, it is only not indexed on
// them. readOnly is "true" or "false" from a JSON boolean (as CloudTrail
// writes it) or from the strings "true"/"false" in any case, else "".
// resources[] gives one Resource per element with an ARN (or ARNPrefix) or a
// type. username follows the Username rule documented at username. Columns
// says whether the extracted fields are the record's own columns (see
// ColumnsExact).
func Parse(raw []byte, now time.Time) (*cairnv1.Event, error) {
	if len(raw) > MaxEventSize {
		return nil, reject(ErrTooLarge, nil, "event is %d bytes; the limit is %d", len(raw), MaxEventSize)
	}
	if !utf8.Valid(raw) {
		return nil, reject(ErrNotJSON, nil, "not valid JSON: invalid UTF-8 at byte %d", invalidUTF8At(raw))
	}
	p := parsers.Get()
	defer parsers.Put(p)
	// fastjson checks the structure (and stops at nesting depth
	// fastjson.MaxDepth); checkTokens then checks the strings and numbers it
	// is lenient about.
	v, err := p.ParseBytes(raw)
	if err == nil {
		err = checkTokens(raw)
	}
	if err != nil {
		return nil, reject(ErrNotJSON, nil, "not valid JSON: %s", err)
	}
	obj, err := v.Object()
	if err != nil {
		return nil, reject(ErrNotObject, nil, "not a JSON object: the record is a JSON %s; want one CloudTrail record {…}", typeName(v))
	}
	var r record
	r.read(obj)
	return r.extract(raw, now)
}

// record holds the top-level values Parse looks at. They point into a pooled
// parser and are valid only until Parse returns.
type record struct {
	eventID, eventTime, eventName, eventSource, eventType *fastjson.Value
	recipientAccountID, awsRegion, errorCode, sourceIP    *fastjson.Value
	eventCategory, readOnly, userIdentity, resources      *fastjson.Value
	insightDetails                                        *fastjson.Value
	uiPrincipalID, uiARN, uiAccountID, uiAccessKey        *fastjson.Value
	uiUserName, uiInvokedBy, uiSessionContext             *fastjson.Value
	hasRecords                                            bool   // a "Records" key: a whole log file was sent
	columnVariant                                         bool   // a key isColumnVariant reports
	dup                                                   string // first keyed field seen twice
}

func (r *record) read(obj *fastjson.Object) {
	obj.Visit(func(k []byte, v *fastjson.Value) {
		var slot **fastjson.Value
		var name string
		switch string(k) {
		case "eventID":
			slot, name = &r.eventID, "eventID"
		case "eventTime":
			slot, name = &r.eventTime, "eventTime"
		case "eventName":
			slot, name = &r.eventName, "eventName"
		case "eventSource":
			slot, name = &r.eventSource, "eventSource"
		case "eventType":
			slot, name = &r.eventType, "eventType"
		case "recipientAccountId":
			slot, name = &r.recipientAccountID, "recipientAccountId"
		case "awsRegion":
			slot, name = &r.awsRegion, "awsRegion"
		case "errorCode":
			slot, name = &r.errorCode, "errorCode"
		case "sourceIPAddress":
			slot, name = &r.sourceIP, "sourceIPAddress"
		case "eventCategory":
			slot, name = &r.eventCategory, "eventCategory"
		case "readOnly":
			slot, name = &r.readOnly, "readOnly"
		case "userIdentity":
			slot, name = &r.userIdentity, "userIdentity"
		case "resources":
			slot, name = &r.resources, "resources"
		case "insightDetails":
			slot, name = &r.insightDetails, "insightDetails"
		case "Records":
			r.hasRecords = true
			return
		default:
			if isColumnVariant(k) {
				r.columnVariant = true
			}
			return
		}
		r.set(slot, name, v)
	})
	ui := r.userIdentity.GetObject() // nil unless an object
	ui.Visit(func(k []byte, v *fastjson.Value) {
		var slot **fastjson.Value
		var name string
		switch string(k) {
		case "principalId":
			slot, name = &r.uiPrincipalID, "userIdentity.principalId"
		case "arn":
			slot, name = &r.uiARN, "userIdentity.arn"
		case "accountId":
			slot, name = &r.uiAccountID, "userIdentity.accountId"
		case "accessKeyId":
			slot, name = &r.uiAccessKey, "userIdentity.accessKeyId"
		case "userName":
			slot, name = &r.uiUserName, "userIdentity.userName"
		case "invokedBy":
			slot, name = &r.uiInvokedBy, "userIdentity.invokedBy"
		case "sessionContext":
			slot, name = &r.uiSessionContext, "userIdentity.sessionContext"
		default:
			return
		}
		r.set(slot, name, v)
	})
}

func (r *record) set(slot **fastjson.Value, name string, v *fastjson.Value) {
	if *slot != nil && r.dup == "" {
		r.dup = name
	}
	*slot = v
}

// Indexes into the extracted string fields.
const (
	fEventID = iota
	fAccount
	fRegion
	fEventName
	fEventSource
	fUsername
	fAccessKeyID
	fErrorCode
	fSourceIP
	fEventCategory
	nFields
)

// fieldNames name the record field each extracted string came from, for
// reasons. The account and event name/source entries are set per record.
var fieldNames = [nFields]string{
	fEventID:       "eventID",
	fRegion:        "awsRegion",
	fUsername:      "username", // replaced by the field it came from
	fAccessKeyID:   "userIdentity.accessKeyId",
	fErrorCode:     "errorCode",
	fSourceIP:      "sourceIPAddress",
	fEventCategory: "eventCategory",
}

func (r *record) extract(raw []byte, now time.Time) (*cairnv1.Event, error) {
	var (
		vals  [nFields][]byte
		names = fieldNames
		rerr  *RejectError
	)
	if r.dup != "" {
		return nil, dupError(r.dup, nil)
	}

	// Required fields. eventID first, so that later reasons can carry it.
	if vals[fEventID], rerr = required(r.eventID, "eventID", nil); rerr != nil {
		if r.hasRecords && r.eventID == nil {
			rerr.Reason += ` (this looks like a whole log file {"Records":[…]}; send its records one by one)`
		}
		return nil, rerr
	}
	if rerr = checkKeyed(vals[fEventID], "eventID", nil); rerr != nil {
		return nil, rerr
	}
	id := vals[fEventID] // for reasons
	timeText, rerr := required(r.eventTime, "eventTime", id)
	if rerr != nil {
		return nil, rerr
	}
	insight := r.eventType != nil && string(r.eventType.GetStringBytes()) == "AwsCloudTrailInsight"
	names[fEventName], names[fEventSource] = "eventName", "eventSource"
	nameV, sourceV := r.eventName, r.eventSource
	var dup bool
	if insight && isAbsent(nameV) {
		names[fEventName] = "insightDetails.eventName"
		if nameV, dup = field(r.insightDetails, "eventName"); dup {
			return nil, dupError(names[fEventName], id)
		}
	}
	if insight && isAbsent(sourceV) {
		names[fEventSource] = "insightDetails.eventSource"
		if sourceV, dup = field(r.insightDetails, "eventSource"); dup {
			return nil, dupError(names[fEventSource], id)
		}
	}
	if vals[fEventName], rerr = required(nameV, names[fEventName], id); rerr != nil {
		return nil, rerr
	}
	if vals[fEventSource], rerr = required(sourceV, names[fEventSource], id); rerr != nil {
		return nil, rerr
	}

	t, ok := parseTime(timeText)
	if !ok {
		return nil, reject(ErrBadTime, id, "eventTime %s is not an ISO-8601 time; want e.g. 2024-01-02T03:04:05Z", quote(timeText))
	}
	if t.Before(minEventTime) || t.After(maxEventTime) {
		return nil, reject(ErrBadTime, id, "eventTime %s is outside the range Cairn can store (%s to %s)",
			quote(timeText), minEventTime.Format(time.RFC3339), maxEventTime.Format(time.RFC3339))
	}

	// Account, region.
	if r.userIdentity != nil && r.userIdentity.Type() != fastjson.TypeObject && r.userIdentity.Type() != fastjson.TypeNull {
		return nil, reject(ErrBadField, id, "field %q must be an object, not %s", "userIdentity", article(r.userIdentity))
	}
	names[fAccount] = "recipientAccountId"
	if vals[fAccount], rerr = optional(r.recipientAccountID, "recipientAccountId", id); rerr != nil {
		return nil, rerr
	}
	if len(vals[fAccount]) == 0 {
		names[fAccount] = "userIdentity.accountId"
		if vals[fAccount], rerr = optional(r.uiAccountID, "userIdentity.accountId", id); rerr != nil {
			return nil, rerr
		}
	}
	if len(vals[fAccount]) == 0 {
		return nil, reject(ErrNoAccount, id, "account not determinable: neither recipientAccountId nor userIdentity.accountId is set")
	}
	if vals[fRegion], rerr = optional(r.awsRegion, "awsRegion", id); rerr != nil {
		return nil, rerr
	}

	// Lookup attributes: lenient, see Parse.
	var usernameFrom string
	vals[fUsername], usernameFrom, dup = r.username()
	if dup {
		return nil, dupError(usernameFrom, id)
	}
	if usernameFrom != "" {
		names[fUsername] = usernameFrom
	}
	vals[fAccessKeyID] = r.uiAccessKey.GetStringBytes()
	vals[fErrorCode] = r.errorCode.GetStringBytes()
	vals[fSourceIP] = r.sourceIP.GetStringBytes()
	vals[fEventCategory] = r.eventCategory.GetStringBytes()
	readOnly := readOnlyOf(r.readOnly)

	total := 0
	for i, b := range vals {
		if i == fAccount || i == fRegion {
			if rerr = checkKeyed(b, names[i], id); rerr != nil {
				return nil, rerr
			}
		}
		if rerr = checkValue(b, names[i], id, raw); rerr != nil {
			return nil, rerr
		}
		total += len(b)
	}
	resources := r.resources.GetArray() // nil unless an array
	nres := 0
	for _, rv := range resources {
		arn, typ, dupName := resourceOf(rv)
		if dupName != "" {
			return nil, dupError(dupName, id)
		}
		if len(arn) == 0 && len(typ) == 0 {
			continue
		}
		if rerr = checkValue(arn, "resources[].ARN", id, raw); rerr != nil {
			return nil, rerr
		}
		if rerr = checkValue(typ, "resources[].type", id, raw); rerr != nil {
			return nil, rerr
		}
		total += len(arn) + len(typ)
		nres++
	}

	if limit := now.Add(MaxFutureSkew); t.After(limit) {
		return nil, reject(ErrFuture, id, "eventTime %s is more than %s after the receiver's clock (%s)",
			timeText, MaxFutureSkew, now.UTC().Format(time.RFC3339))
	}

	// Copy every extracted string into one allocation. The parser's memory is
	// reused by the next Parse, so nothing may point into it.
	buf := make([]byte, 0, total)
	var off [nFields + 1]int
	for i, b := range vals {
		buf = append(buf, b...)
		off[i+1] = len(buf)
	}
	for _, rv := range resources {
		arn, typ, _ := resourceOf(rv)
		buf = append(buf, arn...)
		buf = append(buf, typ...)
	}
	// buf is never written again, which makes sharing its bytes with a string
	// safe (as strings.Builder does).
	s := unsafe.String(unsafe.SliceData(buf), len(buf))
	str := func(i int) string { return s[off[i]:off[i+1]] }
	ev := &cairnv1.Event{
		Raw:               raw,
		EventId:           str(fEventID),
		EventTimeUnixNano: t.UnixNano(),
		Account:           str(fAccount),
		Region:            str(fRegion),
		EventName:         str(fEventName),
		EventSource:       str(fEventSource),
		Username:          str(fUsername),
		AccessKeyId:       str(fAccessKeyID),
		ReadOnly:          readOnly,
		ErrorCode:         str(fErrorCode),
		SourceIp:          str(fSourceIP),
		EventCategory:     str(fEventCategory),
		Columns:           r.columns(names[fEventName] != "eventName" || names[fEventSource] != "eventSource", timeText),
	}
	if nres > 0 {
		ev.Resources = make([]*cairnv1.Resource, 0, nres)
		structs := make([]cairnv1.Resource, nres)
		pos := off[nFields]
		for _, rv := range resources {
			arn, typ, _ := resourceOf(rv)
			if len(arn) == 0 && len(typ) == 0 {
				continue
			}
			r := &structs[len(ev.Resources)]
			r.Name = s[pos : pos+len(arn)]
			pos += len(arn)
			r.Type = s[pos : pos+len(typ)]
			pos += len(typ)
			ev.Resources = append(ev.Resources, r)
		}
	}
	return ev, nil
}
