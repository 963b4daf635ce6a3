package sql

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t testing.TB, src string) *Select {
	t.Helper()
	s, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return s
}

// roundTripTests are queries and their canonical text (also fuzz seeds).
var roundTripTests = []struct{ in, want string }{
	{"select eventName from events", "SELECT eventName FROM events"},
	{"SELECT * FROM events;", "SELECT * FROM events"},
	{"SELECT DISTINCT awsRegion FROM events", "SELECT DISTINCT awsRegion FROM events"},
	{"SELECT ALL awsRegion FROM events", "SELECT awsRegion FROM events"},
	{"select e.* from events e", "SELECT e.* FROM events AS e"},
	{"select eventName AS n, eventSource src, count(*) \"Count\" from events",
		`SELECT eventName AS n, eventSource AS src, count(*) AS Count FROM events`},
	{"select 1 as \"order\" from events", `SELECT 1 AS "order" FROM events`},
	{"SELECT x FROM \"my-store\"", `SELECT x FROM "my-store"`},
	{"SELECT x FROM cairn.events", "SELECT x FROM cairn.events"},
	{"SELECT x FROM 5e2676f8-9fce-46ef-8142-3e36a94e6691", `SELECT x FROM "5e2676f8-9fce-46ef-8142-3e36a94e6691"`},
	{"SELECT * FROM eds-ID WHERE a = 1", `SELECT * FROM "eds-ID" WHERE a = 1`},
	{"select userIdentity.sessionContext.sessionIssuer.userName from t",
		"SELECT userIdentity.sessionContext.sessionIssuer.userName FROM t"},
	{`select "userIdentity"."arn" from t`, `SELECT "userIdentity"."arn" FROM t`},
	{"select element_at(resources, 1).arn, resources[1].ARN from t",
		"SELECT element_at(resources, 1).arn, resources[1].ARN FROM t"},
	{"select element_at(requestParameters, 'bucketName') from t",
		"SELECT element_at(requestParameters, 'bucketName') FROM t"},
	{"select a from t where a = 1 and b <> 2 or not c != 3", "SELECT a FROM t WHERE a = 1 AND b <> 2 OR NOT c <> 3"},
	{"select a from t where (a = 1 or b = 2) and c < 3", "SELECT a FROM t WHERE (a = 1 OR b = 2) AND c < 3"},
	{"select a from t where a <= 1 and b >= 2 and c > 3", "SELECT a FROM t WHERE a <= 1 AND b >= 2 AND c > 3"},
	{"select 1 + 2 * 3, (1 + 2) * 3, 7 % 3 / 2, -a, - -1, +b from t",
		"SELECT 1 + 2 * 3, (1 + 2) * 3, 7 % 3 / 2, -a, - -1, +b FROM t"},
	{"select a - (b - c), a - b - c from t", "SELECT a - (b - c), a - b - c FROM t"},
	{"select a || 'x' || b from t", "SELECT a || 'x' || b FROM t"},
	{"select 'it''s' from t", "SELECT 'it''s' FROM t"},
	{"select a from t where b like '%x\\_%' escape '\\'", `SELECT a FROM t WHERE b LIKE '%x\_%' ESCAPE '\'`},
	{"select a from t where b not like 'x%'", "SELECT a FROM t WHERE b NOT LIKE 'x%'"},
	{"select a from t where b in ('x', 'y') and c not in (1)", "SELECT a FROM t WHERE b IN ('x', 'y') AND c NOT IN (1)"},
	{"select a from t where b between 1 and 2 and c not between 3 and 4",
		"SELECT a FROM t WHERE b BETWEEN 1 AND 2 AND c NOT BETWEEN 3 AND 4"},
	{"select a from t where b is null and c is not null", "SELECT a FROM t WHERE b IS NULL AND c IS NOT NULL"},
	{"select a from t where b is distinct from c or d is not distinct from e",
		"SELECT a FROM t WHERE b IS DISTINCT FROM c OR d IS NOT DISTINCT FROM e"},
	{"select case when a = 1 then 'x' when a = 2 then 'y' else 'z' end from t",
		"SELECT CASE WHEN a = 1 THEN 'x' WHEN a = 2 THEN 'y' ELSE 'z' END FROM t"},
	{"select case a when 1 then 'x' end from t", "SELECT CASE a WHEN 1 THEN 'x' END FROM t"},
	{"select cast(a as varchar), try_cast(b AS Double Precision), cast(c as timestamp(3) with time zone), cast(d as decimal(10,2)) from t",
		"SELECT CAST(a AS varchar), TRY_CAST(b AS double precision), CAST(c AS timestamp(3) with time zone), CAST(d AS decimal(10, 2)) FROM t"},
	{"select cast(x as map(varchar, json)) from t", "SELECT CAST(x AS map(varchar, json)) FROM t"},
	{"select count(*), count(distinct a), COUNT (*) from t", "SELECT count(*), count(DISTINCT a), COUNT(*) FROM t"},
	{"select now(), current_timestamp, current_date from t", "SELECT now(), CURRENT_TIMESTAMP, CURRENT_DATE FROM t"},
	{"select a from t where eventTime > now() - interval '7' day", "SELECT a FROM t WHERE eventTime > now() - INTERVAL '7' DAY"},
	{"select interval -'2' hours from t", "SELECT INTERVAL -'2' HOUR FROM t"},
	{"select a from t where e > timestamp '2026-01-01 00:00:00' and d = date '2026-01-01'",
		"SELECT a FROM t WHERE e > TIMESTAMP '2026-01-01 00:00:00' AND d = DATE '2026-01-01'"},
	{"select true, false, null from t", "SELECT TRUE, FALSE, NULL FROM t"},
	{"select 1.5, .5, 1e3, 2E-3 from t", "SELECT 1.5, .5, 1e3, 2E-3 FROM t"},
	{"select extract(year from eventTime) from t", "SELECT EXTRACT(YEAR FROM eventTime) FROM t"},
	{"select array['a', 'b'], array[] from t", "SELECT ARRAY['a', 'b'], ARRAY[] FROM t"},
	{"select trim(a) from t", "SELECT trim(a) FROM t"},
	{"select a, count(*) from t group by a having count(*) > 1 order by 2 desc nulls first, a asc nulls last limit 10",
		"SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1 ORDER BY 2 DESC NULLS FIRST, a NULLS LAST LIMIT 10"},
	{"select a from t limit all", "SELECT a FROM t"},
	{"select a from t group by all a", "SELECT a FROM t GROUP BY a"},
	{"select a -- comment\n from /* block\n comment */ t", "SELECT a FROM t"},
	{"select not not a, not (a and b) from t", "SELECT NOT NOT a, NOT (a AND b) FROM t"},
	{"select (a = b) = c from t", "SELECT (a = b) = c FROM t"},
	{"select (1).x, (a || b)[1] from t", "SELECT (1).x, (a || b)[1] FROM t"},
	{"select a from t where x = (1)", "SELECT a FROM t WHERE x = 1"},
	{"select \"a\"\"b\" from t", `SELECT "a""b" FROM t`},
	{"select a from events as e where e.a = 1", "SELECT a FROM events AS e WHERE e.a = 1"},
	{"select varchar 'x', json '{}' from t", "SELECT VARCHAR 'x', JSON '{}' FROM t"},
	{"select \"count\"(*), \"trim\"(x) from t", "SELECT count(*), trim(x) FROM t"},
	{"select a from t where a = -1 - -2", "SELECT a FROM t WHERE a = -1 - -2"},
	{"select a from t where x union all select b from t union distinct select c from t group by c order by 1 limit 2",
		"SELECT a FROM t WHERE x UNION ALL SELECT b FROM t UNION SELECT c FROM t GROUP BY c ORDER BY 1 LIMIT 2"},
}

