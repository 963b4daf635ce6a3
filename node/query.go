package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/query"
	"github.com/cairn-lake/cairn/storage"
	"github.com/cairn-lake/cairn/storage/event"
)

// rowsPerMessage is how many rows one QueryResponse carries.
const rowsPerMessage = 1000

// maxQueryRows bounds the rows (and groups) one query holds on a shard and on
// the coordinator: raw records run to kilobytes, and a query that would hold
// more should aggregate or add a LIMIT.
const maxQueryRows = 200_000

// queryOptions are the compile options of every node running a query.
func queryOptions(now time.Time) query.Options {
	return query.Options{Now: now, MaxRows: maxQueryRows, MaxGroups: maxQueryRows}
}

// runQuery compiles a SQL query here, asks the leader of every shard that
// can hold a matching event for its partial result, merges them and streams
// the rows through send. It stops asking once the merged result is final
// (a LIMIT without ORDER BY or aggregation is reached).
func (n *Node) runQuery(ctx context.Context, req *cairnv1.QueryRequest, send func(*cairnv1.QueryResponse) error) error {
	start := time.Now()
	plan, err := query.Compile(req.Sql, queryOptions(start))
	if err != nil {
		return invalidf("%v", err)
	}
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return ErrNotInitialized
	}
	shards := allShards(st.Shards)
	if plan.Prune().None {
		shards = nil // no event can match
	} else if accounts := plan.Prune().Accounts; accounts != nil {
		shards = nil
		for _, a := range accounts {
			shards = append(shards, ShardFor(a, st.Shards))
		}
		slices.Sort(shards)
		shards = slices.Compact(shards)
	}
	timeout := defaultShardWait
	if req.TimeoutMs > 0 {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	}

	merger := plan.NewMerger()
	var (
		mu       sync.Mutex
		stats    = &cairnv1.QueryStats{ShardsAsked: uint32(len(shards))}
		mergeErr error
		enough   atomic.Bool
	)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	failed, err := n.scatter(sctx, shards, timeout, req.AllowPartial, func(ctx context.Context, shard uint32) error {
		resp, err := n.shardQueryOnLeader(ctx, &cairnv1.ShardQueryRequest{Shard: shard, Sql: req.Sql, NowUnixNano: start.UnixNano()})
		if enough.Load() {
			return nil // the result was complete without this shard
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		stats.EventsScanned += resp.EventsScanned
		stats.BytesRead += resp.BytesRead
		if err := merger.Merge(resp.Partial); err != nil {
			mergeErr = fmt.Errorf("cannot merge the answer of shard %d: %w", shard, err)
			stop()
			return mergeErr
		}
		if merger.Done() {
			enough.Store(true)
			stop()
		}
		return nil
	})
	if mergeErr != nil {
		return mergeErr
	}
	if err != nil {
		return err
	}
	rows, err := merger.Rows()
	if err != nil {
		return err
	}
	stats.MissingShards = failed
	stats.Partial = len(failed) > 0

	if err := send(&cairnv1.QueryResponse{Part: &cairnv1.QueryResponse_Header{Header: &cairnv1.QueryHeader{Columns: plan.Columns()}}}); err != nil {
		return err
	}
	for len(rows) > 0 {
		chunk := rows[:min(rowsPerMessage, len(rows))]
		rows = rows[len(chunk):]
		msg := &cairnv1.QueryRows{Rows: make([]*cairnv1.QueryRow, len(chunk))}
		for i, r := range chunk {
			values := make([][]byte, len(r))
			for j, v := range r {
				values[j] = v.JSON()
			}
			msg.Rows[i] = &cairnv1.QueryRow{Values: values}
		}
		if err := send(&cairnv1.QueryResponse{Part: &cairnv1.QueryResponse_Rows{Rows: msg}}); err != nil {
			return err
		}
	}
	stats.ElapsedMs = time.Since(start).Milliseconds()
	return send(&cairnv1.QueryResponse{Part: &cairnv1.QueryResponse_Stats{Stats: stats}})
}

// shardQueryOnLeader runs a shard's part on its leader, wherever it is.
func (n *Node) shardQueryOnLeader(ctx context.Context, req *cairnv1.ShardQueryRequest) (*cairnv1.ShardQueryResponse, error) {
	return onLeader(n, ctx, req.Shard,
		func() (*cairnv1.ShardQueryResponse, error) { return n.localShardQuery(ctx, req) },
		func(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) (*cairnv1.ShardQueryResponse, error) {
			return cairnv1.NewQueryServiceClient(conn).ShardQuery(ctx, req, opts...)
		})
}

