package query

import (
	"testing"
)

func TestSelectColumnsAndPaths(t *testing.T) {
	checkRows(t, `SELECT eventID, eventTime, userIdentity.sessionContext.sessionIssuer.userName,
			element_at(requestParameters, 'name') AS trail, userIdentity.type, recipientAccountId, readOnly, managementEvent
		FROM events WHERE eventName = 'StopLogging'`,
		`["lm-0001","2026-01-08T03:04:05Z","Admin","arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail","AssumedRole","111122223333",false,true]`)
	// Milliseconds are kept; identifiers ignore case; dotted paths ignore the
	// case of the JSON keys too.
	checkRows(t, `select EVENTID, eventtime, USERIDENTITY.ARN, useridentity.sessioncontext.sessionissuer.username
		from events where EventName = 'ConsoleLogin' and userIdentity.type = 'Root'`,
		`["lm-0002","2026-01-09T22:00:00.250Z","arn:aws:iam::444455556666:root",null]`)
	// readOnly written as the string "true" is a boolean; a missing
	// recipientAccountId is NULL; resources[].arn finds "arn" and "ARN".
	checkRows(t, `SELECT eventID, readOnly, recipientAccountId, element_at(resources, 1).arn, resources[1].ARN, resources[2].arn
		FROM events WHERE eventID = 'lm-0004' AND readOnly`,
		`["lm-0004",true,null,"arn:aws:s3:::app-logs","arn:aws:s3:::app-logs",null]`)
}

func TestMapsStructsAndJSON(t *testing.T) {
	checkRows(t, `SELECT element_at(requestParameters, 'bucketName'), element_at(requestParameters, 'policyStatus'),
			element_at(requestParameters, 'bucketPolicy'), element_at(requestParameters, 'missing'), element_at(requestParameters, 'BUCKETNAME'),
			json_extract_scalar(element_at(requestParameters, 'bucketPolicy'), '$.Statement[0].Principal'),
			json_extract(element_at(requestParameters, 'bucketPolicy'), '$.Statement[0].Effect'),
			requestParameters['bucketName'], cardinality(requestParameters)
		FROM events WHERE eventID = 'lm-0005'`,
		`["public-site","2","{\"Statement\":[{\"Action\":\"s3:GetObject\",\"Effect\":\"Allow\",\"Principal\":\"*\"}],\"Version\":\"2012-10-17\"}",null,null,"*","Allow","public-site",3]`)
	checkRows(t, `SELECT element_at(responseElements, 'encrypted'), element_at(responseElements, 'encrypted') = 'false', responseElements
		FROM events WHERE eventID = 'lm-0007'`,
		`["false",true,{"encrypted":false,"snapshotId":"snap-0456"}]`)
	checkRows(t, `SELECT json_extract_scalar(eventJson, '$.userIdentity.userName'), json_extract_scalar(eventJson, '$.userIdentity'),
			json_extract(eventJson, '$.tlsDetails.tlsVersion'), json_extract_scalar(eventJson, '$["eventID"]'),
			userIdentity, tlsDetails.tlsVersion, length(eventJsonChecksum)
		FROM events WHERE eventID = 'lm-0003'`,
		`["mallory",null,"TLSv1.2","lm-0003",{"type":"IAMUser","principalId":"AIDAMALLORY","arn":"arn:aws:iam::777788889999:user/mallory","accountId":"777788889999","accessKeyId":"AKIAMALLORY00000005","userName":"mallory"},"TLSv1.2",64]`)
	// A struct field of a computed value, and an array's elements.
	checkRows(t, `SELECT cardinality(resources), element_at(resources, -1).type, contains(split('a,b', ','), 'b'),
			json_array_length(json_extract(element_at(requestParameters, 'bucketPolicy'), '$.Statement')),
			element_at(element_at(resources, 2), 'ARN')
		FROM events WHERE eventID = 'lm-0004' OR eventID = 'lm-0005' ORDER BY eventID`,
		`[1,"AWS::S3::Bucket",true,null,null]`,
		`[null,null,true,1,null]`)
}

