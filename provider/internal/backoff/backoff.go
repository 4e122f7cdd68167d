// Package backoff is the wait between attempts that both API clients use. It has no Pulumi
// imports and no state.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jittered is the wait before retry number attempt (1-based): minimum doubled per attempt, at
// most maximum, with "equal jitter" (half fixed, half random), so that clients throttled
// together spread out while each still waits at least half the step.
func Jittered(attempt int, minimum, maximum time.Duration) time.Duration {
	step := minimum
	for i := 1; i < attempt && step < maximum; i++ {
		step *= 2
	}
	step = min(step, maximum)
	half := step / 2
	return half + rand.N(step-half+1)
}

// Sleep waits d, or until ctx ends (its error is returned then).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
