package tests

import (
	"strings"
	"testing"
	"time"
)

// An app deleted and made again under its name starts over at secrets version 0, so the
// versions a stack recorded never come. Through the CLI against the emulator's defaults:
// `pulumi refresh` and `pulumi destroy` of a stack on it each end within 60 s (they used to
// wait for the old version, 412 after 412, for the whole retry budget), the refresh drops the
// secret that is gone and keeps the one someone set again, and the destroy leaves that one,
// which holds another writer's value.
func TestRefreshAndDestroyAfterTheAppIsMadeAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := yamlProgram(t, h, `  gone:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: GONE
      value:
        fn::secret: gone-value
  again:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: AGAIN
      value:
        fn::secret: our-value
`)
	// The old app's secrets version runs ahead of what the new one will reach.
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/OLD", map[string]string{"value": "old"}, nil)
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")

	h.apiJSON("DELETE", "/v1/apps/"+flyApp, nil, nil)
	h.apiJSON("POST", "/v1/apps", map[string]string{"app_name": flyApp, "org_slug": "personal"}, nil)
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/AGAIN", map[string]string{"value": "their-value"}, nil)

	refresh := within(t, "refresh", 60*time.Second, func() string {
		return h.pulumi(dir, "", "refresh", "--yes", "--skip-preview")
	})
	if !strings.Contains(refresh, "version 0") {
		t.Errorf("the refresh does not say why it read the app as it is:\n%s", tail(refresh, 30))
	}
	state := h.pulumi(dir, "", "stack", "export")
	if strings.Contains(state, `"name": "GONE"`) {
		t.Errorf("the refresh kept the secret that is not on the app made again")
	}
	within(t, "destroy", 60*time.Second, func() string {
		return h.pulumi(dir, "", "destroy", "--yes", "--skip-preview")
	})
	s, ok := h.contents().flySecret(flyApp, "AGAIN")
	if !ok || s.Value != "their-value" {
		t.Errorf("the destroy removed or changed the secret another writer set on the app made again: %+v", s)
	}
}

// within runs f and fails if it took longer than limit (a bound the issue sets on a hang, not
// a measure of speed).
func within(t *testing.T, step string, limit time.Duration, f func() string) string {
	t.Helper()
	began := time.Now()
	out := timed(t, step, f)
	if took := time.Since(began); took > limit {
		t.Errorf("%s took %s, more than %s", step, took.Round(time.Second), limit)
	}
	return out
}
