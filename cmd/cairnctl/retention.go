package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// policyOutput is the -o json shape of one retention policy. Account is ""
// for the cluster default, Category "" for every category.
type policyOutput struct {
	Account  string `json:"account"`
	Category string `json:"category"`
	Days     uint32 `json:"days"`
	SetBy    string `json:"set_by"`
	SetAt    string `json:"set_at"`
}

type holdOutput struct {
	Account string `json:"account"`
	Reason  string `json:"reason"`
	SetBy   string `json:"set_by"`
	SetAt   string `json:"set_at"`
}

type accountCountOutput struct {
	Account string `json:"account"`
	Events  uint64 `json:"events"`
}

// ruleOutput is the policy in force for one category of an account's
// events; Matched names it: "account", "account/<category>", "default",
// "default/<category>" or "built-in".
type ruleOutput struct {
	Category string `json:"category"`
	Days     uint32 `json:"days"`
	Matched  string `json:"matched"`
}

type effectiveOutput struct {
	Account string       `json:"account"`
	Events  *uint64      `json:"events,omitempty"`
	Hold    *holdOutput  `json:"hold"`
	Rules   []ruleOutput `json:"rules"`
}

// retentionListOutput is the -o json shape of "cairnctl retention list".
type retentionListOutput struct {
	Policies  []policyOutput    `json:"policies"`
	Holds     []holdOutput      `json:"holds"`
	Effective []effectiveOutput `json:"effective"`
}

// retentionChangeOutput is the -o json shape of retention set and delete
// and of hold set and clear.
type retentionChangeOutput struct {
	Action           string               `json:"action"`
	Policy           *policyOutput        `json:"policy,omitempty"`
	Hold             *holdOutput          `json:"hold,omitempty"`
	Unchanged        bool                 `json:"unchanged"`
	Expired          uint64               `json:"expired"`
	ExpiredByAccount []accountCountOutput `json:"expired_by_account"`
}

func newRetentionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Manage how long events are kept",
		Long: `Retention policies say how many days (1 to 3653) events are kept, counted back
from now by eventTime. A policy is cluster-wide (--default) or for one account
(--account), and optionally for one event category (--category Management,
Data or Insight; an event without eventCategory counts as Management). The
most specific policy wins: account and category, account, default and
category, default. A new cluster keeps events 2557 days (seven years).

From the moment a policy takes effect, lookups and queries no longer return
the events it expires, and ingest rejects them; each shard deletes them
within the retention interval (cairnd --retention-interval, default 1h). A
change that would delete stored events is refused, with their number per
account, unless --force is given. Legal holds (cairnctl hold) keep every
event of an account whatever its policy.`,
	}
	cmd.AddCommand(newRetentionSetCmd(g), newRetentionDeleteCmd(g), newRetentionListCmd(g), newRetentionGetCmd(g))
	return cmd
}

// scopeFlags are the --account/--default/--category flags of set and delete.
type scopeFlags struct {
	account  string
	isDef    bool
	category string
}

func (s *scopeFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.account, "account", "", "12-digit AWS account id the policy is for (or cairn, Cairn's own events)")
	f.BoolVar(&s.isDef, "default", false, "the cluster-wide policy")
	f.StringVar(&s.category, "category", "", "only events of this category: Management, Data or Insight")
}

func (s *scopeFlags) check() error {
	switch {
	case s.account == "" && !s.isDef:
		return errors.New("give --account ACCOUNT_ID or --default")
	case s.account != "" && s.isDef:
		return errors.New("--account and --default exclude each other: give one or the other")
	}
	switch s.category {
	case "", "Management", "Data", "Insight":
		return nil
	}
	return fmt.Errorf("--category %q: give Management, Data or Insight", s.category)
}

