package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage"
)

// Retention.
//
// Policies and holds live in the meta state (RetentionRules), changed as a
// whole by the meta leader, one change at a time. Reads filter with the
// rules in force at the reading node's clock, so an expired event is never
// returned from the moment a policy takes effect; ingest rejects an event
// that has already expired. Physical deletion follows: the leader of every
// shard proposes a cut with the rules and its clock, every RetentionInterval
// (jittered) and soon after the rules change, and every replica deletes the
// same events at the same log index (storage.ApplyCut).

// auditAccount is the account under which Cairn stores its own events.
const auditAccount = "cairn"

// defaultRetentionInterval is how often a shard leader cuts.
const defaultRetentionInterval = time.Hour

// cutAfterChange is how soon after a change of the rules a leader cuts.
const cutAfterChange = 5 * time.Second

// impactAccountsShown bounds the accounts a refusal lists.
const impactAccountsShown = 10

// retentionAt returns the rules in force at now.
func (n *Node) retentionAt(now time.Time) *storage.Retention {
	return storage.NewRetention(n.metaFSM.retentionRules(), now.UnixNano())
}

// validRetentionAccount reports whether a policy or hold may name account:
// a 12-digit account id or Cairn's own.
func validRetentionAccount(a string) bool { return isAccountID(a) || a == auditAccount }

// checkScope checks the account/default choice and the category of a
// policy request.
func checkScope(account string, isDefault bool, category string) error {
	switch {
	case account == "" && !isDefault:
		return errors.New("give an account (--account) or the cluster default (--default)")
	case account != "" && isDefault:
		return errors.New("give an account or the cluster default, not both")
	case account != "" && !validRetentionAccount(account):
		return fmt.Errorf("account %q is not a 12-digit account id (or %q, Cairn's own)", account, auditAccount)
	case category != "" && !slices.Contains(storage.Categories, category):
		return fmt.Errorf("category %q is not one of %s", category, strings.Join(storage.Categories, ", "))
	}
	return nil
}

// withPolicy returns a copy of rules with p added or replaced, or, with
// p.Days 0, with the policy of p's scope removed (nil if there was none).
func withPolicy(rules *cairnv1.RetentionRules, p *cairnv1.RetentionPolicy) (*cairnv1.RetentionRules, *cairnv1.RetentionPolicy) {
	next := proto.Clone(rules).(*cairnv1.RetentionRules)
	i := slices.IndexFunc(next.Policies, func(q *cairnv1.RetentionPolicy) bool {
		return q.Account == p.Account && q.Category == p.Category
	})
	var old *cairnv1.RetentionPolicy
	if i >= 0 {
		old = next.Policies[i]
		next.Policies = slices.Delete(next.Policies, i, i+1)
	}
	if p.Days != 0 {
		next.Policies = append(next.Policies, p)
	}
	slices.SortFunc(next.Policies, func(a, b *cairnv1.RetentionPolicy) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Category, b.Category))
	})
	return next, old
}

// withHold returns a copy of rules with h added (replacing a hold of the
// same account) or, with h.Reason "", with the account's hold removed.
func withHold(rules *cairnv1.RetentionRules, h *cairnv1.LegalHold) (*cairnv1.RetentionRules, *cairnv1.LegalHold) {
	next := proto.Clone(rules).(*cairnv1.RetentionRules)
	i := slices.IndexFunc(next.Holds, func(g *cairnv1.LegalHold) bool { return g.Account == h.Account })
	var old *cairnv1.LegalHold
	if i >= 0 {
		old = next.Holds[i]
		next.Holds = slices.Delete(next.Holds, i, i+1)
	}
	if h.Reason != "" {
		next.Holds = append(next.Holds, h)
	}
	slices.SortFunc(next.Holds, func(a, b *cairnv1.LegalHold) int { return cmp.Compare(a.Account, b.Account) })
	return next, old
}

