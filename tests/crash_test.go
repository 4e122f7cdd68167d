package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// A provider killed (kill -9) in the middle of an up, after Cloudflare made the secret but before
// the state recorded it: the next up does not take the secret over silently, and says the one
// command that brings it under management; after it, one up converges with no duplicate.
func TestCrashMidCreateIsRecoverable(t *testing.T) {
	t.Parallel()
	// Latency keeps the create's wait until the secret is active long enough to kill it there.
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, Latency: 2 * time.Second})
	value := uniqueValue("crash-")
	dir := yamlProgram(t, h, `
  key:
    type: edgesecrets:cloudflare:Secret
    properties:
      name: API_KEY
      value:
        fn::secret: `+value+`
`)
	up := exec.Command("pulumi", "up", "--yes", "--skip-preview", "--non-interactive")
	up.Dir, up.Env = dir, h.env
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, _, made := h.contents().cloudflareSecret("API_KEY"); made {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the secret was never created")
		}
		time.Sleep(50 * time.Millisecond)
	}
	killPlugin(t, h.envVars["PULUMI_HOME"]+"/plugins/resource-edgesecrets")
	if err := up.Wait(); err == nil {
		t.Fatal("the up whose provider was killed succeeded")
	}

	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	recovery := regexp.MustCompile("`(pulumi import edgesecrets:cloudflare:Secret key [0-9a-f/]+)`").
		FindStringSubmatch(out)
	if recovery == nil {
		t.Fatalf("the next up does not say how to recover:\n%s", out)
	}
	if strings.Contains(out, value) {
		t.Errorf("the output prints the value:\n%s", out)
	}
	args := append(strings.Fields(recovery[1])[1:], "--yes", "--protect=false")
	h.pulumi(dir, "", args...)
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.pulumi(dir, "", "preview", "--expect-no-changes")
	stores := h.contents().stores()
	if len(stores) != 1 || len(stores[0].Secrets) != 1 || stores[0].Secrets[0].Value != value {
		t.Errorf("after the recovery the account holds %d stores; want one, holding API_KEY alone with the "+
			"program's value", len(stores))
	}
}

// killPlugin sends SIGKILL to every process whose command line starts with path: the provider
// plugin of one test's Pulumi home, and no other test's.
func killPlugin(t *testing.T, path string) {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, cmdline := range procs {
		data, err := os.ReadFile(cmdline)
		if err != nil || !strings.HasPrefix(string(data), path) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(cmdline)))
		if err == nil && syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no process of %s to kill", path)
	}
}
