package query

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-lake/cairn/query/sql"
)

// corpusEntry is one query of a collected corpus file.
type corpusEntry struct {
	n              int
	title, dialect string
	text           string
}

var corpusHeader = regexp.MustCompile(`^-- ==== QUERY (\d+) ====\s*$`)

// parseCorpus splits a corpus file: entries start at a "-- ==== QUERY n ===="
// line, carry "-- title:" and "-- dialect:" lines, and end at
// "-- ==== END ====".
func parseCorpus(data string) []corpusEntry {
	var out []corpusEntry
	var cur *corpusEntry
	var body []string
	for _, line := range strings.Split(data, "\n") {
		switch {
		case corpusHeader.MatchString(line):
			var n int
			fmt.Sscanf(corpusHeader.FindStringSubmatch(line)[1], "%d", &n)
			cur, body = &corpusEntry{n: n}, nil
		case cur == nil:
		case strings.HasPrefix(line, "-- ==== END ===="):
			cur.text = strings.Join(body, "\n")
			out = append(out, *cur)
			cur = nil
		case len(body) == 0 && strings.HasPrefix(line, "-- title:"):
			cur.title = strings.TrimSpace(strings.TrimPrefix(line, "-- title:"))
		case len(body) == 0 && strings.HasPrefix(line, "-- dialect:"):
			cur.dialect = strings.TrimSpace(strings.TrimPrefix(line, "-- dialect:"))
		case len(body) == 0 && strings.HasPrefix(line, "-- source:"):
		default:
			body = append(body, line)
		}
	}
	return out
}