// TestParseRoundTrip parses each query, compares the canonical text, and
// checks that the text parses back to itself.
func TestParseRoundTrip(t *testing.T) {
	for _, tt := range roundTripTests {
		s := mustParse(t, tt.in)
		got := s.String()
		if got != tt.want {
			t.Errorf("Parse(%q).String()\n got %s\nwant %s", tt.in, got, tt.want)
			continue
		}
		if again := mustParse(t, got).String(); again != got {
			t.Errorf("reparse of %q gives %q", got, again)
		}
	}
}

func TestParseAST(t *testing.T) {
	s := mustParse(t, "SELECT count(DISTINCT userIdentity.arn) AS n FROM events WHERE eventTime BETWEEN TIMESTAMP '2026-01-01 00:00:00' AND now() LIMIT 5")
	if !s.Items[0].Expr.(*Call).Distinct || s.Items[0].Alias != "n" {
		t.Errorf("item: %#v", s.Items[0])
	}
	arg := s.Items[0].Expr.(*Call).Args[0].(*Ident)
	if strings.Join(arg.Parts, ".") != "userIdentity.arn" {
		t.Errorf("arg parts %v", arg.Parts)
	}
	b, ok := s.Where.(*Between)
	if !ok || b.Lo.(*TypedLit).Type != "TIMESTAMP" {
		t.Errorf("where: %#v", s.Where)
	}
	if s.Limit == nil || s.Limit.N != 5 {
		t.Errorf("limit: %#v", s.Limit)
	}
	if got := Canonical(s.Items[0].Expr); got != "count(DISTINCT useridentity.arn)" {
		t.Errorf("Canonical = %q", got)
	}
	if Canonical(mustParse(t, "select EventName from t").Items[0].Expr) != Canonical(mustParse(t, `select "eventname" from t`).Items[0].Expr) {
		t.Error("identifiers that differ in case must have equal canonical forms")
	}
}

