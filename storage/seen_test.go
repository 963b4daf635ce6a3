package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// TestDedupMemoryAgreesWithReads: with the dedup memory holding some days,
// none, or too few keys to hold any, every event gets the status a model of
// what is stored gives it: across re-sends, late events for old days,
// reopening, and a cut after which deleted events are stored again.
func TestDedupMemoryAgreesWithReads(t *testing.T) {
	for _, tc := range []struct {
		name          string
		days, maxKeys int
	}{{"default", seenMaxDays, seenMaxKeys}, {"two days", 2, seenMaxKeys}, {"no room", seenMaxDays, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(d, k int) { seenMaxDays, seenMaxKeys = d, k }(seenMaxDays, seenMaxKeys)
			seenMaxDays, seenMaxKeys = tc.days, tc.maxKeys
			r := rand.New(rand.NewPCG(3, 4))
			dir := t.TempDir()
			db := mustOpen(t, dir, Options{})
			stored := map[string]bool{}
			var all []*cairnv1.Event
			index := uint64(0)
			apply := func(batch []*cairnv1.Event) {
				t.Helper()
				index++
				got := mustApply(t, db, index, batch...)
				for i, e := range batch {
					// The dedup identity: the event key, led by its day.
					k := fmt.Sprintf("%d/%s/%s/%d/%s", dayOf(e.EventTimeUnixNano), e.Account, e.Region, e.EventTimeUnixNano, e.EventId)
					want := duplicate
					if !stored[k] {
						want, stored[k] = cairnv1.EventStatus_EVENT_STATUS_STORED, true
					}
					if got[i] != want {
						t.Fatalf("entry %d, event %d (%s): %v, want %v", index, i, k, got[i], want)
					}
				}
			}
			for day := range 8 {
				var batch []*cairnv1.Event
				for i := range 40 {
					at := day0.Add(time.Duration(day)*24*time.Hour + time.Duration(i)*time.Minute)
					e := ev(fmt.Sprintf("%012d", r.IntN(3)), "us-east-1", fmt.Sprintf("id-%d", r.IntN(200)), at)
					batch = append(batch, e)
					all = append(all, e)
				}
				// Re-sends of earlier events, old days among them.
				for range 15 {
					batch = append(batch, all[r.IntN(len(all))])
				}
				apply(batch)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = mustOpen(t, dir, Options{})
			batch := slices.Clone(all[:30])
			batch = append(batch, ev("999999999999", "us-east-1", "new", day0.Add(7*24*time.Hour)))
			apply(batch)

			// A cut deletes the first four days; their events are new again.
			ret := NewRetention(&cairnv1.RetentionRules{Policies: []*cairnv1.RetentionPolicy{{Days: 4}}}, day0.Add(8*24*time.Hour).UnixNano())
			index++
			if _, err := db.ApplyCut(index, ret); err != nil {
				t.Fatal(err)
			}
			for k := range stored {
				var d int32
				fmt.Sscanf(k, "%d/", &d)
				if int64(d+1)*nanosPerDay <= ret.Cutoff("", "") {
					delete(stored, k)
				}
			}
			apply(slices.Clone(all))
		})
	}
}
