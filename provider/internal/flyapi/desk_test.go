package flyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce/enginetest"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/instant"
)

// The emulator's routes, as its stats name them.
const (
	routeList   = "GET /v1/apps/{app}/secrets"
	routeGet    = "GET /v1/apps/{app}/secrets/{name}"
	routeBulk   = "POST /v1/apps/{app}/secrets"
	routeSet    = "POST /v1/apps/{app}/secrets/{name}"
	routeDelete = "DELETE /v1/apps/{app}/secrets/{name}"
)

// deskTest is one provider instance against an emulator as unkind as Fly (rate limit, read
// lag): every client it makes shares one Shared, pacing as the provider does.
type deskTest struct {
	t      *testing.T
	srv    *emulator.Server
	url    string
	shared *Shared
	keep   func(app, name, owner string) string
}

const testReadLag = 500 * time.Millisecond // the emulator's is 200ms

func newDeskTest(t *testing.T, apps ...string) *deskTest {
	return startDeskTest(t, emulator.Options{FlyApps: apps})
}

func startDeskTest(t *testing.T, opts emulator.Options) *deskTest {
	srv, ts := emulatortest.Start(t, opts)
	dt := &deskTest{t: t, srv: srv, url: ts.URL}
	dt.newInstance()
	return dt
}

