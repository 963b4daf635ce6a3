package event

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// testNow is the receiver's clock in tests: after every fixture.
var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func mustReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, raw []byte) *cairnv1.Event {
	t.Helper()
	ev, err := Parse(raw, testNow)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return ev
}

func unixNano(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want *cairnv1.Event // Raw is filled in by the test
	}{{
		file: "iam_user.json",
		want: &cairnv1.Event{
			EventId:           "6a1f3c2e-8b7d-4e59-a0c4-2d9e7f1b3a65",
			EventTimeUnixNano: unixNano("2024-03-05T09:14:27Z"),
			Account:           "210987654321",
			Region:            "eu-west-1",
			EventName:         "CreateVolume",
			EventSource:       "ec2.amazonaws.com",
			Username:          "dana",
			AccessKeyId:       "AKIAXQ4EXAMPLEW3T9QZ",
			ReadOnly:          "false",
			SourceIp:          "198.51.100.23",
			EventCategory:     "Management",
			Columns:           ColumnsExact | HasRecipientAccountID | HasAWSRegion | HasSourceIPAddress,
		},
	}, {
		// Username of an assumed role is its session name, as in LookupEvents;
		// S3 object-level events are Data events with two resources.
		file: "assumed_role_s3_data.json",
		want: &cairnv1.Event{
			EventId:           "c3b81e0d-5f27-4a6e-9e13-8d0a4f6b2c71",
			EventTimeUnixNano: unixNano("2024-03-05T09:20:01Z"),
			Account:           "210987654321",
			Region:            "eu-west-1",
			EventName:         "GetObject",
			EventSource:       "s3.amazonaws.com",
			Username:          "i-0f1e2d3c4b5a69788",
			AccessKeyId:       "ASIAXQ4EXAMPLEJ6V2KD",
			ReadOnly:          "true",
			SourceIp:          "203.0.113.77",
			EventCategory:     "Data",
			Resources: []*cairnv1.Resource{
				{Name: "arn:aws:s3:::orders-archive-prod/2024/03/05/batch-0042.parquet", Type: "AWS::S3::Object"},
				{Name: "arn:aws:s3:::orders-archive-prod", Type: "AWS::S3::Bucket"},
			},
			Columns: ColumnsExact | HasRecipientAccountID | HasAWSRegion | HasSourceIPAddress,
		},
	}, {
		// An AWS service has no accountId: the account is recipientAccountId,
		// the username is the invoking service.
		file: "aws_service.json",
		want: &cairnv1.Event{
			EventId:           "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b",
			EventTimeUnixNano: unixNano("2024-03-05T10:00:00Z"),
			Account:           "210987654321",
			Region:            "us-east-1",
			EventName:         "AssumeRole",
			EventSource:       "sts.amazonaws.com",
			Username:          "lambda.amazonaws.com",
			ReadOnly:          "true",
			SourceIp:          "lambda.amazonaws.com",
			EventCategory:     "Management",
			Resources: []*cairnv1.Resource{
				{Name: "arn:aws:iam::210987654321:role/order-ingest-exec", Type: "AWS::IAM::Role"},
			},
			Columns: ColumnsExact | HasRecipientAccountID | HasAWSRegion | HasSourceIPAddress,
		},
	}, {
		// An Insights event has no userIdentity; its eventName and eventSource
		// are in insightDetails. Pretty-printed.
		file: "insight.json",
		want: &cairnv1.Event{
			EventId:           "4d3c2b1a-0f9e-4d8c-b7a6-958473625140",
			EventTimeUnixNano: unixNano("2024-03-05T11:45:00Z"),
			Account:           "210987654321",
			Region:            "ap-southeast-2",
			EventName:         "UpdateInstanceInformation",
			EventSource:       "ssm.amazonaws.com",
			EventCategory:     "Insight",
		},
	}, {
		// eventVersion 1.0: no recipientAccountId, readOnly, eventCategory,
		// requestID or eventType.
		file: "v1_0.json",
		want: &cairnv1.Event{
			EventId:           "a0b1c2d3-e4f5-4061-8293-a4b5c6d7e8f9",
			EventTimeUnixNano: unixNano("2014-03-06T17:10:34Z"),
			Account:           "210987654321",
			Region:            "us-east-2",
			EventName:         "CreateKeyPair",
			EventSource:       "ec2.amazonaws.com",
			Username:          "legacy-admin",
			AccessKeyId:       "AKIAXQ4EXAMPLEOLD002",
			SourceIp:          "192.0.2.44",
			Columns:           ColumnsExact | HasAWSRegion | HasSourceIPAddress,
		},
	}, {
		// The root user has no userName; LookupEvents calls it "root".
		file: "root_console_login.json",
		want: &cairnv1.Event{
			EventId:           "b7c6d5e4-f3a2-4b19-8c07-d6e5f4a3b2c1",
			EventTimeUnixNano: unixNano("2024-03-05T07:58:12Z"),
			Account:           "210987654321",
			Region:            "us-east-1",
			EventName:         "ConsoleLogin",
			EventSource:       "signin.amazonaws.com",
			Username:          "root",
			ReadOnly:          "false",
			SourceIp:          "198.51.100.201",
			EventCategory:     "Management",
			Columns:           ColumnsExact | HasRecipientAccountID | HasAWSRegion | HasSourceIPAddress,
		},
	}, {
		// A federated user, an error, readOnly as a string, and an eventTime
		// with fractional seconds and an offset, converted to UTC.
		file: "federated_error_pretty.json",
		want: &cairnv1.Event{
			EventId:           "d9e8f7a6-b5c4-4d3e-92f1-0a9b8c7d6e5f",
			EventTimeUnixNano: unixNano("2024-03-05T10:30:45.123Z"),
			Account:           "210987654321",
			Region:            "eu-central-1",
			EventName:         "ScheduleKeyDeletion",
			EventSource:       "kms.amazonaws.com",
			Username:          "build-bot",
			AccessKeyId:       "ASIAXQ4EXAMPLEFED123",
			ReadOnly:          "false",
			ErrorCode:         "AccessDenied",
			SourceIp:          "203.0.113.9",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := mustReadFixture(t, tt.file)
			got := mustParse(t, raw)
			tt.want.Raw = raw
			if !proto.Equal(got, tt.want) {
				t.Errorf("Parse(%s):\n got %v\nwant %v", tt.file, got, tt.want)
			}
			if &got.Raw[0] != &raw[0] {
				t.Error("Raw is a copy; want the caller's slice")
			}
			if _, err := proto.Marshal(got); err != nil {
				t.Errorf("proto.Marshal: %v", err)
			}
		})
	}
}

