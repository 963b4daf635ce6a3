//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// queryInterval spaces the checker's queries.
const queryInterval = time.Second

// querier runs, every second, a count of the probe's events against a random
// live node, and holds each answer to this: either an error that says what
// is wrong (see clearError), or a full result (not partial) that counts at
// least every probe event acknowledged before the query began and at most
// every probe event sent by the time it ended (more would be an event
// counted twice).
type querier struct {
	c     *cluster
	p     *probe
	live  func() []*dockerNode
	sql   string
	mu    sync.Mutex
	ok    int
	fail  int
	errs  map[string]int // clear errors, by message
	wrong []string       // answers that break the rule above
}

func newQuerier(c *cluster, p *probe, live func() []*dockerNode) *querier {
	quoted := make([]string, len(p.accounts))
	for i, a := range p.accounts {
		quoted[i] = "'" + a + "'"
	}
	return &querier{c: c, p: p, live: live, errs: map[string]int{},
		sql: "SELECT count(*) FROM events WHERE recipientAccountId IN (" + strings.Join(quoted, ", ") + ")"}
}

// runLoop queries until ctx ends.
func (q *querier) runLoop(ctx context.Context) {
	tick := time.NewTicker(queryInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		live := q.live()
		if len(live) == 0 {
			continue
		}
		q.once(ctx, live[rand.IntN(len(live))])
	}
}

func (q *querier) once(ctx context.Context, n *dockerNode) {
	ackedBefore := q.p.ackedCount()
	began := time.Now()
	count, stats, err := runCount(ctx, q.c, n, q.sql)
	if ctx.Err() != nil {
		return // the run is over; the answer is not the cluster's
	}
	sentAfter := q.p.sentCount()
	q.mu.Lock()
	defer q.mu.Unlock()
	at := began.Format("15:04:05.000")
	switch {
	case err != nil && clearError(err):
		q.fail++
		q.errs[shortError(err)]++
	case err != nil:
		q.fail++
		q.wrong = append(q.wrong, fmt.Sprintf("%s via %s: unclear error: %v", at, n.id, err))
	case stats == nil:
		q.ok++
		q.wrong = append(q.wrong, fmt.Sprintf("%s via %s: count %d without statistics", at, n.id, count))
	case stats.Partial:
		q.ok++
		q.wrong = append(q.wrong, fmt.Sprintf("%s via %s: partial result %d (missing %v) without allow_partial", at, n.id, count, stats.MissingShards))
	case count < int64(ackedBefore):
		q.ok++
		q.wrong = append(q.wrong, fmt.Sprintf("%s via %s: count %d, but %d probe events were acknowledged before the query", at, n.id, count, ackedBefore))
	case count > int64(sentAfter):
		q.ok++
		q.wrong = append(q.wrong, fmt.Sprintf("%s via %s: count %d, but only %d distinct probe events were ever sent", at, n.id, count, sentAfter))
	default:
		q.ok++
	}
}

// runCount runs a one-value query through n and returns the value, reading
// the whole stream.
func runCount(ctx context.Context, c *cluster, n *dockerNode, sql string) (int64, *cairnv1.QueryStats, error) {
	qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	stream, err := cairnv1.NewQueryServiceClient(c.conn(n.grpc)).Query(qctx, &cairnv1.QueryRequest{Sql: sql, TimeoutMs: 10000})
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", n.id, err)
	}
	var rows [][]byte
	var stats *cairnv1.QueryStats
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", n.id, err)
		}
		for _, r := range resp.GetRows().GetRows() {
			if len(r.Values) != 1 {
				return 0, nil, fmt.Errorf("%s: a row of %d values, want 1", n.id, len(r.Values))
			}
			rows = append(rows, r.Values[0])
		}
		if s := resp.GetStats(); s != nil {
			stats = s
		}
	}
	if len(rows) != 1 {
		return 0, stats, fmt.Errorf("%s: %d rows, want 1", n.id, len(rows))
	}
	count, err := strconv.ParseInt(string(rows[0]), 10, 64)
	if err != nil {
		return 0, stats, fmt.Errorf("%s: count %q: %w", n.id, rows[0], err)
	}
	return count, stats, nil
}

// clearError tells whether a failed query says what went wrong: a gRPC
// status that means "not now" (unavailable, deadline exceeded, no leader,
// aborted, overloaded) with a message, or any message that names the shard
// that could not answer.
func clearError(err error) bool {
	st, ok := status.FromError(errors.Unwrap(err))
	if !ok {
		st, ok = status.FromError(err)
	}
	if !ok || st.Message() == "" {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.FailedPrecondition, codes.Aborted, codes.ResourceExhausted:
		return true
	}
	return strings.Contains(st.Message(), "shard")
}

// shortError is an error's gRPC code and message, cut to a length that
// keeps a report readable.
func shortError(err error) string {
	s := err.Error()
	if st, ok := status.FromError(errors.Unwrap(err)); ok {
		node, _, _ := strings.Cut(s, ":")
		s = node + ": " + st.Code().String() + ": " + st.Message()
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// results returns the counts, the clear errors (most frequent first) and
// the wrong answers.
func (q *querier) results() (ok, fail int, errs []string, wrong []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for msg, n := range q.errs {
		errs = append(errs, fmt.Sprintf("%d× %s", n, msg))
	}
	slices.SortFunc(errs, func(a, b string) int {
		var na, nb int
		fmt.Sscanf(a, "%d", &na)
		fmt.Sscanf(b, "%d", &nb)
		if na != nb {
			return nb - na
		}
		return strings.Compare(a, b)
	})
	return q.ok, q.fail, errs, slices.Clone(q.wrong)
}
