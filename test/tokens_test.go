package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage/event"
)

// The two accounts of makeEvents(…, 2, …).
const (
	acctA = "100000000000"
	acctB = "100000000001"
)

// TestIngestTokens runs a cluster that requires tokens: a stream without a
// token or with a bad one is refused; a token made through one node works on
// another, for its own account only, event by event; a revocation stops new
// streams and an open one at its next batch; ListTokens shows no secret;
// the tokens survive a restart of every node.
func TestIngestTokens(t *testing.T) {
	c := NewCluster(t, 3, WithShards(4), WithTokensRequired())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := func(i int) cairnv1.ClusterServiceClient { return cairnv1.NewClusterServiceClient(c.Conn(i)) }
	actx := WithToken(ctx, c.AdminToken())
	events := makeEvents(t, 200, 2, 31)
	accountOf := accountsOf(t, events)

	// 1. No token, a malformed token, an unknown token: Unauthenticated,
	// saying what to do.
	_, err := sendOne(ctx, c.Conn(1), events[:1])
	wantStatus(t, "no token", err, codes.Unauthenticated, "this cluster requires an ingest token: pass cairn-agent --token or set CAIRN_TOKEN; create one with cairnctl token create")
	_, err = sendOne(WithToken(ctx, "cairn_not_a_token"), c.Conn(1), events[:1])
	wantStatus(t, "malformed token", err, codes.Unauthenticated, "invalid token")
	_, err = sendOne(WithToken(ctx, "cairn_0123456789abcdef_"+strings.Repeat("0", 64)), c.Conn(1), events[:1])
	wantStatus(t, "unknown token", err, codes.Unauthenticated, "invalid token")

	// 2. A token for account A, made through n1.
	created, err := admin(0).CreateToken(actx, &cairnv1.CreateTokenRequest{Accounts: []string{acctA}, Description: "agent of A"})
	if err != nil {
		t.Fatal(err)
	}
	tokenA, idA := created.Token, created.Info.GetId()
	if m := regexp.MustCompile(`^cairn_([0-9a-f]{16})_[0-9a-f]{64}$`).FindStringSubmatch(tokenA); m == nil || m[1] != idA {
		t.Fatalf("token %q with id %q; want cairn_<id>_<64 hex>", tokenA, idA)
	}
	if info := created.Info; info.CreatedAtUnixNano == 0 || info.RevokedAtUnixNano != 0 || info.Description != "agent of A" || strings.Join(info.Accounts, ",") != acctA || info.AllAccounts {
		t.Fatalf("created %v", info)
	}
	_, err = admin(2).CreateToken(actx, &cairnv1.CreateTokenRequest{Accounts: []string{acctA}, AllAccounts: true})
	wantStatus(t, "accounts and all_accounts", err, codes.InvalidArgument, "not both")

	// Admin calls need an admin token: without one they are
	// unauthenticated, with an ingest token denied.
	_, err = admin(1).ListTokens(ctx, &cairnv1.ListTokensRequest{})
	wantStatus(t, "admin call without a token", err, codes.Unauthenticated, "this cluster requires an admin token")
	_, err = cairnv1.NewRetentionServiceClient(c.Conn(2)).SetHold(WithToken(ctx, tokenA), &cairnv1.SetHoldRequest{Account: acctA, Reason: "x"})
	wantStatus(t, "admin call with an ingest token", err, codes.PermissionDenied, "is an ingest token")
	_, err = admin(0).CreateToken(WithToken(ctx, "cairn_0123456789abcdef_"+strings.Repeat("0", 64)), &cairnv1.CreateTokenRequest{Admin: true})
	wantStatus(t, "admin call with an unknown token", err, codes.Unauthenticated, "invalid token")
	second, err := admin(1).CreateToken(actx, &cairnv1.CreateTokenRequest{Admin: true, Description: "second admin"})
	if err != nil || !second.Info.Admin || len(second.Info.Accounts) != 0 {
		t.Fatalf("an admin token: %v, %v", second, err)
	}
	if _, err := admin(2).ListTokens(WithToken(ctx, second.Token), &cairnv1.ListTokensRequest{}); err != nil {
		t.Fatalf("ListTokens with the second admin token: %v", err)
	}
	if r, err := sendOne(WithToken(ctx, second.Token), c.Conn(1), events[:1]); err != nil ||
		r.Results[0].Status != cairnv1.EventStatus_EVENT_STATUS_REJECTED || !strings.Contains(r.Results[0].Reason, "outside the scope") {
		t.Fatalf("an event sent with an admin token: %v, %v; want it rejected", r, err)
	}

	// 3. Used on n3, in one batch of both accounts: A's events are stored,
	// B's rejected one by one with the reason.
	streamCtx, streamCancel := context.WithCancel(WithToken(ctx, tokenA))
	defer streamCancel()
	stream, err := cairnv1.NewIngestServiceClient(c.Conn(2)).Ingest(streamCtx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := roundTrip(stream, 1, events[:100])
	if err != nil {
		t.Fatalf("first batch with token %s: %v", idA, err)
	}
	wantReason := fmt.Sprintf("account %s is outside the scope of token %s (account %s)", acctB, idA, acctA)
	storedA := 0
	for i, r := range resp.Results {
		switch accountOf[i] {
		case acctA:
			if r.Status != cairnv1.EventStatus_EVENT_STATUS_STORED {
				t.Errorf("event %d of %s: %v %q, want STORED", i, acctA, r.Status, r.Reason)
			}
			storedA++
		default:
			if r.Status != cairnv1.EventStatus_EVENT_STATUS_REJECTED || r.Reason != wantReason || r.EventId == "" {
				t.Errorf("event %d of %s: %v %q (id %q), want REJECTED %q", i, accountOf[i], r.Status, r.Reason, r.EventId, wantReason)
			}
		}
	}
	if storedA == 0 || storedA == 100 {
		t.Fatalf("the batch holds %d events of %s out of 100; the test needs both accounts", storedA, acctA)
	}
	accts, err := admin(1).Accounts(actx, &cairnv1.AccountsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// (Cairn's own account holds the audit events of the admin calls.)
	accts.Accounts = slices.DeleteFunc(accts.Accounts, func(a *cairnv1.AccountSummary) bool { return a.Account == "cairn" })
	if len(accts.Accounts) != 1 || accts.Accounts[0].Account != acctA || accts.Accounts[0].Events != uint64(storedA) {
		t.Fatalf("the cluster holds %v; want only %d events of %s", accts.Accounts, storedA, acctA)
	}

	// 4. ListTokens, through any node, shows the token but neither its
	// secret nor its hash; the meta state holds the hash, not the token.
	hash := sha256.Sum256([]byte(tokenA))
	secret := tokenA[strings.LastIndexByte(tokenA, '_')+1:]
	list, err := admin(1).ListTokens(actx, &cairnv1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ing := ingestTokens(list.Tokens); len(ing) != 1 || !proto.Equal(ing[0], created.Info) || len(list.Tokens) != 3 {
		t.Fatalf("ListTokens: %v, want [%v] and two admin tokens", list.Tokens, created.Info)
	}
	wire, _ := proto.Marshal(list)
	if bytes.Contains(wire, hash[:]) || bytes.Contains(wire, []byte(secret)) {
		t.Fatal("ListTokens carries the token's hash or secret")
	}
	for i := range c.Len() {
		waitFor(t, 10*time.Second, "every node knows the token", func() bool { return len(c.Node(i).MetaState().Tokens) == 3 })
		st, _ := proto.Marshal(c.Node(i).MetaState())
		if bytes.Contains(st, []byte(secret)) || !bytes.Contains(st, hash[:]) {
			t.Fatalf("%s's meta state must hold the token's hash and not its secret", nodeID(i))
		}
	}

	// 5. Revoked through n2: the stream open on n3 is refused at its next
	// batch, as is a new stream; the error names the token and the time.
	// Revoking again changes nothing; an unknown id is NotFound.
	revoked, err := admin(1).RevokeToken(actx, &cairnv1.RevokeTokenRequest{Id: idA})
	if err != nil || revoked.AlreadyRevoked || revoked.Info.GetRevokedAtUnixNano() == 0 {
		t.Fatalf("revoke: %v, %v", revoked, err)
	}
	revokedAt := time.Unix(0, revoked.Info.RevokedAtUnixNano).UTC().Format(time.RFC3339)
	wantRevoked := fmt.Sprintf("token %s was revoked at %s", idA, revokedAt)
	for i := range c.Len() { // followers apply it a moment after the leader
		waitFor(t, 10*time.Second, nodeID(i)+" applies the revocation", func() bool {
			for _, tok := range c.Node(i).MetaState().Tokens {
				if tok.Id == idA {
					return tok.RevokedAtUnixNano != 0
				}
			}
			return false
		})
	}
	_, err = roundTrip(stream, 2, events[100:110])
	wantStatus(t, "open stream after the revocation", err, codes.Unauthenticated, wantRevoked)
	_, err = sendOne(WithToken(ctx, tokenA), c.Conn(0), events[100:110])
	wantStatus(t, "new stream after the revocation", err, codes.Unauthenticated, wantRevoked)
	again, err := admin(2).RevokeToken(actx, &cairnv1.RevokeTokenRequest{Id: idA})
	if err != nil || !again.AlreadyRevoked || again.Info.GetRevokedAtUnixNano() != revoked.Info.RevokedAtUnixNano {
		t.Fatalf("revoke again: %v, %v; want already_revoked with the first time", again, err)
	}
	_, err = admin(0).RevokeToken(actx, &cairnv1.RevokeTokenRequest{Id: "ffffffffffffffff"})
	wantStatus(t, "revoke an unknown id", err, codes.NotFound, "token ffffffffffffffff: unknown token")

	// 6. An all-accounts token, made through n3, takes any account on n1.
	all, err := admin(2).CreateToken(actx, &cairnv1.CreateTokenRequest{AllAccounts: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(WithToken(ctx, all.Token), c.Node(0).GRPCAddr(), events[100:150], 25, 2)
	if err != nil || res.Stored != 50 || len(res.Rejected) != 0 {
		t.Fatalf("all-accounts token: %v; stored %d, rejected %v", err, res.Stored, res.Rejected)
	}

	// 7. Every node restarts: the tokens come back from disk, the revoked
	// one still revoked.
	for i := range c.Len() {
		c.Stop(i)
	}
	for i := range c.Len() {
		c.Restart(i)
	}
	c.WaitReady(60 * time.Second)
	for i := range c.Len() {
		waitFor(t, 20*time.Second, nodeID(i)+" replays the tokens", func() bool {
			st := c.Node(i).MetaState()
			return len(st.Tokens) == 4 && st.Tokens[1].Id == idA && st.Tokens[1].RevokedAtUnixNano != 0
		})
	}
	list, err = admin(2).ListTokens(actx, &cairnv1.ListTokensRequest{})
	ing := ingestTokens(list.GetTokens())
	if err != nil || len(ing) != 2 || ing[0].Id != idA || ing[1].Id != all.Info.Id || ing[0].RevokedAtUnixNano != revoked.Info.RevokedAtUnixNano {
		t.Fatalf("ListTokens after the restart: %v, %v", list, err)
	}
	res, err = Ingest(WithToken(ctx, all.Token), c.Node(1).GRPCAddr(), events[150:], 25, 2)
	if err != nil || res.Stored != 50 {
		t.Fatalf("all-accounts token after the restart: %v; stored %d", err, res.Stored)
	}
	_, err = sendOne(WithToken(ctx, tokenA), c.Conn(2), events[:1])
	wantStatus(t, "revoked token after the restart", err, codes.Unauthenticated, wantRevoked)
}

// TestAnonymousIngest: where anonymous ingest is allowed, a stream without a
// token writes any account, and a stream with a token is still checked and
// scoped.
func TestAnonymousIngest(t *testing.T) {
	c := NewCluster(t, 1, WithReplicas(1), WithShards(2))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := makeEvents(t, 40, 2, 32)
	accountOf := accountsOf(t, events)

	res, err := Ingest(ctx, c.Node(0).GRPCAddr(), events[:20], 20, 1)
	if err != nil || res.Stored != 20 {
		t.Fatalf("without a token: %v; stored %d of 20", err, res.Stored)
	}
	_, err = sendOne(WithToken(ctx, "cairn_0123456789abcdef_"+strings.Repeat("0", 64)), c.Conn(0), events[20:21])
	wantStatus(t, "unknown token", err, codes.Unauthenticated, "invalid token")

	created, err := cairnv1.NewClusterServiceClient(c.Conn(0)).CreateToken(ctx, &cairnv1.CreateTokenRequest{Accounts: []string{acctB}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sendOne(WithToken(ctx, created.Token), c.Conn(0), events[20:])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		want := cairnv1.EventStatus_EVENT_STATUS_STORED
		if accountOf[20+i] != acctB {
			want = cairnv1.EventStatus_EVENT_STATUS_REJECTED
		}
		if r.Status != want {
			t.Errorf("event %d of %s with a token for %s: %v %q, want %v", 20+i, accountOf[20+i], acctB, r.Status, r.Reason, want)
		}
	}
}

// accountsOf returns the account of each event, as the node parses it.
func accountsOf(t *testing.T, events [][]byte) []string {
	t.Helper()
	out := make([]string, len(events))
	for i, raw := range events {
		ev, err := event.Parse(raw, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = ev.Account
	}
	return out
}

// roundTrip sends one batch on an open stream and waits for its answer.
func roundTrip(stream cairnv1.IngestService_IngestClient, seq uint64, events [][]byte) (*cairnv1.IngestResponse, error) {
	if err := stream.Send(&cairnv1.IngestRequest{Seq: seq, Events: events}); err != nil {
		// The server ended the stream; Recv has its status.
		_, err = stream.Recv()
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	if resp.Seq != seq || len(resp.Results) != len(events) {
		return nil, fmt.Errorf("answer to batch %d: seq %d with %d results, want %d", seq, resp.Seq, len(resp.Results), len(events))
	}
	return resp, nil
}

// sendOne sends one batch on a new stream (with the token in ctx, if any)
// and returns its answer.
func sendOne(ctx context.Context, conn *grpc.ClientConn, events [][]byte) (*cairnv1.IngestResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := cairnv1.NewIngestServiceClient(conn).Ingest(ctx)
	if err != nil {
		return nil, err
	}
	defer stream.CloseSend()
	return roundTrip(stream, 1, events)
}

// wantStatus fails the test unless err has code and its message contains msg.
// ingestTokens drops the admin tokens from a token list.
func ingestTokens(tokens []*cairnv1.TokenInfo) []*cairnv1.TokenInfo {
	var out []*cairnv1.TokenInfo
	for _, t := range tokens {
		if !t.Admin {
			out = append(out, t)
		}
	}
	return out
}

func wantStatus(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	if st, _ := status.FromError(err); err == nil || st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Fatalf("%s: got %v; want %v containing %q", what, err, code, msg)
	}
}
