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

// countColumns are the columns a shard's counts hold.
var countColumns = []string{"eventName", "eventSource", "recipientAccountId", "readOnly"}

func TestCountsOnly(t *testing.T) {
	for q, want := range map[string]bool{
		`SELECT eventName, count(*) AS n FROM events GROUP BY eventName ORDER BY n DESC`: true,
		`SELECT count(*) FROM events`: true,
		`SELECT eventSource, count(DISTINCT eventName), max(eventName) FROM events GROUP BY 1`:                         true,
		`SELECT DISTINCT recipientAccountId FROM events WHERE readOnly`:                                                true,
		`SELECT eventName, count_if(readOnly) FROM events WHERE eventSource LIKE 's3%' GROUP BY 1 HAVING count(*) > 2`: true,
		`SELECT eventName FROM events`: false, // no aggregation
		`SELECT eventName, count(*) FROM events WHERE eventTime > '2026-01-01 00:00:00' GROUP BY 1`: false,
		`SELECT awsRegion, count(*) FROM events GROUP BY 1`:                                         false,
		`SELECT eventName, sum(1) FROM events GROUP BY 1`:                                           false,
		`SELECT eventName, avg(length(eventSource)) FROM events GROUP BY 1`:                         false,
		`SELECT count(*) FROM events WHERE userIdentity.arn = 'x'`:                                  false,
		`SELECT eventName FROM events UNION SELECT eventSource FROM events`:                         false,
	} {
		if got := mustCompile(t, q).CountsOnly(countColumns...); got != want {
			t.Errorf("%s: CountsOnly() = %v, want %v", q, got, want)
		}
	}
}

// TestAddFieldsNEqualsRepeats: n equal events given once with AddFieldsN
// give the same result as given n times.
func TestAddFieldsNEqualsRepeats(t *testing.T) {
	groups := []struct {
		f Fields
		n int64
	}{
		{Fields{EventName: []byte("GetObject"), EventSource: []byte("s3.amazonaws.com"), RecipientAccountID: []byte("1"), ReadOnly: []byte("true")}, 7},
		{Fields{EventName: []byte("PutObject"), EventSource: []byte("s3.amazonaws.com"), RecipientAccountID: []byte("1"), ReadOnly: []byte("false")}, 1},
		{Fields{EventName: []byte("GetObject"), EventSource: []byte("s3.amazonaws.com"), RecipientAccountID: []byte("2"), ReadOnly: []byte("true")}, 1000},
		{Fields{EventName: []byte("ConsoleLogin"), EventSource: []byte("signin.amazonaws.com"), ReadOnly: []byte("false")}, 3},
	}
	for _, q := range []string{
		`SELECT eventName, count(*) AS n FROM events GROUP BY eventName ORDER BY n DESC`,
		`SELECT eventSource, count(recipientAccountId), count(DISTINCT recipientAccountId), min(eventName), count_if(readOnly) FROM events GROUP BY 1 ORDER BY 1`,
		`SELECT recipientAccountId, count(*) FROM events WHERE eventSource = 's3.amazonaws.com' GROUP BY 1 HAVING count(*) > 5 ORDER BY 1`,
		`SELECT count(*) FROM events`,
	} {
		plan := mustCompile(t, q)
		if !plan.CountsOnly(countColumns...) {
			t.Fatalf("%s: not CountsOnly", q)
		}
		weighed, repeated := plan.NewPartial(), plan.NewPartial()
		for _, g := range groups {
			if err := weighed.AddFieldsN(&g.f, g.n); err != nil {
				t.Fatal(err)
			}
			for range g.n {
				if err := repeated.AddFields(&g.f); err != nil {
					t.Fatal(err)
				}
			}
		}
		if a, b := weighed.Stats(), repeated.Stats(); a != b {
			t.Errorf("%s: stats %+v, repeated %+v", q, a, b)
		}
		got, want := partialRows(t, plan, weighed), partialRows(t, plan, repeated)
		if got != want {
			t.Errorf("%s:\nweighed  %s\nrepeated %s", q, got, want)
		}
	}
	pa := mustCompile(t, `SELECT count(*) FROM events`).NewPartial()
	if err := pa.AddFieldsN(&groups[0].f, 0); !errorsIs(err, ErrEval) {
		t.Errorf("AddFieldsN(0) = %v, want ErrEval", err)
	}
	for _, q := range []string{`SELECT eventName, sum(1) FROM events GROUP BY 1`, `SELECT eventName FROM events`} {
		if err := mustCompile(t, q).NewPartial().AddFieldsN(&groups[0].f, 2); !errorsIs(err, ErrEval) {
			t.Errorf("%s: AddFieldsN(2) = %v, want ErrEval", q, err)
		}
	}
}

// partialRows merges one partial and renders its rows as JSON.
func partialRows(t *testing.T, plan *Plan, pa *Partial) string {
	t.Helper()
	out, err := rowsText(plan, pa)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rowsText merges one partial and renders its rows as JSON, a line each.
func rowsText(plan *Plan, pa *Partial) (string, error) {
	enc, err := pa.Encode()
	if err != nil {
		return "", err
	}
	m := plan.NewMerger()
	if err := m.Merge(enc); err != nil {
		return "", err
	}
	rows, err := m.Rows()
	var out []byte
	for _, r := range rows {
		for _, v := range r {
			out = append(append(out, v.JSON()...), ' ')
		}
		out = append(out, '\n')
	}
	return string(out), err
}
