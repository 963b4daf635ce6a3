package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// tokenOutput is the -o json shape of one ingest token. Token is set only by
// "cairnctl token create": the cluster never shows a token again.
type tokenOutput struct {
	Token       string   `json:"token,omitempty"`
	ID          string   `json:"id"`
	Accounts    []string `json:"accounts"`
	AllAccounts bool     `json:"all_accounts"`
	Admin       bool     `json:"admin"`
	Description string   `json:"description"`
	Created     string   `json:"created_at"`
	Revoked     string   `json:"revoked_at"` // "" while valid
}

// tokensOutput is the -o json shape of "cairnctl token list".
type tokensOutput struct {
	Tokens []tokenOutput `json:"tokens"`
}

// revokeTokenOutput is the -o json shape of "cairnctl token revoke".
type revokeTokenOutput struct {
	ID             string `json:"id"`
	Revoked        string `json:"revoked_at"`
	AlreadyRevoked bool   `json:"already_revoked"`
}

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the ingest tokens agents present",
		Long: `An agent presents an ingest token (cairn-agent --token, or CAIRN_TOKEN) to
write the events of the accounts the token covers. The cluster keeps only a
hash of each token: the token itself is shown once, when it is created.`,
	}
	cmd.AddCommand(newTokenCreateCmd(g), newTokenListCmd(g), newTokenRevokeCmd(g), newTokenNewCmd(g))
	return cmd
}

func newTokenNewCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "new",
		Short: "Print a fresh token string, for cairnd --initial-admin-token-file",
		Long: `new makes a random token string here, without asking any server, and prints it.
Give it to every member of a new cluster (cairnd --initial-admin-token-file, or
the CAIRN_INITIAL_ADMIN_TOKEN environment variable): the node that forms the
cluster registers it as the first admin token.

  cairnctl token new > admin.token`,
		Args: cobra.NoArgs,
		RunE: action(func(context.Context, []string) error {
			var b [8 + 32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "cairn_%s_%s\n", hex.EncodeToString(b[:8]), hex.EncodeToString(b[8:]))
			return nil
		}),
	}
}

func newTokenCreateCmd(g *globals) *cobra.Command {
	var accounts []string
	var all, admin bool
	var description string
	cmd := &cobra.Command{
		Use:   "create (--account ACCOUNT_ID… | --all-accounts | --admin) [--description TEXT]",
		Short: "Create an ingest token for some accounts or for all, or an admin token",
		Long: `create makes an ingest token and prints it alone on standard output, so a
script can capture it:

  TOKEN=$(cairnctl token create --account 111122223333)

The token is shown only this once; the cluster keeps its hash. An event of
an account outside the token's scope is rejected.`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			switch {
			case admin && (all || len(accounts) > 0):
				return errors.New("an admin token writes no events: --admin excludes --account and --all-accounts")
			case admin:
				return nil
			case all && len(accounts) > 0:
				return errors.New("--account and --all-accounts exclude each other: give one or the other")
			case !all && len(accounts) == 0:
				return errors.New("a token needs a scope: give --account ACCOUNT_ID (repeatable), --all-accounts or --admin")
			}
			for _, a := range accounts {
				if !isAccountID(a) {
					return fmt.Errorf("--account %q: an AWS account id is 12 digits", a)
				}
			}
			return nil
		},
		RunE: action(func(ctx context.Context, _ []string) error {
			c := g.newClient()
			defer c.Close()
			var resp *cairnv1.CreateTokenResponse
			err := c.cluster(ctx, "create token", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
				var err error
				resp, err = cc.CreateToken(ctx, &cairnv1.CreateTokenRequest{Accounts: accounts, AllAccounts: all, Admin: admin, Description: description})
				return err
			})
			if err != nil {
				return err
			}
			out := tokenFromProto(resp.GetInfo())
			out.Token = resp.GetToken()
			if err := g.print(out, func(w io.Writer) { fmt.Fprintln(w, out.Token) }); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "created token %s for %s; it is shown only this once, so store it now\n", out.ID, out.scope())
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringSliceVar(&accounts, "account", nil, "12-digit AWS account id the token may write (repeatable, or comma-separated)")
	f.BoolVar(&all, "all-accounts", false, "the token may write every account")
	f.BoolVar(&admin, "admin", false, "an admin token: for the calls that change the cluster (tokens, retention, holds, node removal)")
	f.StringVar(&description, "description", "", "what the token is for, shown by token list")
	return cmd
}

func newTokenListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the ingest tokens: id, scope, description, created, revoked",
		Long: `list shows every ingest token, revoked ones included, without the token
strings: the cluster does not keep them.`,
		Args: cobra.NoArgs,
		RunE: action(func(ctx context.Context, _ []string) error {
			c := g.newClient()
			defer c.Close()
			var resp *cairnv1.ListTokensResponse
			err := c.cluster(ctx, "list tokens", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
				var err error
				resp, err = cc.ListTokens(ctx, &cairnv1.ListTokensRequest{})
				return err
			})
			if err != nil {
				return err
			}
			out := tokensOutput{Tokens: []tokenOutput{}}
			for _, t := range resp.GetTokens() {
				out.Tokens = append(out.Tokens, tokenFromProto(t))
			}
			return g.print(out, out.table)
		}),
	}
}

func newTokenRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an ingest token",
		Long: `revoke revokes the token with this ID (see token list). Streams using it are
refused from their next batch on. Revoking a revoked token changes nothing
and says so.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(ctx context.Context, args []string) error {
			c := g.newClient()
			defer c.Close()
			var resp *cairnv1.RevokeTokenResponse
			err := c.cluster(ctx, "revoke token", func(ctx context.Context, cc cairnv1.ClusterServiceClient) error {
				var err error
				resp, err = cc.RevokeToken(ctx, &cairnv1.RevokeTokenRequest{Id: args[0]})
				return err
			})
			if err != nil {
				return err
			}
			out := revokeTokenOutput{
				ID:             args[0],
				Revoked:        timeOrEmpty(resp.GetInfo().GetRevokedAtUnixNano()),
				AlreadyRevoked: resp.GetAlreadyRevoked(),
			}
			return g.print(out, out.table)
		}),
	}
}

// isAccountID reports whether s is a 12-digit AWS account id.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func tokenFromProto(t *cairnv1.TokenInfo) tokenOutput {
	return tokenOutput{
		ID:          t.GetId(),
		Accounts:    append([]string{}, t.GetAccounts()...),
		AllAccounts: t.GetAllAccounts(),
		Admin:       t.GetAdmin(),
		Description: t.GetDescription(),
		Created:     timeOrEmpty(t.GetCreatedAtUnixNano()),
		Revoked:     timeOrEmpty(t.GetRevokedAtUnixNano()),
	}
}

// timeOrEmpty formats a Unix time in nanoseconds as RFC 3339 UTC; 0 is "".
func timeOrEmpty(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

func (t tokenOutput) scope() string {
	if t.Admin {
		return "admin calls"
	}
	if t.AllAccounts {
		return "all accounts"
	}
	if len(t.Accounts) == 1 {
		return "account " + t.Accounts[0]
	}
	return "accounts " + strings.Join(t.Accounts, ",")
}

func (o tokensOutput) table(w io.Writer) {
	tw := newTable(w)
	row(tw, "ID", "SCOPE", "DESCRIPTION", "CREATED", "REVOKED")
	revoked := 0
	for _, t := range o.Tokens {
		scope := "all accounts"
		switch {
		case t.Admin:
			scope = "admin"
		case !t.AllAccounts:
			scope = strings.Join(t.Accounts, ",")
		}
		row(tw, t.ID, scope, t.Description, t.Created, t.Revoked)
		if t.Revoked != "" {
			revoked++
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%s, %d revoked\n", plural(len(o.Tokens), "token"), revoked)
}

func (r revokeTokenOutput) table(w io.Writer) {
	if r.AlreadyRevoked {
		fmt.Fprintf(w, "token %s was already revoked at %s; nothing changed\n", r.ID, r.Revoked)
		return
	}
	fmt.Fprintf(w, "revoked token %s; streams using it are refused from their next batch\n", r.ID)
}
