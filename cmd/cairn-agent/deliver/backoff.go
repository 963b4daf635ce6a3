package deliver

import (
	"math/rand/v2"
	"time"
)

// Backoff is an exponential delay with jitter: attempt n (from 0) waits a
// random time in [d/2, d], where d = Min·2ⁿ capped at Max.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the wait before retry number attempt (0 for the first).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
