package flyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce/enginetest"
)

// The emulator's routes, as its stats name them.
const (
	routeList   = "GET /v1/apps/{app}/secrets"
	routeGet    = "GET /v1/apps/{app}/secrets/{name}"
	routeBulk   = "POST /v1/apps/{app}/secrets"
	routeSet    = "POST /v1/apps/{app}/secrets/{name}"
	routeDelete = "DELETE /v1/apps/{app}/secrets/{name}"
)

// coalescingTest is one provider process against an emulator as unkind as Fly (rate limit, read
// lag): every client it makes shares one Shared, pacing as the provider does.
type coalescingTest struct {
	t      *testing.T
	srv    *emulator.Server
	url    string
	shared *Shared
}

const testReadLag = 500 * time.Millisecond // the emulator's is 200ms

func newCoalescingTest(t *testing.T, apps ...string) *coalescingTest {
	return startCoalescingTest(t, emulator.Options{FlyApps: apps})
}

func startCoalescingTest(t *testing.T, opts emulator.Options) *coalescingTest {
	srv, ts := emulatortest.Start(t, opts)
	return &coalescingTest{t: t, srv: srv, url: ts.URL, shared: NewShared(FlyRequestsPerSecond*paceMargin, FlyRequestBurst)}
}

// seeded starts with app "app" holding n secrets written at versions 1..n (as an earlier
// operation would have left them, each resource's state naming its own), settled.
func seeded(t *testing.T, n int) (*coalescingTest, []int64) {
	app := fly.AppState{Name: "app", Version: uint64(n), Secrets: []fly.SecretState{}}
	versions := make([]int64, n)
	at := time.Now().Add(-time.Hour).UTC()
	for i := range n {
		app.Secrets = append(app.Secrets, fly.SecretState{Name: secretName(i), Value: fmt.Sprintf("value-%d", i), CreatedAt: at, UpdatedAt: at})
		versions[i] = int64(i + 1)
	}
	data, err := json.Marshal(map[string]any{"format": 1, "fly": fly.State{Apps: []fly.AppState{app}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return startCoalescingTest(t, emulator.Options{StatePath: path}), versions
}

// client is a new client of the process, as the provider makes one per resource operation.
func (ct *coalescingTest) client(opts ...Option) *Client {
	return New(ct.url, emulator.DefaultFlyToken, append([]Option{WithShared(ct.shared),
		WithCoalescing(0, 0), WithReadLag(testReadLag)}, opts...)...)
}

// newProcess is the next operation's provider process: it shares nothing with the last.
func (ct *coalescingTest) newProcess() {
	ct.shared = NewShared(FlyRequestsPerSecond*paceMargin, FlyRequestBurst)
}

// calls counts the requests to routes since the last reset.
func (ct *coalescingTest) calls(routes ...string) int {
	n := 0
	for _, r := range routes {
		n += ct.srv.Stats().Routes[r]
	}
	return n
}

func secretName(i int) string { return fmt.Sprintf("SECRET_%03d", i) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Creates of many secrets of one app, at the engine's parallelism P, cost one bulk write per
// round of P and a listing or two for their looks, under Fly's rate limit; each resource gets
// its own answer.
func TestCreatesCoalesceIntoOneWritePerRound(t *testing.T) {
	for _, tc := range []struct{ n, parallel int }{{40, 8}, {40, 40}} {
		t.Run(fmt.Sprintf("%d at parallel %d", tc.n, tc.parallel), func(t *testing.T) {
			ct := newCoalescingTest(t, "app")
			answers := make([]SetSecretResponse, tc.n)
			enginetest.Run(t, tc.n, tc.parallel, func(i int) (err error) {
				answers[i], err = ct.client().CreateSecret(t.Context(), "app", secretName(i), fmt.Sprintf("value-%d", i))
				return err
			})
			writes, reads := ct.calls(routeBulk, routeSet, routeDelete), ct.calls(routeList, routeGet)
			t.Logf("%d writes, %d reads", writes, reads)
			if limit := ceilDiv(tc.n, tc.parallel) + 2; writes > limit {
				t.Errorf("%d write calls, want at most %d", writes, limit)
			}
			if reads > 2 {
				t.Errorf("%d read calls, want at most 2", reads)
			}
			if got := ct.calls(routeSet, routeGet); got != 0 {
				t.Errorf("%d single-secret calls", got)
			}
			ct.assertAnswersMatch(answers)
		})
	}
}

// assertAnswersMatch checks each caller's answer against what the app holds.
func (ct *coalescingTest) assertAnswersMatch(answers []SetSecretResponse) {
	ct.t.Helper()
	var newest int64
	for _, a := range answers {
		newest = max(newest, a.Version)
	}
	listed, err := New(ct.url, emulator.DefaultFlyToken, WithShared(NewShared(0, 0))).ListSecrets(ct.t.Context(), "app", newest)
	if err != nil {
		ct.t.Fatal(err)
	}
	byName := map[string]Secret{}
	for _, s := range listed {
		byName[s.Name] = s
	}
	for i, a := range answers {
		want, ok := byName[secretName(i)]
		if !ok || a.Name != want.Name || a.Digest != want.Digest || !a.UpdatedAt.Equal(want.UpdatedAt) || a.Version == 0 {
			ct.t.Errorf("resource %d got %+v; the app holds %+v", i, a, want)
		}
	}
}

// A refresh of many secrets written in many versions lists the app at most three times at any
// parallelism, and sees every secret as of the version its state names.
func TestReadsShareOneListing(t *testing.T) {
	for _, parallel := range []int{8, 50} {
		t.Run(fmt.Sprintf("parallel %d", parallel), func(t *testing.T) {
			const n = 50
			ct, versions := seeded(t, n)
			// The last up rewrote a few just now: reads must not see them as they were.
			digests := map[string]string{}
			plain := New(ct.url, emulator.DefaultFlyToken, WithShared(NewShared(0, 0)))
			for i := range 3 {
				res, err := plain.SetSecret(t.Context(), "app", secretName(i*20), "rewritten")
				if err != nil {
					t.Fatal(err)
				}
				versions[i*20], digests[res.Name] = res.Version, res.Digest
			}
			ct.newProcess()
			ct.srv.ResetStats()
			enginetest.Run(t, n, parallel, func(i int) error {
				s, err := ct.client().GetSecret(t.Context(), "app", secretName(i), versions[i])
				switch {
				case err != nil:
					return err
				case s.Name != secretName(i):
					return fmt.Errorf("got %q", s.Name)
				case digests[s.Name] != "" && s.Digest != digests[s.Name]:
					return fmt.Errorf("read %s as it was before its last write", s.Name)
				}
				return nil
			})
			reads := ct.calls(routeList, routeGet)
			t.Logf("%d read calls", reads)
			if reads > 3 {
				t.Errorf("%d read calls for %d reads, want at most 3", reads, n)
			}
		})
	}
}

// Reads that know when their secret was last written (state records it) are served by the first
// listing that shows it so written, however old the version it asked for: one listing, no wait
// for the read lag. One the listing shows older than its write waits for a later listing.
func TestReadsThatKnowTheirWriteNeedOneListing(t *testing.T) {
	const n, parallel = 40, 8
	ct, versions := seeded(t, n)
	written := map[string]time.Time{}
	for _, s := range ct.mustList() {
		written[s.Name] = s.UpdatedAt
	}
	ct.newProcess()
	ct.srv.ResetStats()
	start := time.Now()
	enginetest.Run(t, n, parallel, func(i int) error {
		_, err := ct.client().GetSecretWritten(t.Context(), "app", secretName(i), versions[i], written[secretName(i)])
		return err
	})
	if reads, took := ct.calls(routeList, routeGet), time.Since(start); reads != 1 || took >= testReadLag {
		t.Errorf("%d read calls in %v, want one, before the read lag (%v) has passed", reads, took, testReadLag)
	}

	ct.newProcess()
	ct.srv.ResetStats()
	if _, err := ct.client().GetSecretWritten(t.Context(), "app", secretName(0), 1, written[secretName(0)]); err != nil {
		t.Fatal(err)
	}
	late := written[secretName(1)].Add(time.Hour) // a write the first listing does not show
	if _, err := ct.client().GetSecretWritten(t.Context(), "app", secretName(1), n, late); err != nil {
		t.Fatal(err)
	}
	// (The test's processes follow each other faster than a user's commands: a listing may
	// meet the rate limit and be sent again.)
	if reads := ct.calls(routeList) - ct.srv.Stats().Faults["rate_limited"]; reads != 2 {
		t.Errorf("%d listings: a read the first listing does not show needs a later one", reads)
	}
}

// mustList is what the app holds, read by another process.
func (ct *coalescingTest) mustList() []Secret {
	ct.t.Helper()
	listed, err := New(ct.url, emulator.DefaultFlyToken, WithShared(NewShared(0, 0))).ListSecrets(ct.t.Context(), "app", 0)
	if err != nil {
		ct.t.Fatal(err)
	}
	return listed
}

// A destroy (each resource reads its secret to check it is still its own, then deletes it) costs
// at most ceil(N/P)+2 calls, reads included: the listing follows the process's own deletes.
func TestDestroyCostsOneWritePerRoundAndTwoListings(t *testing.T) {
	const n, parallel = 40, 8
	ct, versions := seeded(t, n)
	enginetest.Run(t, n, parallel, func(i int) error {
		c := ct.client()
		if _, err := c.GetSecret(t.Context(), "app", secretName(i), versions[i]); err != nil {
			return err
		}
		_, err := c.DeleteSecret(t.Context(), "app", secretName(i))
		return err
	})
	total := ct.srv.Stats().Total
	t.Logf("%d calls: %v", total, ct.srv.Stats().Routes)
	if limit := ceilDiv(n, parallel) + 2; total > limit {
		t.Errorf("%d calls, want at most %d", total, limit)
	}
	if left, _ := ct.client().ListSecrets(t.Context(), "app", 0); len(left) != 0 {
		t.Errorf("%d secrets left", len(left))
	}
	// Already gone is success.
	if _, err := ct.client().DeleteSecret(t.Context(), "app", secretName(0)); err != nil {
		t.Errorf("deleting a secret already gone: %v", err)
	}
}

// One bad name in a batch fails only its own caller: the batch is sent again one caller at a
// time.
func TestABadKeyFailsOnlyItsOwnWrite(t *testing.T) {
	ct := newCoalescingTest(t, "app")
	names := []string{"GOOD_A", "not valid", "GOOD_B", "GOOD_C"}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { _, errs[i] = ct.client().SetSecret(t.Context(), "app", name, "v") })
	}
	wg.Wait()
	for i, err := range errs {
		if bad := i == 1; bad != (err != nil) || (bad && statusOf(err) != http.StatusBadRequest) {
			t.Errorf("%s: %v", names[i], err)
		}
	}
	if got := ct.calls(routeBulk); got != 1+len(names) {
		t.Errorf("%d bulk calls, want the batch and each alone (%d)", got, 1+len(names))
	}
}

// A write by someone else between two of this process's writes drops the listing: the next read
// lists again instead of missing it.
func TestAWriteByAnotherDropsTheListing(t *testing.T) {
	ct := newCoalescingTest(t, "app")
	ctx := t.Context()
	c := ct.client()
	if _, err := c.CreateSecret(ctx, "app", "A", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, "app", "B", "b"); err != nil {
		t.Fatal(err)
	}
	if got := ct.calls(routeList); got != 1 {
		t.Fatalf("%d listings for two creates, want 1: the first write should update it", got)
	}
	other := New(ct.url, emulator.DefaultFlyToken, WithShared(NewShared(0, 0)))
	theirs, err := other.SetSecret(ctx, "app", "THEIRS", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetSecret(ctx, "app", "B", "b2"); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecret(ctx, "app", "THEIRS", theirs.Version)
	if err != nil || got.Digest != theirs.Digest {
		t.Errorf("another's write read back as %+v, %v", got, err)
	}
	if n := ct.calls(routeList); n != 2 {
		t.Errorf("%d listings, want 2", n)
	}
	// CreateSecret's look uses the same listing: one of theirs is not taken over.
	var exists *ExistsError
	if _, err := c.CreateSecret(ctx, "app", "THEIRS", "mine"); !errors.As(err, &exists) {
		t.Errorf("creating over another's secret: %v", err)
	}
}

// A secret missing from a listing fetched with no version to go by may be lag: it is looked for
// again in a listing fetched a read lag later, then reported missing.
func TestAbsenceWithNoVersionWaitsForTheReadLag(t *testing.T) {
	ct := newCoalescingTest(t, "app")
	c := ct.client()
	start := time.Now()
	if _, err := c.GetSecret(t.Context(), "app", "NOWHERE", 0); !IsNotFound(err) || IsAppNotFound(err) {
		t.Fatalf("got %v, want a secret not found", err)
	}
	if waited := time.Since(start); waited < testReadLag-50*time.Millisecond {
		t.Errorf("answered after %v, before the read lag passed", waited)
	}
	if n := ct.calls(routeList); n != 2 {
		t.Errorf("%d listings, want 2", n)
	}
	// With a version to go by, which the listing shows (it follows this process's own write),
	// the listing is enough.
	written, err := c.SetSecret(t.Context(), "app", "OTHER", "v")
	if err != nil {
		t.Fatal(err)
	}
	ct.srv.ResetStats()
	if _, err := c.GetSecret(t.Context(), "app", "NOWHERE", written.Version); !IsNotFound(err) || ct.calls(routeList) != 0 {
		t.Errorf("got %v after %d listings", err, ct.calls(routeList))
	}
	if _, err := ct.client().GetSecret(t.Context(), "missing-app", "A", 0); !IsAppNotFound(err) {
		t.Errorf("an app that does not exist: %v", err)
	}
}

// Every caller in a batch is told of the batch's waits, and a caller whose context ends before
// its write is sent is left out of it.
func TestBatchWaitsAreToldToEveryCaller(t *testing.T) {
	ct := newCoalescingTest(t, "app")
	var told atomic.Int32
	notify := WithWaitNotifier(func(_ context.Context, _ time.Duration, why string) {
		if strings.Contains(why, "pacing") {
			told.Add(1)
		}
	})
	// Spend the burst, so that the next batch waits for the rate limit.
	for i := range FlyRequestBurst {
		if _, err := ct.client().SetSecret(t.Context(), "app", secretName(i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	gone, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var cancelled error
	wg.Go(func() { _, cancelled = ct.client().SetSecret(gone, "app", "WITHDRAWN", "v") })
	for i := range 3 {
		wg.Go(func() {
			if _, err := ct.client(notify).SetSecret(t.Context(), "app", secretName(10+i), "v"); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	wg.Wait()
	if told.Load() < 3 {
		t.Errorf("%d callers told of the pacing wait, want 3", told.Load())
	}
	if cancelled == nil {
		t.Errorf("a write whose context ended while queued succeeded")
	}
	if _, err := ct.client().GetSecret(t.Context(), "app", "WITHDRAWN", 0); !IsNotFound(err) {
		t.Errorf("the withdrawn write was sent: %v", err)
	}
}
