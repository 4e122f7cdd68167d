// Package instant compares timestamps as instants: two answers of one API may give the time of
// one write with other fractional precision, or in another zone, and that must never read as
// another writer.
package instant

import "time"

// Same reports whether two timestamps of one write name the same instant: the finer one is
// compared cut to the coarser one's precision.
func Same(a, b time.Time) bool {
	if a.Equal(b) {
		return true
	}
	unit := max(precision(a), precision(b))
	return a.Truncate(unit).Equal(b.Truncate(unit))
}

// SameText is Same for RFC 3339 texts, as state records them; "" is the same only as "".
func SameText(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA != nil || errB != nil {
		return a == b
	}
	return Same(ta, tb)
}

// precision is the coarsest unit t is a whole number of (a second, a millisecond, ...).
func precision(t time.Time) time.Duration {
	ns := t.Nanosecond()
	for _, unit := range []time.Duration{time.Second, time.Millisecond, time.Microsecond} {
		if ns%int(unit) == 0 {
			return unit
		}
	}
	return time.Nanosecond
}

// NotBefore reports whether a is not before b when both are cut to the coarser one's precision:
// an answer that gives a write's time to the second shows a write made just after b, in b's
// second, as not before b. It is the test that errs on the side of "written since".
func NotBefore(a, b time.Time) bool {
	unit := max(precision(a), precision(b))
	return !a.Truncate(unit).Before(b.Truncate(unit))
}
