// Package lakecorpus reads a collected corpus of CloudTrail Lake queries
// (cloudtrail_queries_collected.sql: entries that start at a
// "-- ==== QUERY n ====" line, carry "-- title:" and "-- dialect:" lines,
// and end at "-- ==== END ===="), for the tests that run them over the query
// engine and over a cluster. The corpus is not part of the repository: the
// tests read it from the directory CAIRN_SQL_CORPUS names.
package lakecorpus

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Load returns the CloudTrail Lake entries of the corpus in the directory
// CAIRN_SQL_CORPUS names, and skips tb when the variable is unset.
func Load(tb testing.TB) []Entry {
	tb.Helper()
	dir := os.Getenv("CAIRN_SQL_CORPUS")
	if dir == "" {
		tb.Skip("set CAIRN_SQL_CORPUS to a directory holding cloudtrail_queries_collected.sql")
	}
	data, err := os.ReadFile(filepath.Join(dir, "cloudtrail_queries_collected.sql"))
	if err != nil {
		tb.Fatal(err)
	}
	var lake []Entry
	for _, e := range Parse(string(data)) {
		if e.Lake() {
			lake = append(lake, e)
		}
	}
	return lake
}

// Entry is one query of the corpus.
type Entry struct {
	N              int
	Title, Dialect string
	Text           string
}

var header = regexp.MustCompile(`^-- ==== QUERY (\d+) ====\s*$`)

// Parse splits a corpus file into its entries.
func Parse(data string) []Entry {
	var out []Entry
	var cur *Entry
	var body []string
	for _, line := range strings.Split(data, "\n") {
		switch {
		case header.MatchString(line):
			var n int
			fmt.Sscanf(header.FindStringSubmatch(line)[1], "%d", &n)
			cur, body = &Entry{N: n}, nil
		case cur == nil:
		case strings.HasPrefix(line, "-- ==== END ===="):
			cur.Text = strings.Join(body, "\n")
			out = append(out, *cur)
			cur = nil
		case len(body) == 0 && strings.HasPrefix(line, "-- title:"):
			cur.Title = strings.TrimSpace(strings.TrimPrefix(line, "-- title:"))
		case len(body) == 0 && strings.HasPrefix(line, "-- dialect:"):
			cur.Dialect = strings.TrimSpace(strings.TrimPrefix(line, "-- dialect:"))
		case len(body) == 0 && strings.HasPrefix(line, "-- source:"):
		default:
			body = append(body, line)
		}
	}
	return out
}

// Lake reports whether the entry is written for CloudTrail Lake.
func (e Entry) Lake() bool { return strings.HasPrefix(e.Dialect, "CloudTrail Lake") }

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

// Query returns the entry's text with the store placeholders replaced by
// events.
func (e Entry) Query() string {
	q := e.Text
	for _, re := range storePlaceholders {
		q = re.ReplaceAllString(q, "events")
	}
	return dateFilter.ReplaceAllString(q, "2023-06-20 00:00:00")
}

// defects are corpus entries that are not valid SQL as collected
// (CloudTrail Lake rejects them too), keyed by title, with what is wrong.
// They must fail with a syntax error, not run and not be "unsupported".
var defects = map[string]string{
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

// defectsByText are defects of untitled entries, keyed by a phrase of the
// query.
var defectsByText = map[string]string{
	"< ='2022-01-19 13:51:00'": "'< =' with a space is not an operator",
}

// Defect returns what is wrong with an entry that is not valid SQL as
// collected, or "".
func (e Entry) Defect() string {
	for phrase, why := range defectsByText {
		if strings.Contains(e.Text, phrase) {
			return why
		}
	}
	return defects[e.Title]
}

// SingleStoreSelect reports whether the entry's query, without comments, is
// a SELECT whose FROM clauses all name one table (so not a query over
// several stores, nor a subquery).
func (e Entry) SingleStoreSelect() bool {
	stripped := regexp.MustCompile(`(?s)/\*.*?\*/|--[^\n]*`).ReplaceAllString(e.Query(), " ")
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

// Result is how one entry fared.
type Result struct {
	Entry
	Class  string // ok, unsupported, defect, error, panic
	Detail string
	Rows   int
}

// Report renders results: a line of counts per class, then a line per
// entry.
func Report(results []Result) []string {
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Class]++
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
	lines := []string{strings.TrimSuffix(b.String(), ",")}
	for _, r := range results {
		line := fmt.Sprintf("%4d %-12s %-55.55s", r.N, r.Class, r.Title)
		if r.Class == "ok" {
			line += fmt.Sprintf(" %d rows", r.Rows)
		} else {
			line += " " + r.Detail
		}
		lines = append(lines, line)
	}
	return lines
}

// Judge sets r's class from how its query fared: err is nil when it ran;
// otherwise unsupported says the engine refused it by name ("unsupported:
// …"), and invalid that it refused it as not valid SQL. It returns what is
// wrong when the outcome breaks the rules of the corpus tests, or "": a
// known defect must be refused as invalid, and every single-store SELECT
// must run or be unsupported.
func (r *Result) Judge(err error, unsupported, invalid bool) string {
	defect := r.Defect()
	switch {
	case err == nil:
		r.Class = "ok"
		if defect != "" {
			return fmt.Sprintf("query %d (%s) is listed as a defect (%s) but runs", r.N, r.Title, defect)
		}
	case unsupported:
		r.Class, r.Detail = "unsupported", err.Error()
		if defect != "" {
			return fmt.Sprintf("query %d (%s) is listed as a defect (%s) but is unsupported: %v", r.N, r.Title, defect, err)
		}
	case defect != "" && invalid:
		r.Class, r.Detail = "defect", defect+": "+err.Error()
	default:
		r.Class, r.Detail = "error", err.Error()
		if r.SingleStoreSelect() {
			return fmt.Sprintf("query %d (%s): %v\n%s", r.N, r.Title, err, r.Query())
		}
	}
	return ""
}
