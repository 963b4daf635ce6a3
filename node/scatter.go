package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/query"
)

// scatter runs call for every shard at once, each under its own deadline
// (timeout), and returns the shards that failed. Each call writes only its
// own results. Without allowPartial the first real failure cancels the rest
// and scatter returns it, naming the shard: never a silent subset. With
// allowPartial every shard runs to its end and the failures are returned for
// the caller to report, unless every shard failed or one refused the request
// itself (see refusal).
func (n *Node) scatter(ctx context.Context, shards []uint32, timeout time.Duration, allowPartial bool,
	call func(ctx context.Context, shard uint32) error) ([]*cairnv1.ShardFailure, error) {
	if deadline, ok := ctx.Deadline(); ok {
		// Leave the caller time to hear about the shards that did not make it.
		timeout = min(timeout, time.Until(deadline)*9/10)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, shard := range shards {
		wg.Go(func() {
			sctx, scancel := context.WithTimeout(ctx, timeout)
			defer scancel()
			errs[i] = call(sctx, shard)
			if errs[i] != nil && (!allowPartial || refusal(errs[i])) {
				cancel()
			}
		})
	}
	wg.Wait()
	var failed []*cairnv1.ShardFailure
	var first error
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed = append(failed, &cairnv1.ShardFailure{Shard: shards[i], Error: err.Error()})
		// A cancellation caused by another shard's failure is not news.
		if first == nil || (errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = fmt.Errorf("shard %d cannot answer: %w", shards[i], err)
		}
	}
	for i, err := range errs {
		if refusal(err) {
			return nil, fmt.Errorf("shard %d: %w", shards[i], err)
		}
	}
	// A partial answer from no shard at all is no answer.
	if first != nil && (!allowPartial || len(failed) == len(shards)) {
		return nil, first
	}
	return failed, nil
}

// allShards lists the cluster's shards.
func allShards(count uint32) []uint32 {
	out := make([]uint32, count)
	for i := range out {
		out[i] = uint32(i)
	}
	return out
}

// refusal reports whether a shard's error is about the request itself (it is
// malformed, or its result too large), which no other shard would answer
// differently: it fails the call even when a partial answer is allowed.
func refusal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidArgument) || errors.Is(err, query.ErrLimit) {
		return true
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.ResourceExhausted:
		return true
	}
	return false
}
