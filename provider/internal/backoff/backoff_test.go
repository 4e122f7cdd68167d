package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestJitteredGrowsAndIsCapped(t *testing.T) {
	steps := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, step := range steps {
		step *= time.Millisecond
		for range 50 {
			if got := Jittered(i+1, 100*time.Millisecond, time.Second); got < step/2 || got > step {
				t.Fatalf("Jittered(%d) = %v, want in [%v, %v]", i+1, got, step/2, step)
			}
		}
	}
	if got := Jittered(1000, 100*time.Millisecond, time.Second); got > time.Second { // no overflow
		t.Errorf("Jittered(1000) = %v", got)
	}
}

func TestSleepReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("err = %v", err)
	}
}