func newRetentionSetCmd(g *globals) *cobra.Command {
	var scope scopeFlags
	var days uint32
	var force bool
	cmd := &cobra.Command{
		Use:   "set (--default | --account ACCOUNT_ID) [--category C] --days N [--force]",
		Short: "Set the retention policy of the cluster or of an account",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if days < 1 || days > 3653 {
				return fmt.Errorf("--days %d: give a number of days from 1 to 3653", days)
			}
			return scope.check()
		},
		RunE: action(func(ctx context.Context, _ []string) error {
			req := &cairnv1.SetRetentionRequest{Account: scope.account, Default: scope.isDef, Category: scope.category, Days: days, Force: force}
			var resp *cairnv1.RetentionChangeResponse
			err := retentionCall(ctx, g, "set retention", func(ctx context.Context, rc cairnv1.RetentionServiceClient) (err error) {
				resp, err = rc.SetRetention(ctx, req)
				return err
			})
			if err != nil {
				return err
			}
			out := retentionChangeOutput{Action: "set", Policy: policyFromProto(resp.Policy), Expired: resp.Expired, ExpiredByAccount: countsFromProto(resp.ExpiredByAccount)}
			return g.print(out, out.table)
		}),
	}
	scope.add(cmd)
	cmd.Flags().Uint32Var(&days, "days", 0, "days to keep events, from 1 to 3653")
	cmd.Flags().BoolVar(&force, "force", false, "apply the change even though it deletes stored events")
	return cmd
}

func newRetentionDeleteCmd(g *globals) *cobra.Command {
	var scope scopeFlags
	var force bool
	cmd := &cobra.Command{
		Use:   "delete (--account ACCOUNT_ID | --default --category C) [--category C] [--force]",
		Short: "Delete a policy, so that the next most specific one applies",
		Long: `delete removes the policy of an account (or of one of its categories, or a
category policy of the cluster default); the next most specific policy then
applies. The cluster default itself cannot be deleted, only set.`,
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error { return scope.check() },
		RunE: action(func(ctx context.Context, _ []string) error {
			req := &cairnv1.DeleteRetentionRequest{Account: scope.account, Default: scope.isDef, Category: scope.category, Force: force}
			var resp *cairnv1.RetentionChangeResponse
			err := retentionCall(ctx, g, "delete retention", func(ctx context.Context, rc cairnv1.RetentionServiceClient) (err error) {
				resp, err = rc.DeleteRetention(ctx, req)
				return err
			})
			if err != nil {
				return err
			}
			out := retentionChangeOutput{Action: "deleted", Policy: policyFromProto(resp.Policy), Expired: resp.Expired, ExpiredByAccount: countsFromProto(resp.ExpiredByAccount)}
			return g.print(out, out.table)
		}),
	}
	scope.add(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "apply the change even though it deletes stored events")
	return cmd
}

func newRetentionListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the policies and holds, and the policy in force for every account",
		Args:  cobra.NoArgs,
		RunE: action(func(ctx context.Context, _ []string) error {
			var resp *cairnv1.ListRetentionResponse
			err := retentionCall(ctx, g, "list retention", func(ctx context.Context, rc cairnv1.RetentionServiceClient) (err error) {
				resp, err = rc.ListRetention(ctx, &cairnv1.ListRetentionRequest{})
				return err
			})
			if err != nil {
				return err
			}
			out := retentionListOutput{Policies: []policyOutput{}, Holds: []holdOutput{}, Effective: []effectiveOutput{}}
			for _, p := range resp.Policies {
				out.Policies = append(out.Policies, *policyFromProto(p))
			}
			for _, h := range resp.Holds {
				out.Holds = append(out.Holds, *holdFromProto(h))
			}
			for _, e := range resp.Effective {
				eo := effectiveFromProto(e)
				events := e.Events
				eo.Events = &events
				out.Effective = append(out.Effective, eo)
			}
			return g.print(out, out.table)
		}),
	}
}

func newRetentionGetCmd(g *globals) *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "get --account ACCOUNT_ID",
		Short: "Show the policy in force for an account, per category, and which rule set it",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if account == "" {
				return errors.New("give --account ACCOUNT_ID")
			}
			return nil
		},
		RunE: action(func(ctx context.Context, _ []string) error {
			var resp *cairnv1.GetRetentionResponse
			err := retentionCall(ctx, g, "get retention", func(ctx context.Context, rc cairnv1.RetentionServiceClient) (err error) {
				resp, err = rc.GetRetention(ctx, &cairnv1.GetRetentionRequest{Account: account})
				return err
			})
			if err != nil {
				return err
			}
			out := effectiveFromProto(resp.Effective)
			return g.print(out, out.table)
		}),
	}
	cmd.Flags().StringVar(&account, "account", "", "12-digit AWS account id")
	return cmd
}

func newHoldCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hold",
		Short: "Put legal holds on accounts, and clear them",
		Long: `A legal hold keeps every event of an account, whatever its retention policy,
until it is cleared. Clearing a hold lets the account's policy apply again:
when that would delete stored events it is refused unless --force is given.
Holds are listed by cairnctl retention list.`,
	}
	var account, reason string
	var force bool
	set := &cobra.Command{
		Use:   "set --account ACCOUNT_ID --reason TEXT",
		Short: "Put a legal hold on an account",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if account == "" || strings.TrimSpace(reason) == "" {
				return errors.New("give --account ACCOUNT_ID and --reason TEXT")
			}
			return nil
		},
		RunE: action(func(ctx context.Context, _ []string) error {
			var resp *cairnv1.HoldResponse
			err := retentionCall(ctx, g, "set hold", func(ctx context.Context, rc cairnv1.RetentionServiceClient) (err error) {
				resp, err = rc.SetHold(ctx, &cairnv1.SetHoldRequest{Account: account, Reason: reason})
				return err
			})
			if err != nil {
				return err
			}
			out := retentionChangeOutput{Action: "hold set", Hold: holdFromProto(resp.Hold), Unchanged: resp.Unchanged, ExpiredByAccount: []accountCountOutput{}}
			return g.print(out, out.table)
		}),
	}
	set.Flags().StringVar(&account, "account", "", "12-digit AWS account id")
	set.Flags().StringVar(&reason, "reason", "", "why the account's events must be kept (a case, a request)")
	clear := &cobra.Command{
		Use:   "clear --account ACCOUNT_ID [--force]",
		Short: "Clear the legal hold of an account",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if account == "" {
				return errors.New("give --account ACCOUNT_ID")
			}
			return nil
		},
		RunE: action(func(ctx context.Context, _ []string) error {
			var resp *cairnv1.HoldResponse
			err := retentionCall(ctx, g, "clear hold", func(ctx context.Context, rc cairnv1.RetentionServiceClient) (err error) {
				resp, err = rc.ClearHold(ctx, &cairnv1.ClearHoldRequest{Account: account, Force: force})
				return err
			})
			if err != nil {
				return err
			}
			out := retentionChangeOutput{Action: "hold cleared", Hold: holdFromProto(resp.Hold), Unchanged: resp.Unchanged,
				Expired: resp.Expired, ExpiredByAccount: countsFromProto(resp.ExpiredByAccount)}
			if resp.Unchanged {
				out.Hold = &holdOutput{Account: account}
			}
			return g.print(out, out.table)
		}),
	}
	clear.Flags().StringVar(&account, "account", "", "12-digit AWS account id")
	clear.Flags().BoolVar(&force, "force", false, "clear the hold even though the account's policy then deletes stored events")
	cmd.AddCommand(set, clear)
	return cmd
}

// retentionCall runs fn with a RetentionService client on the first server
// that answers.
func retentionCall(ctx context.Context, g *globals, method string, fn func(context.Context, cairnv1.RetentionServiceClient) error) error {
	c := g.newClient()
	defer c.Close()
	return c.any(ctx, method, func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, cairnv1.NewRetentionServiceClient(conn))
	})
}

func policyFromProto(p *cairnv1.RetentionPolicy) *policyOutput {
	if p == nil {
		return nil
	}
	return &policyOutput{Account: p.Account, Category: p.Category, Days: p.Days, SetBy: p.SetBy, SetAt: timeOrEmpty(p.SetAtUnixNano)}
}

func holdFromProto(h *cairnv1.LegalHold) *holdOutput {
	if h == nil {
		return nil
	}
	return &holdOutput{Account: h.Account, Reason: h.Reason, SetBy: h.SetBy, SetAt: timeOrEmpty(h.SetAtUnixNano)}
}

func countsFromProto(cs []*cairnv1.AccountCount) []accountCountOutput {
	out := []accountCountOutput{}
	for _, c := range cs {
		out = append(out, accountCountOutput{Account: c.Account, Events: c.Events})
	}
	return out
}

func effectiveFromProto(e *cairnv1.EffectiveRetention) effectiveOutput {
	out := effectiveOutput{Account: e.GetAccount(), Hold: holdFromProto(e.GetHold()), Rules: []ruleOutput{}}
	for _, r := range e.GetRules() {
		out.Rules = append(out.Rules, ruleOutput{Category: r.Category, Days: r.Days, Matched: matchedName(r)})
	}
	return out
}

// matchedName names the policy an effective rule comes from.
func matchedName(r *cairnv1.EffectiveRule) string {
	if r.Builtin || r.Matched == nil {
		return "built-in"
	}
	name := "default"
	if r.Matched.Account != "" {
		name = "account"
	}
	if r.Matched.Category != "" {
		name += "/" + r.Matched.Category
	}
	return name
}

