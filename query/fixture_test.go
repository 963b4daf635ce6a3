package query

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// The test fixture: 190 generated CloudTrail records and 11 hand-placed
// "landmark" records (eventID lm-…) that tests pick out by name. The
// generator is deterministic; tests that check aggregates compute what they
// expect from fxEvents with plain Go (the oracle), not from stored answers.

const (
	acctProd = "111122223333"
	acctDev  = "444455556666"
	acctSec  = "777788889999"
)

var fxDay0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday; events span 7 days

type fxPrincipal struct {
	kind    string // IAMUser, AssumedRole, Root, AWSService
	account string
	name    string // user or role name; the service for AWSService
	session string // AssumedRole session name
	mfa     bool
	key     string // access key id
}

type fxEvent struct {
	id, source, name, region, account string
	ip, agent                         string
	time                              time.Time
	who                               fxPrincipal
	errorCode, errorMessage           string
	readOnly                          any // true, false, "true" or nil (absent)
	category                          string
	mgmt                              bool
	eventType                         string
	req, resp, extra                  any // nil: JSON null (requestParameters) or absent
	resources                         []map[string]string
	tls                               string // "" when absent
	noRecipient                       bool   // recipientAccountId absent
}

var (
	fxOnce   sync.Once
	fxEvents []fxEvent
	fxRaws   [][]byte
)

// fixture returns the records and their raw JSON, built once.
func fixture() ([]fxEvent, [][]byte) {
	fxOnce.Do(func() {
		fxEvents = generate()
		for _, e := range fxEvents {
			fxRaws = append(fxRaws, e.json())
		}
	})
	return fxEvents, fxRaws
}

var (
	fxUsers = []fxPrincipal{
		{kind: "IAMUser", account: acctProd, name: "alice", mfa: true, key: "AKIAALICE0000000001"},
		{kind: "IAMUser", account: acctProd, name: "carol", mfa: false, key: "AKIACAROL0000000002"},
		{kind: "IAMUser", account: acctDev, name: "bob", mfa: false, key: "AKIABOB000000000003"},
		{kind: "IAMUser", account: acctSec, name: "dave", mfa: true, key: "AKIADAVE00000000004"},
	}
	fxRoles = []fxPrincipal{
		{kind: "AssumedRole", account: acctProd, name: "Admin", session: "alice", key: "ASIAADMIN000000001"},
		{kind: "AssumedRole", account: acctProd, name: "deploy-pipeline", session: "gha-4711", key: "ASIADEPLOY00000002"},
		{kind: "AssumedRole", account: acctDev, name: "ReadOnly", session: "bob", key: "ASIAREADONLY000003"},
		{kind: "AssumedRole", account: acctSec, name: "SecurityAudit", session: "scanner", key: "ASIAAUDIT000000004"},
	}
	fxRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}
	fxBuckets = []string{"app-logs", "billing-reports", "public-site"}
)

