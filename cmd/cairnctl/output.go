package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// print writes v as one JSON document with -o json, or calls table with a
// tabwriter otherwise.
func (g *globals) print(v any, table func(w io.Writer)) error {
	if g.output == "csv" {
		return errors.New("-o csv applies to cairnctl query only; use -o table or -o json")
	}
	if g.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("cannot write output: %w", err)
		}
		return nil
	}
	table(g.stdout)
	return nil
}

// newTable returns a tabwriter aligning columns two spaces apart; the caller
// must Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one tab-separated line.
func row(w io.Writer, cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = fmt.Sprint(c)
		if parts[i] == "" {
			parts[i] = "-"
		}
	}
	fmt.Fprintln(w, strings.Join(parts, "\t"))
}