// changeRetention runs on the meta leader: it computes the rules after a
// change, counts the stored events the change would expire, refuses a
// destructive change without force, and commits the new rules. It returns
// the per-account counts of what the change expired.
func (n *Node) changeRetention(ctx context.Context, force bool, change func(*cairnv1.RetentionRules) (*cairnv1.RetentionRules, error)) ([]*cairnv1.AccountCount, error) {
	n.retentionMu.Lock()
	defer n.retentionMu.Unlock()
	before := n.metaFSM.retentionRules()
	after, err := change(before)
	if err != nil {
		return nil, err
	}
	if proto.Equal(before, after) {
		return nil, nil // nothing to commit (a hold set twice, say)
	}
	// Counting asks every shard to walk its summaries: only a change that
	// moves some cutoff later can expire anything.
	var impact []*cairnv1.AccountCount
	now := time.Now()
	if storage.NewRetention(before, now.UnixNano()).Shortens(storage.NewRetention(after, now.UnixNano())) {
		if impact, err = n.retentionImpact(ctx, before, after, now); err != nil {
			return nil, fmt.Errorf("cannot count the events the change would delete: %w", err)
		}
	}
	if len(impact) > 0 && !force {
		return nil, fmt.Errorf("%w: it would delete %s; repeat with --force to apply it", ErrDestructive, describeImpact(impact))
	}
	if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_SET_RETENTION, after); err != nil {
		return nil, err
	}
	n.awaitMetaEverywhere(ctx, n.meta.raft.AppliedIndex())
	return impact, nil
}

// metaSpreadWait bounds how long a retention change waits for the other
// nodes to apply it.
const metaSpreadWait = 5 * time.Second

// awaitMetaEverywhere waits, up to metaSpreadWait, until every registered
// node that answers has applied the meta log up to index, so that a read
// served by any of them after a retention change returns applies the new
// rules. A node that does not answer is not waited for: it cannot serve
// reads before it catches up with its shard groups, and it applies the
// meta log as it does.
func (n *Node) awaitMetaEverywhere(ctx context.Context, index uint64) {
	ctx, cancel := context.WithTimeout(ctx, metaSpreadWait)
	defer cancel()
	var wg sync.WaitGroup
	for _, node := range n.metaFSM.State().Nodes {
		if node.Removed || node.Id == n.cfg.ID || node.GrpcAddr == "" {
			continue
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := n.peers.client(node.GrpcAddr).LocalStatus(ctx, &cairnv1.LocalStatusRequest{})
				if err != nil || resp.MetaAppliedIndex >= index {
					return
				}
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	wg.Wait()
}

// describeImpact renders counts as "1,234 events: 1,000 of account A, 234
// of account B".
func describeImpact(impact []*cairnv1.AccountCount) string {
	var total uint64
	var parts []string
	for i, c := range impact {
		total += c.Events
		if i < impactAccountsShown {
			parts = append(parts, fmt.Sprintf("%d of account %s", c.Events, c.Account))
		}
	}
	if len(impact) > impactAccountsShown {
		parts = append(parts, fmt.Sprintf("and %d more accounts", len(impact)-impactAccountsShown))
	}
	return fmt.Sprintf("%d stored events (%s)", total, strings.Join(parts, ", "))
}

// retentionImpact asks every shard that may hold affected events how many
// stored events after expires that before keeps, and returns the counts by
// account, largest first. It needs every shard's answer.
func (n *Node) retentionImpact(ctx context.Context, before, after *cairnv1.RetentionRules, now time.Time) ([]*cairnv1.AccountCount, error) {
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return nil, ErrNotInitialized
	}
	req := &cairnv1.ShardRetentionImpactRequest{NowUnixNano: now.UnixNano(), Before: before, After: after}
	counts := map[string]uint64{}
	results := make([]*cairnv1.ShardRetentionImpactResponse, st.Shards)
	_, err := n.scatter(ctx, allShards(st.Shards), defaultShardWait, false, func(ctx context.Context, shard uint32) error {
		r := proto.Clone(req).(*cairnv1.ShardRetentionImpactRequest)
		r.Shard = shard
		resp, err := onLeader(n, ctx, shard,
			func() (*cairnv1.ShardRetentionImpactResponse, error) { return n.localRetentionImpact(r) },
			func(ctx context.Context, conn *grpc.ClientConn, opts ...grpc.CallOption) (*cairnv1.ShardRetentionImpactResponse, error) {
				return cairnv1.NewRetentionServiceClient(conn).ShardRetentionImpact(ctx, r, opts...)
			})
		results[shard] = resp
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		for _, c := range r.GetExpired() {
			counts[c.Account] += c.Events
		}
	}
	out := make([]*cairnv1.AccountCount, 0, len(counts))
	for a, c := range counts {
		out = append(out, &cairnv1.AccountCount{Account: a, Events: c})
	}
	slices.SortFunc(out, func(a, b *cairnv1.AccountCount) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Account, b.Account))
	})
	return out, nil
}

