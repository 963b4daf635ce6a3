//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cairn-lake/cairn/node"
	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

const (
	// probeInterval spaces the probe's batches.
	probeInterval = 100 * time.Millisecond
	// probeAttemptTimeout bounds one attempt to write a batch through one
	// node; the probe then tries the next node. It leaves room for the
	// node's own retries through an election (1–2 s).
	probeAttemptTimeout = 4 * time.Second
)

// probe writes one small batch every probeInterval, one event for each
// shard, so that a batch is acknowledged only once every shard has taken a
// write, and records when each batch was first sent and when it was
// acknowledged. The longest time between two acknowledgements is the write
// unavailability a client sees. A batch is re-sent, with the same eventIDs,
// through the next node until every event in it is acknowledged.
type probe struct {
	c        *cluster
	accounts []string // accounts[s] lives on shard s
	run      uint64

	mu       sync.Mutex
	sent     map[string]string // eventID → account, every event sent at least once
	acked    map[string]string // eventID → account, acknowledged as stored or duplicate
	batches  []probeBatch
	rejected []string
	attempts int
	failures map[string]int // why attempts failed, by message
	timeline []probeFailure // the first maxTimeline failed attempts
	start    time.Time
	stop     time.Time
}

// maxTimeline bounds the failed attempts the probe keeps one by one.
const maxTimeline = 500

// probeFailure is one failed attempt.
type probeFailure struct {
	at   time.Time // when the attempt began
	took time.Duration
	why  string
}

type probeBatch struct {
	issued time.Time // first sent
	acked  time.Time // every event acknowledged; zero if never
}

// newProbe picks one account per shard (an account that no agent
// generates: they start with 9999).
func newProbe(c *cluster, shards int) *probe {
	p := &probe{c: c, run: rand.Uint64(), sent: map[string]string{}, acked: map[string]string{}, failures: map[string]int{}}
	p.accounts = make([]string, shards)
	for k, found := 0, 0; found < shards; k++ {
		acct := fmt.Sprintf("9999%08d", k)
		if s := node.ShardFor(acct, uint32(shards)); p.accounts[s] == "" {
			p.accounts[s] = acct
			found++
		}
	}
	return p
}

// events returns batch seq: one event per probe account.
func (p *probe) events(seq int) (events [][]byte, ids, accounts []string) {
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	for i, acct := range p.accounts {
		id := fmt.Sprintf("%08x-%04x-4%03x-8000-%012x", uint32(p.run), uint16(p.run>>32), i, seq)
		events = append(events, fmt.Appendf(nil, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":%q,"userName":"probe"},"eventTime":%q,"eventSource":"e2e.probe","eventName":"Probe","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","eventID":%q,"readOnly":false,"recipientAccountId":%q}`,
			acct, now, id, acct))
		ids = append(ids, id)
		accounts = append(accounts, acct)
	}
	return events, ids, accounts
}

// runLoop writes batches until ctx ends.
func (p *probe) runLoop(ctx context.Context) {
	p.mu.Lock()
	p.start = time.Now()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.stop = time.Now()
		p.mu.Unlock()
	}()
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	next := 0 // the node to send through; changes after a failed attempt
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		events, ids, accounts := p.events(seq)
		p.mu.Lock()
		for i, id := range ids {
			p.sent[id] = accounts[i]
		}
		b := len(p.batches)
		p.batches = append(p.batches, probeBatch{issued: time.Now()})
		p.mu.Unlock()
		pending := make([]int, len(events))
		for i := range pending {
			pending[i] = i
		}
		for len(pending) > 0 && ctx.Err() == nil {
			began := time.Now()
			left, err := p.send(ctx, p.c.nodes[next], events, ids, pending)
			if (err != nil || len(left) > 0) && ctx.Err() == nil {
				why := failureKey(err, len(left))
				if err == nil {
					why = p.c.nodes[next].id + ": " + why
				}
				next = (next + 1) % len(p.c.nodes)
				p.mu.Lock()
				p.failures[why]++
				if len(p.timeline) < maxTimeline {
					p.timeline = append(p.timeline, probeFailure{at: began, took: time.Since(began), why: why})
				}
				p.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
			pending = left
		}
		if len(pending) == 0 {
			p.mu.Lock()
			p.batches[b].acked = time.Now()
			p.mu.Unlock()
		}
	}
}

func failureKey(err error, left int) string {
	if err != nil {
		return shortError(err)
	}
	return fmt.Sprintf("%d events answered FAILED", left)
}

