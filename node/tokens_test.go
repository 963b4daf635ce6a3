package node

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func TestNewTokenParses(t *testing.T) {
	format := regexp.MustCompile(`^cairn_([0-9a-f]{16})_[0-9a-f]{64}$`)
	seen := map[string]bool{}
	for range 100 {
		token, id, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		m := format.FindStringSubmatch(token)
		if m == nil || m[1] != id {
			t.Fatalf("token %q (id %q) is not cairn_<16 hex>_<64 hex> with its id", token, id)
		}
		if got, ok := parseToken(token); !ok || got != id {
			t.Fatalf("parseToken(%q) = %q, %v; want %q", token, got, ok, id)
		}
		if seen[token] || seen[id] {
			t.Fatalf("token or id repeats after %d tokens", len(seen)/2)
		}
		seen[token], seen[id] = true, true
	}
}

func TestParseTokenRefusesMalformed(t *testing.T) {
	id, secret := "0123456789abcdef", strings.Repeat("5e", 32)
	for _, s := range []string{
		"",
		"cairn_",
		id + "_" + secret,                  // no prefix
		"Cairn_" + id + "_" + secret,       // prefix case
		"cairn_" + id + secret,             // no separator
		"cairn_" + id[:15] + "_" + secret,  // short id
		"cairn_" + id + "_" + secret[:63],  // short secret
		"cairn_" + id + "_" + secret + "0", // long secret
		"cairn_" + strings.ToUpper(id) + "_" + secret, // upper-case hex
		"cairn_" + id + "_" + secret[:62] + "zz",      // not hex
		"cairn_" + id + "_" + secret + "_x",           // trailing part
	} {
		if got, ok := parseToken(s); ok {
			t.Errorf("parseToken(%q) accepted it with id %q", s, got)
		}
	}
}

func TestCredentialFrom(t *testing.T) {
	token, id, _ := newToken()
	hash := hashToken(token)
	in := func(kv ...string) context.Context {
		return metadata.NewIncomingContext(context.Background(), metadata.Pairs(kv...))
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		ok   bool // a credential for token
		none bool // no credential, no error
	}{
		{"bearer", in("authorization", "Bearer "+token), true, false},
		{"lower-case scheme, spaces", in("authorization", "  bearer   "+token+" "), true, false},
		{"no metadata", context.Background(), false, true},
		{"other keys only", in("x-other", "1"), false, true},
		{"no scheme", in("authorization", token), false, false},
		{"basic scheme", in("authorization", "Basic "+token), false, false},
		{"empty", in("authorization", ""), false, false},
		{"malformed token", in("authorization", "Bearer cairn_xyz"), false, false},
		{"two tokens", in("authorization", "Bearer "+token, "authorization", "Bearer "+token), false, false},
	} {
		c, err := credentialFrom(tc.ctx)
		switch {
		case tc.ok && (err != nil || c == nil || c.id != id || c.hash != hash):
			t.Errorf("%s: got %+v, %v; want the credential of %s", tc.name, c, err, id)
		case tc.none && (err != nil || c != nil):
			t.Errorf("%s: got %+v, %v; want no credential and no error", tc.name, c, err)
		case !tc.ok && !tc.none && !errors.Is(err, ErrInvalidToken):
			t.Errorf("%s: got %+v, %v; want ErrInvalidToken", tc.name, c, err)
		}
	}
}

func TestTokenScope(t *testing.T) {
	one := &tokenScope{id: "t1", accounts: []string{"111122223333"}}
	if !one.allows("111122223333") || one.allows("222233334444") {
		t.Fatal("a one-account scope must allow exactly its account")
	}
	if got, want := one.outside("222233334444"), "account 222233334444 is outside the scope of token t1 (account 111122223333)"; got != want {
		t.Fatalf("reason %q, want %q", got, want)
	}
	all := &tokenScope{id: "t2", all: true}
	if !all.allows("999999999999") || !all.allows("redacted") {
		t.Fatal("an all-accounts scope must allow any account")
	}
	many := &tokenScope{id: "t3", accounts: []string{"100000000001", "100000000002", "100000000003", "100000000004", "100000000005", "100000000006", "100000000007"}}
	if !many.allows("100000000004") || many.allows("100000000008") {
		t.Fatal("a seven-account scope allows the wrong accounts")
	}
	if got, want := many.outside("100000000008"), "account 100000000008 is outside the scope of token t3 (accounts 100000000001, 100000000002, 100000000003, 100000000004, 100000000005 and 2 more)"; got != want {
		t.Fatalf("reason %q, want %q", got, want)
	}
}