// localRetentionImpact counts on a shard this node leads.
func (n *Node) localRetentionImpact(req *cairnv1.ShardRetentionImpactRequest) (*cairnv1.ShardRetentionImpactResponse, error) {
	db, release, err := n.leaderDB(req.Shard)
	if err != nil {
		return nil, err
	}
	defer release()
	counts, err := db.ExpiredBy(storage.NewRetention(req.Before, req.NowUnixNano), storage.NewRetention(req.After, req.NowUnixNano))
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", req.Shard, err)
	}
	resp := &cairnv1.ShardRetentionImpactResponse{}
	for a, c := range counts {
		resp.Expired = append(resp.Expired, &cairnv1.AccountCount{Account: a, Events: c})
	}
	slices.SortFunc(resp.Expired, func(a, b *cairnv1.AccountCount) int { return cmp.Compare(a.Account, b.Account) })
	return resp, nil
}

// effectiveRetention describes what applies to account's events.
func effectiveRetention(r *storage.Retention, rules *cairnv1.RetentionRules, account string) *cairnv1.EffectiveRetention {
	e := &cairnv1.EffectiveRetention{Account: account}
	for _, c := range storage.Categories {
		rule := &cairnv1.EffectiveRule{Category: c, Days: storage.DefaultRetentionDays, Builtin: true}
		if p := r.Effective(account, c); p != nil {
			rule.Days, rule.Matched, rule.Builtin = p.Days, p, false
		}
		e.Rules = append(e.Rules, rule)
	}
	for _, h := range rules.GetHolds() {
		if h.Account == account {
			e.Hold = h
		}
	}
	return e
}

// cutLoop makes this node, on every shard it leads, propose a retention cut
// every RetentionInterval (jittered by up to a tenth, so that the shards do
// not all cut at once) and cutAfterChange after the rules change.
func (n *Node) cutLoop() {
	interval := n.cfg.RetentionInterval
	if interval <= 0 {
		interval = defaultRetentionInterval
	}
	type state struct {
		next  time.Time
		rules *cairnv1.RetentionRules // as of the last cut
	}
	shards := map[uint32]*state{}
	tick := time.NewTicker(min(time.Second, interval/2))
	defer tick.Stop()
	jitter := func() time.Duration { return interval - time.Duration(rand.Int64N(int64(interval/10)+1)) }
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		rules := n.metaFSM.retentionRules()
		for _, s := range n.localShards() {
			if !s.group.isLeader() {
				delete(shards, s.id)
				continue
			}
			st := shards[s.id]
			if st == nil {
				// A new leader cuts soon: the last cut may have been the
				// previous leader's long ago, or never (a restarted cluster).
				st = &state{next: time.Now().Add(cutAfterChange), rules: rules}
				shards[s.id] = st
			}
			if !proto.Equal(st.rules, rules) {
				st.rules = rules
				if soon := time.Now().Add(cutAfterChange); soon.Before(st.next) {
					st.next = soon
				}
			}
			if time.Now().Before(st.next) {
				continue
			}
			if err := n.proposeCut(s, rules); err != nil {
				n.log.Warn("retention cut failed; retrying", "shard", s.id, "err", err)
				st.next = time.Now().Add(min(interval, time.Minute))
				continue
			}
			st.next = time.Now().Add(jitter())
		}
	}
}

