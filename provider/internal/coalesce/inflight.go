package coalesce

import "sync"

// Stage is a point an operation reaches on its way: its write to an app, its deploy of an app.
type Stage string

// InFlight is what a provider instance knows is on its way to each key (an app, a store): the
// operations the engine has started there and where each has got to. A batch closes on it (not on
// a timer): it waits while an operation that entered may still reach its stage, so that
// operations the engine runs together share one call, and a lone one waits for nothing. The
// zero value is ready; it is safe for concurrent use.
type InFlight struct {
	mu   sync.Mutex
	keys map[string]*inFlightKey
}

type inFlightKey struct {
	ops     map[*Op]bool
	changed chan struct{} // closed and replaced on every change
}

// Op is one operation that entered: it may still reach the stages it was entered with.
type Op struct {
	f       *InFlight
	key     string
	pending map[Stage]bool
}

// Enter records an operation on key that may reach each of stages. End it when it returns.
func (f *InFlight) Enter(key string, stages ...Stage) *Op {
	op := &Op{f: f, key: key, pending: map[Stage]bool{}}
	for _, s := range stages {
		op.pending[s] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
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
