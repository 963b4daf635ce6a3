package query

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// The expected rows of these tests come from the fixture's Go values (an
// oracle that shares no code with the engine).

func TestCountByEventName(t *testing.T) {
	evs, _ := fixture()
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.name]++
	}
	var want []string
	for n, c := range counts {
		want = append(want, fmt.Sprintf(`[%q,%d]`, n, c))
	}
	sort.Strings(want)
	for _, q := range []string{
		`SELECT eventName, count(*) FROM events GROUP BY eventName ORDER BY eventName`,
		`SELECT eventName, count(*) AS n FROM events GROUP BY 1 ORDER BY 1`,
		`SELECT EventName AS name, COUNT(eventID) FROM events GROUP BY eventname ORDER BY name ASC`,
	} {
		checkRows(t, q, want...)
	}
}

func TestAggregatesPerAccount(t *testing.T) {
	evs, _ := fixture()
	type agg struct {
		n, denied     int
		arns          map[string]bool
		first, last   time.Time
		bytes, nb     int
		anyNoMFALogin bool
	}
	per := map[string]*agg{}
	for _, e := range evs {
		acct := e.account
		if e.noRecipient {
			acct = "null"
		}
		a := per[acct]
		if a == nil {
			a = &agg{arns: map[string]bool{}}
			per[acct] = a
		}
		a.n++
		if e.errorCode == "AccessDenied" {
			a.denied++
		}
		if arn := arnOf(e.who); arn != "" {
			a.arns[arn] = true
		}
		if a.first.IsZero() || e.time.Before(a.first) {
			a.first = e.time
		}
		if e.time.After(a.last) {
			a.last = e.time
		}
		if m, ok := e.extra.(map[string]any); ok {
			if b, ok := m["bytesTransferredIn"].(int); ok {
				a.bytes += b
				a.nb++
			}
			if m["MFAUsed"] == "No" && e.name == "ConsoleLogin" {
				a.anyNoMFALogin = true
			}
		}
	}
	var accts []string
	for k := range per {
		accts = append(accts, k)
	}
	sort.Slice(accts, func(i, j int) bool { // NULLS FIRST
		return accts[i] == "null" || (accts[j] != "null" && accts[i] < accts[j])
	})
	var want []string
	for _, k := range accts {
		a := per[k]
		acct := `"` + k + `"`
		if k == "null" {
			acct = "null"
		}
		avg := "null"
		sum := "null"
		if a.nb > 0 {
			sum = fmt.Sprint(a.bytes)
			avg = jsonFloat(float64(a.bytes) / float64(a.nb))
		}
		want = append(want, fmt.Sprintf(`[%s,%d,%d,%d,%q,%q,%s,%s,%t]`, acct, a.n, a.denied, len(a.arns),
			a.first.Format(time.RFC3339Nano), a.last.Format(time.RFC3339Nano), sum, avg, a.anyNoMFALogin))
	}
	checkRows(t, `SELECT recipientAccountId, count(*), count_if(errorCode = 'AccessDenied'), count(DISTINCT userIdentity.arn),
			min(eventTime), max(eventTime), sum(CAST(element_at(additionalEventData, 'bytesTransferredIn') AS bigint)),
			avg(CAST(element_at(additionalEventData, 'bytesTransferredIn') AS bigint)),
			bool_or(eventName = 'ConsoleLogin' AND element_at(additionalEventData, 'MFAUsed') = 'No')
		FROM events GROUP BY recipientAccountId ORDER BY recipientAccountId NULLS FIRST`, want...)
}

// jsonFloat formats f as Value.JSON does.
func jsonFloat(f float64) string { return string(FloatValue(f).JSON()) }

