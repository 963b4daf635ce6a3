package gen

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-lake/cairn/storage/event"
)

var testStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// farFuture is the receiver's clock for Parse: every generated event is in
// its past.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// record is what the tests read back from a generated record with a second,
// independent JSON reader.
type record struct {
	EventTime          string         `json:"eventTime"`
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	AWSRegion          string         `json:"awsRegion"`
	SourceIPAddress    string         `json:"sourceIPAddress"`
	ErrorCode          string         `json:"errorCode"`
	ErrorMessage       *string        `json:"errorMessage"`
	ReadOnly           *bool          `json:"readOnly"`
	ManagementEvent    *bool          `json:"managementEvent"`
	EventCategory      string         `json:"eventCategory"`
	RecipientAccountID string         `json:"recipientAccountId"`
	Resources          []any          `json:"resources"`
	TLSDetails         map[string]any `json:"tlsDetails"`
	UserIdentity       struct {
		Type        string `json:"type"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		AccessKeyID string `json:"accessKeyId"`
		UserName    string `json:"userName"`
		InvokedBy   string `json:"invokedBy"`
	} `json:"userIdentity"`
}

// corpus generates n events for each seed.
func corpus(t testing.TB, seeds []int64, n int) (raws [][]byte, gens []*Generator) {
	t.Helper()
	for _, seed := range seeds {
		g := New(Config{Seed: seed, Accounts: 7, Start: testStart, Days: 3})
		gens = append(gens, g)
		for range n {
			raws = append(raws, g.Next(nil))
		}
	}
	return raws, gens
}

func TestEventsParseAndMatch(t *testing.T) {
	seeds := []int64{1, 2, 3, 42}
	raws, gens := corpus(t, seeds, 5000)
	end := testStart.Add(3 * 24 * time.Hour)
	readOnly := map[string]bool{}
	for i, raw := range raws {
		g := gens[i/5000]
		ev, err := event.Parse(raw, farFuture)
		if err != nil {
			t.Fatalf("event %d does not parse: %v\n%s", i, err, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("event %d: encoding/json says invalid:\n%s", i, raw)
		}
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}

		if !slices.Contains(g.Accounts(), ev.Account) || ev.Account != r.RecipientAccountID {
			t.Fatalf("event %d: account %q not in %v", i, ev.Account, g.Accounts())
		}
		et := time.Unix(0, ev.EventTimeUnixNano)
		if et.Before(testStart) || !et.Before(end) {
			t.Fatalf("event %d: eventTime %v outside [%v, %v)", i, et, testStart, end)
		}
		if r.EventTime != et.UTC().Format(time.RFC3339) {
			t.Fatalf("event %d: eventTime %q parsed as %v", i, r.EventTime, et)
		}
		if ev.EventName != r.EventName || ev.EventSource != r.EventSource || ev.Region != r.AWSRegion ||
			ev.SourceIp != r.SourceIPAddress || ev.ErrorCode != r.ErrorCode || ev.EventCategory != r.EventCategory ||
			ev.AccessKeyId != r.UserIdentity.AccessKeyID {
			t.Fatalf("event %d: extracted %v, record %+v", i, ev, r)
		}
		if want := wantUsername(r); ev.Username != want {
			t.Fatalf("event %d: username %q, want %q\n%s", i, ev.Username, want, raw)
		}

		// Consistency of the record itself.
		if r.ReadOnly == nil || ev.ReadOnly != strconv.FormatBool(*r.ReadOnly) {
			t.Fatalf("event %d: readOnly %v extracted as %q", i, r.ReadOnly, ev.ReadOnly)
		}
		key := r.EventSource + " " + r.EventName
		if ro, ok := readOnly[key]; ok && ro != *r.ReadOnly {
			t.Fatalf("%s is both read-only and not", key)
		}
		readOnly[key] = *r.ReadOnly
		if r.ManagementEvent == nil || *r.ManagementEvent != (r.EventCategory == "Management") {
			t.Fatalf("event %d: managementEvent %v with eventCategory %q", i, r.ManagementEvent, r.EventCategory)
		}
		if r.EventSource == "s3.amazonaws.com" && strings.HasSuffix(r.EventName, "Object") && r.EventCategory != "Data" {
			t.Fatalf("event %d: S3 %s is %s, want Data", i, r.EventName, r.EventCategory)
		}
		if (r.ErrorCode != "") && r.ErrorMessage == nil {
			t.Fatalf("event %d: errorCode without errorMessage", i)
		}
		if r.UserIdentity.Type == "AWSService" {
			if r.UserIdentity.AccountID != "" || r.SourceIPAddress != r.UserIdentity.InvokedBy || r.TLSDetails != nil {
				t.Fatalf("event %d: AWSService record shaped wrong:\n%s", i, raw)
			}
		} else if r.UserIdentity.AccountID != ev.Account || r.TLSDetails == nil {
			t.Fatalf("event %d: userIdentity.accountId %q, account %q, tlsDetails %v", i, r.UserIdentity.AccountID, ev.Account, r.TLSDetails)
		}
		if len(ev.Resources) != len(r.Resources) {
			t.Fatalf("event %d: %d resources extracted of %d", i, len(ev.Resources), len(r.Resources))
		}
	}
	if !readOnly["s3.amazonaws.com GetObject"] || readOnly["s3.amazonaws.com PutObject"] ||
		!readOnly["ec2.amazonaws.com DescribeInstances"] || readOnly["iam.amazonaws.com CreateUser"] {
		t.Errorf("readOnly does not follow the call: %v", readOnly)
	}
}

// wantUsername is the Username rule of package event, restated.
func wantUsername(r record) string {
	ui := r.UserIdentity
	switch {
	case ui.UserName != "":
		return ui.UserName
	case ui.ARN != "":
		if i := strings.LastIndexByte(ui.ARN, '/'); i >= 0 {
			return ui.ARN[i+1:]
		}
		return ui.ARN[strings.LastIndexByte(ui.ARN, ':')+1:]
	default:
		return ui.InvokedBy
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 7, Accounts: 3, Start: testStart, Days: 2}
	a, b := New(cfg), New(cfg)
	if !slices.Equal(a.Accounts(), b.Accounts()) {
		t.Fatalf("accounts differ: %v, %v", a.Accounts(), b.Accounts())
	}
	var bufA, bufB []byte
	for i := range 3000 {
		bufA, bufB = a.Next(bufA[:0]), b.Next(bufB[:0])
		if !bytes.Equal(bufA, bufB) {
			t.Fatalf("event %d differs for the same seed:\n%s\n%s", i, bufA, bufB)
		}
	}
	cfg.Seed = 8
	if c := New(cfg); bytes.Equal(c.Next(nil), New(Config{Seed: 7, Accounts: 3, Start: testStart, Days: 2}).Next(nil)) {
		t.Error("seeds 7 and 8 give the same first event")
	}
}

func TestShape(t *testing.T) {
	raws, _ := corpus(t, []int64{11, 12}, 10_000)
	var size, failed int
	names := map[string]int{}
	types := map[string]int{}
	for _, raw := range raws {
		size += len(raw)
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.ErrorCode != "" {
			failed++
		}
		names[r.EventName]++
		types[r.UserIdentity.Type]++
	}
	n := len(raws)
	avg := float64(size) / float64(n)
	t.Logf("average size %.0f bytes, %.2f%% errors, %d event names, identity types %v", avg, 100*float64(failed)/float64(n), len(names), types)
	if avg < 1000 || avg > 1600 {
		t.Errorf("average event size %.0f bytes; want 1000–1600", avg)
	}
	if share := float64(failed) / float64(n); share < 0.02 || share > 0.04 {
		t.Errorf("error share %.3f; want about 0.03", share)
	}
	if len(names) < 40 {
		t.Errorf("%d distinct event names; want at least 40", len(names))
	}
	counts := make([]int, 0, len(names))
	for _, c := range names {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	if top, median := counts[len(counts)-1], counts[len(counts)/2]; top < 10*median {
		t.Errorf("top event name has %d events, the median %d: want a skewed mix", top, median)
	}
	for _, typ := range []string{"IAMUser", "AssumedRole", "AWSService", "Root"} {
		if types[typ] == 0 {
			t.Errorf("no %s identities", typ)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	before := time.Now()
	g := New(Config{})
	if len(g.Accounts()) != 5 {
		t.Errorf("%d accounts; want 5", len(g.Accounts()))
	}
	for _, id := range g.Accounts() {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			t.Errorf("account id %q is not 12 digits", id)
		}
	}
	for range 1000 {
		ev, err := event.Parse(g.Next(nil), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		et := time.Unix(0, ev.EventTimeUnixNano)
		if et.Before(before.Add(-24*time.Hour-time.Second)) || et.After(time.Now()) {
			t.Fatalf("eventTime %v is not within the last day", et)
		}
	}
}

func TestNextAppends(t *testing.T) {
	g := New(Config{Seed: 1, Start: testStart})
	buf := []byte("prefix")
	buf = g.Next(buf)
	if !bytes.HasPrefix(buf, []byte("prefix{")) || buf[len(buf)-1] != '}' {
		t.Fatalf("Next did not append one object: %.40s…", buf)
	}
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(0, 0), testStart, time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 12, 31, 12, 0, 1, 0, time.UTC), time.Date(2099, 7, 4, 1, 2, 3, 0, time.UTC),
	} {
		if got, want := string(appendTime(nil, tm.Unix())), tm.UTC().Format(time.RFC3339); got != want {
			t.Errorf("appendTime(%d) = %s; want %s", tm.Unix(), got, want)
		}
		if got, want := string(appendLegacyTime(nil, tm.Unix())), tm.UTC().Format("Jan 2, 2006, 3:04:05 PM"); got != want {
			t.Errorf("appendLegacyTime(%d) = %s; want %s", tm.Unix(), got, want)
		}
	}
	for u := int64(0); u < 5e9; u += 7777777 {
		if got, want := string(appendTime(nil, u)), time.Unix(u, 0).UTC().Format(time.RFC3339); got != want {
			t.Fatalf("appendTime(%d) = %s; want %s", u, got, want)
		}
	}
}

func TestAppendUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, v := range [][2]uint64{{0, 0}, {^uint64(0), ^uint64(0)}, {0x0123456789abcdef, 0xfedcba9876543210}} {
		if u := appendUUID(nil, v[0], v[1]); !re.Match(u) {
			t.Errorf("appendUUID(%x, %x) = %s", v[0], v[1], u)
		}
	}
	if got := string(appendUUID(nil, 0x0123456789abcdef, 0x3edcba9876543210)); got != "01234567-89ab-4def-bedc-ba9876543210" {
		t.Errorf("appendUUID = %s", got)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "new\nline\ttab\r", "\x00\x01\x1f", "résumé ✓ 😀", "</script>"} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("appendString(%q) = %s, reads back %q, %v", s, b, got, err)
		}
	}
}
