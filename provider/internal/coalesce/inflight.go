package coalesce

import (
	"sync"
	"time"
)

// Stage is a point an operation reaches on its way: its write to an app, its deploy of an app.
type Stage string

// InFlight is what a provider instance knows is on its way to each key (an app, a store): the
// operations the engine has started there and where each has got to. A batch closes on it (not on
// a timer): it waits while an operation that entered may still reach its stage, so that
// operations the engine runs together share one call, and a lone one waits for nothing. The
// zero value is ready; it is safe for concurrent use.
type InFlight struct {
	mu        sync.Mutex
	keys      map[string]*inFlightKey
	announced map[string]*announcement // by id
}

type inFlightKey struct {
	ops     map[*Op]bool
	changed chan struct{} // closed and replaced on every change
}

// announcement is an operation the engine is known to be about to start (its resource was
// checked): pending for its stages until it enters, is retracted, or its bound passes.
type announcement struct {
	key    string
	stages map[Stage]bool
	timer  *time.Timer
}

// Announce records that an operation with id (its resource's URN) on key is about to start, and
// may reach stages: what waits for those stages waits for it too, until it enters (EnterAs),
// is retracted, or bound has passed (a resource the engine checks but never runs: one with no
// change, an up that stops). It replaces an earlier announcement of id.
func (f *InFlight) Announce(key, id string, bound time.Duration, stages ...Stage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retractLocked(id)
	a := &announcement{key: key, stages: map[Stage]bool{}}
	for _, s := range stages {
		a.stages[s] = true
	}
	if f.announced == nil {
		f.announced = map[string]*announcement{}
	}
	f.announced[id] = a
	a.timer = time.AfterFunc(bound, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.announced[id] == a {
			f.retractLocked(id)
		}
	})
	f.changedLocked(f.key(key))
}

// Retract drops the announcement of id: its operation will not start (its diff has no change).
func (f *InFlight) Retract(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retractLocked(id)
}

func (f *InFlight) retractLocked(id string) {
	a, ok := f.announced[id]
	if !ok {
		return
	}
	a.timer.Stop()
	delete(f.announced, id)
	f.changedLocked(f.key(a.key))
}

// EnterAs is Enter for the operation announced as id: its announcement is consumed. Both
// happen as one change, so that nothing waiting for the operation ever sees it neither
// announced nor entered (a batch or rollout would close without it).
func (f *InFlight) EnterAs(key, id string, stages ...Stage) *Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.announced[id]; ok && id != "" {
		a.timer.Stop()
		delete(f.announced, id)
		if a.key != key {
			f.changedLocked(f.key(a.key))
		}
	}
	return f.enterLocked(key, stages)
}

// Op is one operation that entered: it may still reach the stages it was entered with.
type Op struct {
	f       *InFlight
	key     string
	pending map[Stage]bool
}

// Enter records an operation on key that may reach each of stages. End it when it returns.
func (f *InFlight) Enter(key string, stages ...Stage) *Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enterLocked(key, stages)
}

func (f *InFlight) enterLocked(key string, stages []Stage) *Op {
	op := &Op{f: f, key: key, pending: map[Stage]bool{}}
	for _, s := range stages {
		op.pending[s] = true
	}
	k := f.key(key)
	k.ops[op] = true
	f.changedLocked(k)
	return op
}

// Key is the key the operation entered on.
func (o *Op) Key() string { return o.key }

// Reached says the operation got to stage, or will not get there: batches waiting for it stop.
func (o *Op) Reached(stage Stage) {
	if o == nil {
		return
	}
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	if o.pending[stage] {
		delete(o.pending, stage)
		o.f.changedLocked(o.f.key(o.key))
	}
}

// End says the operation returned: it reaches nothing more.
func (o *Op) End() {
	if o == nil {
		return
	}
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	k := o.f.key(o.key)
	if k.ops[o] {
		delete(k.ops, o)
		clear(o.pending)
		o.f.changedLocked(k)
	}
}

// Pending counts the operations on key that may still reach stage.
func (f *InFlight) Pending(key string, stage Stage) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for op := range f.key(key).ops {
		if op.pending[stage] {
			n++
		}
	}
	for _, a := range f.announced {
		if a.key == key && a.stages[stage] {
			n++
		}
	}
	return n
}

// Changed returns a channel that is closed at the next change on key (an operation entered,
// reached a stage or ended): a batch waiting for operations looks again then.
func (f *InFlight) Changed(key string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.key(key).changed
}

func (f *InFlight) key(key string) *inFlightKey {
	if f.keys == nil {
		f.keys = map[string]*inFlightKey{}
	}
	k, ok := f.keys[key]
	if !ok {
		k = &inFlightKey{ops: map[*Op]bool{}, changed: make(chan struct{})}
		f.keys[key] = k
	}
	return k
}

func (f *InFlight) changedLocked(k *inFlightKey) {
	close(k.changed)
	k.changed = make(chan struct{})
}
