package query

import (
	"testing"
	"time"

	"github.com/cairn-lake/cairn/storage/event"
)

// fieldsOf is what a shard's summary gives of raw as Fields, or nil when
// the summary does not hold raw's columns exactly (the shard then gives the
// record).
func fieldsOf(t testing.TB, raw []byte) *Fields {
	t.Helper()
	ev, err := event.Parse(raw, time.Now().AddDate(100, 0, 0))
	if err != nil {
		return nil // a bad record of the fixture: the Partial gets it raw
	}
	if ev.Columns&event.ColumnsExact == 0 {
		return nil
	}
	has := func(bit uint32, s string) []byte {
		if ev.Columns&bit == 0 {
			return nil
		}
		return []byte(s)
	}
	return &Fields{
		EventTime:          ev.EventTimeUnixNano,
		EventID:            []byte(ev.EventId),
		EventName:          []byte(ev.EventName),
		EventSource:        []byte(ev.EventSource),
		RecipientAccountID: has(event.HasRecipientAccountID, ev.Account),
		AWSRegion:          has(event.HasAWSRegion, ev.Region),
		ErrorCode:          has(event.HasErrorCode, ev.ErrorCode),
		SourceIPAddress:    has(event.HasSourceIPAddress, ev.SourceIp),
		ReadOnly:           []byte(ev.ReadOnly),
	}
}

func TestNeedsRecord(t *testing.T) {
	for q, want := range map[string]bool{
		`SELECT eventName, count(*) FROM events GROUP BY eventName`: false,
		`SELECT count(*) FROM events`:                               false,
		`SELECT eventID, eventTime, awsRegion FROM events WHERE errorCode IS NOT NULL AND readOnly ORDER BY eventTime`: false,
		`SELECT EVENTNAME FROM events WHERE RecipientAccountID = '1' AND sourceipaddress LIKE '10.%'`:                  false,
		`SELECT eventSource FROM events UNION SELECT eventName FROM events`:                                            false,
		`SELECT * FROM events`: true,
		`SELECT eventName FROM events WHERE userIdentity.arn = 'x'`:                       true,
		`SELECT eventName FROM events UNION ALL SELECT userAgent FROM events`:             true,
		`SELECT json_extract_scalar(eventJson, '$.eventName') FROM events`:                true,
		`SELECT eventName FROM events WHERE element_at(requestParameters, 'a') = '1'`:     true,
		`SELECT count(*) FROM events WHERE eventCategory = 'Data'`:                        true,
		`SELECT sourceIPAddress, count(*) FROM events GROUP BY 1 ORDER BY max(userAgent)`: true,
	} {
		if got := mustCompile(t, q).NeedsRecord(); got != want {
			t.Errorf("%s: NeedsRecord() = %v, want %v", q, got, want)
		}
	}
}

func TestAddFieldsRefusesAPlanThatNeedsTheRecord(t *testing.T) {
	pa := mustCompile(t, `SELECT userAgent FROM events`).NewPartial()
	if err := pa.AddFields(&Fields{}); !errorsIs(err, ErrEval) {
		t.Fatalf("AddFields = %v, want ErrEval", err)
	}
}
