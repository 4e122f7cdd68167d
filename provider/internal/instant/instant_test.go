package instant

import (
	"testing"
	"time"
)

// Two answers of one write may name its time with other precision or in another zone.
func TestSame(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		a, b time.Time
		same bool
	}{
		{at, at.In(time.FixedZone("CET", 3600)), true},
		{at, at.Truncate(time.Millisecond), true},
		{at, at.Truncate(time.Second), true},
		{at, at.Add(time.Millisecond).Truncate(time.Millisecond), false},
		{at.Truncate(time.Second), at.Add(time.Second).Truncate(time.Second), false},
	} {
		if got := Same(tc.a, tc.b); got != tc.same {
			t.Errorf("Same(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2026-03-01T12:00:00.123456Z", "2026-03-01T13:00:00.123+01:00", true},
		{"2026-03-01T12:00:00Z", "2026-03-01T12:00:01Z", false},
		{"", "", true},
		{"", "2026-03-01T12:00:00Z", false},
	} {
		if got := SameText(tc.a, tc.b); got != tc.same {
			t.Errorf("SameText(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

// NotBefore errs on the side of "since": a time given to the second is not before an instant
// inside that second.
func TestNotBefore(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		a, b time.Time
		want bool
	}{
		{at.Truncate(time.Second), at, true},
		{at.Add(-time.Second).Truncate(time.Second), at, false},
		{at, at.Add(time.Millisecond), false},
		{at.Add(time.Microsecond), at, true},
		{at.In(time.FixedZone("", -5*3600)).Truncate(time.Second), at, true},
	} {
		if got := NotBefore(tc.a, tc.b); got != tc.want {
			t.Errorf("NotBefore(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}
