package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/query/sql"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct{ q, want string }{
		{`SELECT eventTime, evntName FROM events`, `line 1, column 19: unknown column "evntName"; did you mean "eventName"?`},
		{`SELECT eventName FROM events WHERE usrIdentity.arn = 'x'`, `line 1, column 36: unknown column "usrIdentity"; did you mean "userIdentity"?`},
		{`SELECT frobnicate FROM events`, `line 1, column 8: unknown column "frobnicate"`},
		{`SELECT eventName FROM cloudtrail`, `line 1, column 23: unknown table "cloudtrail"; the tables are: events`},
		{`SELECT eventName`, `line 1, column 17: a query must name its table: add FROM events`},
		{`SELECT lowr(eventName) FROM events`, `line 1, column 8: unknown function "lowr"; did you mean "lower"?`},
		{`SELECT eventName FROM events WHERE count(*) > 1`, `line 1, column 36: aggregate functions are not allowed in WHERE (count(*))`},
		{`SELECT eventName, count(*) FROM events`, `line 1, column 8: column "eventName" must appear in GROUP BY or be used in an aggregate function`},
		{`SELECT eventSource, count(*) FROM events GROUP BY eventName`, `line 1, column 8: column "eventSource" must appear in GROUP BY or be used in an aggregate function`},
		{`SELECT eventName, count(*) FROM events GROUP BY 3`, `line 1, column 49: GROUP BY position 3 is not in the select list (1 to 2)`},
		{`SELECT eventName, count(*) FROM events GROUP BY 2`, `line 1, column 49: GROUP BY position 2 is an aggregate (count(*))`},
		{`SELECT eventName FROM events ORDER BY 2`, `line 1, column 39: ORDER BY position 2 is not in the select list (1 to 1)`},
		{`SELECT eventName FROM events HAVING eventName = 'x'`, `line 1, column 37: HAVING needs GROUP BY or an aggregate function; use WHERE to filter records`},
		{`SELECT DISTINCT eventName FROM events ORDER BY eventTime`, `line 1, column 48: for SELECT DISTINCT, ORDER BY expressions must appear in the select list`},
		{`SELECT eventName, count(*) FROM events GROUP BY eventName ORDER BY eventTime`, `line 1, column 68: column "eventTime" must appear in GROUP BY or be used in an aggregate function`},
		{`SELECT sum(count(*)) FROM events`, `line 1, column 12: cannot nest aggregate functions (count inside another aggregate)`},
		{`SELECT eventName FROM events GROUP BY count(*)`, `line 1, column 39: aggregate functions are not allowed in GROUP BY`},
		{`SELECT eventName FROM events WHERE eventName`, `line 1, column 36: WHERE must be a boolean condition, not varchar (eventName)`},
		{`SELECT * FROM events WHERE eventTime >= '${date_filter}'`, `line 1, column 41: cannot compare a timestamp with '${date_filter}': it is not a time; write e.g. '2026-01-02 03:04:05' or '2026-01-02T03:04:05Z'`},
		{`SELECT * FROM events WHERE readOnly = 'maybe'`, `line 1, column 39: cannot compare a boolean with 'maybe'; use TRUE or FALSE`},
		{`SELECT * FROM events WHERE eventName = 5`, `line 1, column 38: cannot compare varchar with bigint; use CAST to convert one of them`},
		{`SELECT * FROM events WHERE eventTime > 5`, `line 1, column 38: cannot compare timestamp with bigint; use CAST to convert one of them`},
		{`SELECT eventName + 1 FROM events`, `line 1, column 18: cannot apply + to varchar and bigint`},
		{`SELECT CAST(requestParameters AS map(varchar, json)) FROM events`, `line 1, column 8: unsupported: CAST to map(varchar, json)`},
		{`SELECT CAST(eventName AS blob) FROM events`, `line 1, column 8: unknown type blob; use varchar, bigint, double, boolean, timestamp, date or json`},
		{`SELECT substr(eventName) FROM events`, `line 1, column 8: substr takes 2 to 3 arguments, not 1`},
		{`SELECT count(eventName, eventID) FROM events`, `line 1, column 8: count takes 1 argument, not 2`},
		{`SELECT lower(DISTINCT eventName) FROM events`, `line 1, column 8: DISTINCT is only allowed in aggregate functions such as count(DISTINCT x)`},
		{`SELECT sum(*) FROM events`, `line 1, column 8: sum(*) is not allowed; only count(*)`},
		{`SELECT eventName.x FROM events`, `line 1, column 8: cannot read field "x" of a varchar`},
		{`SELECT resources.arn FROM events`, `line 1, column 8: cannot read field "arn" of an array; use element_at(…, 1).arn or [1].arn for an element`},
		{`SELECT element_at(resources, 0) FROM events`, `line 1, column 8: SQL array indices start at 1`},
		{`SELECT element_at(eventName, 1) FROM events`, `line 1, column 8: element_at needs a map or an array, not a varchar`},
		{`SELECT regexp_like(eventName, '(') FROM events`, "line 1, column 8: invalid regular expression '(': error parsing regexp: missing closing ): `(`"},
		{`SELECT json_extract_scalar(eventJson, 'a.b') FROM events`, `line 1, column 8: invalid JSON path 'a.b': a JSON path starts with $`},
		{`SELECT date_trunc('fortnight', eventTime) FROM events`, `line 1, column 8: unknown unit 'fortnight' for date_trunc; use one of 'millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'`},
		{`SELECT TIMESTAMP '2026-13-01 00:00:00' FROM events`, `line 1, column 8: invalid TIMESTAMP literal '2026-13-01 00:00:00'; write e.g. TIMESTAMP '2026-01-02 03:04:05'`},
		{`SELECT eventName FROM events WHERE eventName LIKE 'a' ESCAPE 'ab'`, `line 1, column 51: the LIKE escape must be a single character`},
		{`SELECT 99999999999999999999 FROM events`, `line 1, column 8: number 99999999999999999999 is too large for a bigint`},
		{`SELECT eventName AS n FROM events WHERE n = 'x'`, `line 1, column 41: unknown column "n": WHERE cannot use the output alias "n"`},
		{`SELECT rank(eventName) FROM events`, `line 1, column 8: unsupported: window function rank`},
		{`SELECT current_time FROM events`, `line 1, column 8: unsupported: CURRENT_TIME (time without a date); use current_timestamp`},
		{`SELECT x.* FROM events`, `line 1, column 8: unknown table "x" in x.*`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.q, testOptions())
		var e *sql.Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%q) = %v, want *sql.Error %q", tt.q, err, tt.want)
			continue
		}
		if e.Error() != tt.want {
			t.Errorf("Compile(%q)\n got %s\nwant %s", tt.q, e, tt.want)
		}
	}
}

