package node

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
)

// Lookup limits and defaults.
const (
	defaultLookupMax   = 50
	maxLookupMax       = 1000
	defaultLookupRange = 90 * 24 * time.Hour
	defaultShardWait   = 60 * time.Second
)

// lookup answers a Lookup: it asks the leader of every shard that can hold a
// match (only the accounts' shards when accounts are given) for its first
// max_results events after the page token, and merges them newest first.
func (n *Node) lookup(ctx context.Context, req *cairnv1.LookupRequest) (*cairnv1.LookupResponse, error) {
	start := time.Now()
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return nil, ErrNotInitialized
	}
	sreq, err := shardLookupRequest(req, start)
	if err != nil {
		return nil, err
	}
	shards := allShards(st.Shards)
	if len(req.Accounts) > 0 {
		shards = nil
		for _, a := range req.Accounts {
			shards = append(shards, ShardFor(a, st.Shards))
		}
		slices.Sort(shards)
		shards = slices.Compact(shards)
	}
	answers := make([]*cairnv1.ShardLookupResponse, st.Shards)
	failed, err := n.scatter(ctx, shards, defaultShardWait, req.AllowPartial, func(ctx context.Context, shard uint32) error {
		r := proto.CloneOf(sreq)
		r.Shard = shard
		resp, err := n.shardLookupOnLeader(ctx, r)
		answers[shard] = resp
		return err
	})
	if err != nil {
		return nil, err
	}

	var events []*cairnv1.LookupEvent
	stats := &cairnv1.QueryStats{ShardsAsked: uint32(len(shards)), MissingShards: failed, Partial: len(failed) > 0}
	for _, a := range answers {
		if a == nil {
			continue
		}
		events = append(events, a.Events...)
		stats.EventsScanned += a.EventsScanned
		stats.BytesRead += a.BytesRead
	}
	slices.SortFunc(events, func(a, b *cairnv1.LookupEvent) int {
		ca, cb := cursorOf(a), cursorOf(b)
		switch {
		case ca.Before(cb):
			return -1
		case cb.Before(ca):
			return 1
		}
		return 0
	})
	resp := &cairnv1.LookupResponse{Stats: stats}
	if len(events) > int(sreq.Limit) {
		events = events[:sreq.Limit]
	}
	resp.Events = events
	if len(events) == int(sreq.Limit) {
		resp.NextPageToken = encodePageToken(req, cursorOf(events[len(events)-1]))
	}
	stats.ElapsedMs = time.Since(start).Milliseconds()
	return resp, nil
}

func cursorOf(e *cairnv1.LookupEvent) storage.Cursor {
	return storage.Cursor{Time: e.EventTimeUnixNano, Account: e.Account, EventID: e.EventId}
}

// shardLookupRequest checks req and resolves its defaults and page token
// into the request every shard gets.
func shardLookupRequest(req *cairnv1.LookupRequest, now time.Time) (*cairnv1.ShardLookupRequest, error) {
	limit := req.MaxResults
	switch {
	case limit == 0:
		limit = defaultLookupMax
	case limit > maxLookupMax:
		return nil, invalidf("max_results %d is over the limit of %d", limit, maxLookupMax)
	}
	end := req.EndTimeUnixNano
	if end == 0 {
		end = now.UnixNano() + 1
	}
	begin := req.StartTimeUnixNano
	if begin == 0 {
		begin = end - int64(defaultLookupRange)
	}
	if begin >= end {
		return nil, invalidf("the time range is empty: start %s is not before end %s",
			time.Unix(0, begin).UTC().Format(time.RFC3339), time.Unix(0, end).UTC().Format(time.RFC3339))
	}
	seen := map[cairnv1.LookupAttribute]bool{}
	for _, f := range req.Filters {
		name, ok := cairnv1.LookupAttribute_name[int32(f.Attribute)]
		switch {
		case !ok || f.Attribute == cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_UNSPECIFIED:
			return nil, invalidf("filter attribute %d is not one of EventId, EventName, EventSource, Username, AccessKeyId, ResourceName, ResourceType, ReadOnly, ErrorCode, SourceIPAddress", f.Attribute)
		case f.Value == "":
			return nil, invalidf("filter %s has an empty value", name)
		case f.Attribute == cairnv1.LookupAttribute_LOOKUP_ATTRIBUTE_READ_ONLY && f.Value != "true" && f.Value != "false":
			return nil, invalidf("filter ReadOnly is %q; want true or false", f.Value)
		case seen[f.Attribute]:
			return nil, invalidf("filter %s is given twice; filters are ANDed, so an event has one value", name)
		}
		seen[f.Attribute] = true
	}
	sreq := &cairnv1.ShardLookupRequest{
		Accounts:          req.Accounts,
		Regions:           req.Regions,
		StartTimeUnixNano: begin,
		EndTimeUnixNano:   end,
		Filters:           req.Filters,
		Limit:             limit,
	}
	if req.PageToken != "" {
		c, err := decodePageToken(req)
		if err != nil {
			return nil, err
		}
		sreq.After = &cairnv1.LookupCursor{EventTimeUnixNano: c.Time, Account: c.Account, EventId: c.EventID}
	}
	return sreq, nil
}

