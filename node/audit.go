package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
	"github.com/cairn-lake/cairn/storage/event"
)

// Cairn audits itself: every admin action that changes the cluster — a
// retention policy set or deleted, a hold set or cleared, a token created
// or revoked, a node joined or removed — is stored as a CloudTrail-shaped
// event in Cairn's own account (auditAccount), with eventSource "cairn",
// the action as eventName, the caller's identity as userIdentity and the
// request as requestParameters. The events are queried like any other and
// kept under the account's own retention policy.
//
// The meta leader writes the event once the action has committed. A call
// forwarded to it carries the caller's credentials and address with it
// (forwardAuth), so the event names the original caller.

// callerAddrKey is the metadata that carries a forwarded call's original
// client address.
const callerAddrKey = "cairn-caller-addr"

// auditRecord is the JSON shape of an audit event, in CloudTrail's field
// order.
type auditRecord struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       auditIdentity   `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
}

type auditIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	AccountID   string `json:"accountId"`
}

// audit stores the audit event of action, made by the caller of ctx with
// req (and, when not nil, resp as responseElements). The action has
// happened: a failure here is reported to the caller as such, not as a
// failure of the action.
func (n *Node) audit(ctx context.Context, action string, req, resp proto.Message) error {
	if err := n.recordAudit(ctx, action, req, resp, nil); err != nil {
		// %v, not %w: the action must not be retried as if it had failed.
		return fmt.Errorf("%s was applied, but its audit event could not be stored: %v", action, err)
	}
	return nil
}

// auditRefused stores the audit event of an admin call refused because it
// would have deleted stored events without --force (errorCode
// "DestructiveChangeRefused"), so that attempts show in the trail as well as
// changes. It returns refusal, the caller's answer; a failure to store the
// event is only logged.
func (n *Node) auditRefused(ctx context.Context, action string, req proto.Message, refusal error) error {
	_ = n.recordAudit(ctx, action, req, nil, refusal)
	return refusal
}

// recordAudit builds and stores one audit event, and logs a failure.
func (n *Node) recordAudit(ctx context.Context, action string, req, resp proto.Message, refusal error) error {
	raw, err := auditEvent(ctx, n.callerIdentity(ctx), action, req, resp, refusal, time.Now())
	if err == nil {
		err = n.storeAudit(ctx, raw)
	}
	if err != nil {
		n.log.Error("cannot store audit event", "action", action, "refused", refusal != nil, "err", err)
	}
	return err
}

// auditEvent builds the raw record; refusal, when not nil, gives its
// errorCode and errorMessage.
func auditEvent(ctx context.Context, who, action string, req, resp proto.Message, refusal error, now time.Time) ([]byte, error) {
	params, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	elements := json.RawMessage("null")
	if resp != nil {
		if elements, err = protojson.Marshal(resp); err != nil {
			return nil, err
		}
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	id[6] = id[6]&0x0f | 0x40 // a version 4 UUID
	id[8] = id[8]&0x3f | 0x80
	kind := "CairnToken"
	if !strings.HasPrefix(who, "token:") {
		kind = "Anonymous"
	}
	rec := auditRecord{
		EventVersion:       "1.11",
		UserIdentity:       auditIdentity{Type: kind, PrincipalID: who, AccountID: auditAccount},
		EventTime:          now.UTC().Format(time.RFC3339),
		EventSource:        auditAccount,
		EventName:          action,
		SourceIPAddress:    callerAddr(ctx),
		UserAgent:          userAgent(ctx),
		RequestParameters:  params,
		ResponseElements:   elements,
		EventID:            fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]),
		EventType:          "CairnAdminCall",
		ManagementEvent:    true,
		RecipientAccountID: auditAccount,
		EventCategory:      "Management",
	}
	if refusal != nil {
		rec.ErrorCode, rec.ErrorMessage = "DestructiveChangeRefused", refusal.Error()
	}
	return json.Marshal(rec)
}

// storeAudit writes one audit record through the normal write path.
func (n *Node) storeAudit(ctx context.Context, raw []byte) error {
	ev, err := event.Parse(raw, time.Now())
	if err != nil {
		return err
	}
	var shards uint32
	n.metaFSM.view(func(st *cairnv1.MetaState) { shards = st.Shards })
	if shards == 0 {
		return ErrNotInitialized
	}
	st, err := n.writeShard(context.WithoutCancel(ctx), ShardFor(auditAccount, shards), []*cairnv1.Event{ev})
	if err != nil {
		return err
	}
	if st[0] != cairnv1.EventStatus_EVENT_STATUS_STORED {
		return fmt.Errorf("the audit event was answered %v", st[0])
	}
	return nil
}

// callerAddr is the address of the client that made the call: forwarded
// along with it, else the peer's.
func callerAddr(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(callerAddrKey); len(v) > 0 {
			return v[0]
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return "internal"
}

func userAgent(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("user-agent"); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