func TestNullsAndThreeValuedLogic(t *testing.T) {
	// NOT (NULL = 'AccessDenied') is NULL, so records without errorCode drop out.
	checkRows(t, `SELECT eventID FROM events WHERE eventID LIKE 'lm-%' AND NOT (errorCode = 'AccessDenied') ORDER BY eventID`,
		`["lm-0010"]`)
	checkRows(t, `SELECT eventID FROM events WHERE eventID LIKE 'lm-%' AND (errorCode = 'AccessDenied' OR eventID = 'lm-0001') ORDER BY 1`,
		`["lm-0001"]`, `["lm-0003"]`)
	checkRows(t, `SELECT eventID, errorCode IS NULL, errorCode IS NOT NULL, errorCode = NULL, NULL OR TRUE, NULL AND FALSE,
			errorCode IS DISTINCT FROM NULL, coalesce(errorCode, 'none'), nullif(eventName, 'DeleteTrail'), NULL || 'x', 1 + NULL
		FROM events WHERE eventID IN ('lm-0001', 'lm-0003') ORDER BY eventID`,
		`["lm-0001",true,false,null,true,false,false,"none","StopLogging",null,null]`,
		`["lm-0003",false,true,null,true,false,true,"AccessDenied",null,null,null]`)
	checkRows(t, `SELECT eventID FROM events WHERE eventID LIKE 'lm-000_' AND errorCode NOT IN ('AccessDenied') ORDER BY eventID`)
	checkRows(t, `SELECT eventID FROM events WHERE eventID NOT IN ('lm-0001', 'lm-0002') AND eventID LIKE 'lm-000%' AND eventID < 'lm-0005' ORDER BY eventID`,
		`["lm-0003"]`, `["lm-0004"]`)
}

func TestTimestamps(t *testing.T) {
	for _, lit := range []string{`'2026-01-08 03:04:05'`, `'2026-01-08T03:04:05Z'`, `'2026-01-08T04:04:05+01:00'`,
		`TIMESTAMP '2026-01-08 03:04:05'`, `from_iso8601_timestamp('2026-01-08T03:04:05Z')`} {
		checkRows(t, `SELECT eventID FROM events WHERE eventTime = `+lit+` ORDER BY eventID`, `["lm-0001"]`, `["lm-0009"]`)
	}
	checkRows(t, `SELECT eventID FROM events WHERE eventID LIKE 'lm-%'
			AND eventTime BETWEEN '2026-01-09 22:00:00' AND '2026-01-09 22:00:00.250' ORDER BY 1`, `["lm-0002"]`)
	checkRows(t, `SELECT eventID FROM events WHERE eventID LIKE 'lm-%' AND eventTime >= '2026-01-11' ORDER BY eventTime DESC`,
		`["lm-0010"]`, `["lm-0005"]`, `["lm-0008"]`)
	checkRows(t, `SELECT date(eventTime), date_trunc('hour', eventTime), date_trunc('day', eventTime), date_trunc('week', eventTime),
			date_trunc('month', eventTime), date_trunc('year', eventTime), date_trunc('minute', eventTime), date_trunc('second', eventTime)
		FROM events WHERE eventID = 'lm-0002'`,
		`["2026-01-09","2026-01-09T22:00:00Z","2026-01-09T00:00:00Z","2026-01-05T00:00:00Z","2026-01-01T00:00:00Z","2026-01-01T00:00:00Z","2026-01-09T22:00:00Z","2026-01-09T22:00:00Z"]`)
	checkRows(t, `SELECT date_add('day', 1, eventTime), date_add('month', 1, TIMESTAMP '2024-01-31 10:00:00'), date_add('hour', -3, eventTime),
			date_diff('hour', eventTime, TIMESTAMP '2026-01-10 00:00:00'), date_diff('month', TIMESTAMP '2026-01-31 00:00:00', TIMESTAMP '2026-03-30 00:00:00'),
			eventTime + INTERVAL '2' DAY, eventTime - INTERVAL '30' MINUTE, to_iso8601(eventTime), year(eventTime), month(eventTime),
			day(eventTime), day_of_week(eventTime), hour(eventTime), EXTRACT(MINUTE FROM eventTime), date_format(eventTime, '%Y-%m-%d %H:%i:%s.%f')
		FROM events WHERE eventID = 'lm-0002'`,
		`["2026-01-10T22:00:00.250Z","2024-02-29T10:00:00Z","2026-01-09T19:00:00.250Z",1,1,"2026-01-11T22:00:00.250Z","2026-01-09T21:30:00.250Z","2026-01-09T22:00:00.250Z",2026,1,9,5,22,0,"2026-01-09 22:00:00.250000"]`)
	checkRows(t, `SELECT now(), current_timestamp, current_date, now() - INTERVAL '7' DAY, date_diff('day', TIMESTAMP '2026-01-05 00:00:00', now())
		FROM events WHERE eventID = 'lm-0001'`,
		`["2026-01-12T12:00:00Z","2026-01-12T12:00:00Z","2026-01-12","2026-01-05T12:00:00Z",7]`)
	checkRows(t, `SELECT count(*) FROM events WHERE eventTime > now() - interval '1' day AND eventID LIKE 'lm-%'`, `[2]`)
}

