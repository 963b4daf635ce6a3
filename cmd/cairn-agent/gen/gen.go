// Package gen generates realistic synthetic CloudTrail records, deterministic
// for a seed. The agent's --generate, `make run`, benchmarks and tests use it.
//
// The records have the shape of eventVersion 1.08–1.11 records as AWS writes
// them: a skewed (Zipf-like) mix of about fifty API calls over S3 (object-level
// data events and bucket management), EC2, STS, IAM, KMS, Lambda, CloudTrail,
// CloudWatch Logs, SSM, Secrets Manager, ECR, DynamoDB and console sign-in;
// IAM users, assumed roles with their session context, AWS services acting
// with invokedBy, and the root user now and then; readOnly, managementEvent
// and eventCategory consistent with the call; about 3% failed calls with
// errorCode and errorMessage; request parameters, response elements and
// resources[] shaped per call; tlsDetails and user agents. An event is about
// 1.5 KB on average (1.2–2 KB for most calls, S3 data events the largest).
//
// Records are appended as bytes with no encoding/json, reflection, fmt or
// allocation, so one core produces about a million a second.
package gen

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"
)

// Config says what to generate. The zero value is usable.
type Config struct {
	// Seed selects the output: the same Config gives the same records, on
	// every platform (the RNG is PCG, used only through integer arithmetic).
	Seed int64
	// Accounts is the number of distinct 12-digit account ids (default 5).
	Accounts int
	// Start is the earliest eventTime (default: now - Days). Set it for
	// reproducible output: the default depends on the clock.
	Start time.Time
	// Days is the time span events are spread over (default 1).
	Days int
}

// Generator produces records. It is not safe for concurrent use: create one
// per goroutine, with different seeds.
type Generator struct {
	rng      rand.PCG
	start    int64 // Unix seconds
	span     uint64
	accounts []*account
	ids      []string
	ips      []string
	catalog  []*template
	mix      []uint8 // uniform index → catalog index, Zipf-weighted
	tokens   []string
	key      []byte // scratch: the current object key
	draft    draft  // the record being written
}

// New returns a Generator for cfg. All names, identities and address pools
// are drawn from the seeded RNG here, so Next only assembles them.
func New(cfg Config) *Generator {
	if cfg.Accounts <= 0 {
		cfg.Accounts = 5
	}
	if cfg.Days <= 0 {
		cfg.Days = 1
	}
	span := time.Duration(cfg.Days) * 24 * time.Hour
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().Add(-span).Truncate(time.Second)
	}
	seed := uint64(cfg.Seed)
	g := &Generator{
		rng:   *rand.NewPCG(seed, seed^0x9e3779b97f4a7c15),
		start: cfg.Start.Unix(),
		span:  uint64(span / time.Second),
		key:   make([]byte, 0, 128),
	}
	g.ips = g.newIPs(256)
	g.tokens = g.newTokens(32)
	seen := map[string]bool{}
	for len(g.accounts) < cfg.Accounts {
		id := string(appendUint(nil, 100_000_000_000+g.uint64n(900_000_000_000)))
		if seen[id] {
			continue
		}
		seen[id] = true
		g.accounts = append(g.accounts, g.newAccount(id))
		g.ids = append(g.ids, id)
	}
	g.catalog = newCatalog()
	g.mix = zipfTable(len(g.catalog), zipfS, 1<<14)
	return g
}

// Accounts returns the account ids the generator uses.
func (g *Generator) Accounts() []string { return slices.Clone(g.ids) }

