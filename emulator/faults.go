package emulator

import (
	"math/rand/v2"
	"sync"
)

// fault is what the injector decided for one request.
type fault int

const (
	noFault fault = iota
	faultDrop
	faultServerError
	faultThrottle
	faultConflict
	// faultLostResponse applies a write, then drops the connection (status 0)
	// or answers 502 as a proxy would.
	faultLostResponse
)

func (f fault) String() string {
	return [...]string{"", "drop", "server_error", "throttle", "conflict", "lost_response"}[f]
}

// serverErrorStatuses are the 5xx answers a server-error fault picks from.
var serverErrorStatuses = []int{500, 502, 503}

// faultInjector draws one number per request from a seeded generator, so a
// seed and a request sequence always give the same faults.
type faultInjector struct {
	seed                                 int64
	drop, fail, throttle, conflict, lost float64
	anyRate                              float64

	mu  sync.Mutex
	rng *rand.Rand
}

func newFaultInjector(o Options) *faultInjector {
	f := &faultInjector{
		seed:     o.Seed,
		drop:     o.DropRate,
		fail:     o.FailRate,
		throttle: o.ThrottleRate,
		conflict: o.ConflictRate,
		lost:     o.LostResponseRate,
	}
	f.anyRate = f.drop + f.fail + f.throttle + f.conflict + f.lost
	f.reseed()
	return f
}

func (f *faultInjector) reseed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rng = rand.New(rand.NewPCG(uint64(f.seed), 0x6564676573656372)) // "edgesecr"
}

// next decides the fault for one request; conflicts (where the API has them)
// and lost responses only hit writes. status is the 5xx to answer for
// faultServerError, and for faultLostResponse 502 or 0 (drop the connection).
func (f *faultInjector) next(write, conflicts bool) (kind fault, status int) {
	if f.anyRate == 0 {
		return noFault, 0
	}
	f.mu.Lock()
	u := f.rng.Float64()
	f.mu.Unlock()

	if u < f.drop {
		return faultDrop, 0
	}
	u -= f.drop
	if u < f.fail {
		i := int(u / f.fail * float64(len(serverErrorStatuses)))
		return faultServerError, serverErrorStatuses[min(i, len(serverErrorStatuses)-1)]
	}
	u -= f.fail
	if u < f.throttle {
		return faultThrottle, 429
	}
	u -= f.throttle
	if u < f.conflict {
		if write && conflicts {
			return faultConflict, 409
		}
		return noFault, 0
	}
	u -= f.conflict
	if u < f.lost && write {
		if u < f.lost/2 {
			return faultLostResponse, 0
		}
		return faultLostResponse, 502
	}
	return noFault, 0
}
