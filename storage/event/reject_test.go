package event

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// rec builds a record from the required fields plus extra, each a `"k":v` pair.
// A field given in extra replaces the default of the same key; a key given as
// `-key` removes it.
func rec(extra ...string) []byte {
	fields := []string{
		`"eventID":"id-1"`,
		`"eventTime":"2024-01-02T03:04:05Z"`,
		`"eventName":"GetObject"`,
		`"eventSource":"s3.amazonaws.com"`,
		`"recipientAccountId":"111122223333"`,
		`"awsRegion":"us-east-1"`,
	}
	for _, e := range extra {
		if key, ok := strings.CutPrefix(e, "-"); ok {
			for i, f := range fields {
				if strings.HasPrefix(f, `"`+key+`":`) {
					fields = append(fields[:i], fields[i+1:]...)
					break
				}
			}
			continue
		}
		key, _, _ := strings.Cut(e, ":")
		replaced := false
		for i, f := range fields {
			if strings.HasPrefix(f, key+":") {
				fields[i], replaced = e, true
				break
			}
		}
		if !replaced {
			fields = append(fields, e)
		}
	}
	return []byte("{" + strings.Join(fields, ",") + "}")
}

func TestRecHelper(t *testing.T) {
	mustParse(t, rec())
	if got := string(rec(`"eventID":"x"`, `-awsRegion`, `"a":1`)); got != `{"eventID":"x","eventTime":"2024-01-02T03:04:05Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","recipientAccountId":"111122223333","a":1}` {
		t.Fatal(got)
	}
}