func TestTokenRequestAccounts(t *testing.T) {
	got, err := tokenRequestAccounts(&cairnv1.CreateTokenRequest{Accounts: []string{"222233334444", "111122223333", "222233334444"}})
	if err != nil || strings.Join(got, ",") != "111122223333,222233334444" {
		t.Fatalf("got %v, %v; want the accounts sorted without repeats", got, err)
	}
	if got, err := tokenRequestAccounts(&cairnv1.CreateTokenRequest{AllAccounts: true}); err != nil || len(got) != 0 {
		t.Fatalf("all accounts: got %v, %v", got, err)
	}
	for _, tc := range []struct {
		req  *cairnv1.CreateTokenRequest
		want string
	}{
		{&cairnv1.CreateTokenRequest{}, "needs a scope"},
		{&cairnv1.CreateTokenRequest{Accounts: []string{"111122223333"}, AllAccounts: true}, "not both"},
		{&cairnv1.CreateTokenRequest{Accounts: []string{"11112222333"}}, `account "11112222333" is not a 12-digit`},
		{&cairnv1.CreateTokenRequest{Accounts: []string{"11112222333x"}}, "not a 12-digit"},
		{&cairnv1.CreateTokenRequest{AllAccounts: true, Description: strings.Repeat("d", 257)}, "the limit is 256"},
	} {
		if _, err := tokenRequestAccounts(tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.req, err, tc.want)
		}
	}
}

// metaLog is the Raft entry at index of one meta command.
func metaLog(index uint64, typ cairnv1.CommandType, payload proto.Message) *raft.Log {
	b, err := proto.Marshal(payload)
	if err == nil {
		b, err = proto.Marshal(&cairnv1.Command{Type: typ, Payload: b})
	}
	if err != nil {
		panic(err)
	}
	return &raft.Log{Index: index, Data: b}
}

// applyMeta applies one command to f as Raft would, at index.
func applyMeta(f *metaFSM, index uint64, typ cairnv1.CommandType, payload proto.Message) any {
	return f.Apply(metaLog(index, typ, payload))
}

// memSink is a raft.SnapshotSink in memory; it reads back what was written.
type memSink struct{ bytes.Buffer }

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { return nil }
func (s *memSink) Close() error  { return nil }

