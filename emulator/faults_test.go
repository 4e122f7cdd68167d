package emulator_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// outcomes sends n reads and records each answer's status, -1 for a dropped
// connection.
func outcomes(t *testing.T, base string, n int) []int {
	t.Helper()
	var out []int
	for range n {
		r := call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil)
		if r.err != nil {
			out = append(out, -1)
			continue
		}
		out = append(out, r.status)
	}
	return out
}

func TestFaultsAreReproducibleWithASeed(t *testing.T) {
	opts := emulator.Options{FlyApps: []string{"demo"}, DropRate: 0.1, FailRate: 0.2, ThrottleRate: 0.2, Seed: 42}
	srvA, a := start(t, opts)
	_, b := start(t, opts)
	first := outcomes(t, a, 60)
	second := outcomes(t, b, 60)
	if !slices.Equal(first, second) {
		t.Fatalf("same seed, different faults:\n%v\n%v", first, second)
	}
	for _, status := range []int{-1, 200, 429} {
		if !slices.Contains(first, status) {
			t.Errorf("no %d in %v", status, first)
		}
	}
	if !slices.ContainsFunc(first, func(s int) bool { return s >= 500 }) {
		t.Errorf("no 5xx in %v", first)
	}

	// Reset re-seeds: the sequence starts over.
	srvA.Reset()
	if again := outcomes(t, a, 60); !slices.Equal(again, first) {
		t.Errorf("after Reset:\n%v\nwant\n%v", again, first)
	}

	_, c := start(t, emulator.Options{FlyApps: []string{"demo"}, DropRate: 0.1, FailRate: 0.2, ThrottleRate: 0.2, Seed: 7})
	if other := outcomes(t, c, 60); slices.Equal(other, first) {
		t.Error("seeds 42 and 7 gave the same 60 faults")
	}
}

func TestThrottleCarriesRetryAfter(t *testing.T) {
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}, ThrottleRate: 1})
	r := call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 429)
	if r.header.Get("Retry-After") != "1" || strings.TrimSpace(r.body) != `{"error":"rate limit exceeded"}` {
		t.Errorf("Fly 429: Retry-After %q body %s", r.header.Get("Retry-After"), r.body)
	}
	r = call(t, "GET", base+accountPath+"/quota", cfAuth, nil).want(t, 429)
	if r.header.Get("Retry-After") != "1" ||
		!strings.Contains(
			r.body,
			`"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]`,
		) ||
		!strings.Contains(r.body, `"success":false`) {
		t.Errorf("Cloudflare 429: Retry-After %q body %s", r.header.Get("Retry-After"), r.body)
	}
}

func TestServerErrorsUseEachAPIsShape(t *testing.T) {
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}, FailRate: 1})
	r := call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil)
	if r.status < 500 || !strings.HasPrefix(r.body, `{"error":"internal server error`) {
		t.Errorf("Fly 5xx: %d %s", r.status, r.body)
	}
	r = call(t, "GET", base+accountPath+"/quota", cfAuth, nil)
	if r.status < 500 || !strings.Contains(r.body, `"code":10002`) || !strings.Contains(r.body, `"result":null`) {
		t.Errorf("Cloudflare 5xx: %d %s", r.status, r.body)
	}
	// The control routes are never faulted.
	call(t, "GET", base+"/_emulator/stats", "", nil).want(t, 200)
}

func TestDropClosesTheConnection(t *testing.T) {
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}, DropRate: 1})
	if r := call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil); r.err == nil {
		t.Errorf("got %d %s, want a transport error", r.status, r.body)
	}
}

func TestConflictsHitFlyWritesOnly(t *testing.T) {
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}, ConflictRate: 1})
	r := call(t, "POST", base+"/v1/apps/demo/secrets/A", flyAuth, map[string]string{"value": "x"}).want(t, 409)
	if !strings.HasPrefix(r.body, `{"error":"conflict`) {
		t.Errorf("409 body %s", r.body)
	}
	call(t, "POST", base+"/v1/apps/demo/secrets", flyAuth, `{"values":{"A":"x"}}`).want(t, 409)
	call(t, "DELETE", base+"/v1/apps/demo/secrets/A", flyAuth, nil).want(t, 409)
	call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 200)
	call(
		t,
		"POST",
		base+accountPath+"/stores/"+defaultStoreID(t, base)+"/secrets",
		cfAuth,
		[]map[string]any{
			{"name": "A", "value": "v", "scopes": []string{"workers"}},
		},
	).want(t, 200) // Cloudflare writes are not affected
}

