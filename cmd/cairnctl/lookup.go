package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage/event"
)

// lookupFlags are the attribute filters of "cairnctl lookup", by flag name.
var lookupFlags = []struct {
	flag string
	attr cairnv1.LookupAttribute
	help string
}{
	{"event-id", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_ID, "eventID"},
	{"event-name", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_NAME, "eventName, e.g. ConsoleLogin"},
	{"event-source", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_EVENT_SOURCE, "eventSource, e.g. iam.amazonaws.com"},
	{"username", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_USERNAME, "user name (IAM user, or role session)"},
	{"access-key-id", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ACCESS_KEY_ID, "userIdentity.accessKeyId"},
	{"resource-name", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_NAME, "a resources[] ARN"},
	{"resource-type", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_RESOURCE_TYPE, "a resources[] type, e.g. AWS::S3::Bucket"},
	{"read-only", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY, "readOnly: true or false"},
	{"error-code", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_ERROR_CODE, "errorCode, e.g. AccessDenied"},
	{"source-ip", cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_SOURCE_IP_ADDRESS, "sourceIPAddress"},
}

type lookupOptions struct {
	accounts, regions []string
	start, end        string
	values            map[string]*string
	max               uint32
	pageToken         string
	all               bool
	allowPartial      bool
}

func newLookupCmd(g *globals) *cobra.Command {
	o := &lookupOptions{values: map[string]*string{}}
	cmd := &cobra.Command{
		Use:   "lookup [--account ID…] [--region R…] [--start T] [--end T] [attribute filters] [--max N] [--page-token T | --all]",
		Short: "Find stored events by account, region, time and attributes, newest first",
		Long: `lookup returns stored events newest first, a page at a time. Filters are
ANDed; without --start the search covers the 90 days before --end (default:
now). Times are RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02), or a
duration before now (24h, 7d).

-o json prints each event on its own line exactly as it was ingested;
-o table prints a summary. The token for the next page goes to standard
error; --all follows the tokens and prints every page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := o.request(cmd, time.Now())
			if err != nil {
				return err
			}
			return action(func(ctx context.Context, _ []string) error { return g.lookup(ctx, req, o.all) })(cmd, nil)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.accounts, "account", nil, "account id (repeatable; default: every account)")
	f.StringSliceVar(&o.regions, "region", nil, "region (repeatable; default: every region)")
	f.StringVar(&o.start, "start", "", "earliest eventTime (default: 90 days before --end)")
	f.StringVar(&o.end, "end", "", "latest eventTime, exclusive (default: now)")
	for _, lf := range lookupFlags {
		o.values[lf.flag] = f.String(lf.flag, "", lf.help)
	}
	f.Uint32Var(&o.max, "max", 50, "events per page, at most 1000")
	f.StringVar(&o.pageToken, "page-token", "", "continue after the page that printed this token")
	f.BoolVar(&o.all, "all", false, "print every page")
	f.BoolVar(&o.allowPartial, "allow-partial", false, "answer with the shards that can, naming the others, instead of failing")
	return cmd
}

// request checks the flags and builds the Lookup request.
func (o *lookupOptions) request(cmd *cobra.Command, now time.Time) (*cairnv1.LookupRequest, error) {
	req := &cairnv1.LookupRequest{Accounts: o.accounts, Regions: o.regions, MaxResults: o.max,
		PageToken: o.pageToken, AllowPartial: o.allowPartial}
	for _, a := range o.accounts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return nil, fmt.Errorf("--account %q: an AWS account id is 12 digits", a)
		}
	}
	if o.max == 0 || o.max > 1000 {
		return nil, fmt.Errorf("--max %d: give 1 to 1000", o.max)
	}
	if o.all && o.pageToken != "" {
		return nil, errors.New("--all and --page-token exclude each other")
	}
	var err error
	if o.start != "" {
		if req.StartTimeUnixNano, err = parseWhen("--start", o.start, now); err != nil {
			return nil, err
		}
	}
	if o.end != "" {
		if req.EndTimeUnixNano, err = parseWhen("--end", o.end, now); err != nil {
			return nil, err
		}
	}
	for _, lf := range lookupFlags {
		if !cmd.Flags().Changed(lf.flag) {
			continue
		}
		v := *o.values[lf.flag]
		if v == "" {
			return nil, fmt.Errorf("--%s needs a value", lf.flag)
		}
		if lf.attr == cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY && v != "true" && v != "false" {
			return nil, fmt.Errorf("--read-only %q: give true or false", v)
		}
		req.Filters = append(req.Filters, &cairnv1.LookupFilter{Attribute: lf.attr, Value: v})
	}
	return req, nil
}

// parseWhen reads an RFC 3339 time, a date, or a duration before now
// ("24h", "7d").
func parseWhen(flag, s string, now time.Time) (int64, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UnixNano(), nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour).UnixNano(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UnixNano(), nil
	}
	return 0, fmt.Errorf("%s %q: give an RFC 3339 time (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration before now (24h, 7d)", flag, s)
}

// lookup runs the request, page after page with all, and prints the events.
func (g *globals) lookup(ctx context.Context, req *cairnv1.LookupRequest, all bool) error {
	c := g.newClient()
	defer c.Close()
	var tw *lookupTable
	if g.output != "json" {
		tw = newLookupTable(g.stdout)
	}
	total := 0
	for {
		var resp *cairnv1.LookupResponse
		err := c.query(ctx, "lookup", func(ctx context.Context, qc cairnv1.QueryServiceClient) error {
			var err error
			resp, err = qc.Lookup(ctx, req)
			return err
		})
		if err != nil {
			return err
		}
		for _, e := range resp.Events {
			if tw == nil {
				if _, err := g.stdout.Write(append(e.Raw, '\n')); err != nil {
					return fmt.Errorf("cannot write output: %w", err)
				}
			} else {
				tw.event(e)
			}
		}
		total += len(resp.Events)
		st := resp.GetStats()
		if st.GetPartial() {
			for _, m := range st.MissingShards {
				fmt.Fprintf(g.stderr, "cairnctl: partial result: shard %d did not answer: %s\n", m.Shard, m.Error)
			}
		}
		if !all || resp.NextPageToken == "" {
			if tw != nil {
				tw.flush()
				fmt.Fprintf(g.stdout, "\n%s from %s in %d ms (%d scanned)\n", plural(total, "event"),
					plural(int(st.GetShardsAsked()), "shard"), st.GetElapsedMs(), st.GetEventsScanned())
			}
			if resp.NextPageToken != "" {
				fmt.Fprintf(g.stderr, "next page: --page-token %s\n", resp.NextPageToken)
			}
			return nil
		}
		req.PageToken = resp.NextPageToken
	}
}

// lookupTable gathers lookup results and prints them as one table.
type lookupTable struct {
	w    io.Writer
	rows [][]any
}

func newLookupTable(w io.Writer) *lookupTable { return &lookupTable{w: w} }

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (t *lookupTable) event(e *cairnv1.LookupEvent) {
	ev, err := event.Parse(e.Raw, farFuture)
	if err != nil {
		ev = &cairnv1.Event{}
	}
	t.rows = append(t.rows, []any{time.Unix(0, e.EventTimeUnixNano).UTC().Format(time.RFC3339), e.Account, e.Region,
		ev.EventName, ev.Username, ev.SourceIp, ev.ErrorCode, e.EventId})
}

func (t *lookupTable) flush() {
	tw := newTable(t.w)
	row(tw, "TIME", "ACCOUNT", "REGION", "EVENT", "USER", "SOURCE IP", "ERROR", "EVENT ID")
	for _, r := range t.rows {
		row(tw, r...)
	}
	_ = tw.Flush()
	t.rows = nil
}
