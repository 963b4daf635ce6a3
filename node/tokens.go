package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Ingest tokens.
//
// A token is the string cairn_<id>_<secret>: id is 8 random bytes and
// secret 32, both in lowercase hex. The meta group stores the id, the
// SHA-256 of the whole string and the token's scope (some accounts, or all);
// the string itself is returned once, by CreateToken, and never stored. An
// agent presents it on its ingest stream as the gRPC metadata
// "authorization: Bearer <token>". The node checks it when the stream opens
// and again on every batch against its current meta state, so a revocation
// stops a stream at its next batch; an event of an account outside the
// token's scope is rejected alone.
const (
	tokenPrefix      = "cairn_"
	tokenIDBytes     = 8
	tokenSecretBytes = 32
	// authorizationKey is the gRPC metadata key of an ingest stream's token.
	authorizationKey = "authorization"
	// maxTokenDescription bounds a token's description, in bytes.
	maxTokenDescription = 256
	// tokenCatchUp is how long an opening stream waits for a token id this
	// node does not know yet: its meta state may lag a moment behind the
	// leader's (the token was just created, or the node just restarted).
	tokenCatchUp = 2 * time.Second
	// scopeAccountsShown bounds the accounts a rejection reason lists.
	scopeAccountsShown = 5
)

// newToken returns a fresh token string and its id.
func newToken() (token, id string, err error) {
	var b [tokenIDBytes + tokenSecretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("cannot create token: %w", err)
	}
	id = hex.EncodeToString(b[:tokenIDBytes])
	return tokenPrefix + id + "_" + hex.EncodeToString(b[tokenIDBytes:]), id, nil
}

// parseToken returns the id of a well-formed token string.
func parseToken(token string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || !isLowerHex(id, 2*tokenIDBytes) || !isLowerHex(secret, 2*tokenSecretBytes) {
		return "", false
	}
	return id, true
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// hashToken is what the cluster stores of a token: the SHA-256 of the whole
// string.
func hashToken(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// isAccountID reports whether s is a 12-digit AWS account id.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// tokenRequestAccounts checks a CreateToken request and returns its
// accounts sorted and without repeats. Its errors are the caller's mistakes.
func tokenRequestAccounts(req *cairnv1.CreateTokenRequest) ([]string, error) {
	switch {
	case req.Admin && (req.AllAccounts || len(req.Accounts) > 0):
		return nil, fmt.Errorf("an admin token writes no events: give admin, or accounts or all_accounts, not both")
	case req.Admin && len(req.Description) <= maxTokenDescription:
		return nil, nil
	case req.AllAccounts && len(req.Accounts) > 0:
		return nil, fmt.Errorf("give accounts or all_accounts, not both")
	case !req.AllAccounts && len(req.Accounts) == 0:
		return nil, fmt.Errorf("a token needs a scope: give one or more 12-digit accounts, or all_accounts")
	case len(req.Description) > maxTokenDescription:
		return nil, fmt.Errorf("the description is %d bytes; the limit is %d", len(req.Description), maxTokenDescription)
	}
	for _, a := range req.Accounts {
		if !isAccountID(a) {
			return nil, fmt.Errorf("account %q is not a 12-digit AWS account id", a)
		}
	}
	accounts := slices.Clone(req.Accounts)
	slices.Sort(accounts)
	return slices.Compact(accounts), nil
}

// tokenInfo is the public view of a token: no hash.
func tokenInfo(t *cairnv1.IngestToken) *cairnv1.TokenInfo {
	return &cairnv1.TokenInfo{
		Id:                t.GetId(),
		Accounts:          slices.Clone(t.GetAccounts()),
		AllAccounts:       t.GetAllAccounts(),
		CreatedAtUnixNano: t.GetCreatedAtUnixNano(),
		Description:       t.GetDescription(),
		RevokedAtUnixNano: t.GetRevokedAtUnixNano(),
		Admin:             t.GetAdmin(),
	}
}

// createToken runs on the meta leader: it makes a token for the request's
// scope, commits its hash and returns the token string.
func (n *Node) createToken(req *cairnv1.CreateTokenRequest) (*cairnv1.CreateTokenResponse, error) {
	accounts, err := tokenRequestAccounts(req)
	if err != nil {
		return nil, err
	}
	var token, id string
	for taken := true; taken; { // 64 random bits: a repeat is for form's sake
		if token, id, err = newToken(); err != nil {
			return nil, err
		}
		n.metaFSM.viewToken(id, func(t *cairnv1.IngestToken) { taken = t != nil })
	}
	hash := hashToken(token)
	t := &cairnv1.IngestToken{
		Id:                id,
		Hash:              hash[:],
		Accounts:          accounts,
		AllAccounts:       req.AllAccounts,
		Admin:             req.Admin,
		CreatedAtUnixNano: time.Now().UnixNano(),
		Description:       req.Description,
	}
	if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_CREATE_TOKEN, &cairnv1.MetaCreateToken{Token: t}); err != nil {
		return nil, err
	}
	n.log.Info("created ingest token", "id", id, "scope", scopeOf(t.AllAccounts, t.Accounts))
	return &cairnv1.CreateTokenResponse{Token: token, Info: tokenInfo(t)}, nil
}

// revokeToken runs on the meta leader. Revoking a revoked token changes
// nothing and reports it, so a retried revocation is harmless.
func (n *Node) revokeToken(id string) (*cairnv1.RevokeTokenResponse, error) {
	var revokedAt int64
	known := false
	n.metaFSM.viewToken(id, func(t *cairnv1.IngestToken) {
		if t != nil {
			known, revokedAt = true, t.RevokedAtUnixNano
		}
	})
	if !known {
		return nil, fmt.Errorf("token %s: %w; cairnctl token list shows the tokens", id, ErrUnknownToken)
	}
	resp := &cairnv1.RevokeTokenResponse{AlreadyRevoked: revokedAt != 0}
	if !resp.AlreadyRevoked {
		m := &cairnv1.MetaRevokeToken{Id: id, RevokedAtUnixNano: time.Now().UnixNano()}
		if err := n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_REVOKE_TOKEN, m); err != nil {
			return nil, err
		}
		n.log.Info("revoked ingest token", "id", id)
	}
	n.metaFSM.viewToken(id, func(t *cairnv1.IngestToken) { resp.Info = tokenInfo(t) })
	return resp, nil
}