func TestScalarFunctions(t *testing.T) {
	checkRows(t, `SELECT 7 / 2, 7 / 2.0, 7 % 3, 2 * 3 + 1, -5, CAST('12' AS bigint) + 1, TRY_CAST('x' AS bigint), CAST(1.6 AS bigint),
			'a' || 'b', concat('a', 'b', 'c'), CAST(2 AS double), CAST(eventTime AS varchar), CAST('2026-01-02' AS date), CAST('true' AS boolean),
			CAST(REPLACE(tlsDetails.tlsVersion, 'TLSv', '') AS DOUBLE), abs(-3), round(2.567, 2), floor(2.5), ceil(2.1), 1e2
		FROM events WHERE eventID = 'lm-0001'`,
		`[3,3.5,1,7,-5,13,null,2,"ab","abc",2,"2026-01-08 03:04:05.000","2026-01-02",true,1.3,3,2.57,2,3,100]`)
	checkRows(t, `SELECT lower(eventName), upper(eventName), length(eventName), substr(eventName, 5), substr(eventName, 1, 4), substring(eventName, -3),
			trim('  x '), replace(eventName, 'Logging'), replace(eventName, 'Stop', 'Start'), split_part(userIdentity.arn, '/', 2),
			split_part(userIdentity.arn, ':', 5), strpos(eventName, 'Log'), starts_with(eventName, 'Stop'),
			regexp_like(userIdentity.arn, 'assumed-role/[A-Z]'), regexp_extract(userIdentity.arn, 'assumed-role/([^/]+)/', 1),
			regexp_replace(eventName, '([a-z])([A-Z])', '$1_$2'), if(readOnly, 'r', 'w'), if(errorCode IS NULL, 'ok'),
			CASE WHEN eventName LIKE 'Stop%' THEN 'stop' ELSE 'other' END, CASE awsRegion WHEN 'us-east-1' THEN 'virginia' ELSE 'elsewhere' END,
			greatest(1, 5, 3), least('b', 'a'), typeof(eventTime), lpad('7', 3, '0')
		FROM events WHERE eventID = 'lm-0001'`,
		`["stoplogging","STOPLOGGING",11,"Logging","Stop","ing","x","Stop","StartLogging","Admin","111122223333",5,true,true,"Admin","Stop_Logging","w","ok","stop","virginia",5,"a","timestamp","007"]`)
	checkRows(t, `SELECT eventName LIKE 'Stop\_%' ESCAPE '\', eventName LIKE 'S_opLogging', eventName LIKE '%Log%', eventName NOT LIKE '%log%',
			'50%' LIKE '50\%' ESCAPE '\', 'a_c' LIKE 'a\_c' ESCAPE '\', 'abc' LIKE 'a\_c' ESCAPE '\'
		FROM events WHERE eventID = 'lm-0001'`,
		`[false,true,true,true,true,true,false]`)
}