// scopeText names a policy's scope for people.
func scopeText(account, category string) string {
	s := "cluster default"
	if account != "" {
		s = "account " + account
	}
	if category != "" {
		s += ", " + category + " events"
	}
	return s
}

func (o retentionChangeOutput) table(w io.Writer) {
	switch {
	case o.Policy != nil && o.Action == "set":
		fmt.Fprintf(w, "retention of %s set to %d days\n", scopeText(o.Policy.Account, o.Policy.Category), o.Policy.Days)
	case o.Policy != nil:
		fmt.Fprintf(w, "retention policy of %s (%d days) deleted; the next most specific policy applies\n", scopeText(o.Policy.Account, o.Policy.Category), o.Policy.Days)
	case o.Hold != nil && o.Unchanged && o.Action == "hold set":
		fmt.Fprintf(w, "account %s was already on hold since %s (%s); nothing changed\n", o.Hold.Account, o.Hold.SetAt, o.Hold.Reason)
	case o.Hold != nil && o.Unchanged:
		fmt.Fprintf(w, "account %s was not on hold; nothing changed\n", o.Hold.Account)
	case o.Hold != nil && o.Action == "hold set":
		fmt.Fprintf(w, "account %s is on legal hold: none of its events will be deleted until the hold is cleared\n", o.Hold.Account)
	case o.Hold != nil:
		fmt.Fprintf(w, "legal hold of account %s cleared; its retention policy applies again\n", o.Hold.Account)
	}
	if o.Expired > 0 {
		fmt.Fprintf(w, "%s expired by this change are no longer returned and will be deleted at the next cut:\n", plural(int(o.Expired), "stored event"))
		tw := newTable(w)
		for _, c := range o.ExpiredByAccount {
			row(tw, "  account "+c.Account, plural(int(c.Events), "event"))
		}
		_ = tw.Flush()
	}
}

func (o retentionListOutput) table(w io.Writer) {
	tw := newTable(w)
	row(tw, "POLICY", "CATEGORY", "DAYS", "SET BY", "SET AT")
	hasDefault := false
	for _, p := range o.Policies {
		scope := "default"
		if p.Account != "" {
			scope = p.Account
		} else if p.Category == "" {
			hasDefault = true
		}
		row(tw, scope, orAll(p.Category), p.Days, p.SetBy, p.SetAt)
	}
	if !hasDefault {
		row(tw, "default", "all", 2557, "built-in", "")
	}
	_ = tw.Flush()
	if len(o.Holds) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		row(tw, "HOLD", "REASON", "SET BY", "SET AT")
		for _, h := range o.Holds {
			row(tw, h.Account, h.Reason, h.SetBy, h.SetAt)
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	row(tw, "ACCOUNT", "EVENTS", "MANAGEMENT", "DATA", "INSIGHT", "HOLD")
	for _, e := range o.Effective {
		cells := []any{e.Account, *e.Events}
		for _, r := range e.Rules {
			cells = append(cells, fmt.Sprintf("%dd (%s)", r.Days, r.Matched))
		}
		hold := ""
		if e.Hold != nil {
			hold = "on hold"
		}
		row(tw, append(cells, hold)...)
	}
	_ = tw.Flush()
}

func (e effectiveOutput) table(w io.Writer) {
	if e.Hold != nil {
		fmt.Fprintf(w, "account %s is on legal hold since %s (%s, set by %s): none of its events is deleted\n\n", e.Account, e.Hold.SetAt, e.Hold.Reason, e.Hold.SetBy)
	}
	tw := newTable(w)
	row(tw, "CATEGORY", "DAYS", "BECAUSE OF")
	for _, r := range e.Rules {
		row(tw, r.Category, r.Days, because(e.Account, r))
	}
	_ = tw.Flush()
}

// because explains which rule set an effective retention.
func because(account string, r ruleOutput) string {
	switch r.Matched {
	case "built-in":
		return "no policy matches: the built-in default of 2557 days"
	case "account":
		return "the policy of account " + account
	case "default":
		return "the cluster default"
	}
	scope, category, _ := strings.Cut(r.Matched, "/")
	if scope == "account" {
		return "the policy of account " + account + " for " + category + " events"
	}
	return "the cluster default for " + category + " events"
}

func orAll(category string) string {
	if category == "" {
		return "all"
	}
	return category
}