func TestMetaFSMTokens(t *testing.T) {
	f := newMetaFSM()
	token, id, _ := newToken()
	hash := hashToken(token)
	tok := &cairnv1.IngestToken{Id: id, Hash: hash[:], Accounts: []string{"111122223333"}, CreatedAtUnixNano: 1000, Description: "d"}
	create := &cairnv1.MetaCreateToken{Token: tok}
	if r := applyMeta(f, 1, cairnv1.CommandType_COMMAND_TYPE_META_CREATE_TOKEN, create); r != nil {
		t.Fatalf("create: %v", r)
	}
	if r := applyMeta(f, 2, cairnv1.CommandType_COMMAND_TYPE_META_CREATE_TOKEN, create); r == nil || !strings.Contains(r.(error).Error(), "exists already") {
		t.Fatalf("creating the same id again: %v, want a refusal", r)
	}
	revoke := func(index uint64, id string, at int64) any {
		return applyMeta(f, index, cairnv1.CommandType_COMMAND_TYPE_META_REVOKE_TOKEN, &cairnv1.MetaRevokeToken{Id: id, RevokedAtUnixNano: at})
	}
	if r := revoke(3, "ffffffffffffffff", 5); r == nil || !errors.Is(r.(error), ErrUnknownToken) {
		t.Fatalf("revoking an unknown id: %v, want ErrUnknownToken", r)
	}
	if r := revoke(4, id, 2000); r != nil {
		t.Fatalf("revoke: %v", r)
	}
	if r := revoke(5, id, 3000); r != nil {
		t.Fatalf("revoke again: %v", r)
	}

	// A snapshot restored into a new FSM rebuilds the index: the token is
	// found, revoked at its first revocation time.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	g := newMetaFSM()
	if err := g.Restore(&sink); err != nil {
		t.Fatal(err)
	}
	var got *cairnv1.IngestToken
	g.viewToken(id, func(t *cairnv1.IngestToken) { got = proto.Clone(t).(*cairnv1.IngestToken) })
	want := proto.Clone(tok).(*cairnv1.IngestToken)
	want.RevokedAtUnixNano = 2000
	if !proto.Equal(got, want) {
		t.Fatalf("restored token %v, want %v", got, want)
	}
	if st := g.State(); len(st.Tokens) != 1 {
		t.Fatalf("restored state holds %d tokens, want 1", len(st.Tokens))
	}
}

func TestAuthenticate(t *testing.T) {
	n := &Node{metaFSM: newMetaFSM()}
	token, id, _ := newToken()
	bearer := func(tok string) context.Context {
		return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	}

	// Without a token: refused unless anonymous ingest is allowed.
	if _, err := n.authenticate(context.Background()); !errors.Is(err, ErrTokenRequired) || !strings.Contains(err.Error(), "cairnctl token create") {
		t.Fatalf("no token: %v, want ErrTokenRequired saying what to do", err)
	}
	n.cfg.AllowAnonymous = true
	if c, err := n.authenticate(context.Background()); c != nil || err != nil {
		t.Fatalf("no token, anonymous allowed: %v, %v; want an anonymous stream", c, err)
	}

	// A token that reaches this node's meta state while the stream opens
	// is accepted.
	hash := hashToken(token)
	go func() {
		time.Sleep(100 * time.Millisecond)
		applyMeta(n.metaFSM, 1, cairnv1.CommandType_COMMAND_TYPE_META_CREATE_TOKEN, &cairnv1.MetaCreateToken{
			Token: &cairnv1.IngestToken{Id: id, Hash: hash[:], Accounts: []string{"111122223333"}},
		})
	}()
	c, err := n.authenticate(bearer(token))
	if err != nil || c == nil || c.id != id {
		t.Fatalf("token created while the stream opened: %v, %v", c, err)
	}
	scope, _, err := n.authorize(c)
	if err != nil || scope.id != id || !scope.allows("111122223333") || scope.allows("222233334444") {
		t.Fatalf("scope %+v, %v", scope, err)
	}

	// The right id with another secret is invalid, at once.
	forged := token[:len(token)-1] + "0"
	if strings.HasSuffix(token, "0") {
		forged = token[:len(token)-1] + "1"
	}
	start := time.Now()
	if _, err := n.authenticate(bearer(forged)); !errors.Is(err, ErrInvalidToken) || time.Since(start) > time.Second {
		t.Fatalf("forged secret: %v after %v, want ErrInvalidToken at once", err, time.Since(start))
	}

	// A revoked token names itself and the time.
	applyMeta(n.metaFSM, 2, cairnv1.CommandType_COMMAND_TYPE_META_REVOKE_TOKEN, &cairnv1.MetaRevokeToken{Id: id, RevokedAtUnixNano: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()})
	if _, _, err := n.authorize(c); !errors.Is(err, ErrTokenRevoked) || !strings.Contains(err.Error(), "token "+id+" was revoked at 2030-01-02T03:04:05Z") {
		t.Fatalf("revoked: %v", err)
	}
	if _, err := n.authenticate(bearer(token)); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("revoked, new stream: %v", err)
	}
}