func TestLatency(t *testing.T) {
	const latency = 100 * time.Millisecond
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}, Latency: latency})
	began := time.Now()
	call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 200)
	if d := time.Since(began); d < latency {
		t.Errorf("answered in %v, want at least %v", d, latency)
	}
	began = time.Now()
	call(t, "GET", base+"/_emulator/stats", "", nil).want(t, 200)
	if d := time.Since(began); d >= latency {
		t.Errorf("control route delayed %v", d)
	}
}

func TestLostResponsesApplyTheWrite(t *testing.T) {
	// Consistent reads and lists and no rate limit: this test is about lost answers;
	// 20 writes in a row would otherwise meet the limit and the final reads the lag.
	srv, base := start(
		t,
		emulator.Options{FlyApps: []string{"demo"}, LostResponseRate: 1, ConsistentFlyReads: true, NoRateLimit: true,
			ConsistentCloudflareLists: true},
	)
	dropped, proxied := 0, 0
	for i := range 20 {
		r := call(t, "POST", fmt.Sprintf("%s/v1/apps/demo/secrets/K%d", base, i), flyAuth, map[string]string{"value": "v"})
		switch {
		case r.err != nil:
			dropped++
		case r.status == 502:
			proxied++
		default:
			t.Fatalf("write %d answered %d %s: its answer should be lost", i, r.status, r.body)
		}
	}
	if dropped == 0 || proxied == 0 {
		t.Errorf("lost answers: %d dropped, %d 502; want both kinds", dropped, proxied)
	}
	if n := srv.Stats().Faults["lost_response"]; n != 20 {
		t.Errorf("stats count %d lost responses, want 20", n)
	}
	// Every write was applied; reads are never lost.
	var list struct {
		Secrets []struct{ Name string } `json:"secrets"`
	}
	call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 200).decode(t, &list)
	if len(list.Secrets) != 20 {
		t.Errorf("the emulator holds %d secrets after 20 lost writes, want 20", len(list.Secrets))
	}
	// Cloudflare writes too.
	storeID := defaultStoreID(t, base)
	r := call(t, "POST", base+accountPath+"/stores/"+storeID+"/secrets", cfAuth,
		[]map[string]any{{"name": "LOST", "value": "v", "scopes": []string{"workers"}}})
	if r.err == nil && r.status != 502 {
		t.Fatalf("Cloudflare create answered %d, want its answer lost", r.status)
	}
	var secrets struct {
		Result []struct{ Name string } `json:"result"`
	}
	call(t, "GET", base+accountPath+"/stores/"+storeID+"/secrets", cfAuth, nil).want(t, 200).decode(t, &secrets)
	if len(secrets.Result) != 1 {
		t.Errorf("store holds %d secrets after a lost create, want 1", len(secrets.Result))
	}
}

func TestCloudflareRateLimit(t *testing.T) {
	_, base := start(t, emulator.Options{})
	// 1,200 requests per 5 minutes: the bucket refills at 4/s while the loop
	// runs, so the first 429 comes a few requests after the 1,200th.
	began := time.Now()
	var limited reply
	for i := range 1400 {
		if limited = call(t, "GET", base+accountPath+"/quota", cfAuth, nil); limited.status == 429 {
			if refill := int(time.Since(began).Seconds()*4) + 1; i < 1200 || i > 1200+refill {
				t.Errorf("first 429 after %d requests, want 1,200 plus at most %d refilled", i, refill)
			}
			break
		}
		if limited.status != 200 {
			t.Fatalf("request %d answered %d", i+1, limited.status)
		}
	}
	if limited.status != 429 || limited.header.Get("Retry-After") == "" || !strings.Contains(limited.body, `"code":971`) {
		t.Errorf("429: status %d Retry-After %q body %s", limited.status, limited.header.Get("Retry-After"), limited.body)
	}
	_, unlimited := start(t, emulator.Options{NoRateLimit: true})
	for range 1300 {
		call(t, "GET", unlimited+accountPath+"/quota", cfAuth, nil).want(t, 200)
	}
}