// proposeCut commits a cut of the rules at this leader's clock.
func (n *Node) proposeCut(s *shard, rules *cairnv1.RetentionRules) error {
	b, err := proto.Marshal(&cairnv1.RetentionCut{LeaderTimeUnixNano: time.Now().UnixNano(), Rules: rules})
	if err != nil {
		return err
	}
	data, err := proto.Marshal(&cairnv1.Command{Type: cairnv1.CommandType_COMMAND_TYPE_RETENTION_CUT, Payload: b})
	if err != nil {
		return err
	}
	f := s.group.raft.Apply(data, time.Minute)
	if err := f.Error(); err != nil {
		return err
	}
	if st, ok := f.Response().(storage.CutStats); ok && st.Events > 0 {
		n.log.Info("retention cut", "shard", s.id, "deleted", st.Events, "ranges", st.Ranges, "single", st.Points)
	}
	return nil
}

// retentionService serves RetentionService.
type retentionService struct {
	cairnv1.UnimplementedRetentionServiceServer
	n *Node
}

// forwardAuth passes the caller's credentials and address on when a call is
// forwarded to the meta leader, which audits it.
func forwardAuth(ctx context.Context) context.Context {
	out := ctx
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(authorizationKey); len(v) > 0 {
			out = metadata.AppendToOutgoingContext(out, authorizationKey, v[0])
		}
	}
	return metadata.AppendToOutgoingContext(out, callerAddrKey, callerAddr(ctx))
}

// callerIdentity names the caller of an admin call: "token:<id>" for a
// valid token, else "anonymous" (with the reason when it presented a token
// that is not valid).
func (n *Node) callerIdentity(ctx context.Context) string {
	c, err := credentialFrom(ctx)
	switch {
	case err != nil:
		return "anonymous (malformed token)"
	case c == nil:
		return "anonymous"
	}
	if _, _, err := n.authorize(c); err != nil {
		return "anonymous (invalid or revoked token " + c.id + ")"
	}
	return "token:" + c.id
}