func TestHavingAndGlobalAggregates(t *testing.T) {
	evs, _ := fixture()
	counts := map[string]int{}
	users := map[string]bool{}
	for _, e := range evs {
		if e.errorCode != "" {
			counts[e.who.kind]++
		}
		if u := e.who.userName(); u != "" {
			users[u] = true
		}
	}
	var want []string
	for k, n := range counts {
		if n >= 3 {
			want = append(want, fmt.Sprintf(`[%q,%d]`, k, n))
		}
	}
	sort.Strings(want)
	checkRows(t, `SELECT userIdentity.type, count(*) FROM events WHERE errorCode IS NOT NULL
		GROUP BY userIdentity.type HAVING count(*) >= 3 ORDER BY 1`, want...)
	checkRows(t, `SELECT count(*), count(DISTINCT userIdentity.userName), approx_distinct(userIdentity.userName) FROM events`,
		fmt.Sprintf(`[%d,%d,%d]`, len(evs), len(users), len(users)))
	checkRows(t, `SELECT count(*), sum(1), max(eventTime), min(eventName), avg(length(eventName)), bool_and(readOnly) FROM events WHERE eventName = 'Nope'`,
		`[0,null,null,null,null,null]`)
	checkRows(t, `SELECT count(*) FROM events WHERE eventName = 'Nope' HAVING count(*) > 0`)
	checkRows(t, `SELECT max_by(eventID, eventTime), min_by(eventID, eventTime), arbitrary(eventSource) FROM events WHERE eventID LIKE 'lm-%' AND eventSource = 'cloudtrail.amazonaws.com'`,
		`["lm-0003","lm-0001","cloudtrail.amazonaws.com"]`)
	// Landmark eventName lengths: 11 12 11 12 15 7 14 8 12 18 29.
	checkRows(t, `SELECT sum(DISTINCT length(eventName)), count(DISTINCT length(eventName)), sum(length(eventName)),
			avg(DISTINCT length(eventName)), min(DISTINCT length(eventName)) FROM events WHERE eventID LIKE 'lm-%'`,
		`[114,8,149,14.25,7]`)
}

func TestGroupByExpressionsAndDerived(t *testing.T) {
	evs, _ := fixture()
	perDay := map[string]int{}
	for _, e := range evs {
		perDay[e.time.Format("2006-01-02")]++
	}
	var want, wantDate []string
	for d, n := range perDay {
		want = append(want, fmt.Sprintf(`[%q,%d]`, d+"T00:00:00Z", n))
		wantDate = append(wantDate, fmt.Sprintf(`[%q,%d]`, d, n))
	}
	sort.Strings(want)
	sort.Strings(wantDate)
	checkRows(t, `SELECT date_trunc('day', eventTime) AS day, count(*) FROM events GROUP BY day ORDER BY day`, want...)
	checkRows(t, `SELECT date_trunc('day', eventTime), count(*) FROM events GROUP BY date_trunc('day', eventTime) ORDER BY 1`, want...)
	checkRows(t, `SELECT date(eventTime), count(*) c FROM events GROUP BY 1 ORDER BY 1`, wantDate...)

	// A select item computed from grouped columns, and a struct field of a
	// grouped struct.
	kinds := map[string]int{}
	for _, e := range evs {
		if e.source == "signin.amazonaws.com" {
			kinds[e.who.kind]++
		}
	}
	var wantKinds []string
	for k, n := range kinds {
		wantKinds = append(wantKinds, fmt.Sprintf(`[%q,%q,%d]`, strings.ToLower(k), k, n))
	}
	sort.Strings(wantKinds)
	checkRowsAnyOrder(t, `SELECT lower(userIdentity.type), userIdentity.type, count(*) FROM events WHERE eventSource = 'signin.amazonaws.com'
		GROUP BY userIdentity`, mergeByKind(t, evs)...)
	checkRows(t, `SELECT lower(userIdentity.type) AS k, userIdentity.type, count(*) FROM events WHERE eventSource = 'signin.amazonaws.com'
		GROUP BY userIdentity.type ORDER BY k`, wantKinds...)
}

// mergeByKind is the expected result of grouping sign-ins by the whole
// userIdentity struct: one group per distinct userIdentity JSON.
func mergeByKind(t *testing.T, evs []fxEvent) []string {
	groups := map[string]int{}
	kind := map[string]string{}
	for _, e := range evs {
		if e.source != "signin.amazonaws.com" {
			continue
		}
		b, err := json.Marshal(e.userIdentity())
		if err != nil {
			t.Fatal(err)
		}
		groups[string(b)]++
		kind[string(b)] = e.who.kind
	}
	var rows []string
	for k, n := range groups {
		rows = append(rows, fmt.Sprintf(`[%q,%q,%d]`, strings.ToLower(kind[k]), kind[k], n))
	}
	return rows
}