// Next appends one record (a single JSON object, no trailing newline) to dst
// and returns the extended slice.
func (g *Generator) Next(dst []byte) []byte {
	t := g.catalog[g.mix[g.intn(len(g.mix))]]
	e := &g.draft // reused: a local would escape through the appendFuncs
	*e = draft{
		a: g.accounts[g.intn(len(g.accounts))],
		t: g.start + int64(g.uint64n(g.span)),
	}
	e.region = g.region(e.a, t)
	g.caller(e, t)
	e.failed = t.failure != failNone && g.intn(10_000) < errorsPer10k

	dst = append(dst, `{"eventVersion":"`...)
	dst = append(dst, eventVersions[g.intn(len(eventVersions))]...)
	dst = append(dst, `","userIdentity":`...)
	dst = g.appendIdentity(dst, e)
	dst = append(dst, `,"eventTime":"`...)
	dst = appendTime(dst, e.t)
	dst = append(dst, t.head...) // ","eventSource":"…","eventName":"…","awsRegion":"
	dst = append(dst, e.region...)
	dst = append(dst, `","sourceIPAddress":"`...)
	dst = append(dst, e.ip...)
	dst = append(dst, `","userAgent":`...)
	dst = appendString(dst, e.agent)
	if e.failed {
		dst = g.appendError(dst, e, t)
	}
	dst = append(dst, `,"requestParameters":`...)
	dst = g.appendValue(dst, e, t.req)
	dst = append(dst, `,"responseElements":`...)
	if e.failed && t.failure != failLogin {
		dst = append(dst, "null"...)
	} else {
		dst = g.appendValue(dst, e, t.resp)
	}
	if t.extra != nil {
		dst = append(dst, `,"additionalEventData":`...)
		dst = t.extra(g, e, dst)
	}
	dst = append(dst, `,"requestID":"`...)
	if t.s3 {
		dst = appendUpperAlnum(dst, g.rng.Uint64(), 12)
		dst = appendUpperAlnum(dst, g.rng.Uint64(), 4)
	} else {
		dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	}
	dst = append(dst, `","eventID":"`...)
	dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
	dst = append(dst, t.tail...) // ","readOnly":…,
	if t.resources != nil {
		dst = append(dst, `,"resources":[`...)
		dst = t.resources(g, e, dst)
		dst = append(dst, ']')
	}
	dst = append(dst, t.kind...) // ,"eventType":"…","managementEvent":…,"recipientAccountId":"
	dst = append(dst, e.a.id...)
	dst = append(dst, '"')
	if e.service != "" {
		dst = append(dst, `,"sharedEventID":"`...)
		dst = appendUUID(dst, g.rng.Uint64(), g.rng.Uint64())
		dst = append(dst, '"')
	}
	if e.vpce {
		dst = append(dst, `,"vpcEndpointId":"`...)
		dst = append(dst, e.a.vpce...)
		dst = append(dst, `","vpcEndpointAccountId":"`...)
		dst = append(dst, e.a.id...)
		dst = append(dst, '"')
	}
	dst = append(dst, t.category...) // ,"eventCategory":"…"
	if e.service == "" {
		dst = g.appendTLS(dst, e, t)
	}
	if e.id != nil && e.id.console {
		dst = append(dst, `,"sessionCredentialFromConsole":"true"`...)
	}
	return append(dst, '}')
}

// zipfS is the exponent of the popularity skew: the most common call
// (KMS Decrypt) is about a fifth of all events, the rarest a few per thousand.
const zipfS = 1.0

// errorsPer10k is the share of failed calls: 3%.
const errorsPer10k = 300

var eventVersions = []string{"1.08", "1.08", "1.08", "1.09", "1.09", "1.09", "1.10", "1.10", "1.11", "1.11"}

// draft is the state of the record being written.
type draft struct {
	a       *account
	t       int64 // Unix seconds
	region  string
	id      *identity // nil when an AWS service calls
	service string    // the calling service's host name, for AWSService
	ip      string
	agent   string
	failed  bool
	vpce    bool
	// Picks shared between request, response and resources.
	bucket string
	obj    []byte // object key, in g.key
	name   string
	n      uint64
}

// appendValue appends f's JSON value, or null when f is nil.
func (g *Generator) appendValue(dst []byte, e *draft, f appendFunc) []byte {
	if f == nil {
		return append(dst, "null"...)
	}
	return f(g, e, dst)
}

// region picks the event's region: the account's home region most of the
// time, a global call's us-east-1 always.
func (g *Generator) region(a *account, t *template) string {
	switch {
	case t.global:
		return "us-east-1"
	case g.intn(10) < 7:
		return a.home
	default:
		return regions[g.intn(len(regions))]
	}
}

var regions = []string{
	"us-east-1", "us-east-1", "us-east-1", "us-east-1", "us-west-2", "us-west-2",
	"eu-west-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1", "us-east-2",
}

func (g *Generator) appendTLS(dst []byte, e *draft, t *template) []byte {
	if g.intn(4) == 0 {
		dst = append(dst, `,"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"`...)
	} else {
		dst = append(dst, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
	}
	switch t.host {
	case hostRegional:
		dst = append(dst, t.prefix...)
		dst = append(dst, '.')
		dst = append(dst, e.region...)
		dst = append(dst, ".amazonaws.com"...)
	case hostBucket:
		dst = appendS3Host(dst, e)
	default:
		dst = append(dst, t.hostName...)
	}
	return append(dst, `"}`...)
}

// intn returns a uniform int in [0, n), n > 0 (Lemire's multiply-shift; the
// bias, below n/2^64, is irrelevant here).
func (g *Generator) intn(n int) int {
	hi, _ := bits.Mul64(g.rng.Uint64(), uint64(n))
	return int(hi)
}

// uint64n returns a uniform uint64 in [0, n), n > 0.
func (g *Generator) uint64n(n uint64) uint64 {
	hi, _ := bits.Mul64(g.rng.Uint64(), n)
	return hi
}

// zipfTable returns size entries mapping a uniform index to an item in
// [0, n), item k (0-based) taking a share proportional to 1/(k+1)^s.
func zipfTable(n int, s float64, size int) []uint8 {
	w := make([]float64, n)
	sum := 0.0
	for k := range w {
		w[k] = 1 / math.Pow(float64(k+1), s)
		sum += w[k]
	}
	table := make([]uint8, 0, size)
	acc := 0.0
	for k := range w {
		acc += w[k]
		for len(table) < int(acc/sum*float64(size)+0.5) {
			table = append(table, uint8(k))
		}
	}
	for len(table) < size {
		table = append(table, uint8(n-1))
	}
	return table
}