// send makes one attempt through n and returns the events of pending that
// are still to be acknowledged.
func (p *probe) send(ctx context.Context, n *dockerNode, events [][]byte, ids []string, pending []int) ([]int, error) {
	p.mu.Lock()
	p.attempts++
	p.mu.Unlock()
	actx, cancel := context.WithTimeout(ctx, probeAttemptTimeout)
	defer cancel()
	stream, err := cairnv1.NewIngestServiceClient(p.c.conn(n.grpc)).Ingest(actx)
	if err != nil {
		return pending, fmt.Errorf("%s: %w", n.id, err)
	}
	req := &cairnv1.IngestRequest{Seq: 1}
	for _, i := range pending {
		req.Events = append(req.Events, events[i])
	}
	if err := stream.Send(req); err != nil {
		return pending, fmt.Errorf("%s: %w", n.id, err)
	}
	resp, err := stream.Recv()
	if err != nil {
		return pending, fmt.Errorf("%s: %w", n.id, err)
	}
	stream.CloseSend()
	if len(resp.Results) != len(pending) {
		return pending, fmt.Errorf("%s answered %d results for %d events", n.id, len(resp.Results), len(pending))
	}
	var left []int
	p.mu.Lock()
	defer p.mu.Unlock()
	for j, r := range resp.Results {
		i := pending[j]
		switch r.Status {
		case cairnv1.EventStatus_EVENT_STATUS_STORED, cairnv1.EventStatus_EVENT_STATUS_DUPLICATE:
			p.acked[ids[i]] = p.sent[ids[i]]
		case cairnv1.EventStatus_EVENT_STATUS_REJECTED:
			p.rejected = append(p.rejected, ids[i]+": "+r.Reason)
		default:
			left = append(left, i)
		}
	}
	return left, nil
}

// batchCount is the number of batches sent.
func (p *probe) batchCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.batches)
}

// ackedCount and sentCount count distinct probe events.
func (p *probe) ackedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *probe) sentCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent)
}

// ackTimes lists the start of the run, every acknowledgement in time order,
// and the end of the run: the edges of the gaps between acknowledgements.
func (p *probe) ackTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	acks := []time.Time{p.start}
	for _, b := range p.batches {
		if !b.acked.IsZero() {
			acks = append(acks, b.acked)
		}
	}
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	return append(acks, p.stop)
}

// waitAckAfter waits, up to timeout, until a batch issued after t is
// acknowledged.
func (p *probe) waitAckAfter(t time.Time, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		acked := slices.ContainsFunc(p.batches, func(b probeBatch) bool { return b.issued.After(t) && !b.acked.IsZero() })
		p.mu.Unlock()
		if acked {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no probe batch issued after %s was acknowledged within %v", t.Format(time.TimeOnly), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// longestGap is the longest time without an acknowledged batch (between
// two acknowledgements, or from the start of the run to the first or from
// the last to the end), and when it began.
func (p *probe) longestGap() (gap time.Duration, from time.Time) {
	acks := p.ackTimes()
	for i := 1; i < len(acks); i++ {
		if d := acks[i].Sub(acks[i-1]); d > gap {
			gap, from = d, acks[i-1]
		}
	}
	return gap, from
}

// longestGapWithin is the longest time without an acknowledged batch that
// overlaps [from, to].
func (p *probe) longestGapWithin(from, to time.Time) time.Duration {
	acks := p.ackTimes()
	var gap time.Duration
	for i := 1; i < len(acks); i++ {
		if !acks[i].Before(from) && !acks[i-1].After(to) {
			gap = max(gap, acks[i].Sub(acks[i-1]))
		}
	}
	return gap
}

// recovery is the time from t to the acknowledgement of the first batch
// sent after t (a write to every shard); false if there was none.
func (p *probe) recovery(t time.Time) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.batches {
		if !b.issued.Before(t) {
			if b.acked.IsZero() {
				return 0, false
			}
			return b.acked.Sub(t), true
		}
	}
	return 0, false
}

// failuresBetween returns the failed attempts that began in [from, to].
func (p *probe) failuresBetween(from, to time.Time) []probeFailure {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []probeFailure
	for _, f := range p.timeline {
		if !f.at.Before(from) && !f.at.After(to) {
			out = append(out, f)
		}
	}
	return out
}

// snapshot returns copies of what was sent and acknowledged.
func (p *probe) snapshot() (sent, acked map[string]string, rejected []string, attempts int, failures map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sent, acked = map[string]string{}, map[string]string{}
	for k, v := range p.sent {
		sent[k] = v
	}
	for k, v := range p.acked {
		acked[k] = v
	}
	failures = map[string]int{}
	for k, v := range p.failures {
		failures[k] = v
	}
	return sent, acked, slices.Clone(p.rejected), p.attempts, failures
}