// A page token is base64url(u64 fingerprint | i64 eventTime | uvarint
// len(account) | account | eventID): the fingerprint of the request's other
// fields (without the time defaults, which move with the clock) catches a
// token used with another lookup.
func encodePageToken(req *cairnv1.LookupRequest, c storage.Cursor) string {
	b := binary.BigEndian.AppendUint64(nil, lookupFingerprint(req))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time))
	b = binary.AppendUvarint(b, uint64(len(c.Account)))
	b = append(b, c.Account...)
	b = append(b, c.EventID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(req *cairnv1.LookupRequest) (storage.Cursor, error) {
	var c storage.Cursor
	b, err := base64.RawURLEncoding.DecodeString(req.PageToken)
	if err != nil || len(b) < 17 {
		return c, invalidf("page token is malformed")
	}
	if binary.BigEndian.Uint64(b) != lookupFingerprint(req) {
		return c, invalidf("page token belongs to another lookup: give the same accounts, regions, times and filters as for the previous page")
	}
	c.Time = int64(binary.BigEndian.Uint64(b[8:]))
	n, k := binary.Uvarint(b[16:])
	if k <= 0 || n > uint64(len(b)-16-k) {
		return c, invalidf("page token is malformed")
	}
	rest := b[16+k:]
	c.Account, c.EventID = string(rest[:n]), string(rest[n:])
	return c, nil
}

func lookupFingerprint(req *cairnv1.LookupRequest) uint64 {
	h := fnv.New64a()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	for _, a := range req.Accounts {
		field(a)
	}
	field("|")
	for _, r := range req.Regions {
		field(r)
	}
	fmt.Fprintf(h, "|%d|%d|%d|", req.StartTimeUnixNano, req.EndTimeUnixNano, req.MaxResults)
	for _, f := range req.Filters {
		field(f.Attribute.String())
		field(f.Value)
	}
	return h.Sum64()
}

// shardLookupOnLeader runs a shard's part on its leader, wherever it is.
func (n *Node) shardLookupOnLeader(ctx context.Context, req *cairnv1.ShardLookupRequest) (*cairnv1.ShardLookupResponse, error) {
	return onLeader(n, ctx, req.Shard,
		func() (*cairnv1.ShardLookupResponse, error) { return n.localShardLookup(req) },
		func(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) (*cairnv1.ShardLookupResponse, error) {
			return cairnv1.NewQueryServiceClient(conn).ShardLookup(ctx, req, opts...)
		})
}

// localShardLookup answers for a shard this node leads, after a barrier so
// that every write acknowledged before the call is seen.
func (n *Node) localShardLookup(req *cairnv1.ShardLookupRequest) (*cairnv1.ShardLookupResponse, error) {
	db, release, err := n.leaderDB(req.Shard)
	if err != nil {
		return nil, err
	}
	defer release()
	q := storage.LookupQuery{
		Accounts: nilIfEmpty(req.Accounts),
		Regions:  nilIfEmpty(req.Regions),
		From:     req.StartTimeUnixNano,
		To:       req.EndTimeUnixNano,
		Limit:    int(req.Limit),
		// The events expired by the rules in force now are gone for the
		// reader, whether or not a cut has deleted them yet.
		Retention: n.retentionAt(time.Now()),
	}
	for _, f := range req.Filters {
		q.Filters = append(q.Filters, storage.Filter{Attr: f.Attribute, Value: f.Value})
	}
	if a := req.After; a != nil {
		q.After = &storage.Cursor{Time: a.EventTimeUnixNano, Account: a.Account, EventID: a.EventId}
	}
	found, stats, err := db.Lookup(q)
	if err != nil {
		return nil, err
	}
	resp := &cairnv1.ShardLookupResponse{EventsScanned: stats.Scanned, BytesRead: stats.BytesRead}
	for _, f := range found {
		resp.Events = append(resp.Events, &cairnv1.LookupEvent{Raw: f.Raw, EventId: f.EventID, Account: f.Account,
			Region: f.Region, EventTimeUnixNano: f.Time})
	}
	return resp, nil
}

// leaderDB returns the DB of a shard this node leads, once every write
// acknowledged before the call is applied (readIndex). The caller must call
// release.
func (n *Node) leaderDB(shard uint32) (*storage.DB, func(), error) {
	s := n.shard(shard)
	if s == nil {
		return nil, nil, fmt.Errorf("shard %d: %w", shard, ErrNotHosted)
	}
	if !s.group.isLeader() {
		return nil, nil, s.group.notLeader()
	}
	if err := s.readIndex(); err != nil {
		return nil, nil, err
	}
	db, release := s.fsm.DB()
	return db, release, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
