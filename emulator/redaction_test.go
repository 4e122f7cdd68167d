package emulator_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoValueInLogsOrErrors drives every route, successes and failures,
// with values carrying a marker, and checks the marker never shows up in
// the log or in an error body; nor do the tokens show up in the log.
func TestNoValueInLogsOrErrors(t *testing.T) {
	const marker = "M4RK3R-s3cr3t"
	const flyToken, cfToken = "fly-T0KEN-xyz", "cf-T0KEN-xyz"
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, base := start(t, emulator.Options{
		FlyToken: flyToken, CloudflareToken: cfToken, FlyApps: []string{"demo"},
		Logger: logger,
	})
	fly := "Bearer " + flyToken
	cf := "Bearer " + cfToken
	value := marker + "-value"
	long := marker + strings.Repeat("x", 70000)

	var errorBodies []string
	calls := 0
	check := func(r reply) {
		t.Helper()
		calls++
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.status >= 400 {
			errorBodies = append(errorBodies, r.body)
		}
	}

	// Fly: successes and failures.
	check(call(t, "POST", base+"/v1/apps/demo/secrets/A", fly, map[string]string{"value": value}))
	check(
		call(t, "POST", base+"/v1/apps/demo/secrets", fly, map[string]any{"values": map[string]any{"B": value, "C": nil}}),
	)
	check(call(t, "GET", base+"/v1/apps/demo/secrets", fly, nil))
	check(call(t, "GET", base+"/v1/apps/demo/secrets/A", fly, nil))
	check(call(t, "POST", base+"/v1/apps/demo/secrets/bad-name", fly, map[string]string{"value": value}))
	check(call(t, "POST", base+"/v1/apps/demo/secrets/A", fly, `{"value":"`+value+`" garbage`))
	check(call(t, "POST", base+"/v1/apps/demo/secrets/A", fly, `{"value":`+value+`}`))
	check(call(t, "POST", base+"/v1/apps/demo/secrets", fly, `{"values":{"bad-name":"`+value+`"}}`))
	check(call(t, "POST", base+"/v1/apps/demo/secrets", fly, `{"values":{"A":["`+value+`"]}}`))
	check(call(t, "POST", base+"/v1/apps/nope/secrets/A", fly, map[string]string{"value": value}))
	check(call(t, "POST", base+"/v1/apps/demo/secrets/A", "Bearer "+value, map[string]string{"value": value}))
	check(call(t, "DELETE", base+"/v1/apps/demo/secrets/A", fly, nil))

	// Cloudflare: successes and failures.
	check(call(t, "POST", base+accountPath+"/stores", cf, map[string]string{"name": "s"}))
	r := call(t, "GET", base+accountPath+"/stores", cf, nil)
	check(r)
	storeID := r.body[strings.Index(r.body, `"id":"`)+6:][:32]
	secrets := base + accountPath + "/stores/" + storeID + "/secrets"
	r = call(t, "POST", secrets, cf, []map[string]any{{"name": "S", "value": value, "scopes": []string{"workers"}}})
	check(r)
	if strings.Contains(r.body, marker) {
		t.Errorf("create answer carries the value: %s", r.body)
	}
	secretID := r.body[strings.Index(r.body, `"id":"`)+6:][:32]
	check(call(t, "POST", secrets, cf, []map[string]any{{"name": "S", "value": value, "scopes": []string{"workers"}}}))
	check(
		call(t, "POST", secrets, cf, []map[string]any{{"name": "bad name", "value": value, "scopes": []string{"workers"}}}),
	)
	check(call(t, "POST", secrets, cf, []map[string]any{{"name": "L", "value": long, "scopes": []string{"workers"}}}))
	check(call(t, "POST", secrets, cf, []map[string]any{{"name": "X", "value": value, "scopes": []string{marker}}}))
	check(call(t, "POST", secrets, cf, `[{"name":"X","value":"`+value+`",}]`))
	check(call(t, "PATCH", secrets+"/"+secretID, cf, map[string]string{"value": value, "comment": "c"}))
	check(call(t, "PATCH", secrets+"/"+secretID, cf, map[string]string{"value": long}))
	check(call(t, "PATCH", secrets+"/"+secretID, cf, `{"value":"`+value+`"`))
	check(call(t, "GET", secrets+"/"+secretID, cf, nil))
	check(call(t, "GET", secrets+"?search="+marker, cf, nil))
	check(
		call(t, "POST", secrets+"/"+secretID+"/duplicate", cf, map[string]any{"name": "S", "scopes": []string{"workers"}}),
	)
	check(call(t, "DELETE", base+accountPath+"/stores/"+storeID, cf, nil))
	check(
		call(
			t,
			"POST",
			secrets,
			"Bearer "+value,
			[]map[string]any{{"name": "Y", "value": value, "scopes": []string{"workers"}}},
		),
	)

	if len(errorBodies) < 15 {
		t.Fatalf("only %d error answers exercised", len(errorBodies))
	}
	for _, body := range errorBodies {
		if strings.Contains(body, marker) {
			t.Errorf("error body quotes a value: %.200s", body)
		}
	}
	out := logs.String()
	for _, leak := range []string{marker, flyToken, cfToken} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
	if got := strings.Count(out, "msg=request"); got != calls {
		t.Errorf("%d request log lines for %d requests:\n%s", got, calls, out)
	}
	if !strings.Contains(out, "route=/v1/apps/{app}/secrets/{name}") || !strings.Contains(out, "status=201") {
		t.Errorf("log lines lack route or status:\n%s", out)
	}
}
