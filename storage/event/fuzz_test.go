package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// FuzzParse checks Parse's contract on arbitrary input:
//
//   - it never panics;
//   - an accepted event has every required field, Raw is the input itself, it
//     marshals (valid UTF-8 strings), no keyed value holds 0x00, its time is
//     not in the future, and another JSON reader (encoding/json) sees the same
//     keyed values in the raw bytes;
//   - a rejection is a *RejectError with a reason, wrapping one sentinel, and
//     ErrNotJSON only for what encoding/json also rejects (or nests too deep);
//   - the same input always gives the same answer.
//
// Run: go test -fuzz=FuzzParse ./storage/event/
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range [][]byte{
		rec(),
		rec(`-recipientAccountId`, `"userIdentity":{"type":"IAMUser","accountId":"1","userName":"u","arn":"a/b","principalId":"p:q","sessionContext":{"sessionIssuer":{"userName":"r"}}}`),
		rec(`-eventName`, `-eventSource`, `"eventType":"AwsCloudTrailInsight"`, `"insightDetails":{"eventName":"n","eventSource":"s"}`),
		rec(`"eventTime":"2024-01-02T03:04:05.999999999-12:30"`, `"readOnly":"TRUE"`),
		rec(`"eventName":"a\u0000"`),
		rec(`"eventName":"a\ud800\u0041"`),
		rec(`"event\u004eame":"x"`),
		rec(`"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"},{"ARNPrefix":"arn:aws:s3:::b/p/"},{},1,null]`),
		[]byte(`{"Records":[{}]}`),
		[]byte(`[1,2,{"a":[]}]`),
		[]byte(`{"eventID":`),
		[]byte("{\"eventID\":\"\xff\"}"),
		rec(`"n":[0,-0,1.5e-3,2E+10,-1E-7]`, `"s":"\"\\\/\b\f\n\r\t\u00e9"`),
		rec(`"n":NaN`),
		rec("\"userAgent\":\"x\ny\\\"z\""),
		rec(`"n":01`),
	} {
		f.Add(b)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		input := bytes.Clone(raw)
		ev, err := Parse(raw, now)
		if !bytes.Equal(raw, input) {
			t.Fatal("Parse modified its input")
		}
		ev2, err2 := Parse(raw, now)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !proto.Equal(ev, ev2) {
			t.Fatalf("Parse is not deterministic: (%v, %v) then (%v, %v)", ev, err, ev2, err2)
		}
		if err != nil {
			checkRejection(t, ev, err)
			// Strict, not stricter: what encoding/json calls valid is valid
			// JSON here too, unless nested deeper than fastjson.MaxDepth.
			if errors.Is(err, ErrNotJSON) && utf8.Valid(raw) && json.Valid(raw) && !strings.Contains(err.Error(), "too big depth") {
				t.Fatalf("rejected JSON that encoding/json accepts: %v", err)
			}
			return
		}
		checkAccepted(t, raw, ev, now)
	})
}

func checkRejection(t *testing.T, ev *cairnv1.Event, err error) {
	t.Helper()
	if ev != nil {
		t.Fatalf("an event and an error: %v, %v", ev, err)
	}
	var re *RejectError
	if !errors.As(err, &re) {
		t.Fatalf("error %T %v is not a *RejectError", err, err)
	}
	if strings.TrimSpace(re.Reason) == "" {
		t.Fatalf("empty reason for %v", re.Err)
	}
	n := 0
	for _, s := range []error{ErrTooLarge, ErrNotJSON, ErrNotObject, ErrMissingField, ErrBadField, ErrBadTime, ErrNoAccount, ErrFuture} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q matches %d sentinels; want 1", err, n)
	}
}

func checkAccepted(t *testing.T, raw []byte, ev *cairnv1.Event, now time.Time) {
	t.Helper()
	if ev == nil {
		t.Fatal("nil event and nil error")
	}
	if len(raw) > MaxEventSize {
		t.Fatalf("accepted %d bytes", len(raw))
	}
	if !bytes.Equal(ev.Raw, raw) || len(raw) > 0 && &ev.Raw[0] != &raw[0] {
		t.Fatal("Raw is not the input")
	}
	for name, v := range map[string]string{"eventID": ev.EventId, "eventName": ev.EventName, "eventSource": ev.EventSource, "account": ev.Account} {
		if v == "" {
			t.Fatalf("accepted with empty %s: %v", name, ev)
		}
	}
	if ev.EventTimeUnixNano > now.Add(MaxFutureSkew).UnixNano() {
		t.Fatalf("accepted a future eventTime %d", ev.EventTimeUnixNano)
	}
	if ev.ReadOnly != "" && ev.ReadOnly != "true" && ev.ReadOnly != "false" {
		t.Fatalf("readOnly %q", ev.ReadOnly)
	}
	if _, err := proto.Marshal(ev); err != nil {
		t.Fatalf("proto.Marshal: %v", err)
	}
	strs := []string{ev.EventId, ev.Account, ev.Region, ev.EventName, ev.EventSource, ev.Username, ev.AccessKeyId, ev.ErrorCode, ev.SourceIp, ev.EventCategory}
	for _, r := range ev.Resources {
		strs = append(strs, r.Name, r.Type)
	}
	for _, s := range strs {
		if strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("accepted a value with 0x00: %q", s)
		}
	}

	// Another reader of the stored bytes must see what we indexed.
	if !json.Valid(raw) {
		t.Fatalf("accepted bytes encoding/json calls invalid: %q", raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("encoding/json cannot decode accepted record: %v", err)
	}
	same := func(key, got string) {
		if s, ok := m[key].(string); ok && s != got {
			t.Fatalf("%s: encoding/json reads %q, Parse extracted %q", key, s, got)
		}
	}
	same("eventID", ev.EventId)
	same("eventName", ev.EventName)
	same("eventSource", ev.EventSource)
	same("awsRegion", ev.Region)
	if s, _ := m["recipientAccountId"].(string); s != "" {
		same("recipientAccountId", ev.Account)
	}
	if _, ok := m["eventName"]; !ok {
		if d, ok := m["insightDetails"].(map[string]any); ok {
			if s, ok := d["eventName"].(string); ok && s != ev.EventName {
				t.Fatalf("insightDetails.eventName: encoding/json reads %q, Parse extracted %q", s, ev.EventName)
			}
		}
	}
	if list, ok := m["resources"].([]any); ok {
		var want []*cairnv1.Resource
		for _, e := range list {
			r, _ := e.(map[string]any)
			arn, _ := r["ARN"].(string)
			if arn == "" {
				arn, _ = r["ARNPrefix"].(string)
			}
			typ, _ := r["type"].(string)
			if arn != "" || typ != "" {
				want = append(want, &cairnv1.Resource{Name: arn, Type: typ})
			}
		}
		if len(want) != len(ev.Resources) {
			t.Fatalf("resources: encoding/json reads %v, Parse extracted %v", want, ev.Resources)
		}
		for i := range want {
			if !proto.Equal(want[i], ev.Resources[i]) {
				t.Fatalf("resources[%d]: encoding/json reads %v, Parse extracted %v", i, want[i], ev.Resources[i])
			}
		}
	}
	if ui, ok := m["userIdentity"].(map[string]any); ok {
		if s, ok := ui["userName"].(string); ok && s != "" && s != ev.Username {
			t.Fatalf("userIdentity.userName: encoding/json reads %q, Parse extracted %q", s, ev.Username)
		}
	}
}