// seeded starts with app "app" holding n secrets written at versions 1..n an hour ago (as an
// earlier operation would have left them, each resource's state naming its own).
func seeded(t *testing.T, n int) (*deskTest, []Written) {
	app := fly.AppState{Name: "app", Version: uint64(n), Secrets: []fly.SecretState{}}
	at := time.Now().Add(-time.Hour).UTC()
	for i := range n {
		app.Secrets = append(app.Secrets, fly.SecretState{Name: secretName(i), Value: fmt.Sprintf("value-%d", i),
			CreatedAt: at, UpdatedAt: at})
	}
	data, err := json.Marshal(map[string]any{"format": 1, "fly": fly.State{Apps: []fly.AppState{app}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dt := startDeskTest(t, emulator.Options{StatePath: path})
	written := make([]Written, n)
	for _, s := range dt.mustList() {
		var i int
		if _, err := fmt.Sscanf(s.Name, "SECRET_%03d", &i); err == nil {
			// As the write's answer gave it (to the microsecond): reads give it to the second.
			written[i] = Written{At: at.Truncate(time.Microsecond), Digest: s.Digest, Version: int64(i + 1)}
		}
	}
	return dt, written
}

// newInstance is the next operation's provider instance: it shares nothing with the last.
func (dt *deskTest) newInstance() {
	o := FlyPacing()
	o.ReadLag = testReadLag
	o.Keep = func(app, name, owner string) string {
		if dt.keep == nil {
			return ""
		}
		return dt.keep(app, name, owner)
	}
	dt.shared = NewShared(o)
}

// client is a new client of the instance, as the provider makes one per resource operation.
func (dt *deskTest) client(opts ...Option) *Client {
	return New(dt.url, emulator.DefaultFlyToken, append([]Option{WithShared(dt.shared), WithDesk(),
		WithReadLag(testReadLag)}, opts...)...)
}

// outsider is another process's client: it shares nothing with the instance.
func (dt *deskTest) outsider() *Client {
	return New(dt.url, emulator.DefaultFlyToken, WithShared(NewShared(SharedOptions{})))
}

// write is one resource operation that writes w to app "app".
func (dt *deskTest) write(ctx context.Context, w Write, opts ...Option) (WriteResult, error) {
	op := dt.client(opts...).Begin("app", "")
	defer op.End()
	return op.Write(ctx, w)
}

func set(name, value string) Change       { return Change{Name: name, Kind: Set, Value: value} }
func create(name, value string) Change    { return Change{Name: name, Kind: Create, Value: value} }
func unset(name string, w Written) Change { return Change{Name: name, Kind: Unset, Written: w} }

// calls counts the requests to routes since the last reset.
func (dt *deskTest) calls(routes ...string) int {
	n := 0
	for _, r := range routes {
		n += dt.srv.Stats().Routes[r]
	}
	return n
}

// mustList is what the app holds now, read by another process at the app's current version.
func (dt *deskTest) mustList() []Secret {
	dt.t.Helper()
	flyState, _ := dt.srv.State()
	var version int64
	for _, a := range flyState.Apps {
		if a.Name == "app" {
			version = int64(a.Version)
		}
	}
	listed, err := dt.outsider().ListSecrets(dt.t.Context(), "app", version)
	if err != nil {
		dt.t.Fatal(err)
	}
	return listed
}

func (dt *deskTest) holds(name string) (Secret, bool) {
	dt.t.Helper()
	for _, s := range dt.mustList() {
		if s.Name == name {
			return s, true
		}
	}
	return Secret{}, false
}

// visible waits until a read that names no version shows the outsider's write of name (Fly's
// reads lag behind writes): a condition, not a timer.
func (dt *deskTest) visible(s Secret) {
	dt.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		listed, err := dt.outsider().ListSecrets(dt.t.Context(), "app", 0)
		if err != nil {
			dt.t.Fatal(err)
		}
		for _, l := range listed {
			if l.Name == s.Name && l.Digest == s.Digest && instant.Same(l.UpdatedAt, s.UpdatedAt) {
				return
			}
		}
		if time.Now().After(deadline) {
			dt.t.Fatalf("%s never showed", s.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queued waits until the app's desk holds n writes: a condition, not a timer.
func (dt *deskTest) queued(n int) {
	dt.t.Helper()
	d := dt.client().desk("app")
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		got := len(d.writes)
		d.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			dt.t.Fatalf("the desk holds %d writes, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func secretName(i int) string { return fmt.Sprintf("SECRET_%03d", i) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Creates of many secrets of one app, at the engine's parallelism P, cost one bulk write per
// round of P (after a first write that goes at once) and one listing for their checks, under
// Fly's rate limit; each resource gets its own answer.
func TestCreatesCoalesceIntoOneWritePerRound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, parallel int }{{40, 8}, {40, 40}} {
		t.Run(fmt.Sprintf("%d at parallel %d", tc.n, tc.parallel), func(t *testing.T) {
			dt := newDeskTest(t, "app")
			answers := make([]Secret, tc.n)
			enginetest.Run(t, tc.n, tc.parallel, func(i int) error {
				res, err := dt.write(t.Context(), Write{Changes: []Change{create(secretName(i), fmt.Sprintf("value-%d", i))}})
				answers[i] = res.Secrets[secretName(i)]
				return err
			})
			writes, reads := dt.calls(routeBulk, routeSet, routeDelete), dt.calls(routeList, routeGet)
			t.Logf("%d writes, %d reads", writes, reads)
			if limit := 1 + ceilDiv(tc.n-1, tc.parallel); writes > limit {
				t.Errorf("%d write calls, want at most %d", writes, limit)
			}
			if reads != 1 {
				t.Errorf("%d read calls, want 1", reads)
			}
			byName := map[string]Secret{}
			for _, s := range dt.mustList() {
				byName[s.Name] = s
			}
			for i, a := range answers {
				if want := byName[secretName(i)]; a.Digest != want.Digest || !instant.Same(a.UpdatedAt, want.UpdatedAt) {
					t.Errorf("resource %d got %+v; the app holds %+v", i, a, want)
				}
			}
		})
	}
}

// A write waits for every operation that entered the app and has not written yet, and then they
// share one call; a lone write waits for nothing.
func TestAWriteWaitsForTheOperationsOnTheirWay(t *testing.T) {
	dt := newDeskTest(t, "app")
	var paced atomic.Int32
	notify := WithWaitNotifier(func(_ context.Context, _ time.Duration, why string) {
		if strings.Contains(why, "pacing") {
			paced.Add(1)
		}
	})
	if _, err := dt.write(t.Context(), Write{Changes: []Change{set("LONE", "v")}}, notify); err != nil {
		t.Fatal(err)
	}
	if paced.Load() != 0 || dt.calls(routeBulk) != 1 {
		t.Fatalf("a lone write waited %d times and made %d calls", paced.Load(), dt.calls(routeBulk))
	}

	slow := dt.client().Begin("app", "") // entered; its write comes later
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := dt.write(t.Context(), Write{Changes: []Change{set("FAST", "v")}}); err != nil {
			t.Error(err)
		}
	})
	dt.queued(1)
	if _, err := slow.Write(t.Context(), Write{Changes: []Change{set("SLOW", "v")}}); err != nil {
		t.Fatal(err)
	}
	slow.End()
	wg.Wait()
	if got := dt.calls(routeBulk); got != 2 {
		t.Errorf("%d bulk calls, want the lone one and one for both", got)
	}
}

// A refresh of many secrets written in many versions lists the app at most three times at any
// parallelism, and sees every secret as of the version its state names: the first listing asks
// for the version of the first reads, and a secret rewritten since (a read lag ago) may not show
// in it, so its read waits for a later one.
func TestReadsShareOneListing(t *testing.T) {
	for _, parallel := range []int{8, 50} {
		t.Run(fmt.Sprintf("parallel %d", parallel), func(t *testing.T) {
			const n = 50
			dt, written := seeded(t, n)
			// The last up rewrote a few just now: reads must not see them as they were.
			digests := map[string]string{}
			for i := range 3 {
				res, err := dt.outsider().SetSecret(t.Context(), "app", secretName(i*20), "rewritten")
				if err != nil {
					t.Fatal(err)
				}
				written[i*20] = Written{At: res.UpdatedAt, Digest: res.Digest, Version: res.Version}
				digests[res.Name] = res.Digest
			}
			dt.newInstance()
			dt.srv.ResetStats()
			enginetest.Run(t, n, parallel, func(i int) error {
				s, err := dt.client().GetSecretWritten(t.Context(), "app", secretName(i), written[i].Version, written[i].At)
				switch {
				case err != nil:
					return err
				case digests[s.Name] != "" && s.Digest != digests[s.Name]:
					return fmt.Errorf("read %s as it was before its last write", s.Name)
				}
				return nil
			})
			// (The seeding's own listing and this one follow each other faster than a user's
			// commands: one may meet the rate limit and be sent again.)
			if reads := dt.calls(routeList, routeGet) - dt.srv.Stats().Faults["rate_limited"]; reads > 3 {
				t.Errorf("%d read calls for %d reads, want at most 3", reads, n)
			}
		})
	}
}

// A destroy (each resource unsets its secret if it still holds its own write) costs one write per
// round of P and one listing.
func TestDestroyCostsOneWritePerRoundAndOneListing(t *testing.T) {
	t.Parallel()
	const n, parallel = 40, 8
	dt, written := seeded(t, n)
	dt.srv.ResetStats()
	enginetest.Run(t, n, parallel, func(i int) error {
		res, err := dt.write(t.Context(), Write{Changes: []Change{unset(secretName(i), written[i])}})
		if err == nil && !slices.Equal(res.Unset, []string{secretName(i)}) {
			err = fmt.Errorf("unset %v, left %v", res.Unset, res.Left)
		}
		return err
	})
	total := dt.srv.Stats().Total
	t.Logf("%d calls: %v", total, dt.srv.Stats().Routes)
	if limit := ceilDiv(n, parallel) + 1; total > limit {
		t.Errorf("%d calls, want at most %d", total, limit)
	}
	if left := dt.mustList(); len(left) != 0 {
		t.Errorf("%d secrets left", len(left))
	}
	// Already gone is success, with nothing sent.
	dt.srv.ResetStats()
	res, err := dt.write(t.Context(), Write{Changes: []Change{unset(secretName(0), written[0])}})
	if err != nil || len(res.Unset) != 0 || res.Left[secretName(0)] != "gone already" || dt.calls(routeBulk) != 0 {
		t.Errorf("unsetting a secret already gone: %+v, %v, %d writes", res, err, dt.calls(routeBulk))
	}
}

// An unset leaves a secret written since the owner's last write, by another process, and one
// another resource of the instance sets or declares: it never removes what someone else owns.
func TestAnUnsetLeavesWhatSomeoneElseWrote(t *testing.T) {
	t.Parallel()
	dt, written := seeded(t, 4)
	theirs, err := dt.outsider().SetSecret(t.Context(), "app", secretName(0), "taken over")
	if err != nil {
		t.Fatal(err)
	}
	// (A write another process made within the read lag before the unset's listing may not show
	// in it: the process that takes a secret over confirms its write afterwards, see Confirm.)
	dt.visible(theirs.Secret)
	dt.keep = func(_, name, owner string) string {
		if name == secretName(2) && owner == "FlyAppSecrets a" {
			return "FlySecret b"
		}
		return ""
	}
	// The move of SECRET_001 from one resource to another in one operation: its old owner's
	// unset and its new owner's write arrive together.
	dt.newInstance()
	var unsetRes WriteResult
	var wg sync.WaitGroup
	slow := dt.client().Begin("app", "")
	wg.Go(func() {
		var err error
		unsetRes, err = dt.write(t.Context(), Write{Owner: "FlyAppSecrets a", Changes: []Change{
			unset(secretName(0), written[0]), unset(secretName(1), written[1]), unset(secretName(2), written[2]),
			unset(secretName(3), written[3])}})
		if err != nil {
			t.Error(err)
		}
	})
	dt.queued(1)
	moved := Write{Owner: "FlySecret c", Changes: []Change{set(secretName(1), "moved")}}
	if _, err := slow.Write(t.Context(), moved); err != nil {
		t.Fatal(err)
	}
	slow.End()
	wg.Wait()
	if !slices.Equal(unsetRes.Unset, []string{secretName(3)}) {
		t.Errorf("unset %v, want only %s; left %v", unsetRes.Unset, secretName(3), unsetRes.Left)
	}
	if s, ok := dt.holds(secretName(0)); !ok || s.Digest != theirs.Digest {
		t.Errorf("%s, written by another since, was not left: %+v %v", secretName(0), s, ok)
	}
	for _, i := range []int{1, 2} {
		if _, ok := dt.holds(secretName(i)); !ok {
			t.Errorf("%s was removed: %s", secretName(i), unsetRes.Left[secretName(i)])
		}
	}
}

// A Create of a name the app has fails the whole Write with the existing secret named, and sends
// none of it.
func TestACreateOfAnExistingNameSendsNothing(t *testing.T) {
	dt, _ := seeded(t, 2)
	dt.srv.ResetStats()
	_, err := dt.write(t.Context(), Write{Changes: []Change{create("NEW", "v"), create(secretName(1), "v")}})
	var exists *ExistsError
	if !errors.As(err, &exists) || len(exists.Secrets) != 1 || exists.Secrets[0].Name != secretName(1) {
		t.Fatalf("got %v", err)
	}
	if _, ok := dt.holds("NEW"); ok || dt.calls(routeBulk) != 0 {
		t.Errorf("part of a refused write was sent")
	}
}

// Prune unsets what its scope selects that the owner does not manage, was written before the
// owner took the scope over, and no other resource writes or declares.
func TestPruneUnsetsOnlyWhatItMayOwn(t *testing.T) {
	t.Parallel()
	dt, _ := seeded(t, 3) // SECRET_000..002, written an hour ago
	since := time.Now().Add(-time.Minute)
	for _, name := range []string{"SECRET_NEW", "OTHER"} {
		res, err := dt.outsider().SetSecret(t.Context(), "app", name, "someone's")
		if err != nil {
			t.Fatal(err)
		}
		dt.visible(res.Secret)
	}
	dt.keep = func(_, name, _ string) string {
		if name == secretName(2) {
			return "FlySecret declared"
		}
		return ""
	}
	dt.newInstance()
	res, err := dt.write(t.Context(), Write{Owner: "FlyAppSecrets p", Changes: []Change{set(secretName(0), "managed")},
		Prune: &Prune{Match: func(n string) bool { return strings.HasPrefix(n, "SECRET_") },
			Managed: []string{secretName(0)}, Before: since}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Pruned, []string{secretName(1)}) {
		t.Errorf("pruned %v, want [%s]; left %v", res.Pruned, secretName(1), res.Left)
	}
	for _, kept := range []string{"SECRET_NEW", secretName(2), "OTHER", secretName(0)} {
		if _, ok := dt.holds(kept); !ok {
			t.Errorf("%s was removed", kept)
		}
	}
	if res.Left["SECRET_NEW"] == "" || res.Left[secretName(2)] == "" {
		t.Errorf("kept names not reported: %v", res.Left)
	}
}

// One bad name in a batch fails only its own caller: the batch is sent again one caller at a
// time.
func TestABadKeyFailsOnlyItsOwnWrite(t *testing.T) {
	t.Parallel()
	dt := newDeskTest(t, "app")
	names := []string{"GOOD_A", "not valid", "GOOD_B", "GOOD_C"}
	errs := make([]error, len(names))
	ops := make([]*Op, len(names))
	for i := range names {
		ops[i] = dt.client().Begin("app", "") // all on their way before any writes
	}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			defer ops[i].End()
			_, errs[i] = ops[i].Write(t.Context(), Write{Changes: []Change{set(name, "v")}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if bad := i == 1; bad != (err != nil) || (bad && statusOf(err) != http.StatusBadRequest) {
			t.Errorf("%s: %v", names[i], err)
		}
	}
	if got := dt.calls(routeBulk); got != 1+len(names) {
		t.Errorf("%d bulk calls, want the batch and each alone (%d)", got, 1+len(names))
	}
}

// A write by someone else between two of the instance's writes drops the listing: the next
// check lists again instead of missing it.
func TestAWriteByAnotherDropsTheListing(t *testing.T) {
	t.Parallel()
	dt := newDeskTest(t, "app")
	ctx := t.Context()
	for _, name := range []string{"A", "B"} {
		if _, err := dt.write(ctx, Write{Changes: []Change{create(name, "v")}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := dt.calls(routeList); got != 1 {
		t.Fatalf("%d listings for two creates, want 1: the first write should keep it current", got)
	}
	theirs, err := dt.outsider().SetSecret(ctx, "app", "THEIRS", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dt.write(ctx, Write{Changes: []Change{set("B", "b2")}}); err != nil {
		t.Fatal(err)
	}
	got, err := dt.client().GetSecret(ctx, "app", "THEIRS", theirs.Version)
	if err != nil || got.Digest != theirs.Digest {
		t.Errorf("another's write read back as %+v, %v", got, err)
	}
	if n := dt.calls(routeList); n != 2 {
		t.Errorf("%d listings, want 2", n)
	}
	var exists *ExistsError
	if _, err := dt.write(ctx, Write{Changes: []Change{create("THEIRS", "mine")}}); !errors.As(err, &exists) {
		t.Errorf("creating over another's secret: %v", err)
	}
}

// A secret missing from a listing fetched with no version to go by may be lag: it is looked for
// again in a listing fetched a read lag later, then reported missing.
func TestAbsenceWithNoVersionWaitsForTheReadLag(t *testing.T) {
	dt := newDeskTest(t, "app")
	c := dt.client()
	if _, err := c.GetSecret(t.Context(), "app", "NOWHERE", 0); !IsNotFound(err) || IsAppNotFound(err) {
		t.Fatalf("got %v, want a secret not found", err)
	}
	if n := dt.calls(routeList); n != 2 {
		t.Errorf("%d listings, want 2", n)
	}
	// With a version to go by, which the listing shows (it follows the instance's own write),
	// the listing is enough.
	res, err := dt.write(t.Context(), Write{Changes: []Change{set("OTHER", "v")}})
	if err != nil {
		t.Fatal(err)
	}
	dt.srv.ResetStats()
	if _, err := c.GetSecret(t.Context(), "app", "NOWHERE", res.Version); !IsNotFound(err) || dt.calls(routeList) != 0 {
		t.Errorf("got %v after %d listings", err, dt.calls(routeList))
	}
	if _, err := dt.client().GetSecret(t.Context(), "missing-app", "A", 0); !IsAppNotFound(err) {
		t.Errorf("an app that does not exist: %v", err)
	}
}

// Every caller in a batch is told of the batch's waits, and a caller whose context ends before
// its write is sent is left out of it.
func TestBatchWaitsAreToldToEveryCaller(t *testing.T) {
	dt := newDeskTest(t, "app")
	var told atomic.Int32
	notify := WithWaitNotifier(func(_ context.Context, _ time.Duration, why string) {
		if strings.Contains(why, "pacing") {
			told.Add(1)
		}
	})
	// A first write, so that the next batch waits for the rate limit.
	if _, err := dt.write(t.Context(), Write{Changes: []Change{set("FIRST", "v")}}); err != nil {
		t.Fatal(err)
	}
	hold := dt.client().Begin("app", "") // keeps the batch from going until it ends
	gone, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var cancelled error
	wg.Go(func() { _, cancelled = dt.write(gone, Write{Changes: []Change{set("WITHDRAWN", "v")}}) })
	for i := range 3 {
		wg.Go(func() {
			if _, err := dt.write(t.Context(), Write{Changes: []Change{set(secretName(10+i), "v")}}, notify); err != nil {
				t.Error(err)
			}
		})
	}
	dt.queued(4)
	cancel()
	hold.End()
	wg.Wait()
	if told.Load() < 3 {
		t.Errorf("%d callers told of the pacing wait, want 3", told.Load())
	}
	if cancelled == nil {
		t.Errorf("a write whose context ended while queued succeeded")
	}
	if _, ok := dt.holds("WITHDRAWN"); ok {
		t.Errorf("the withdrawn write was sent")
	}
}

// A takeover is confirmed once another process's unset, decided before it could see the write,
// would show: a secret gone by then is reported, to be written again.
func TestConfirmFindsASecretUnsetBehindTheWrite(t *testing.T) {
	// Reads are consistent here: the test is of what Confirm does with a listing that shows the
	// outsider's writes, not of the read lag. With the emulator's 200ms lag and the short lag
	// this test's pacing assumes, whether the listing showed them depended on how late the
	// machine ran the outsider's calls (it failed under load in CI).
	dt := startDeskTest(t, emulator.Options{FlyApps: []string{"app"}, ConsistentFlyReads: true})
	o := FlyPacing()
	o.ReadLag, o.UnsetFreshness = 50*time.Millisecond, 100*time.Millisecond
	dt.shared = NewShared(o)
	op := dt.client().Begin("app", "")
	defer op.End()
	res, err := op.Write(t.Context(), Write{Changes: []Change{set("KEPT", "v"), set("LOST", "v"), set("CHANGED", "v")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dt.outsider().DeleteSecret(t.Context(), "app", "LOST"); err != nil {
		t.Fatal(err)
	}
	if _, err := dt.outsider().SetSecret(t.Context(), "app", "CHANGED", "theirs"); err != nil {
		t.Fatal(err)
	}
	gone, changed, err := op.Confirm(t.Context(), res.At, res.Version, res.Secrets)
	if err != nil || !slices.Equal(gone, []string{"LOST"}) || !slices.Equal(changed, []string{"CHANGED"}) {
		t.Errorf("gone %v, changed %v, %v", gone, changed, err)
	}
}

// A listing may give times coarser than the writes' answers (Fly's reads here give them to the
// second): a secret written into the scope just after the owner took it over, in the same
// second, shows as written at that second's start, before the takeover. It is kept: a prune
// decides at the coarser precision, on the side of keeping.
func TestPruneKeepsWhatWasWrittenInTheSameSecondAsTheTakeover(t *testing.T) {
	t.Parallel()
	dt := newDeskTest(t, "app")
	res, err := dt.outsider().SetSecret(t.Context(), "app", "SECRET_LATE", "someone's")
	if err != nil {
		t.Fatal(err)
	}
	dt.visible(res.Secret)
	since := res.UpdatedAt.Add(-time.Microsecond) // took over its scope just before that write
	dt.newInstance()
	got, err := dt.write(t.Context(), Write{Owner: "FlyAppSecrets p", Changes: []Change{set("SECRET_OWN", "v")},
		Prune: &Prune{Match: func(n string) bool { return strings.HasPrefix(n, "SECRET_") },
			Managed: []string{"SECRET_OWN"}, Before: since}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dt.holds("SECRET_LATE"); !ok || len(got.Pruned) != 0 {
		t.Errorf("pruned %v: a secret written after the takeover, in its second, was taken for a stray", got.Pruned)
	}
	if got.Left["SECRET_LATE"] == "" {
		t.Errorf("the kept secret is not reported: %+v", got)
	}
}