// errorTests are bad queries and their exact errors (also fuzz seeds).
var errorTests = []struct{ in, want string }{
	{"", `line 1, column 1: expected "SELECT", found end of input`},
	{"select", `line 1, column 7: expected expression, found end of input`},
	{"select from events", `line 1, column 8: expected expression, found "from"`},
	{"select a, from events", `line 1, column 11: expected expression, found "from"`},
	{"select a from", `line 1, column 14: expected a table name, found end of input`},
	{"select a from events where", `line 1, column 27: expected expression, found end of input`},
	{"select a from events\nwhere a = 'x", `line 2, column 11: unterminated string literal`},
	{"select a from events where (a = 1", `line 1, column 34: expected ")", found end of input`},
	{"select a from events limit x", `line 1, column 28: expected a number after LIMIT, found "x"`},
	{"select a from events order by a nulls middle", `line 1, column 39: expected "FIRST" or "LAST", found "middle"`},
	{"select a from events extra words", `line 1, column 28: expected end of input, found "words"`},
	{"select a b c from t", `line 1, column 12: expected end of input, found "c"`},
	{"select `a` from t", "line 1, column 8: backquoted identifiers are not supported; use double quotes to quote identifiers"},
	{"select 1abc from t", "line 1, column 8: identifiers must not start with a digit; surround 1abc with double quotes"},
	{"select a from t where a # b", `line 1, column 25: unexpected character '#'`},
	{"select a /* x", "line 1, column 10: unterminated comment"},
	{`select "" from t`, "line 1, column 8: zero-length delimited identifier"},
	{"select case end from t", `line 1, column 13: expected "WHEN", found "end"`},
	{"select cast(a) from t", `line 1, column 14: expected "AS", found ")"`},
	{"select a from t where a is 1", `line 1, column 28: expected "NULL" or "DISTINCT FROM", found "1"`},
	{"select a from t where a = b = c", `line 1, column 29: expected end of input, found "="`},
	{"select interval '1' fortnight from t", `line 1, column 21: expected an interval unit (YEAR, MONTH, WEEK, DAY, HOUR, MINUTE or SECOND), found "fortnight"`},
	{"SELECT a FROM FROM t", `line 1, column 15: expected a table name, found "FROM"`},
	{"select a from t where x < ='2022'", `line 1, column 27: expected expression, found "="`},

	{"select a from t join u on t.x = u.x", "line 1, column 17: unsupported: JOIN"},
	{"select a from t left outer join u on t.x = u.x", "line 1, column 17: unsupported: JOIN"},
	{"select a from t, u", "line 1, column 16: unsupported: JOIN (a comma-separated list of tables)"},
	{"select a from t cross join unnest(x) as u(y)", "line 1, column 17: unsupported: UNNEST"},
	{"with x as (select 1) select * from x", "line 1, column 1: unsupported: WITH"},
	{"select a from (select 1)", "line 1, column 15: unsupported: subquery"},
	{"select a from t where b in (select c from u)", "line 1, column 28: unsupported: subquery"},
	{"select a from t where exists (select 1)", "line 1, column 23: unsupported: subquery"},
	{"select (select 1) from t", "line 1, column 8: unsupported: subquery"},
	{"select rank() over (order by a) from t", "line 1, column 15: unsupported: window function"},
	{"select a from t order by a limit 1 union select 1", "line 1, column 36: unsupported: UNION after ORDER BY or LIMIT (they go at the end of the whole query)"},
	{"select a from t union (select b from u)", "line 1, column 23: unsupported: parenthesized query"},
	{"select a from t union all where", `line 1, column 27: expected "SELECT", found "where"`},
	{"select a from t intersect select b from u", "line 1, column 17: unsupported: INTERSECT"},
	{"select a from t except select b from u", "line 1, column 17: unsupported: EXCEPT"},
	{"select transform(a, x -> x + 1) from t", "line 1, column 21: unsupported: lambda expression"},
	{"select a from t offset 1", "line 1, column 17: unsupported: OFFSET"},
	{"select a from t group by rollup(a)", "line 1, column 26: unsupported: ROLLUP"},
	{"create table t (a int)", "line 1, column 1: unsupported: CREATE statement"},
	{"select count(*) filter (where a) from t", "line 1, column 17: unsupported: FILTER clause (use count_if or CASE)"},
	{"select a at time zone 'UTC' from t", "line 1, column 10: unsupported: AT TIME ZONE"},
	{"select a from t where b = any (select 1)", "line 1, column 27: unsupported: quantified comparison (ANY)"},
	{"select ? from t", "line 1, column 8: unsupported: query parameter"},
	{"select (1, 2) from t", "line 1, column 8: unsupported: row constructor"},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		_, err := Parse(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want *Error %q", tt.in, err, tt.want)
			continue
		}
		if e.Error() != tt.want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", tt.in, e, tt.want)
		}
		if got, want := errors.Is(err, ErrUnsupported), strings.Contains(tt.want, "unsupported: "); got != want {
			t.Errorf("Parse(%q): errors.Is(err, ErrUnsupported) = %v", tt.in, got)
		}
	}
}

func TestParseDepthLimit(t *testing.T) {
	deep := "select " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500) + " from t"
	if _, err := Parse(deep); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep nesting: %v", err)
	}
	nots := "select a from t where " + strings.Repeat("not ", 500) + "a"
	if _, err := Parse(nots); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep NOT: %v", err)
	}
	ok := "select " + strings.Repeat("(", 50) + "1" + strings.Repeat(")", 50) + " from t"
	mustParse(t, ok)
}

func TestPosition(t *testing.T) {
	src := "select\n  é, x"
	if l, c := Position(src, strings.Index(src, "x")); l != 2 || c != 6 {
		t.Errorf("Position = %d:%d, want 2:6 (columns count characters)", l, c)
	}
}