func TestRateLimitIsOnByDefault(t *testing.T) {
	srv, base := start(t, emulator.Options{FlyApps: []string{"demo", "other"}})
	set := func(app string, i int) reply {
		return call(
			t,
			"POST",
			fmt.Sprintf("%s/v1/apps/%s/secrets/K%d", base, app, i),
			flyAuth,
			map[string]string{"value": "v"},
		)
	}
	for i := range 3 { // the burst
		set("demo", i).want(t, 201)
	}
	r := set("demo", 3).want(t, 429)
	if n := srv.Stats().Faults["rate_limited"]; n != 1 {
		t.Errorf("stats count %d rate-limited answers, want 1", n)
	}
	route := "POST /v1/apps/{app}/secrets/{name}"
	if st := srv.Stats(); st.RateLimited[route] != 1 || st.Routes[route] != 4 || st.Answered()[route] != 3 {
		t.Errorf("%d requests, %d refused by the rate limit, %d answered; want 4, 1, 3",
			st.Routes[route], st.RateLimited[route], st.Answered()[route])
	}
	if r.header.Get("Retry-After") != "1" || strings.TrimSpace(r.body) != `{"error":"rate limit exceeded"}` {
		t.Errorf("429: Retry-After %q body %s", r.header.Get("Retry-After"), r.body)
	}
	// Fly documents no Retry-After: the next refusal comes without one, the one after with it.
	if r := set("demo", 4).want(t, 429); r.header.Get("Retry-After") != "" {
		t.Errorf("the second 429 carries Retry-After %q, want none", r.header.Get("Retry-After"))
	}
	if r := set("demo", 5).want(t, 429); r.header.Get("Retry-After") == "" {
		t.Errorf("the third 429 carries no Retry-After")
	}
	// Another action on the same app, and the same action on another app,
	// have buckets of their own.
	call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 200)
	set("other", 0).want(t, 201)
	// Cloudflare's limit is far higher.
	for range 5 {
		call(t, "GET", base+accountPath+"/quota", cfAuth, nil).want(t, 200)
	}

	_, off := start(t, emulator.Options{FlyApps: []string{"demo"}, NoRateLimit: true})
	for i := range 10 {
		call(
			t,
			"POST",
			fmt.Sprintf("%s/v1/apps/demo/secrets/K%d", off, i),
			flyAuth,
			map[string]string{"value": "v"},
		).want(t, 201)
	}
}

// scheduleTarget is one app, store or script of TestFaultScheduleHitsTheRequestsItNames, with
// how to write its i-th secret and to read its secrets.
type scheduleTarget struct {
	name         string
	write        func(base string, i int) reply
	read         func(base string) reply
	writeAnswers []int // what each write must answer; 0 is a dropped connection
}

// lostAnswer is how a reply reads whose answer was lost as a proxy loses it.
const lostAnswer = 502

// The schedule's rules, and what they make each target's 10 writes answer: Fly apps count
// their own writes, the store and the script theirs, so the same places fault on every target
// whatever the order in which the targets' requests interleave.
var (
	testSchedule = []emulator.ScheduledFault{
		{API: emulator.APIFly, Kind: emulator.FaultServerError, At: 2},
		{API: emulator.APIFly, Kind: emulator.FaultConflict, At: 5},
		{Kind: emulator.FaultLostResponse, Status: 502, At: 3, Every: 4},
		{API: emulator.APICloudflare, Kind: emulator.FaultThrottle, At: 1},
		{Kind: emulator.FaultConflict, At: 6}, // Cloudflare has no 409: its 6th write passes
		{Kind: emulator.FaultServerError, Status: 503, At: 2, Reads: true},
	}
	flyAnswers        = []int{201, 500, lostAnswer, 201, 409, 409, lostAnswer, 201, 201, 201}
	cloudflareAnswers = []int{429, 200, lostAnswer, 200, 200, 200, lostAnswer, 200, 200, 200}
	readAnswers       = []int{200, 503, 200}
)

func scheduleTargets(t *testing.T, base string) []scheduleTarget {
	storeSecrets := base + accountPath + "/stores/" + defaultStoreID(t, base) + "/secrets"
	scriptSecrets := base + "/client/v4/accounts/" + emulator.DefaultCloudflareAccount + "/workers/scripts/api/secrets"
	fly := func(app string) scheduleTarget {
		return scheduleTarget{
			name: "app " + app,
			write: func(base string, i int) reply {
				return call(t, "POST", fmt.Sprintf("%s/v1/apps/%s/secrets/K%d", base, app, i), flyAuth,
					map[string]string{"value": "v"})
			},
			read:         func(base string) reply { return call(t, "GET", base+"/v1/apps/"+app+"/secrets", flyAuth, nil) },
			writeAnswers: flyAnswers,
		}
	}
	return []scheduleTarget{fly("a"), fly("b"), {
		name: "store",
		write: func(_ string, i int) reply {
			return call(t, "POST", storeSecrets, cfAuth,
				[]map[string]any{{"name": fmt.Sprintf("K%d", i), "value": "v", "scopes": []string{"workers"}}})
		},
		read:         func(string) reply { return call(t, "GET", storeSecrets, cfAuth, nil) },
		writeAnswers: cloudflareAnswers,
	}, {
		name: "script",
		write: func(_ string, i int) reply {
			return call(t, "PUT", scriptSecrets, cfAuth,
				map[string]string{"name": fmt.Sprintf("K%d", i), "text": "v", "type": "secret_text"})
		},
		read:         func(string) reply { return call(t, "GET", scriptSecrets, cfAuth, nil) },
		writeAnswers: cloudflareAnswers,
	}}
}

