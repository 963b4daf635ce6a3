package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// The token calls of the doubles keep their tokens in fakeCluster.tokens.

var (
	created1 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC).UnixNano()
	revoked1 = time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC).UnixNano()
)

func (n *fakeNode) CreateToken(_ context.Context, req *cairnv1.CreateTokenRequest) (*cairnv1.CreateTokenResponse, error) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	n.c.calls++
	id := fmt.Sprintf("%016x", 0xa0+len(n.c.tokens))
	info := &cairnv1.TokenInfo{Id: id, Accounts: req.GetAccounts(), AllAccounts: req.GetAllAccounts(), Description: req.GetDescription(), CreatedAtUnixNano: created1}
	n.c.tokens = append(n.c.tokens, info)
	return &cairnv1.CreateTokenResponse{Token: "cairn_" + id + "_" + strings.Repeat("5e", 32), Info: info}, nil
}

func (n *fakeNode) ListTokens(context.Context, *cairnv1.ListTokensRequest) (*cairnv1.ListTokensResponse, error) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	n.c.calls++
	return &cairnv1.ListTokensResponse{Tokens: n.c.tokens}, nil
}

func (n *fakeNode) RevokeToken(_ context.Context, req *cairnv1.RevokeTokenRequest) (*cairnv1.RevokeTokenResponse, error) {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	n.c.calls++
	for _, t := range n.c.tokens {
		if t.Id == req.GetId() {
			already := t.RevokedAtUnixNano != 0
			if !already {
				t.RevokedAtUnixNano = revoked1
			}
			return &cairnv1.RevokeTokenResponse{Info: t, AlreadyRevoked: already}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "token %s: unknown token; cairnctl token list shows the tokens", req.GetId())
}

func TestTokenCreate(t *testing.T) {
	c := newFakeCluster(t)
	srv := c.nodes[1].addr
	code, out, errOut := runCtl(t, "--server", srv, "token", "create", "--account", "222233334444", "--account", "111122223333,333344445555", "--description", "prod agents")
	wantToken := "cairn_00000000000000a0_" + strings.Repeat("5e", 32)
	if code != 0 || out != wantToken+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the token alone on stdout", code, out, errOut)
	}
	if want := "created token 00000000000000a0 for accounts 222233334444,111122223333,333344445555; it is shown only this once, so store it now\n"; errOut != want {
		t.Fatalf("stderr %q, want %q", errOut, want)
	}
	if got := c.tokens[0]; strings.Join(got.Accounts, ",") != "222233334444,111122223333,333344445555" || got.AllAccounts || got.Description != "prod agents" {
		t.Fatalf("the server got %v", got)
	}

	code, out, errOut = runCtl(t, "--server", srv, "-o", "json", "token", "create", "--all-accounts")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got tokenOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if got.Token != "cairn_00000000000000a1_"+strings.Repeat("5e", 32) || got.ID != "00000000000000a1" || !got.AllAccounts ||
		len(got.Accounts) != 0 || got.Created != "2025-03-04T05:06:07Z" || got.Revoked != "" {
		t.Fatalf("JSON %+v", got)
	}
	if !strings.Contains(errOut, "for all accounts; it is shown only this once") {
		t.Fatalf("stderr %q lacks the once-only note", errOut)
	}
}

func TestTokenListAndRevoke(t *testing.T) {
	c := newFakeCluster(t)
	srv := c.nodes[0].addr
	for _, args := range [][]string{
		{"token", "create", "--account", "111122223333", "--description", "team a"},
		{"token", "create", "--all-accounts"},
	} {
		if code, _, errOut := runCtl(t, append([]string{"--server", srv}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}

	code, out, errOut := runCtl(t, "--server", srv, "token", "revoke", "00000000000000a0")
	if code != 0 || out != "revoked token 00000000000000a0; streams using it are refused from their next batch\n" {
		t.Fatalf("revoke: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCtl(t, "--server", srv, "token", "revoke", "00000000000000a0")
	if code != 0 || out != "token 00000000000000a0 was already revoked at 2025-03-05T00:00:00Z; nothing changed\n" {
		t.Fatalf("revoke again: exit %d, stdout %q", code, out)
	}
	code, out, errOut = runCtl(t, "--server", srv, "token", "revoke", "ffffffffffffffff")
	if code != 1 || out != "" || errOut != "cairnctl: revoke token: token ffffffffffffffff: unknown token; cairnctl token list shows the tokens\n" {
		t.Fatalf("revoke unknown: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runCtl(t, "--server", srv, "token", "list")
	if code != 0 {
		t.Fatalf("list: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"ID                SCOPE         DESCRIPTION  CREATED               REVOKED",
		"00000000000000a0  111122223333  team a       2025-03-04T05:06:07Z  2025-03-05T00:00:00Z",
		"00000000000000a1  all accounts  -            2025-03-04T05:06:07Z  -",
		"2 tokens, 1 revoked",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCtl(t, "--server", srv, "-o", "json", "token", "list")
	var got tokensOutput
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("list -o json: exit %d, %v\n%s", code, err, out)
	}
	if len(got.Tokens) != 2 || got.Tokens[0].Revoked != "2025-03-05T00:00:00Z" || got.Tokens[1].Accounts == nil || got.Tokens[0].Token != "" {
		t.Fatalf("list JSON %+v", got)
	}
	if strings.Contains(out, `"token"`) || strings.Contains(out, "hash") {
		t.Fatalf("list JSON shows a token or hash field:\n%s", out)
	}
}

func TestTokenUsageErrors(t *testing.T) {
	c := newFakeCluster(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create"}, "a token needs a scope: give --account ACCOUNT_ID (repeatable), --all-accounts or --admin"},
		{[]string{"token", "create", "--account", "111122223333", "--all-accounts"}, "--account and --all-accounts exclude each other"},
		{[]string{"token", "create", "--account", "11112222333"}, `--account "11112222333": an AWS account id is 12 digits`},
		{[]string{"token", "create", "--account", "111122223333,abc"}, `--account "abc": an AWS account id is 12 digits`},
		{[]string{"token", "revoke"}, "accepts 1 arg(s), received 0"},
		{[]string{"token", "list", "extra"}, "unknown command"},
	} {
		code, out, errOut := runCtl(t, append([]string{"--server", c.nodes[0].addr}, tc.args...)...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "cairnctl: ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 with %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if c.calls != 0 {
		t.Fatalf("a usage error reached the server (%d calls)", c.calls)
	}
}