func (s *retentionService) SetRetention(ctx context.Context, req *cairnv1.SetRetentionRequest) (*cairnv1.RetentionChangeResponse, error) {
	if err := s.n.requireAdmin(ctx, "set retention"); err != nil {
		return nil, err
	}
	if err := checkScope(req.Account, req.Default, req.Category); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "cannot set retention: %v", err)
	}
	if req.Days < storage.MinRetentionDays || req.Days > storage.MaxRetentionDays {
		return nil, status.Errorf(codes.InvalidArgument, "cannot set retention: %d days is out of range; the days must be from %d to %d",
			req.Days, storage.MinRetentionDays, storage.MaxRetentionDays)
	}
	var resp *cairnv1.RetentionChangeResponse
	err := s.n.onMetaLeader(ctx, func() error {
		p := &cairnv1.RetentionPolicy{Account: req.Account, Category: req.Category, Days: req.Days,
			SetBy: s.n.callerIdentity(ctx), SetAtUnixNano: time.Now().UnixNano()}
		impact, err := s.n.changeRetention(ctx, req.Force, func(r *cairnv1.RetentionRules) (*cairnv1.RetentionRules, error) {
			next, _ := withPolicy(r, p)
			return next, nil
		})
		if errors.Is(err, ErrDestructive) {
			return s.n.auditRefused(ctx, "SetRetention", req, err)
		}
		if err != nil {
			return err
		}
		resp = retentionChanged(p, impact)
		s.n.log.Info("retention policy set", "account", p.Account, "category", p.Category, "days", p.Days, "by", p.SetBy, "expired", resp.Expired)
		return s.n.audit(ctx, "SetRetention", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewRetentionServiceClient(conn).SetRetention(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *retentionService) DeleteRetention(ctx context.Context, req *cairnv1.DeleteRetentionRequest) (*cairnv1.RetentionChangeResponse, error) {
	if err := s.n.requireAdmin(ctx, "delete retention"); err != nil {
		return nil, err
	}
	if err := checkScope(req.Account, req.Default, req.Category); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "cannot delete retention: %v", err)
	}
	if req.Default && req.Category == "" {
		return nil, status.Error(codes.InvalidArgument, "cannot delete the cluster default policy; set it with retention set --default --days N")
	}
	var resp *cairnv1.RetentionChangeResponse
	err := s.n.onMetaLeader(ctx, func() error {
		var old *cairnv1.RetentionPolicy
		impact, err := s.n.changeRetention(ctx, req.Force, func(r *cairnv1.RetentionRules) (*cairnv1.RetentionRules, error) {
			var next *cairnv1.RetentionRules
			next, old = withPolicy(r, &cairnv1.RetentionPolicy{Account: req.Account, Category: req.Category})
			if old == nil {
				return nil, fmt.Errorf("%w: no policy for %s", ErrNoPolicy, scopeName(req.Account, req.Category))
			}
			return next, nil
		})
		if errors.Is(err, ErrDestructive) {
			return s.n.auditRefused(ctx, "DeleteRetention", req, err)
		}
		if err != nil {
			return err
		}
		resp = retentionChanged(old, impact)
		s.n.log.Info("retention policy deleted", "account", old.Account, "category", old.Category, "by", s.n.callerIdentity(ctx), "expired", resp.Expired)
		return s.n.audit(ctx, "DeleteRetention", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewRetentionServiceClient(conn).DeleteRetention(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func retentionChanged(p *cairnv1.RetentionPolicy, impact []*cairnv1.AccountCount) *cairnv1.RetentionChangeResponse {
	resp := &cairnv1.RetentionChangeResponse{Policy: p, ExpiredByAccount: impact}
	for _, c := range impact {
		resp.Expired += c.Events
	}
	return resp
}

// scopeName names a policy's scope for messages.
func scopeName(account, category string) string {
	s := "the cluster default"
	if account != "" {
		s = "account " + account
	}
	if category != "" {
		s += " (" + category + " events)"
	}
	return s
}

func (s *retentionService) SetHold(ctx context.Context, req *cairnv1.SetHoldRequest) (*cairnv1.HoldResponse, error) {
	if err := s.n.requireAdmin(ctx, "set hold"); err != nil {
		return nil, err
	}
	switch {
	case !validRetentionAccount(req.Account):
		return nil, status.Errorf(codes.InvalidArgument, "cannot set hold: account %q is not a 12-digit account id (or %q, Cairn's own)", req.Account, auditAccount)
	case strings.TrimSpace(req.Reason) == "":
		return nil, status.Error(codes.InvalidArgument, "cannot set hold: give the reason for it (--reason)")
	}
	var resp *cairnv1.HoldResponse
	err := s.n.onMetaLeader(ctx, func() error {
		h := &cairnv1.LegalHold{Account: req.Account, Reason: req.Reason, SetBy: s.n.callerIdentity(ctx), SetAtUnixNano: time.Now().UnixNano()}
		resp = &cairnv1.HoldResponse{Hold: h}
		_, err := s.n.changeRetention(ctx, false, func(r *cairnv1.RetentionRules) (*cairnv1.RetentionRules, error) {
			next, old := withHold(r, h)
			if old != nil {
				// A hold stays as first set; its reason does not change.
				resp.Hold, resp.Unchanged = old, true
				return r, nil
			}
			return next, nil
		})
		if err != nil || resp.Unchanged {
			return err
		}
		s.n.log.Info("legal hold set", "account", h.Account, "by", h.SetBy, "reason", h.Reason)
		return s.n.audit(ctx, "SetHold", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewRetentionServiceClient(conn).SetHold(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *retentionService) ClearHold(ctx context.Context, req *cairnv1.ClearHoldRequest) (*cairnv1.HoldResponse, error) {
	if err := s.n.requireAdmin(ctx, "clear hold"); err != nil {
		return nil, err
	}
	if !validRetentionAccount(req.Account) {
		return nil, status.Errorf(codes.InvalidArgument, "cannot clear hold: account %q is not a 12-digit account id (or %q, Cairn's own)", req.Account, auditAccount)
	}
	var resp *cairnv1.HoldResponse
	err := s.n.onMetaLeader(ctx, func() error {
		resp = &cairnv1.HoldResponse{}
		impact, err := s.n.changeRetention(ctx, req.Force, func(r *cairnv1.RetentionRules) (*cairnv1.RetentionRules, error) {
			next, old := withHold(r, &cairnv1.LegalHold{Account: req.Account})
			if old == nil {
				resp.Unchanged = true
				return r, nil
			}
			resp.Hold = old
			return next, nil
		})
		if errors.Is(err, ErrDestructive) {
			return s.n.auditRefused(ctx, "ClearHold", req, err)
		}
		if err != nil {
			return err
		}
		resp.ExpiredByAccount = impact
		for _, c := range impact {
			resp.Expired += c.Events
		}
		if resp.Unchanged {
			return nil
		}
		s.n.log.Info("legal hold cleared", "account", req.Account, "by", s.n.callerIdentity(ctx), "expired", resp.Expired)
		return s.n.audit(ctx, "ClearHold", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewRetentionServiceClient(conn).ClearHold(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

// ListRetention and GetRetention answer on the meta leader, so that they
// show every committed change, even on a node still catching up.
func (s *retentionService) ListRetention(ctx context.Context, req *cairnv1.ListRetentionRequest) (*cairnv1.ListRetentionResponse, error) {
	var resp *cairnv1.ListRetentionResponse
	err := s.n.metaRead(ctx, func() (err error) {
		resp, err = s.listRetention(ctx)
		return err
	}, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewRetentionServiceClient(conn).ListRetention(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *retentionService) listRetention(ctx context.Context) (*cairnv1.ListRetentionResponse, error) {
	accounts, err := s.n.accounts(ctx)
	if err != nil {
		return nil, err
	}
	rules := s.n.metaFSM.retentionRules()
	r := storage.NewRetention(rules, time.Now().UnixNano())
	resp := &cairnv1.ListRetentionResponse{Policies: rules.Policies, Holds: rules.Holds}
	events := map[string]uint64{}
	for _, a := range accounts.Accounts {
		events[a.Account] = a.Events
	}
	// Accounts with a policy or a hold are listed even without events.
	named := []string{}
	for _, p := range rules.Policies {
		if p.Account != "" {
			named = append(named, p.Account)
		}
	}
	for _, h := range rules.Holds {
		named = append(named, h.Account)
	}
	for _, a := range named {
		if _, ok := events[a]; !ok {
			events[a] = 0
		}
	}
	for _, a := range slices.Sorted(maps.Keys(events)) {
		e := effectiveRetention(r, rules, a)
		e.Events = events[a]
		resp.Effective = append(resp.Effective, e)
	}
	return resp, nil
}

func (s *retentionService) GetRetention(ctx context.Context, req *cairnv1.GetRetentionRequest) (*cairnv1.GetRetentionResponse, error) {
	if !validRetentionAccount(req.Account) {
		return nil, status.Errorf(codes.InvalidArgument, "cannot get retention: account %q is not a 12-digit account id (or %q, Cairn's own)", req.Account, auditAccount)
	}
	var resp *cairnv1.GetRetentionResponse
	err := s.n.metaRead(ctx, func() error {
		rules := s.n.metaFSM.retentionRules()
		resp = &cairnv1.GetRetentionResponse{Effective: effectiveRetention(storage.NewRetention(rules, time.Now().UnixNano()), rules, req.Account)}
		return nil
	}, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewRetentionServiceClient(conn).GetRetention(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *retentionService) ShardRetentionImpact(ctx context.Context, req *cairnv1.ShardRetentionImpactRequest) (*cairnv1.ShardRetentionImpactResponse, error) {
	resp, err := s.n.localRetentionImpact(req)
	if err != nil {
		setLeaderTrailer(ctx, err)
	}
	return resp, toStatus(err)
}
