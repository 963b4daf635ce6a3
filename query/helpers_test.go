package query

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is Options.Now in tests: just after the fixture's last day.
var testNow = time.Date(2026, 1, 12, 12, 0, 0, 0, time.UTC)

func testOptions() Options { return Options{Now: testNow} }

func mustCompile(t testing.TB, q string) *Plan {
	t.Helper()
	p, err := Compile(q, testOptions())
	if err != nil {
		t.Fatalf("Compile(%q): %v", q, err)
	}
	return p
}

// run executes q over the fixture.
func run(t testing.TB, q string) []Row {
	t.Helper()
	_, raws := fixture()
	rows, err := Execute(mustCompile(t, q), raws)
	if err != nil {
		t.Fatalf("Execute(%q): %v", q, err)
	}
	return rows
}

// rowJSON renders a row as a JSON array, e.g. ["alice",3,null].
func rowJSON(r Row) string {
	b := []byte{'['}
	for i, v := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v.JSON()...)
	}
	return string(append(b, ']'))
}

func rowsJSON(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = rowJSON(r)
	}
	return out
}

// checkRows runs q and compares its rows, in order, with want (each a JSON
// array).
func checkRows(t *testing.T, q string, want ...string) {
	t.Helper()
	got := rowsJSON(run(t, q))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s\n got:\n  %s\nwant:\n  %s", q, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// checkRowsAnyOrder is checkRows for a result whose order is not defined.
func checkRowsAnyOrder(t *testing.T, q string, want ...string) {
	t.Helper()
	got := rowsJSON(run(t, q))
	want = slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s\n got (sorted):\n  %s\nwant (sorted):\n  %s", q, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
