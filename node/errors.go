package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cairn-lake/cairn/query"
)

// Errors returned by the node package. They are mapped to gRPC status codes
// in one place, toStatus.
var (
	// ErrNotLeader: the call must run on a group's leader and this replica
	// is not it. The error text names the leader when one is known.
	ErrNotLeader = errors.New("not the leader")
	// ErrNoLeader: the group has no leader right now (election under way or
	// no quorum).
	ErrNoLeader = errors.New("no leader")
	// ErrUnknownShard: the shard id is outside the cluster's shard map.
	ErrUnknownShard = errors.New("unknown shard")
	// ErrNotHosted: this node holds no replica of the shard.
	ErrNotHosted = errors.New("shard not hosted on this node")
	// ErrUnknownNode: no node with that id is registered.
	ErrUnknownNode = errors.New("unknown node")
	// ErrNotInitialized: the meta group has not yet recorded the shard map.
	ErrNotInitialized = errors.New("cluster not initialized yet")
	// ErrShuttingDown: the node is stopping.
	ErrShuttingDown = errors.New("node is shutting down")
	// ErrUnknownToken: no ingest token with that id exists.
	ErrUnknownToken = errors.New("unknown token")
	// ErrTokenRequired: an ingest stream came without a token and the node
	// does not allow anonymous ingest.
	ErrTokenRequired = errors.New("this cluster requires an ingest token: pass cairn-agent --token or set CAIRN_TOKEN; create one with cairnctl token create --account ACCOUNT_ID")
	// ErrInvalidToken: the token presented is malformed, or no token of the
	// cluster has its id and hash. It says no more, on purpose.
	ErrInvalidToken = errors.New("invalid token: check cairn-agent --token or CAIRN_TOKEN; cairnctl token list shows the cluster's tokens")
	// ErrInvalidArgument: the request is malformed; the error text says how.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrTokenRevoked: the token presented was revoked. The error text names
	// the token and when (revokedTokenError).
	ErrTokenRevoked = errors.New("token revoked")

	// ErrAdminTokenRequired: an admin call without a token on a cluster
	// that requires them.
	ErrAdminTokenRequired = errors.New("this cluster requires an admin token: pass cairnctl --token or set CAIRN_TOKEN; the first one is cairnd --initial-admin-token, more come from cairnctl token create --admin")

	// ErrDestructive: a retention change would delete stored events and was
	// not forced. Its message starts every refusal.
	ErrDestructive = errors.New("refused")

	// ErrNoPolicy: there is no retention policy of that scope.
	ErrNoPolicy = errors.New("no such retention policy")
)

// notLeaderError is ErrNotLeader with the leader this replica knows of.
type notLeaderError struct {
	group  string
	leader string // node id, "" when unknown
}

func (e *notLeaderError) Error() string {
	if e.leader == "" {
		return fmt.Sprintf("%s: not the leader, and no leader is known", e.group)
	}
	return fmt.Sprintf("%s: not the leader; leader is %s", e.group, e.leader)
}

func (e *notLeaderError) Unwrap() error { return ErrNotLeader }

// invalidArgumentError is ErrInvalidArgument with what is wrong.
type invalidArgumentError struct{ msg string }

func (e *invalidArgumentError) Error() string { return e.msg }
func (e *invalidArgumentError) Unwrap() error { return ErrInvalidArgument }

// invalidf returns an ErrInvalidArgument whose text is the formatted message.
func invalidf(format string, args ...any) error {
	return &invalidArgumentError{msg: fmt.Sprintf(format, args...)}
}

// revokedTokenError is ErrTokenRevoked with the token's id and revocation time.
type revokedTokenError struct {
	id string
	at time.Time
}

func (e *revokedTokenError) Error() string {
	return fmt.Sprintf("token %s was revoked at %s; create a new one with cairnctl token create", e.id, e.at.UTC().Format(time.RFC3339))
}

func (e *revokedTokenError) Unwrap() error { return ErrTokenRevoked }

// toStatus maps an error of this package to a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, ErrNotLeader):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrNoLeader), errors.Is(err, ErrShuttingDown), errors.Is(err, ErrNotInitialized):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, ErrDestructive):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrUnknownShard), errors.Is(err, ErrUnknownNode), errors.Is(err, ErrUnknownToken), errors.Is(err, ErrNoPolicy):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrTokenRequired), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrTokenRevoked):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, ErrNotHosted):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrInvalidArgument):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, query.ErrLimit):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	default:
		return status.Error(codes.Internal, err.Error())
	}
}
