package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// defaultQueryTimeout is the per-shard deadline of a query when --timeout
// is not given.
const defaultQueryTimeout = 60 * time.Second

func newQueryCmd(g *globals) *cobra.Command {
	var file string
	var allowPartial bool
	cmd := &cobra.Command{
		Use:   `query ("SELECT …" | --file q.sql)`,
		Short: "Run a SQL query (the CloudTrail Lake dialect) over the stored events",
		Long: `query runs one SELECT over the table events, in the dialect of CloudTrail
Lake (Trino): WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, DISTINCT, aggregates,
nested fields (userIdentity.arn), element_at(requestParameters, 'key'),
date_trunc and more. Any node coordinates: every shard filters and
aggregates its own events, and the node merges their answers.

-o table prints a table, -o csv CSV with a header, -o json one JSON object
per row keyed by column name. The statistics (rows, events scanned, bytes
read, shards asked, milliseconds) go to standard error. --timeout (default
60s here) bounds each shard's part; a shard that cannot answer fails the
query, naming the shard, unless --allow-partial is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sql string
			switch {
			case file != "" && len(args) > 0:
				return errors.New("give the query as an argument or with --file, not both")
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("cannot read query: %w", err)
				}
				sql = string(b)
			case len(args) == 1:
				sql = args[0]
			default:
				return errors.New(`give a query: cairnctl query "SELECT …" or --file q.sql`)
			}
			if strings.TrimSpace(sql) == "" {
				return errors.New("the query is empty")
			}
			timeout := defaultQueryTimeout
			if cmd.Flags().Changed("timeout") {
				timeout = g.timeout
			}
			return action(func(ctx context.Context, _ []string) error {
				return g.query(ctx, sql, timeout, allowPartial)
			})(cmd, nil)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "read the query from `FILE`")
	cmd.Flags().BoolVar(&allowPartial, "allow-partial", false, "answer with the shards that can, naming the others, instead of failing")
	return cmd
}

// query runs sql and prints its result as -o asks.
func (g *globals) query(ctx context.Context, sql string, timeout time.Duration, allowPartial bool) error {
	c := g.newClient()
	defer c.Close()
	c.timeout = timeout + 5*time.Second // the shards' deadline, and time to hear about it
	var columns []string
	var rows [][][]byte
	var stats *cairnv1.QueryStats
	err := c.query(ctx, "query", func(ctx context.Context, qc cairnv1.QueryServiceClient) error {
		stream, err := qc.Query(ctx, &cairnv1.QueryRequest{Sql: sql, AllowPartial: allowPartial, TimeoutMs: uint32(timeout.Milliseconds())})
		if err != nil {
			return err
		}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			switch p := resp.Part.(type) {
			case *cairnv1.QueryResponse_Header:
				columns = p.Header.Columns
			case *cairnv1.QueryResponse_Rows:
				for _, r := range p.Rows.Rows {
					rows = append(rows, r.Values)
				}
			case *cairnv1.QueryResponse_Stats:
				stats = p.Stats
			}
		}
	})
	if err != nil {
		return err
	}
	if err := g.printRows(columns, rows); err != nil {
		return err
	}
	for _, m := range stats.GetMissingShards() {
		fmt.Fprintf(g.stderr, "cairnctl: partial result: shard %d did not answer: %s\n", m.Shard, m.Error)
	}
	fmt.Fprintf(g.stderr, "%s in %d ms (%s scanned, %s read, %s asked)\n", plural(len(rows), "row"), stats.GetElapsedMs(),
		plural(int(stats.GetEventsScanned()), "event"), byteSize(stats.GetBytesRead()), plural(int(stats.GetShardsAsked()), "shard"))
	return nil
}

// printRows writes rows whose values are JSON.
func (g *globals) printRows(columns []string, rows [][][]byte) error {
	switch g.output {
	case "json":
		for _, r := range rows {
			var b bytes.Buffer
			b.WriteByte('{')
			for i, v := range r {
				if i > 0 {
					b.WriteByte(',')
				}
				name, _ := json.Marshal(columns[i])
				b.Write(name)
				b.WriteByte(':')
				b.Write(v)
			}
			b.WriteString("}\n")
			if _, err := g.stdout.Write(b.Bytes()); err != nil {
				return fmt.Errorf("cannot write output: %w", err)
			}
		}
	case "csv":
		w := csv.NewWriter(g.stdout)
		_ = w.Write(columns)
		for _, r := range rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = cellText(v, "")
			}
			_ = w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return fmt.Errorf("cannot write output: %w", err)
		}
	default:
		tw := newTable(g.stdout)
		header := make([]any, len(columns))
		for i, c := range columns {
			header[i] = c
		}
		row(tw, header...)
		for _, r := range rows {
			cells := make([]any, len(r))
			for i, v := range r {
				cells[i] = cellText(v, "NULL")
			}
			row(tw, cells...)
		}
		_ = tw.Flush()
	}
	return nil
}

// cellText renders a JSON value for a table or CSV cell: strings without
// quotes, null as null.
func cellText(v []byte, null string) string {
	if string(v) == "null" {
		return null
	}
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// byteSize renders n bytes for people.
func byteSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