func generate() []fxEvent {
	r := rand.New(rand.NewPCG(2026, 1))
	pick := func(n int) int { return r.IntN(n) }
	var evs []fxEvent
	for i := 0; i < 190; i++ {
		e := fxEvent{
			id:       fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff),
			region:   fxRegions[pick(3)],
			ip:       fmt.Sprintf("198.51.100.%d", 1+pick(20)),
			agent:    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
			time:     fxDay0.Add(time.Duration(pick(7*24*3600)) * time.Second),
			category: "Management",
			mgmt:     true,
			tls:      []string{"TLSv1.2", "TLSv1.3"}[pick(2)],
		}
		if pick(10) == 0 {
			e.time = e.time.Add(time.Duration(1+pick(999)) * time.Millisecond)
		}
		var who fxPrincipal
		if pick(2) == 0 {
			who = fxUsers[pick(len(fxUsers))]
		} else {
			who = fxRoles[pick(len(fxRoles))]
		}
		e.who, e.account = who, who.account
		denied := pick(8) == 0
		switch s := pick(10); {
		case s < 3: // S3 data events
			b := fxBuckets[pick(3)]
			key := fmt.Sprintf("data/%d.json", pick(50))
			e.source, e.category, e.mgmt = "s3.amazonaws.com", "Data", false
			e.name = []string{"GetObject", "GetObject", "PutObject", "ListObjects"}[pick(4)]
			e.readOnly = e.name != "PutObject"
			e.req = map[string]any{"bucketName": b, "Host": b + ".s3." + e.region + ".amazonaws.com", "key": key}
			e.resources = []map[string]string{
				{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::" + b + "/" + key},
				{"accountId": e.account, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b},
			}
			e.extra = map[string]any{"SignatureVersion": "SigV4", "bytesTransferredIn": pick(5000), "x-amz-id-2": "abc"}
			if denied {
				e.errorCode, e.errorMessage = "AccessDenied", "Access Denied"
			}
		case s < 5: // console sign-in
			u := fxUsers[pick(len(fxUsers))]
			e.who, e.account = u, u.account
			e.source, e.name, e.region, e.eventType = "signin.amazonaws.com", "ConsoleLogin", "us-east-1", "AwsConsoleSignIn"
			e.agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Firefox/121.0"
			e.readOnly, e.tls = false, ""
			mfa := "No"
			if u.mfa {
				mfa = "Yes"
			}
			e.extra = map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa}
			result := "Success"
			if pick(4) == 0 {
				result = "Failure"
				e.errorMessage = "Failed authentication"
			}
			e.resp = map[string]any{"ConsoleLogin": result}
		case s < 7: // IAM
			e.source, e.region = "iam.amazonaws.com", "us-east-1"
			e.name = []string{"CreateUser", "AttachUserPolicy", "CreateAccessKey", "DeleteUser", "ListUsers", "GetUser"}[pick(6)]
			e.readOnly = strings.HasPrefix(e.name, "List") || strings.HasPrefix(e.name, "Get")
			target := []string{"svc-backup", "temp-contractor", "ci-bot"}[pick(3)]
			e.req = map[string]any{"userName": target}
			if e.name == "AttachUserPolicy" {
				e.req = map[string]any{"userName": target, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
			}
			if e.name == "ListUsers" {
				e.req = nil
			}
			if denied {
				e.errorCode = "AccessDenied"
				e.errorMessage = "User: " + arnOf(e.who) + " is not authorized to perform: iam:" + e.name
			}
		case s < 8: // STS
			role := fxRoles[pick(len(fxRoles))]
			roleArn := "arn:aws:iam::" + role.account + ":role/" + role.name
			e.source, e.name, e.readOnly = "sts.amazonaws.com", "AssumeRole", true
			e.req = map[string]any{"roleArn": roleArn, "roleSessionName": role.session, "durationSeconds": 3600}
			e.resp = map[string]any{"credentials": map[string]any{"accessKeyId": role.key, "expiration": "Jan 12, 2026, 1:00:00 AM"},
				"assumedRoleUser": map[string]any{"arn": arnOf(role)}}
			e.resources = []map[string]string{{"ARN": roleArn, "accountId": role.account, "type": "AWS::IAM::Role"}}
		default: // EC2
			e.source = "ec2.amazonaws.com"
			e.name = []string{"DescribeInstances", "DescribeInstances", "RunInstances", "AuthorizeSecurityGroupIngress"}[pick(4)]
			e.readOnly = e.name == "DescribeInstances"
			switch e.name {
			case "RunInstances":
				id := fmt.Sprintf("i-0%015x", r.Uint64()&0xfffffffffffff)
				e.req = map[string]any{"instanceType": "t3.micro", "minCount": 1, "maxCount": 1}
				e.resp = map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": id, "imageId": "ami-0abc"}}}}
			case "AuthorizeSecurityGroupIngress":
				cidr := []string{"0.0.0.0/0", "10.0.0.0/8"}[pick(2)]
				e.req = map[string]any{"groupId": fmt.Sprintf("sg-%08x", r.Uint32()),
					"ipPermissions": map[string]any{"items": []any{map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
						"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": cidr}}}}}}}
			}
			if denied {
				e.errorCode = "Client.UnauthorizedOperation"
				e.errorMessage = "You are not authorized to perform this operation."
			}
		}
		evs = append(evs, e)
	}
	return append(evs, landmarks()...)
}