// listTokens returns the public view of every token, in creation order.
func (n *Node) listTokens() *cairnv1.ListTokensResponse {
	resp := &cairnv1.ListTokensResponse{}
	n.metaFSM.view(func(st *cairnv1.MetaState) {
		for _, t := range st.Tokens {
			resp.Tokens = append(resp.Tokens, tokenInfo(t))
		}
	})
	return resp
}

// credential is the token an ingest stream presented, reduced to what the
// checks need.
type credential struct {
	id   string
	hash [sha256.Size]byte
}

// credentialFrom reads the token of an ingest stream from its metadata; it
// returns nil without an error when the stream has none.
func credentialFrom(ctx context.Context) (*credential, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(authorizationKey)
	if len(vals) == 0 {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if len(vals) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, ErrInvalidToken
	}
	token = strings.TrimSpace(token)
	id, ok := parseToken(token)
	if !ok {
		return nil, ErrInvalidToken
	}
	return &credential{id: id, hash: hashToken(token)}, nil
}

// tokenScope is what a token lets its bearer do: write some accounts'
// events, or (admin) make admin calls.
type tokenScope struct {
	id       string
	all      bool
	accounts []string // sorted
	admin    bool
}

// allows reports whether the scope covers account.
func (s *tokenScope) allows(account string) bool {
	if s.all {
		return true
	}
	_, ok := slices.BinarySearch(s.accounts, account)
	return ok
}

// outside is the rejection reason of an event of account.
func (s *tokenScope) outside(account string) string {
	return fmt.Sprintf("account %s is outside the scope of token %s (%s)", account, s.id, scopeOf(s.all, s.accounts))
}

// scopeOf describes a token's scope in a few words.
func scopeOf(all bool, accounts []string) string {
	if all {
		return "all accounts"
	}
	word := "accounts "
	if len(accounts) == 1 {
		word = "account "
	}
	if len(accounts) <= scopeAccountsShown {
		return word + strings.Join(accounts, ", ")
	}
	return fmt.Sprintf("%s%s and %d more", word, strings.Join(accounts[:scopeAccountsShown], ", "), len(accounts)-scopeAccountsShown)
}

// authorize checks a credential against this node's meta state and returns
// the token's scope, or why the stream must stop. It is a map lookup and a
// constant-time compare: cheap enough for every batch. known tells whether
// the token id exists at all.
func (n *Node) authorize(c *credential) (scope *tokenScope, known bool, err error) {
	n.metaFSM.viewToken(c.id, func(t *cairnv1.IngestToken) {
		switch {
		case t == nil:
			err = ErrInvalidToken
		case subtle.ConstantTimeCompare(t.Hash, c.hash[:]) != 1:
			known, err = true, ErrInvalidToken
		case t.RevokedAtUnixNano != 0:
			known, err = true, &revokedTokenError{id: t.Id, at: time.Unix(0, t.RevokedAtUnixNano)}
		default:
			known = true
			scope = &tokenScope{id: t.Id, all: t.AllAccounts, accounts: slices.Clone(t.Accounts), admin: t.Admin}
		}
	})
	return scope, known, err
}

// authenticate decides whether an ingest stream may open. It returns the
// stream's credential, to check again on every batch, or nil for an
// anonymous stream where the node allows them. A token id this node does not
// know yet gets up to tokenCatchUp for the meta state to catch up.
func (n *Node) authenticate(ctx context.Context) (*credential, error) {
	c, err := credentialFrom(ctx)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if n.cfg.AllowAnonymous {
			return nil, nil
		}
		return nil, ErrTokenRequired
	}
	if _, err := n.authorizeWaiting(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// authorizeWaiting is authorize, giving a token id this node does not know
// yet up to tokenCatchUp for the meta state to catch up.
func (n *Node) authorizeWaiting(ctx context.Context, c *credential) (*tokenScope, error) {
	wait := time.NewTimer(tokenCatchUp)
	defer wait.Stop()
	for {
		changed := n.metaFSM.Changed()
		scope, known, err := n.authorize(c)
		switch {
		case err == nil:
			return scope, nil
		case known:
			return nil, err
		}
		select {
		case <-changed:
		case <-wait.C:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// requireAdmin checks that an admin call presents a valid admin token,
// unless the node runs without authentication (--dev, --no-auth).
func (n *Node) requireAdmin(ctx context.Context, call string) error {
	if n.cfg.AllowAnonymous {
		return nil
	}
	c, err := credentialFrom(ctx)
	if err != nil {
		return status.Errorf(codes.Unauthenticated, "%s: %v", call, err)
	}
	if c == nil {
		return status.Errorf(codes.Unauthenticated, "%s: %v", call, ErrAdminTokenRequired)
	}
	scope, err := n.authorizeWaiting(ctx, c)
	if err != nil {
		return status.Errorf(codes.Unauthenticated, "%s: %v", call, err)
	}
	if !scope.admin {
		return status.Errorf(codes.PermissionDenied, "%s: token %s is an ingest token (%s); admin calls need a token made with cairnctl token create --admin",
			call, scope.id, scopeOf(scope.all, scope.accounts))
	}
	return nil
}