// Placeholders for the event data store that CloudTrail Lake samples use,
// replaced with our table name; and the ${date_filter} template variable
// that some samples use, replaced with the example date they give.
var (
	storePlaceholders = []*regexp.Regexp{
		regexp.MustCompile(`<[^<>\n]*(?i:eds|event[ _-]?data[ _-]?store)[^<>\n]*>`),
		regexp.MustCompile(`\$EDS_ID\b`),
		regexp.MustCompile(`\b(?i:config_)?event_data_store_ID\b`),
		regexp.MustCompile(`\beds-ID\b`),
		regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`),
	}
	dateFilter = regexp.MustCompile(`\$\{date_filter\}`)
)

func replacePlaceholders(q string) string {
	for _, re := range storePlaceholders {
		q = re.ReplaceAllString(q, "events")
	}
	return dateFilter.ReplaceAllString(q, "2023-06-20 00:00:00")
}

// corpusDefects are corpus entries that are not valid SQL as collected
// (CloudTrail Lake rejects them too), keyed by title, with what is wrong.
// They must fail with a syntax error, not run and not be "unsupported".
var corpusDefects = map[string]string{
	"top-errors":                                    "line breaks lost: errorMessageORDER BY … DESCLIMIT",
	"top-s3-actions":                                "line break lost: eventNameORDER BY",
	"list-attempted-s3-requests.":                   "line break lost: requestParametersORDER BY",
	"iam-idc-authenticate-api":                      "FROM FROM",
	"list-all-errors-for-s3-events":                 "the query is pasted twice with 'example:' between",
	"list-all-events-not-in-authorized-region":      "the query is pasted twice with ':' between",
	"list-publicly-accessible-rds-instances":        "the query is pasted twice with no separator",
	"CloudTrail Lake SQL constraints":               "a grammar summary with [ … ], not a query",
	"network-activity-events-vpce-access-denied-s3": "selects userIdentity.username, eventType, eventCategory and errorCode, which are not in its GROUP BY",
}

// corpusDefectsByText are defects of untitled entries, keyed by a phrase of
// the query.
var corpusDefectsByText = map[string]string{
	"< ='2022-01-19 13:51:00'": "'< =' with a space is not an operator",
}

type corpusResult struct {
	entry  corpusEntry
	class  string // ok, unsupported, defect, error, panic
	detail string
	rows   int
}

// runCorpusQuery compiles and runs q; a panic is recovered and reported.
func runCorpusQuery(q string, raws [][]byte) (rows int, panicked any, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	p, err := Compile(q, testOptions())
	if err != nil {
		return 0, nil, err
	}
	out, err := Execute(p, raws)
	return len(out), nil, err
}

// isSingleStoreSelect reports whether q, without comments, is a SELECT
// whose FROM clauses all name one table (so not a query over several
// stores, nor a subquery).
func isSingleStoreSelect(q string) bool {
	stripped := regexp.MustCompile(`(?s)/\*.*?\*/|--[^\n]*`).ReplaceAllString(q, " ")
	f := strings.Fields(stripped)
	if len(f) == 0 || !strings.EqualFold(f[0], "SELECT") {
		return false
	}
	table := ""
	for i, w := range f {
		if strings.EqualFold(w, "JOIN") {
			return false
		}
		if strings.EqualFold(w, "FROM") && i+1 < len(f) {
			t := strings.ToLower(strings.TrimRight(f[i+1], ";"))
			if strings.HasPrefix(t, "(") || (table != "" && t != table) {
				return false
			}
			table = t
		}
	}
	return true
}

// TestLakeCorpus runs the CloudTrail Lake (Trino) queries of a collected
// corpus over the fixture. It is skipped unless CAIRN_SQL_CORPUS names the
// directory holding cloudtrail_queries_collected.sql. Every query must run,
// or fail with "unsupported: …", or be a known defect of the corpus; a
// panic or any other error fails the test.
func TestLakeCorpus(t *testing.T) {
	dir := os.Getenv("CAIRN_SQL_CORPUS")
	if dir == "" {
		t.Skip("set CAIRN_SQL_CORPUS to a directory holding cloudtrail_queries_collected.sql")
	}
	data, err := os.ReadFile(filepath.Join(dir, "cloudtrail_queries_collected.sql"))
	if err != nil {
		t.Fatal(err)
	}
	_, raws := fixture()
	var results []corpusResult
	for _, e := range parseCorpus(string(data)) {
		if !strings.HasPrefix(e.dialect, "CloudTrail Lake") {
			continue
		}
		q := replacePlaceholders(e.text)
		rows, panicked, err := runCorpusQuery(q, raws)
		res := corpusResult{entry: e, rows: rows}
		defect := corpusDefects[e.title]
		for phrase, why := range corpusDefectsByText {
			if strings.Contains(e.text, phrase) {
				defect = why
			}
		}
		var se *sql.Error
		switch {
		case panicked != nil:
			res.class, res.detail = "panic", fmt.Sprint(panicked)
			t.Errorf("query %d (%s) panicked: %v\n%s", e.n, e.title, panicked, q)
		case err == nil:
			res.class = "ok"
			if defect != "" {
				t.Errorf("query %d (%s) is listed as a defect (%s) but runs", e.n, e.title, defect)
			}
		case errors.Is(err, sql.ErrUnsupported):
			res.class, res.detail = "unsupported", err.Error()
			if defect != "" {
				t.Errorf("query %d (%s) is listed as a defect (%s) but is unsupported: %v", e.n, e.title, defect, err)
			}
		case defect != "" && errors.As(err, &se):
			res.class, res.detail = "defect", defect+": "+err.Error()
		default:
			res.class, res.detail = "error", err.Error()
			if isSingleStoreSelect(q) {
				t.Errorf("query %d (%s): %v\n%s", e.n, e.title, err, q)
			}
		}
		results = append(results, res)
	}
	counts := map[string]int{}
	for _, r := range results {
		counts[r.class]++
	}
	var classes []string
	for c := range counts {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var b strings.Builder
	fmt.Fprintf(&b, "%d CloudTrail Lake queries:", len(results))
	for _, c := range classes {
		fmt.Fprintf(&b, " %s %d,", c, counts[c])
	}
	t.Log(strings.TrimSuffix(b.String(), ","))
	for _, r := range results {
		line := fmt.Sprintf("%4d %-12s %-55.55s", r.entry.n, r.class, r.entry.title)
		if r.class == "ok" {
			line += fmt.Sprintf(" %d rows", r.rows)
		} else {
			line += " " + r.detail
		}
		t.Log(line)
	}
}
