package coalesce

import (
	"testing"
	"time"
)

// An operation announced (its resource checked) is waited for until it enters, is retracted,
// or its bound passes.
func TestAnnouncedOperationsArePending(t *testing.T) {
	var f InFlight
	f.Announce("app", "urn:a", time.Hour, "deploy")
	f.Announce("app", "urn:b", time.Hour, "deploy")
	f.Announce("app", "urn:c", 20*time.Millisecond, "deploy")
	if n := f.Pending("app", "deploy"); n != 3 {
		t.Fatalf("%d pending, want 3", n)
	}
	op := f.EnterAs("app", "urn:a", "deploy")
	f.Retract("urn:b")
	if n := f.Pending("app", "deploy"); n != 2 {
		t.Errorf("%d pending after one entered and one was retracted, want 2 (the one entered, the one announced)", n)
	}
	changed := f.Changed("app")
	<-changed // the bound of urn:c passes
	for f.Pending("app", "deploy") != 1 {
		<-f.Changed("app")
	}
	op.Reached("deploy")
	if n := f.Pending("app", "deploy"); n != 0 || f.Pending("other", "deploy") != 0 {
		t.Errorf("%d pending", n)
	}
}

// An announced operation that enters is pending at every instant: what waits for it (a batch,
// a rollout) wakes at each change and must never find it neither announced nor entered, or it
// would close without it. A watcher looks at every change; it must never see 0 pending.
func TestAnAnnouncedOperationEntersWithoutAGap(t *testing.T) {
	var f InFlight
	for i := range 300 {
		f.Announce("app", "urn:a", time.Hour, "deploy")
		changed := f.Changed("app")
		gap := make(chan bool, 1)
		go func() {
			<-changed
			gap <- f.Pending("app", "deploy") == 0
		}()
		op := f.EnterAs("app", "urn:a", "deploy")
		if <-gap {
			t.Fatalf("try %d: the operation was neither announced nor entered for a moment", i)
		}
		op.End()
	}
}