// The extracted strings must not point into a pooled parser's memory, which
// the next Parse overwrites.
func TestParseResultOutlivesParser(t *testing.T) {
	raw := mustReadFixture(t, "assumed_role_s3_data.json")
	first := mustParse(t, raw)
	want := proto.Clone(first).(*cairnv1.Event)
	for range 100 {
		mustParse(t, mustReadFixture(t, "iam_user.json"))
		mustParse(t, mustReadFixture(t, "federated_error_pretty.json"))
	}
	if !proto.Equal(first, want) {
		t.Fatalf("event changed after later parses:\n got %v\nwant %v", first, want)
	}
}

func TestParseConcurrent(t *testing.T) {
	files := []string{"iam_user.json", "assumed_role_s3_data.json", "aws_service.json", "insight.json", "v1_0.json"}
	raws := make([][]byte, len(files))
	wants := make([]*cairnv1.Event, len(files))
	for i, f := range files {
		raws[i] = mustReadFixture(t, f)
		wants[i] = mustParse(t, raws[i])
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Go(func() {
			for i := range 500 {
				k := (g + i) % len(raws)
				ev, err := Parse(raws[k], testNow)
				if err != nil {
					errs[g] = err
					return
				}
				if !proto.Equal(ev, wants[k]) {
					errs[g] = fmt.Errorf("%s: got %v, want %v", files[k], ev, wants[k])
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// A batch is parsed event by event: one bad record costs only itself.
func TestParseBatchKeepsValid(t *testing.T) {
	tmpl := mustReadFixture(t, "iam_user.json")
	const id = "6a1f3c2e-8b7d-4e59-a0c4-2d9e7f1b3a65"
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = bytes.Replace(tmpl, []byte(id), fmt.Appendf(nil, "00000000-0000-4000-8000-%012d", i), 1)
	}
	const badAt = 617
	batch[badAt] = bytes.Replace(batch[badAt], []byte(`"eventTime":"2024-03-05T09:14:27Z"`), []byte(`"eventTime":"yesterday"`), 1)

	var valid []*cairnv1.Event
	var rejected []int
	for i, raw := range batch {
		ev, err := Parse(raw, testNow)
		if err != nil {
			if !errors.Is(err, ErrBadTime) {
				t.Errorf("event %d: got %v, want ErrBadTime", i, err)
			}
			var re *RejectError
			if errors.As(err, &re) && re.EventID != "00000000-0000-4000-8000-000000000617" {
				t.Errorf("RejectError.EventID = %q", re.EventID)
			}
			rejected = append(rejected, i)
			continue
		}
		valid = append(valid, ev)
	}
	if len(valid) != 999 || len(rejected) != 1 || rejected[0] != badAt {
		t.Fatalf("got %d valid, rejected %v; want 999 valid, rejected [%d]", len(valid), rejected, badAt)
	}
	seen := map[string]bool{}
	for _, ev := range valid {
		if seen[ev.EventId] {
			t.Fatalf("eventID %s extracted twice", ev.EventId)
		}
		seen[ev.EventId] = true
	}
}

func TestParseReadOnly(t *testing.T) {
	for _, tt := range []struct{ json, want string }{
		{`true`, "true"},
		{`false`, "false"},
		{`"true"`, "true"},
		{`"FALSE"`, "false"},
		{`"yes"`, ""},
		{`1`, ""},
		{`null`, ""},
	} {
		raw := fmt.Appendf(nil, `{"eventID":"e","eventTime":"2024-01-02T03:04:05Z","eventName":"n","eventSource":"s","recipientAccountId":"111122223333","readOnly":%s}`, tt.json)
		if got := mustParse(t, raw).ReadOnly; got != tt.want {
			t.Errorf("readOnly %s: got %q, want %q", tt.json, got, tt.want)
		}
	}
}

func TestParseUsername(t *testing.T) {
	for _, tt := range []struct{ userIdentity, want string }{
		{`{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/dev/alice","userName":"alice"}`, "alice"},
		// LookupEvents reports an assumed role's session name, not the role.
		{`{"type":"AssumedRole","principalId":"AROAEXAMPLE:sess-1","arn":"arn:aws:sts::111122223333:assumed-role/Admin/sess-1",
		   "sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}}`, "sess-1"},
		{`{"type":"AssumedRole","principalId":"AROAEXAMPLE:sess-2","sessionContext":{"sessionIssuer":{"userName":"Admin"}}}`, "sess-2"},
		{`{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"userName":"Admin"}}}`, "Admin"},
		{`{"type":"FederatedUser","principalId":"111122223333:bob","arn":"arn:aws:sts::111122223333:federated-user/bob"}`, "bob"},
		{`{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root"}`, "root"},
		{`{"type":"AWSAccount","principalId":"AIDAEXAMPLE","accountId":"444455556666"}`, "AIDAEXAMPLE"},
		{`{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, "ec2.amazonaws.com"},
		{`{"type":"IdentityCenterUser","arn":"","onBehalfOf":{"userId":"u-1"}}`, ""},
		{`{"userName":42,"arn":"arn:aws:iam::111122223333:user/carol"}`, "carol"},
		{`null`, ""},
	} {
		raw := fmt.Appendf(nil, `{"eventID":"e","eventTime":"2024-01-02T03:04:05Z","eventName":"n","eventSource":"s","recipientAccountId":"111122223333","userIdentity":%s}`, tt.userIdentity)
		if got := mustParse(t, raw).Username; got != tt.want {
			t.Errorf("userIdentity %s: got username %q, want %q", tt.userIdentity, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // RFC 3339 UTC, or "" for rejected
	}{
		{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05.5Z"},
		{"2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456789Z"},
		{"2024-01-02T03:04:05+01:30", "2024-01-02T01:34:05Z"},
		{"2024-01-02T23:04:05-05:00", "2024-01-03T04:04:05Z"},
		{"2024-01-02T03:04:05.000+00:00", "2024-01-02T03:04:05Z"},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		{"2023-02-29T00:00:00Z", ""},
		{"2024-13-01T00:00:00Z", ""},
		{"2024-04-31T00:00:00Z", ""},
		{"2024-01-02T24:00:00Z", ""},
		{"2024-01-02T03:60:00Z", ""},
		{"2024-01-02T03:04:60Z", ""},
		{"2024-01-02 03:04:05Z", ""},
		{"2024-01-02T03:04:05", ""},
		{"2024-01-02T03:04:05.Z", ""},
		{"2024-01-02T03:04:05.1234567890Z", ""},
		{"2024-01-02T03:04:05+0100", ""},
		{"2024-01-02T03:04:05+24:00", ""},
		{"20240102T030405Z", ""},
		{"2024-1-02T03:04:05Z", ""},
		{"+2024-01-02T03:04:05Z", ""},
		{"2024-01-02T03:04:05ZZ", ""},
		{"", ""},
	} {
		got, ok := parseTime([]byte(tt.in))
		switch {
		case tt.want == "" && ok:
			t.Errorf("parseTime(%q) = %v; want rejected", tt.in, got)
		case tt.want != "" && !ok:
			t.Errorf("parseTime(%q) rejected; want %s", tt.in, tt.want)
		case tt.want != "" && got.Format(time.RFC3339Nano) != tt.want:
			t.Errorf("parseTime(%q) = %s; want %s", tt.in, got.Format(time.RFC3339Nano), tt.want)
		case ok && got.Location() != time.UTC:
			t.Errorf("parseTime(%q) location %v; want UTC", tt.in, got.Location())
		}
	}
}

func TestParseResources(t *testing.T) {
	raw := rec(`"resources":[{"accountId":"1","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b"},` +
		`{"type":"AWS::S3::Object","ARNPrefix":"arn:aws:s3:::b/logs/"},{},{"accountId":"1"},"x",null,{"type":"AWS::EC2::Instance"}]`)
	got := mustParse(t, raw).Resources
	want := []*cairnv1.Resource{
		{Name: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"},
		{Name: "arn:aws:s3:::b/logs/", Type: "AWS::S3::Object"},
		{Type: "AWS::EC2::Instance"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v; want %v", got, want)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("resource %d: got %v; want %v", i, got[i], want[i])
		}
	}
}