func TestOrderByLimitDistinct(t *testing.T) {
	checkRows(t, `SELECT eventID, errorCode FROM events WHERE eventID LIKE 'lm-%' AND eventID <= 'lm-0004' ORDER BY errorCode NULLS FIRST, eventID DESC`,
		`["lm-0004",null]`, `["lm-0002",null]`, `["lm-0001",null]`, `["lm-0003","AccessDenied"]`)
	// NULLs sort last by default in both directions (Trino).
	checkRows(t, `SELECT eventID, errorCode AS e FROM events WHERE eventID LIKE 'lm-%' AND eventID <= 'lm-0004' ORDER BY e DESC, 1`,
		`["lm-0003","AccessDenied"]`, `["lm-0001",null]`, `["lm-0002",null]`, `["lm-0004",null]`)
	checkRows(t, `SELECT eventID FROM events WHERE eventID LIKE 'lm-%' ORDER BY eventTime DESC LIMIT 3`,
		`["lm-0010"]`, `["lm-0005"]`, `["lm-0008"]`)
	checkRows(t, `SELECT eventID AS id FROM events WHERE eventID LIKE 'lm-%' ORDER BY length(userAgent) DESC, id LIMIT 2`,
		`["lm-0001"]`, `["lm-0007"]`)
	checkRows(t, `SELECT DISTINCT recipientAccountId FROM events ORDER BY 1`,
		`["111122223333"]`, `["444455556666"]`, `["777788889999"]`, `[null]`)
	checkRows(t, `SELECT DISTINCT eventSource, readOnly FROM events WHERE eventSource IN ('cloudtrail.amazonaws.com', 'kms.amazonaws.com') ORDER BY eventSource, readOnly`,
		`["cloudtrail.amazonaws.com",false]`, `["kms.amazonaws.com",true]`)
	if n := len(run(t, `SELECT eventID FROM events LIMIT 7`)); n != 7 {
		t.Errorf("LIMIT 7 gave %d rows", n)
	}
	if n := len(run(t, `SELECT eventID FROM events LIMIT 0`)); n != 0 {
		t.Errorf("LIMIT 0 gave %d rows", n)
	}
}

func TestSelectStar(t *testing.T) {
	p := mustCompile(t, `SELECT * FROM events WHERE eventID = 'lm-0008'`)
	cols := p.Columns()
	if len(cols) != 32 || cols[0] != "eventVersion" || cols[4] != "eventName" || cols[31] != "insightDetails" {
		t.Fatalf("SELECT * columns: %v", cols)
	}
	_, raws := fixture()
	rows, err := Execute(p, raws)
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows %v, err %v", rows, err)
	}
	got := map[string]string{}
	for i, c := range cols {
		got[c] = string(rows[0][i].JSON())
	}
	want := map[string]string{"eventName": `"Federate"`, "eventTime": `"2026-01-11T08:00:00Z"`, "readOnly": "false",
		"errorCode": "null", "requestParameters": "null", "eventType": `"AwsServiceEvent"`, "resources": "null"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	_, raws := fixture()
	for _, q := range []string{
		`SELECT 1 / (length(eventName) - length(eventName)) FROM events`,
		`SELECT CAST(eventName AS bigint) FROM events`,
		`SELECT sum(CAST(9223372036854775807 AS bigint) + length(eventName)) FROM events`,
	} {
		_, err := Execute(mustCompile(t, q), raws)
		if err == nil || !errorsIs(err, ErrEval) {
			t.Errorf("%s: err = %v, want ErrEval", q, err)
		}
	}
	// Constant expressions fail at compile time.
	if _, err := Compile(`SELECT 1 / 0 FROM events`, testOptions()); err == nil || err.Error() != "line 1, column 10: division by zero" {
		t.Errorf("1/0: %v", err)
	}
}