func TestParseRejects(t *testing.T) {
	padded := func(n int) []byte { // a valid record of exactly n bytes
		r := rec()
		return append(r, bytes.Repeat([]byte(" "), n-len(r))...)
	}
	tests := []struct {
		name    string
		raw     []byte
		err     error
		reason  string // the whole reason, or its start when prefix is set
		prefix  bool
		eventID string // RejectError.EventID
	}{
		{"too large", padded(MaxEventSize + 1), ErrTooLarge, "event is 262145 bytes; the limit is 262144", false, ""},
		{"much too large", make([]byte, 300123), ErrTooLarge, "event is 300123 bytes; the limit is 262144", false, ""},

		{"empty", nil, ErrNotJSON, "not valid JSON: cannot parse JSON: cannot parse empty string", true, ""},
		{"truncated", []byte(`{"eventID":`), ErrNotJSON, "not valid JSON: cannot parse JSON: cannot parse object: cannot parse object value:", true, ""},
		{"trailing garbage", append(rec(), " x"...), ErrNotJSON, `not valid JSON: unexpected tail: "x"`, false, ""},
		{"two objects", append(rec(), rec()...), ErrNotJSON, "not valid JSON: unexpected tail:", true, ""},
		{"bad escape", rec(`"userAgent":"a\xb"`), ErrNotJSON, `not valid JSON: invalid escape at byte 184: "\\xb\"}"`, false, ""},
		{"short unicode escape", rec(`"userAgent":"\u12"`), ErrNotJSON, `not valid JSON: invalid escape at byte 183: "\\u12\"}"`, false, ""},
		{"non-hex unicode escape", rec(`"userAgent":"\u12G4"`), ErrNotJSON, `not valid JSON: invalid escape at byte 183:`, true, ""},
		{"escape in key", rec(`"a\qb":1`), ErrNotJSON, `not valid JSON: invalid escape at byte 172: "\\qb\":1}"`, false, ""},
		{"control char in string", rec("\"userAgent\":\"a\tb\""), ErrNotJSON, "not valid JSON: control character 0x09 in a string at byte 184", false, ""},
		// fastjson.Validate v1.6.10 misses this one: a raw control character
		// before an escape in the same string.
		{"control char before escape", rec("\"userAgent\":\"x\ny\\\"z\""), ErrNotJSON, "not valid JSON: control character 0x0A in a string at byte 184", false, ""},
		{"control char in key", rec("\"a\nb\":1"), ErrNotJSON, "not valid JSON: control character 0x0A in a string at byte 172", false, ""},
		{"NaN", rec(`"n":NaN`), ErrNotJSON, `not valid JSON: unexpected value at byte 174: "NaN}" (NaN and Infinity are not JSON)`, false, ""},
		{"nan", rec(`"n":nan`), ErrNotJSON, `not valid JSON: unexpected value at byte 174: "nan}" (NaN and Infinity are not JSON)`, false, ""},
		{"-Inf", rec(`"n":-Inf`), ErrNotJSON, `not valid JSON: invalid number at byte 174: "-Inf"`, false, ""},
		{"plus sign", rec(`"n":+1`), ErrNotJSON, `not valid JSON: unexpected value at byte 174: "+1}"`, false, ""},
		{"leading zero", rec(`"n":012`), ErrNotJSON, `not valid JSON: invalid number at byte 174: "012"`, false, ""},
		{"bare minus", rec(`"n":-`), ErrNotJSON, `not valid JSON: cannot parse JSON: cannot parse object: cannot parse object value: cannot parse number: unexpected char: "-"`, true, ""},
		{"minus letter", rec(`"n":-e5`), ErrNotJSON, `not valid JSON: invalid number at byte 174: "-e5"`, false, ""},
		{"no fraction digits", rec(`"n":1.`), ErrNotJSON, `not valid JSON: invalid number at byte 174: "1."`, false, ""},
		{"no exponent digits", rec(`"n":1e+`), ErrNotJSON, `not valid JSON: invalid number at byte 174: "1e+"`, false, ""},
		{"number run", rec(`"n":1-2`), ErrNotJSON, `not valid JSON: invalid number at byte 174: "1-2"`, false, ""},
		{"leading dot", rec(`"n":.5`), ErrNotJSON, `not valid JSON: unexpected value at byte 174: ".5}"`, false, ""},
		{"invalid UTF-8", rec("\"userAgent\":\"caf\xe9\""), ErrNotJSON, "not valid JSON: invalid UTF-8 at byte 186", false, ""},

		{"array", []byte(`[` + string(rec()) + `]`), ErrNotObject, "not a JSON object: the record is a JSON array; want one CloudTrail record {…}", false, ""},
		{"string", []byte(`"eventID"`), ErrNotObject, "not a JSON object: the record is a JSON string; want one CloudTrail record {…}", false, ""},
		{"boolean", []byte(`true`), ErrNotObject, "not a JSON object: the record is a JSON boolean; want one CloudTrail record {…}", false, ""},

		{"no eventID", rec(`-eventID`), ErrMissingField, `missing field "eventID"`, false, ""},
		{"log file", []byte(`{"Records":[` + string(rec()) + `]}`), ErrMissingField, `missing field "eventID" (this looks like a whole log file {"Records":[…]}; send its records one by one)`, false, ""},
		{"null eventID", rec(`"eventID":null`), ErrMissingField, `missing field "eventID" (it is null)`, false, ""},
		{"empty eventID", rec(`"eventID":""`), ErrMissingField, `missing field "eventID" (it is empty)`, false, ""},
		{"numeric eventID", rec(`"eventID":1`), ErrMissingField, `field "eventID" must be a string, not a number`, false, ""},
		{"no eventTime", rec(`-eventTime`), ErrMissingField, `missing field "eventTime"`, false, "id-1"},
		{"numeric eventTime", rec(`"eventTime":1704164645`), ErrMissingField, `field "eventTime" must be a string`, true, "id-1"},
		{"object eventTime", rec(`"eventTime":{}`), ErrMissingField, `field "eventTime" must be a string, not an object`, false, "id-1"},
		{"no eventName", rec(`-eventName`), ErrMissingField, `missing field "eventName"`, false, "id-1"},
		{"empty eventSource", rec(`"eventSource":""`), ErrMissingField, `missing field "eventSource" (it is empty)`, false, "id-1"},
		{"boolean eventSource", rec(`"eventSource":true`), ErrMissingField, `field "eventSource" must be a string, not a boolean`, false, "id-1"},
		{"insight without details", rec(`-eventName`, `-eventSource`, `"eventType":"AwsCloudTrailInsight"`), ErrMissingField, `missing field "insightDetails.eventName"`, false, "id-1"},

		{"bad month", rec(`"eventTime":"2024-13-01"`), ErrBadTime, `eventTime "2024-13-01" is not an ISO-8601 time; want e.g. 2024-01-02T03:04:05Z`, false, "id-1"},
		{"no zone", rec(`"eventTime":"2024-01-02 03:04:05"`), ErrBadTime, `eventTime "2024-01-02 03:04:05" is not an ISO-8601 time; want e.g. 2024-01-02T03:04:05Z`, false, "id-1"},
		{"long bad time", rec(`"eventTime":"` + strings.Repeat("9", 100) + `"`), ErrBadTime, `eventTime "` + strings.Repeat("9", 64) + `"… is not an ISO-8601 time; want e.g. 2024-01-02T03:04:05Z`, false, "id-1"},
		{"year 1600", rec(`"eventTime":"1600-01-01T00:00:00Z"`), ErrBadTime, `eventTime "1600-01-01T00:00:00Z" is outside the range Cairn can store (1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z)`, false, "id-1"},

		{"no account", rec(`-recipientAccountId`, `"userIdentity":{"type":"AWSService","invokedBy":"s3.amazonaws.com"}`), ErrNoAccount, "account not determinable: neither recipientAccountId nor userIdentity.accountId is set", false, "id-1"},
		{"empty accounts", rec(`"recipientAccountId":""`, `"userIdentity":{"accountId":""}`), ErrNoAccount, "account not determinable: neither recipientAccountId nor userIdentity.accountId is set", false, "id-1"},
		{"null account", rec(`"recipientAccountId":null`), ErrNoAccount, "account not determinable: neither recipientAccountId nor userIdentity.accountId is set", false, "id-1"},

		{"numeric account", rec(`"recipientAccountId":111122223333`), ErrBadField, `field "recipientAccountId" must be a string, not a number`, false, "id-1"},
		{"numeric userIdentity.accountId", rec(`-recipientAccountId`, `"userIdentity":{"accountId":111122223333}`), ErrBadField, `field "userIdentity.accountId" must be a string, not a number`, false, "id-1"},
		{"string userIdentity", rec(`"userIdentity":"alice"`), ErrBadField, `field "userIdentity" must be an object, not a string`, false, "id-1"},
		{"array region", rec(`"awsRegion":["us-east-1"]`), ErrBadField, `field "awsRegion" must be a string, not an array`, false, "id-1"},
		{"NUL in eventID", rec(`"eventID":"a\u0000b"`), ErrBadField, `field "eventID" contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, false, "a\x00b"},
		{"NUL in account", rec(`"recipientAccountId":"1111\u00002222"`), ErrBadField, `field "recipientAccountId" contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, false, "id-1"},
		{"NUL in fallback account", rec(`-recipientAccountId`, `"userIdentity":{"accountId":"1\u0000"}`), ErrBadField, `field "userIdentity.accountId" contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, false, "id-1"},
		{"NUL in region", rec(`"awsRegion":"us-east-1\u0000"`), ErrBadField, `field "awsRegion" contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, false, "id-1"},
		{"NUL in username", rec(`"userIdentity":{"userName":"\u0000"}`), ErrBadField, `field "userIdentity.userName" contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, false, "id-1"},
		{"NUL in resource", rec(`"resources":[{"ARN":"arn:\u0000","type":"AWS::S3::Bucket"}]`), ErrBadField, `field "resources[].ARN" contains a 0x00 byte (\u0000), which storage keys reserve as a terminator`, false, "id-1"},
		{"long eventID", rec(`"eventID":"` + strings.Repeat("e", MaxKeyFieldLen+1) + `"`), ErrBadField, `field "eventID" is 257 bytes long; the limit is 256`, false, ""},
		{"long region", rec(`"awsRegion":"` + strings.Repeat("r", 300) + `"`), ErrBadField, `field "awsRegion" is 300 bytes long; the limit is 256`, false, "id-1"},
		{"duplicate eventName", rec(`"eventName":"GetObject"`, `"x":1,"eventName":"DeleteTrail"`), ErrBadField, `field "eventName" appears more than once; a record must say each field once`, false, ""},
		{"duplicate by escape", rec(`"event\u004eame":"DeleteTrail"`), ErrBadField, `field "eventName" appears more than once; a record must say each field once`, false, ""},
		{"duplicate userIdentity.accountId", rec(`"userIdentity":{"accountId":"1","accountId":"2"}`), ErrBadField, `field "userIdentity.accountId" appears more than once; a record must say each field once`, false, ""},
		{"duplicate resource ARN", rec(`"resources":[{"ARN":"arn:a","type":"T","ARN":"arn:b"}]`), ErrBadField, `field "resources[].ARN" appears more than once; a record must say each field once`, false, "id-1"},
		{"duplicate insight eventName", rec(`-eventName`, `"eventType":"AwsCloudTrailInsight"`, `"insightDetails":{"eventName":"a","eventName":"b"}`), ErrBadField, `field "insightDetails.eventName" appears more than once; a record must say each field once`, false, "id-1"},
		{"duplicate issuer userName", rec(`"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":"a","userName":"b"}}}`), ErrBadField, `field "userIdentity.sessionContext.sessionIssuer.userName" appears more than once; a record must say each field once`, false, "id-1"},
		{"lone surrogate", rec(`"eventName":"Get\ud800Object"`), ErrBadField, `field "eventName" contains an unpaired UTF-16 surrogate escape (\uD800–\uDFFF), which JSON readers decode differently`, false, "id-1"},
		{"broken pair", rec(`"userIdentity":{"userName":"a\ud800\u0041"}`), ErrBadField, `field "userIdentity.userName" contains an unpaired UTF-16 surrogate escape (\uD800–\uDFFF), which JSON readers decode differently`, false, "id-1"},

		{"future", rec(`"eventTime":"2024-06-01T13:00:01Z"`), ErrFuture, "eventTime 2024-06-01T13:00:01Z is more than 1h0m0s after the receiver's clock (2024-06-01T12:00:00Z)", false, "id-1"},
		{"future by offset", rec(`"eventTime":"2024-06-01T10:00:01-03:00"`), ErrFuture, "eventTime 2024-06-01T10:00:01-03:00 is more than 1h0m0s after the receiver's clock (2024-06-01T12:00:00Z)", false, "id-1"},
		{"far future", rec(`"eventTime":"2030-01-01T00:00:00Z"`), ErrFuture, "eventTime 2030-01-01T00:00:00Z is more than 1h0m0s after the receiver's clock (2024-06-01T12:00:00Z)", false, "id-1"},
	}
	sentinels := []error{ErrTooLarge, ErrNotJSON, ErrNotObject, ErrMissingField, ErrBadField, ErrBadTime, ErrNoAccount, ErrFuture}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(tt.raw, testNow)
			if err == nil {
				t.Fatalf("Parse accepted %q: %v", tt.raw, ev)
			}
			if ev != nil {
				t.Errorf("Parse returned an event with error %v", err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("got error %v; want errors.Is %v", err, tt.err)
			}
			for _, s := range sentinels {
				if s != tt.err && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not a *RejectError", err)
			}
			if re.Error() != re.Reason {
				t.Errorf("Error() = %q; Reason = %q", re.Error(), re.Reason)
			}
			if tt.prefix && !strings.HasPrefix(re.Reason, tt.reason) || !tt.prefix && re.Reason != tt.reason {
				t.Errorf("reason\n got %s\nwant %s", re.Reason, tt.reason)
			}
			if re.EventID != tt.eventID {
				t.Errorf("EventID = %q; want %q", re.EventID, tt.eventID)
			}
		})
	}
}

// Boundaries that must still be accepted.
func TestParseAcceptsLimits(t *testing.T) {
	r := rec()
	r = append(r, bytes.Repeat([]byte(" "), MaxEventSize-len(r))...)
	if len(r) != MaxEventSize {
		t.Fatal(len(r))
	}
	mustParse(t, r)
	mustParse(t, rec(`"eventTime":"2024-06-01T13:00:00Z"`))                                 // exactly MaxFutureSkew ahead
	mustParse(t, rec(`"eventID":"`+strings.Repeat("e", MaxKeyFieldLen)+`"`))                // longest eventID
	mustParse(t, rec(`"userAgent":"caf\u00e9 \ud83d\ude00"`, `"userIdentity":null`))        // escapes, a valid surrogate pair, null identity
	mustParse(t, rec(`"eventName":"Get\ud83d\ude00"`))                                      // a valid pair in a keyed field
	mustParse(t, rec(`-recipientAccountId`, `"userIdentity":{"accountId":"123456789012"}`)) // account from userIdentity
	mustParse(t, rec(`-awsRegion`))                                                         // region is optional
	mustParse(t, rec(`"awsRegion":null`, `"errorCode":5`, `"resources":{"ARN":"x"}`))       // lenient optional fields
	mustParse(t, []byte(" \n\t"+string(rec())+"\n"))                                        // surrounding whitespace
}

// Parse's JSON check (fastjson's structure plus checkTokens) must agree with
// encoding/json on every document, valid or not.
func TestJSONCheckAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{}`, `{"a":[]}`, `{"a":0}`, `{"a":-0}`, `{"a":-0.0}`, `{"a":1e5}`, `{"a":1E+5}`, `{"a":1.5e-3}`,
		`{"a":123456789012345678901234567890}`, `{"a":true,"b":false,"c":null}`, `{"a":"\u00e9\/\b\f\n\r\t\"\\"}`,
		`{"a":"` + "\x7f" + `"}`, `{"a":"é ✓"}`, ` {"a":1} `, `{"a":{"b":{"c":[1,[2,[3]]]}}}`, `{"\u0061":1}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.1}`, `{"a":1e}`, `{"a":1e+}`, `{"a":+1}`, `{"a":-}`, `{"a":--1}`, `{"a":1-1}`,
		`{"a":0x10}`, `{"a":NaN}`, `{"a":nan}`, `{"a":Infinity}`, `{"a":-inf}`, `{"a":inf}`, `{"a":1.2.3}`, `{"a":1e5e5}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"x\ny\\\"z\"}", `{"a":"\u12G4"}`, `{"a":"\U1234"}`, "{\"a\":\"\t\"}", "{\"a\x01\":1}",
		`{"a":tru}`, `{"a":nul}`, `{"a":truex}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{a:1}`, `{'a':1}`,
		`{"a":1}}`, `{"a":[1,]}`, `{"a":"b}`, `{"a":"\"}`, `{"a":"\\"}`, "\xef\xbb\xbf{}", `{"a":1}` + "\x00",
	} {
		raw := []byte(doc)
		_, err := Parse(raw, testNow)
		gotValid := !errors.Is(err, ErrNotJSON)
		if want := json.Valid(raw); gotValid != want {
			t.Errorf("%q: Parse says valid JSON = %v (%v); encoding/json says %v", doc, gotValid, err, want)
		}
	}
}

func TestSpecial(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := [][8]byte{}
	for c := range 256 { // every byte value at every position, in plain company
		for pos := range 8 {
			var w [8]byte
			for i := range w {
				w[i] = 'a'
			}
			w[pos] = byte(c)
			words = append(words, w)
		}
	}
	for range 100_000 {
		var w [8]byte
		for i := range w {
			w[i] = byte(r.Uint32())
		}
		words = append(words, w)
	}
	for _, w := range words {
		want := false
		for _, c := range w {
			want = want || !plain[c]
		}
		if got := special(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("special(%q) = %v; want %v", w, got, want)
		}
	}
}
