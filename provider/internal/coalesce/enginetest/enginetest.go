// Package enginetest runs operations as the Pulumi engine does, for the clients' coalescing
// tests: n resources, at most parallel at once, each started when another finishes.
package enginetest

import (
	"sync"
	"testing"
)

// Run runs op for each of n resources, at most parallel at once, and fails t for each error.
func Run(t testing.TB, n, parallel int, op func(i int) error) {
	t.Helper()
	work := make(chan int)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := range work {
				errs[i] = op(i)
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("resource %d: %v", i, err)
		}
	}
}
