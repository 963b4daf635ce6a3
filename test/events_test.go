package test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// makeEvents builds n small but valid CloudTrail records over the given
// number of accounts, deterministically for seed.
func makeEvents(t testing.TB, n, accounts int, seed uint64) [][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	base := time.Now().Add(-48 * time.Hour).UTC()
	out := make([][]byte, n)
	for i := range out {
		acct := fmt.Sprintf("%012d", 100000000000+r.IntN(accounts))
		ts := base.Add(time.Duration(r.IntN(47*3600)) * time.Second).Format(time.RFC3339)
		id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1))
		out[i] = fmt.Appendf(nil, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":%q,"userName":"u%d"},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.%d","eventID":%q,"readOnly":true,"recipientAccountId":%q}`,
			acct, r.IntN(10), ts, r.IntN(255), id, acct)
	}
	return out
}