func TestBadRecords(t *testing.T) {
	p := mustCompile(t, `SELECT count(*) FROM events`)
	pa := p.NewPartial()
	for _, raw := range []string{`not json`, `[1,2]`, `"x"`} {
		if err := pa.Add([]byte(raw)); !errorsIs(err, ErrBadEvent) {
			t.Errorf("Add(%s) = %v, want ErrBadEvent", raw, err)
		}
	}
	if err := pa.Add([]byte(`{"eventName":"x"}`)); err != nil {
		t.Errorf("a record with few fields: %v", err)
	}
	if st := pa.Stats(); st.Seen != 4 || st.Matched != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnion(t *testing.T) {
	checkRows(t, `SELECT eventID, eventName AS what FROM events WHERE eventID IN ('lm-0001', 'lm-0003')
		UNION ALL SELECT eventID, element_at(requestParameters, 'name') FROM events WHERE eventSource = 'cloudtrail.amazonaws.com'
		ORDER BY eventID, what`,
		`["lm-0001","StopLogging"]`, `["lm-0001","arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"]`,
		`["lm-0003","DeleteTrail"]`, `["lm-0003","org-trail"]`)
	// UNION drops duplicates; ORDER BY and LIMIT apply to the whole.
	checkRows(t, `SELECT eventSource FROM events WHERE eventID LIKE 'lm-%'
		UNION SELECT eventSource FROM events WHERE eventName = 'StopLogging'
		ORDER BY 1 DESC LIMIT 3`,
		`["sso.amazonaws.com"]`, `["signin.amazonaws.com"]`, `["s3.amazonaws.com"]`)
	p := mustCompile(t, `SELECT eventID AS id FROM events WHERE eventTime >= '2026-01-05' AND eventTime < '2026-01-06' AND eventName = 'a'
		UNION ALL SELECT eventID FROM events WHERE eventTime >= '2026-01-07' AND eventName IN ('b', 'c') AND recipientAccountId = '1'`)
	want := Prune{From: fxDay0, To: fxDay0.AddDate(0, 0, 2), Eq: map[string][]string{"eventName": {"a", "b", "c"}}}
	if got := p.Prune(); got.From != want.From || !got.To.IsZero() || got.Accounts != nil || len(got.Eq["eventName"]) != 3 {
		t.Errorf("union prune %+v", got)
	}
	if cols := p.Columns(); len(cols) != 1 || cols[0] != "id" {
		t.Errorf("union columns %v", cols)
	}
	for q, want := range map[string]string{
		`SELECT eventID FROM events UNION ALL SELECT eventID, eventName FROM events`:                       "line 1, column 38: each SELECT of a UNION must have 1 columns, like the first; this one has 2",
		`SELECT eventID FROM events UNION ALL SELECT count(*) FROM events`:                                 "line 1, column 38: unsupported: aggregation or DISTINCT in a SELECT of a UNION",
		`SELECT eventID FROM events UNION SELECT eventID FROM events UNION ALL SELECT eventID FROM events`: "line 1, column 28: unsupported: UNION mixed with UNION ALL",
		`SELECT eventID FROM events UNION ALL SELECT eventID FROM events ORDER BY eventTime`:               "line 1, column 74: ORDER BY of a UNION can use only its output columns, by name or position",
		`SELECT eventID FROM events UNION ALL SELECT eventID FROM other`:                                   `line 1, column 58: unknown table "other"; the tables are: events`,
	} {
		if _, err := Compile(q, testOptions()); err == nil || err.Error() != want {
			t.Errorf("%s\n got %v\nwant %s", q, err, want)
		}
	}
}

func TestExtensions(t *testing.T) {
	// HAVING by output alias, and a map value read as a field.
	checkRows(t, `SELECT eventSource AS src, count(*) AS n FROM events WHERE eventID LIKE 'lm-%' GROUP BY eventSource HAVING n > 2 ORDER BY src`,
		`["ec2.amazonaws.com",3]`, `["s3.amazonaws.com",3]`)
	checkRows(t, `SELECT requestParameters.bucketname, requestParameters.policyStatus FROM events WHERE eventID = 'lm-0005'`,
		`["public-site",2]`)
}