func TestCompileOptions(t *testing.T) {
	if _, err := Compile(`SELECT 1 FROM Trail_Store`, Options{Tables: []string{"events", "trail_store"}}); err != nil {
		t.Errorf("second table: %v", err)
	}
	_, err := Compile(`SELECT 1 FROM x`, Options{Tables: []string{"events", "archive"}})
	if err == nil || !strings.HasSuffix(err.Error(), `unknown table "x"; the tables are: events, archive`) {
		t.Errorf("unknown table: %v", err)
	}
	// Qualified columns and a table alias.
	checkRows(t, `SELECT e.eventID, events.eventName FROM events AS e WHERE e.eventID = 'lm-0001'`, `["lm-0001","StopLogging"]`)
	// Now defaults to the clock.
	p, err := Compile(`SELECT now() FROM events`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(p.opts.Now); d < 0 || d > time.Minute {
		t.Errorf("default Now is %v", p.opts.Now)
	}
}

func TestColumnNames(t *testing.T) {
	p := mustCompile(t, `SELECT eventid, userIdentity.sessionContext.sessionIssuer.userName, element_at(resources, 1).arn,
		count(*), eventName AS "Event Name", lower(eventSource), "awsregion", userIdentity.ARN
		FROM events GROUP BY 1, 2, 3, 5, 6, 7, 8`)
	want := []string{"eventID", "userName", "arn", "_col3", "Event Name", "_col5", "awsRegion", "ARN"}
	if got := p.Columns(); !reflect.DeepEqual(got, want) {
		t.Errorf("Columns() = %q, want %q", got, want)
	}
}

func TestPrune(t *testing.T) {
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		where string
		want  Prune
	}{
		{``, Prune{}},
		{`eventName = 'ConsoleLogin'`, Prune{Eq: map[string][]string{"eventName": {"ConsoleLogin"}}}},
		{`recipientAccountId IN ('2', '1', '2') AND eventTime >= '2026-01-01 00:00:00' AND eventTime < '2026-01-08 00:00:00'`,
			Prune{Accounts: []string{"1", "2"}, From: ts("2026-01-01T00:00:00Z"), To: ts("2026-01-08T00:00:00Z")}},
		{`eventTime > now() - interval '7' day`, Prune{From: ts("2026-01-05T12:00:00.000000001Z")}},
		{`eventTime BETWEEN TIMESTAMP '2026-01-01 00:00:00' AND TIMESTAMP '2026-01-02 00:00:00' AND eventTime <= '2026-01-01T12:00:00Z'`,
			Prune{From: ts("2026-01-01T00:00:00Z"), To: ts("2026-01-01T12:00:00.000000001Z")}},
		{`'AccessDenied' = errorCode AND readOnly = false AND userIdentity.username = 'alice' AND useridentity.accessKeyId IN ('AKIA1')`,
			Prune{Eq: map[string][]string{"errorCode": {"AccessDenied"}, "readOnly": {"false"},
				"userIdentity.userName": {"alice"}, "userIdentity.accessKeyId": {"AKIA1"}}}},
		{`eventName IN ('a', 'b') AND eventName = 'b'`, Prune{Eq: map[string][]string{"eventName": {"b"}}}},
		{`eventName = 'a' AND eventName = 'b'`, Prune{None: true, Eq: map[string][]string{"eventName": {}}}},
		{`eventTime > '2026-02-01' AND eventTime < '2026-01-01'`, Prune{None: true, From: ts("2026-02-01T00:00:00.000000001Z"), To: ts("2026-01-01T00:00:00Z")}},
		{`1 = 2`, Prune{None: true}},
		// Not usable: OR, NOT, <>, other columns, non-constant sides.
		{`eventName = 'a' OR eventName = 'b'`, Prune{}},
		{`NOT (eventName = 'a') AND eventName <> 'b' AND eventName NOT IN ('c')`, Prune{}},
		{`userIdentity.accountId = '1' AND eventName = eventSource AND lower(eventName) = 'a'`, Prune{}},
	}
	for _, tt := range tests {
		q := `SELECT eventID FROM events`
		if tt.where != "" {
			q += " WHERE " + tt.where
		}
		got := mustCompile(t, q).Prune()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("WHERE %s\n got %+v\nwant %+v", tt.where, got, tt.want)
		}
	}
}
