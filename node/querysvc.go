package node

import (
	"context"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// queryService serves QueryService: Lookup and Query for clients, and their
// shard parts between nodes.
type queryService struct {
	cairnv1.UnimplementedQueryServiceServer
	n *Node
}

func (s *queryService) Lookup(ctx context.Context, req *cairnv1.LookupRequest) (*cairnv1.LookupResponse, error) {
	start := time.Now()
	resp, err := s.n.lookup(ctx, req)
	s.n.metrics.observeQuery("lookup", start, err)
	return resp, toStatus(err)
}

func (s *queryService) ShardLookup(ctx context.Context, req *cairnv1.ShardLookupRequest) (*cairnv1.ShardLookupResponse, error) {
	resp, err := s.n.localShardLookup(req)
	setLeaderTrailer(ctx, err)
	return resp, toStatus(err)
}

func (s *queryService) Query(req *cairnv1.QueryRequest, stream cairnv1.QueryService_QueryServer) error {
	start := time.Now()
	err := s.n.runQuery(stream.Context(), req, stream.Send)
	s.n.metrics.observeQuery("sql", start, err)
	return toStatus(err)
}

func (s *queryService) ShardQuery(ctx context.Context, req *cairnv1.ShardQueryRequest) (*cairnv1.ShardQueryResponse, error) {
	resp, err := s.n.localShardQuery(ctx, req)
	setLeaderTrailer(ctx, err)
	return resp, toStatus(err)
}
