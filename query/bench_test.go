package query

import (
	"testing"
)

// BenchmarkPartialAdd measures Partial.Add per record for typical query
// shapes (b.SetBytes counts the record bytes).
func BenchmarkPartialAdd(b *testing.B) {
	_, raws := fixture()
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	for _, bm := range []struct{ name, q string }{
		{"filter", `SELECT eventID FROM events WHERE eventName = 'NoSuchEvent'`},
		{"project", `SELECT eventTime, userIdentity.arn, element_at(requestParameters, 'bucketName') FROM events WHERE errorCode IS NULL`},
		{"topN", `SELECT eventID, eventTime FROM events ORDER BY eventTime DESC LIMIT 10`},
		{"group", `SELECT eventSource, eventName, count(*), count(DISTINCT userIdentity.arn), max(eventTime) FROM events GROUP BY 1, 2`},
		{"like", `SELECT count(*) FROM events WHERE userAgent LIKE '%Firefox%' OR eventName LIKE 'Get%Object'`},
	} {
		b.Run(bm.name, func(b *testing.B) {
			p := mustCompile(b, bm.q)
			b.SetBytes(int64(size / len(raws)))
			b.ReportAllocs()
			pa := p.NewPartial()
			i := 0
			for b.Loop() {
				if err := pa.Add(raws[i%len(raws)]); err != nil {
					b.Fatal(err)
				}
				i++
				if i%len(raws) == 0 && p.agg == false && p.limit < 0 {
					pa = p.NewPartial()
				}
			}
		})
	}
}
