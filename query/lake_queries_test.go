package query

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

type lakeQuery struct {
	name     string
	minRows  int
	firstRow string
	text     string
}

// readLakeQueries reads testdata/lake_queries.sql (see its header).
func readLakeQueries(t *testing.T) []lakeQuery {
	t.Helper()
	data, err := os.ReadFile("testdata/lake_queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	var qs []lakeQuery
	for _, chunk := range strings.Split(string(data), "-- name: ")[1:] {
		name, body, _ := strings.Cut(chunk, "\n")
		q := lakeQuery{name: strings.TrimSpace(name)}
		var text []string
		for _, line := range strings.Split(body, "\n") {
			switch {
			case strings.HasPrefix(line, "-- min-rows: "):
				fmt.Sscanf(strings.TrimPrefix(line, "-- min-rows: "), "%d", &q.minRows)
			case strings.HasPrefix(line, "-- first-row: "):
				q.firstRow = strings.TrimPrefix(line, "-- first-row: ")
			default:
				text = append(text, line)
			}
		}
		q.text = strings.ReplaceAll(strings.TrimSpace(strings.Join(text, "\n")), "$EDS_ID", "events")
		qs = append(qs, q)
	}
	return qs
}

func TestLakeStyleQueries(t *testing.T) {
	qs := readLakeQueries(t)
	if len(qs) < 40 {
		t.Fatalf("only %d queries in testdata/lake_queries.sql", len(qs))
	}
	_, raws := fixture()
	for _, q := range qs {
		p, err := Compile(q.text, testOptions())
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		rows, err := Execute(p, raws)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		if len(rows) < q.minRows {
			t.Errorf("%s: %d rows, want at least %d", q.name, len(rows), q.minRows)
		}
		if q.firstRow != "" && (len(rows) == 0 || rowJSON(rows[0]) != q.firstRow) {
			got := "no rows"
			if len(rows) > 0 {
				got = rowJSON(rows[0])
			}
			t.Errorf("%s: first row %s, want %s", q.name, got, q.firstRow)
		}
		// Every one of them gives the same rows split across shards.
		if len(p.order) > 0 || p.global {
			got, _ := runSplit(t, newRand(len(q.text)), p, raws, nil)
			if strings.Join(rowsJSON(got), "\n") != strings.Join(rowsJSON(rows), "\n") && !tiesPossible(q.text) {
				t.Errorf("%s: split result differs:\n got %v\nwant %v", q.name, rowsJSON(got), rowsJSON(rows))
			}
		}
	}
}

// tiesPossible marks the queries whose ORDER BY does not order every row.
func tiesPossible(q string) bool {
	return strings.Contains(q, "ORDER BY eventTime") || strings.Contains(q, "ORDER BY userAgent")
}