// answered is what a reply answered, 0 for a dropped connection.
func answered(r reply) int {
	if r.err != nil {
		return 0
	}
	return r.status
}

func TestFaultScheduleHitsTheRequestsItNames(t *testing.T) {
	// No rate limit and consistent reads: what faults here must be the schedule alone.
	srv, base := start(t, emulator.Options{
		FlyApps: []string{"a", "b"}, CloudflareWorkers: []string{"api"}, NoRateLimit: true,
		ConsistentFlyReads: true, FaultSchedule: testSchedule,
	})
	const writes = 10
	// Each interleaving sends every target's writes in order, then its reads, and fills
	// got[target] with the answers.
	interleavings := map[string]func(targets []scheduleTarget, got map[string][]int){
		"target after target": func(targets []scheduleTarget, got map[string][]int) {
			for _, tg := range targets {
				for i := range writes + len(readAnswers) {
					got[tg.name] = append(got[tg.name], answered(send(base, tg, i, writes)))
				}
			}
		},
		"round robin, last target first": func(targets []scheduleTarget, got map[string][]int) {
			for i := range writes + len(readAnswers) {
				for _, tg := range slices.Backward(targets) {
					got[tg.name] = append(got[tg.name], answered(send(base, tg, i, writes)))
				}
			}
		},
		"concurrently": func(targets []scheduleTarget, got map[string][]int) {
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, tg := range targets {
				wg.Go(func() {
					var mine []int
					for i := range writes + len(readAnswers) {
						mine = append(mine, answered(send(base, tg, i, writes)))
					}
					mu.Lock()
					got[tg.name] = mine
					mu.Unlock()
				})
			}
			wg.Wait()
		},
	}
	for _, name := range slices.Sorted(maps.Keys(interleavings)) {
		srv.Reset() // the schedule's counts start over, as the rest of the state does
		targets := scheduleTargets(t, base)
		got := map[string][]int{}
		interleavings[name](targets, got)
		for _, tg := range targets {
			if want := append(slices.Clone(tg.writeAnswers), readAnswers...); !slices.Equal(got[tg.name], want) {
				t.Errorf("%s: %s answered %v, want %v", name, tg.name, got[tg.name], want)
			}
		}
		want := map[string]int{"server_error": 2 + 4, "conflict": 2 * 2, "lost_response": 4 * 2, "throttle": 2}
		if st := srv.Stats(); !maps.Equal(st.Faults, want) {
			t.Errorf("%s: stats count faults %v, want %v", name, st.Faults, want)
		}
		// Lost answers' writes were applied; refused ones were not.
		flyState, _ := srv.State()
		for _, app := range flyState.Apps {
			if len(app.Secrets) != 7 {
				t.Errorf("%s: app %s holds %d secrets, want the 7 writes that were not refused", name, app.Name,
					len(app.Secrets))
			}
		}
	}
}

// send sends a target's i-th request: its writes, then its reads.
func send(base string, tg scheduleTarget, i, writes int) reply {
	if i < writes {
		return tg.write(base, i)
	}
	return tg.read(base)
}

func TestParseScheduledFault(t *testing.T) {
	for _, f := range testSchedule {
		got, err := emulator.ParseScheduledFault(f.String())
		if err != nil || got != f {
			t.Errorf("%q parsed as %+v, %v; want %+v", f.String(), got, err, f)
		}
	}
	if f, err := emulator.ParseScheduledFault("kind=lost_response,api=fly,at=4,every=5"); err != nil ||
		f != (emulator.ScheduledFault{API: emulator.APIFly, Kind: emulator.FaultLostResponse, At: 4, Every: 5}) {
		t.Errorf("parsed %+v, %v", f, err)
	}
	for _, bad := range []string{
		"", "kind=meteor,at=1", "kind=drop", "kind=drop,at=-1", "kind=drop,at=x", "kind=drop,at=1,color=red",
		"kind=conflict,api=cloudflare,at=1", "kind=lost_response,at=1,reads", "kind=server_error,at=1,status=404",
		"kind=throttle,api=aws,at=1", "kind=drop,at=1,reads=yes",
	} {
		if f, err := emulator.ParseScheduledFault(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, f)
		}
	}
	unknown := []emulator.ScheduledFault{{Kind: "meteor", At: 1}}
	if _, err := emulator.New(emulator.Options{FaultSchedule: unknown}); err == nil {
		t.Error("New accepted a schedule of an unknown fault")
	}
}