// localShardQuery runs the shard-local part of a query on a shard this node
// leads: it scans the events the plan's pruning allows and feeds them to a
// partial result.
func (n *Node) localShardQuery(ctx context.Context, req *cairnv1.ShardQueryRequest) (*cairnv1.ShardQueryResponse, error) {
	plan, err := query.Compile(req.Sql, queryOptions(time.Unix(0, req.NowUnixNano)))
	if err != nil {
		return nil, invalidf("%v", err)
	}
	db, release, err := n.leaderDB(req.Shard)
	if err != nil {
		return nil, err
	}
	defer release()
	prune := plan.Prune()
	q := storage.ScanQuery{Accounts: prune.Accounts}
	if !prune.From.IsZero() {
		q.From = prune.From.UnixNano()
	}
	if !prune.To.IsZero() {
		q.To = prune.To.UnixNano()
	}
	q.Prefilter = prefilter(prune.Eq)
	q.Retention = n.retentionAt(time.Unix(0, req.NowUnixNano))
	partial := plan.NewPartial()
	// next ends the visit of one event, given what adding it to the
	// partial returned: every 4096 events it checks that the query is still
	// wanted, and it says whether to go on.
	var checked int
	next := func(err error) (bool, error) {
		if err != nil {
			return false, err
		}
		if checked++; checked%4096 == 0 && ctx.Err() != nil {
			return false, ctx.Err()
		}
		return !partial.Done(), nil
	}
	// addFields evaluates the query on an event's fields, or on its record
	// where the summary does not hold the record's own columns exactly.
	var qf query.Fields
	addFields := func(f *storage.Fields, n uint64, raw func() ([]byte, error)) (bool, error) {
		if f.Columns&event.ColumnsExact != 0 {
			setQueryFields(&qf, f)
			return next(partial.AddFieldsN(&qf, int64(n)))
		}
		b, err := raw()
		if err != nil {
			return false, err
		}
		return next(partial.Add(b))
	}
	var stats storage.ScanStats
	switch {
	case plan.NeedsRecord():
		stats, err = db.ScanEvents(q, func(raw []byte) (bool, error) { return next(partial.Add(raw)) })
	case q.From == 0 && q.To == 0 && plan.CountsOnly(countedColumns...):
		// The query only counts events by columns the shard keeps counts
		// of: read one count per group and account's day.
		q.Prefilter = nil
		stats, err = db.ScanCounts(q, addFields)
	default:
		// The query reads only columns the summaries hold.
		stats, err = db.ScanFields(q, func(f *storage.Fields, raw func() ([]byte, error)) (bool, error) {
			return addFields(f, 1, raw)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", req.Shard, err)
	}
	enc, err := partial.Encode()
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", req.Shard, err)
	}
	return &cairnv1.ShardQueryResponse{Partial: enc, EventsScanned: stats.Events, BytesRead: stats.BytesRead}, nil
}

// countedColumns are the columns storage.ScanCounts gives.
var countedColumns = []string{"eventName", "eventSource", "recipientAccountId", "readOnly"}

// setQueryFields sets qf to the columns f gives (f.Columns has
// event.ColumnsExact); a column f's Columns says is absent is NULL (nil).
func setQueryFields(qf *query.Fields, f *storage.Fields) {
	has := func(bit uint32, b []byte) []byte {
		switch {
		case f.Columns&bit == 0:
			return nil
		case b == nil:
			return []byte{}
		}
		return b
	}
	*qf = query.Fields{
		EventTime:          f.EventTime,
		EventID:            f.EventID,
		EventName:          f.EventName,
		EventSource:        f.EventSource,
		RecipientAccountID: has(event.HasRecipientAccountID, f.Account),
		AWSRegion:          has(event.HasAWSRegion, f.Region),
		ErrorCode:          has(event.HasErrorCode, f.ErrorCode),
		SourceIPAddress:    has(event.HasSourceIPAddress, f.SourceIP),
		ReadOnly:           f.ReadOnly,
	}
}

// prefilter turns the plan's equality conditions on attributes the
// summaries hold into a storage prefilter, or nil when there are none: the
// shard then reads raw records only for events that can match. The plan
// still evaluates the whole WHERE on every record it is given.
func prefilter(eq map[string][]string) *storage.Prefilter {
	var p storage.Prefilter
	used := false
	for attr, vals := range eq {
		var dst *[]string
		switch attr {
		case "eventID":
			dst = &p.EventIDs
		case "eventName":
			dst = &p.EventNames
		case "eventSource":
			dst = &p.EventSources
		case "awsRegion":
			dst = &p.Regions
		case "errorCode":
			dst = &p.ErrorCodes
		case "sourceIPAddress":
			dst = &p.SourceIPs
		case "userIdentity.accessKeyId":
			dst = &p.AccessKeyIDs
		default:
			continue
		}
		*dst = append([]string{}, vals...)
		used = true
	}
	if !used {
		return nil
	}
	return &p
}