func landmarks() []fxEvent {
	admin, root := fxRoles[0], fxPrincipal{kind: "Root", account: acctDev}
	mallory := fxPrincipal{kind: "IAMUser", account: acctSec, name: "mallory", key: "AKIAMALLORY00000005"}
	return []fxEvent{
		{id: "lm-0001", source: "cloudtrail.amazonaws.com", name: "StopLogging", region: "us-east-1", account: acctProd,
			ip: "198.51.100.7", agent: "console.amazonaws.com", time: time.Date(2026, 1, 8, 3, 4, 5, 0, time.UTC), who: admin,
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.3",
			req: map[string]any{"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"}},
		{id: "lm-0002", source: "signin.amazonaws.com", name: "ConsoleLogin", region: "us-east-1", account: acctDev,
			ip: "203.0.113.9", agent: "Mozilla/5.0", time: time.Date(2026, 1, 9, 22, 0, 0, 250e6, time.UTC), who: root,
			readOnly: false, category: "Management", mgmt: true, eventType: "AwsConsoleSignIn",
			resp: map[string]any{"ConsoleLogin": "Success"}, extra: map[string]any{"MFAUsed": "No", "MobileVersion": "No"}},
		{id: "lm-0003", source: "cloudtrail.amazonaws.com", name: "DeleteTrail", region: "eu-west-1", account: acctSec,
			ip: "203.0.113.66", agent: "aws-cli/2.15.0", time: time.Date(2026, 1, 10, 12, 30, 0, 0, time.UTC), who: mallory,
			errorCode: "AccessDenied", errorMessage: "User: arn:aws:iam::777788889999:user/mallory is not authorized to perform: cloudtrail:DeleteTrail",
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.2", req: map[string]any{"name": "org-trail"}},
		{id: "lm-0004", source: "s3.amazonaws.com", name: "GetBucketAcl", region: "us-west-2", account: acctDev,
			ip: "198.51.100.30", agent: "[S3Console/0.4]", time: time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC), who: fxUsers[2],
			readOnly: "true", category: "Management", mgmt: true, noRecipient: true, tls: "TLSv1.2",
			req:       map[string]any{"bucketName": "app-logs", "acl": ""},
			resources: []map[string]string{{"accountId": acctDev, "type": "AWS::S3::Bucket", "arn": "arn:aws:s3:::app-logs"}}},
		{id: "lm-0005", source: "s3.amazonaws.com", name: "PutBucketPolicy", region: "us-east-1", account: acctProd,
			ip: "198.51.100.31", agent: "aws-cli/2.15.0", time: time.Date(2026, 1, 11, 23, 59, 59, 0, time.UTC), who: fxUsers[1],
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.2",
			req: map[string]any{"bucketName": "public-site", "bucketPolicy": map[string]any{"Version": "2012-10-17",
				"Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}}}, "policyStatus": 2}},
		{id: "lm-0006", source: "kms.amazonaws.com", name: "Decrypt", region: "eu-west-1", account: acctSec,
			ip: "AWS Internal", agent: "AWS Internal", time: time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC),
			who:      fxPrincipal{kind: "AWSService", account: acctSec, name: "cloudtrail.amazonaws.com"},
			readOnly: true, category: "Management", mgmt: true, eventType: "AwsApiCall",
			req: map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}},
		{id: "lm-0007", source: "ec2.amazonaws.com", name: "CreateSnapshot", region: "us-west-2", account: acctDev,
			ip: "198.51.100.40", agent: "aws-sdk-go-v2/1.24", time: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), who: fxRoles[2],
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.3",
			req: map[string]any{"volumeId": "vol-0123"}, resp: map[string]any{"snapshotId": "snap-0456", "encrypted": false}},
		{id: "lm-0008", source: "sso.amazonaws.com", name: "Federate", region: "us-east-1", account: acctSec,
			ip: "203.0.113.10", agent: "Mozilla/5.0", time: time.Date(2026, 1, 11, 8, 0, 0, 0, time.UTC),
			who:      fxPrincipal{kind: "IAMUser", account: acctSec, name: "erin@example.com"},
			readOnly: false, category: "Management", mgmt: true, eventType: "AwsServiceEvent"},
		{id: "lm-0009", source: "s3.amazonaws.com", name: "DeleteBucket", region: "eu-west-1", account: acctProd,
			ip: "198.51.100.7", agent: "aws-cli/2.15.0", time: time.Date(2026, 1, 8, 3, 4, 5, 0, time.UTC), who: admin,
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.3",
			req: map[string]any{"bucketName": "billing-reports"}},
		{id: "lm-0010", source: "ec2.amazonaws.com", name: "TerminateInstances", region: "us-east-1", account: acctProd,
			ip: "198.51.100.8", agent: "aws-cli/2.15.0", time: time.Date(2026, 1, 12, 1, 0, 0, 0, time.UTC), who: fxRoles[1],
			errorCode: "Client.UnauthorizedOperation", errorMessage: "You are not authorized to perform this operation.",
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.2"},
		{id: "lm-0011", source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", region: "us-west-2", account: acctDev,
			ip: "198.51.100.9", agent: "aws-cli/2", time: time.Date(2026, 1, 6, 14, 0, 0, 0, time.UTC), who: fxUsers[2],
			readOnly: false, category: "Management", mgmt: true, tls: "TLSv1.3",
			req: map[string]any{"groupId": "sg-0open", "ipPermissions": map[string]any{"items": []any{map[string]any{
				"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}}}}}}},
	}
}

func arnOf(p fxPrincipal) string {
	switch p.kind {
	case "IAMUser":
		return "arn:aws:iam::" + p.account + ":user/" + p.name
	case "AssumedRole":
		return "arn:aws:sts::" + p.account + ":assumed-role/" + p.name + "/" + p.session
	case "Root":
		return "arn:aws:iam::" + p.account + ":root"
	}
	return ""
}

// userName is userIdentity.userName as the record has it ("" when absent).
func (p fxPrincipal) userName() string {
	if p.kind == "IAMUser" {
		return p.name
	}
	return ""
}

// kv is one key of a JSON object written in order.
type kv struct {
	k string
	v any
}

// obj marshals ordered keys, skipping those whose value is skip.
type obj []kv

type skipT struct{}

var skip = skipT{}

func (o obj) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for _, f := range o {
		if _, ok := f.v.(skipT); ok {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func orSkip(s string) any {
	if s == "" {
		return skip
	}
	return s
}

func (e fxEvent) userIdentity() obj {
	p := e.who
	created := e.time.Add(-time.Hour).Format("2006-01-02T15:04:05Z")
	switch p.kind {
	case "IAMUser":
		ui := obj{{"type", "IAMUser"}, {"principalId", "AIDA" + strings.ToUpper(strings.ReplaceAll(p.name, "@", ""))},
			{"arn", arnOf(p)}, {"accountId", p.account}, {"accessKeyId", orSkip(p.key)}, {"userName", p.name}}
		if e.name == "ConsoleLogin" {
			mfa := "false"
			if p.mfa {
				mfa = "true"
			}
			ui = append(ui, kv{"sessionContext", obj{{"attributes", obj{{"creationDate", created}, {"mfaAuthenticated", mfa}}}}})
		}
		return ui
	case "AssumedRole":
		return obj{{"type", "AssumedRole"}, {"principalId", "AROA" + strings.ToUpper(p.name[:3]) + ":" + p.session},
			{"arn", arnOf(p)}, {"accountId", p.account}, {"accessKeyId", p.key},
			{"sessionContext", obj{
				{"sessionIssuer", obj{{"type", "Role"}, {"principalId", "AROA" + strings.ToUpper(p.name[:3])},
					{"arn", "arn:aws:iam::" + p.account + ":role/" + p.name}, {"accountId", p.account}, {"userName", p.name}}},
				{"webIdFederationData", obj{}},
				{"attributes", obj{{"creationDate", created}, {"mfaAuthenticated", "false"}}}}}}
	case "Root":
		return obj{{"type", "Root"}, {"principalId", p.account}, {"arn", arnOf(p)}, {"accountId", p.account}}
	}
	return obj{{"type", "AWSService"}, {"invokedBy", p.name}}
}

func (e fxEvent) json() []byte {
	var ro any = skip
	if e.readOnly != nil {
		ro = e.readOnly
	}
	var res any = skip
	if e.resources != nil {
		res = e.resources
	}
	or := func(v any) any {
		if v == nil {
			return skip
		}
		return v
	}
	var tls any = skip
	if e.tls != "" {
		tls = obj{{"tlsVersion", e.tls}, {"cipherSuite", "TLS_AES_128_GCM_SHA256"},
			{"clientProvidedHostHeader", strings.TrimSuffix(e.source, ".amazonaws.com") + "." + e.region + ".amazonaws.com"}}
	}
	evType := e.eventType
	if evType == "" {
		evType = "AwsApiCall"
	}
	recipient := any(e.account)
	if e.noRecipient {
		recipient = skip
	}
	b, err := json.Marshal(obj{
		{"eventVersion", "1.09"},
		{"userIdentity", e.userIdentity()},
		{"eventTime", e.time.Format(time.RFC3339Nano)},
		{"eventSource", e.source},
		{"eventName", e.name},
		{"awsRegion", e.region},
		{"sourceIPAddress", e.ip},
		{"userAgent", e.agent},
		{"errorCode", orSkip(e.errorCode)},
		{"errorMessage", orSkip(e.errorMessage)},
		{"requestParameters", e.req},
		{"responseElements", e.resp},
		{"additionalEventData", or(e.extra)},
		{"requestID", strings.ToUpper(strings.ReplaceAll(e.id, "-", "")) + "REQ"},
		{"eventID", e.id},
		{"readOnly", ro},
		{"resources", res},
		{"eventType", evType},
		{"managementEvent", e.mgmt},
		{"recipientAccountId", recipient},
		{"eventCategory", e.category},
		{"tlsDetails", tls},
	})
	if err != nil {
		panic(err)
	}
	return b
}
