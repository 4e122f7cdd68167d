package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// binary is the emulator built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgesecrets-emulator-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "edgesecrets-emulator")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building the emulator: " + err.Error())
	}
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "removing the test binary:", err)
	}
	os.Exit(code)
}

// process is a running emulator binary.
type process struct {
	cmd    *exec.Cmd
	env    map[string]string
	stderr *bytes.Buffer
	exited chan error
}

// launch starts the binary and waits for its five export lines.
func launch(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, env: map[string]string{}, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			if err := cmd.Process.Kill(); err != nil {
				t.Errorf("killing the emulator: %v", err)
			}
			t.Logf("emulator killed: %v", <-p.exited)
		}
	})

	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(stdout)
		for len(got) < len(emulator.EnvNames) && sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
		_, _ = io.Copy(io.Discard, stdout) // drained until the process exits; Wait reports how
		p.exited <- cmd.Wait()
	}()
	var got []string
	select {
	case got = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatalf("no export lines after 10s; stderr:\n%s", p.stderr)
	}
	t.Logf("export lines after %v", time.Since(began))
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("took %v to print the export lines", d)
	}

	if len(got) != len(emulator.EnvNames) {
		t.Fatalf("stdout %q, want %d export lines", got, len(emulator.EnvNames))
	}
	for i, line := range got {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !strings.HasPrefix(line, "export ") || !ok || name != emulator.EnvNames[i] {
			t.Fatalf("line %d = %q, want export %s=...", i, line, emulator.EnvNames[i])
		}
		p.env[name] = value
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	return send(t, "GET", url, token, "")
}

func send(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	p := launch(t, "--addr", "127.0.0.1:0", "--fly-app", "demo")
	base := p.env["FLY_FLAPS_BASE_URL"]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Errorf("FLY_FLAPS_BASE_URL %q", base)
	}
	want := map[string]string{
		"FLY_API_TOKEN":         emulator.DefaultFlyToken,
		"CLOUDFLARE_BASE_URL":   base + "/client/v4",
		"CLOUDFLARE_API_TOKEN":  emulator.DefaultCloudflareToken,
		"CLOUDFLARE_ACCOUNT_ID": emulator.DefaultCloudflareAccount,
	}
	for name, value := range want {
		if p.env[name] != value {
			t.Errorf("%s=%q, want %q", name, p.env[name], value)
		}
	}

	status, body := get(t, base+"/v1/apps/demo", p.env["FLY_API_TOKEN"])
	if status != 200 || !strings.Contains(body, `"name":"demo"`) {
		t.Errorf("GET /v1/apps/demo: %d %s", status, body)
	}
	status, _ = get(
		t,
		p.env["CLOUDFLARE_BASE_URL"]+"/accounts/"+p.env["CLOUDFLARE_ACCOUNT_ID"]+"/secrets_store/quota",
		p.env["CLOUDFLARE_API_TOKEN"],
	)
	if status != 200 {
		t.Errorf("Cloudflare quota: %d", status)
	}
	p.stop(t)

	logs := p.stderr.String()
	if !strings.Contains(logs, "route=/v1/apps/{app} status=200") {
		t.Errorf("stderr lacks the request line:\n%s", logs)
	}
	if strings.Contains(logs, emulator.DefaultFlyToken) || strings.Contains(logs, emulator.DefaultCloudflareToken) {
		t.Errorf("stderr shows a token:\n%s", logs)
	}
}

func TestBinaryKeepsStateAcrossRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	p := launch(t, "--addr", "127.0.0.1:0", "--fly-app", "demo", "--state", state, "--quiet")
	status, body := send(
		t,
		"POST",
		p.env["FLY_FLAPS_BASE_URL"]+"/v1/apps/demo/secrets/KEPT",
		p.env["FLY_API_TOKEN"],
		`{"value":"v"}`,
	)
	if status != 201 {
		t.Fatalf("set: %d %s", status, body)
	}
	p.stop(t)
	if p.stderr.Len() != 0 {
		t.Errorf("--quiet still logged:\n%s", p.stderr)
	}
	if info, err := os.Stat(state); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", info, err)
	}

	again := launch(t, "--addr", "127.0.0.1:0", "--state", state, "--quiet")
	status, body = get(t, again.env["FLY_FLAPS_BASE_URL"]+"/v1/apps/demo/secrets/KEPT", again.env["FLY_API_TOKEN"])
	if status != 200 {
		t.Errorf("after restart: %d %s", status, body)
	}
	again.stop(t)
}

// --fly-machines gives each app its started machines, shown by the inspection route.
func TestBinaryFlyMachines(t *testing.T) {
	p := launch(t, "--addr", "127.0.0.1:0", "--fly-app", "demo", "--fly-app", "web", "--fly-machines", "2", "--quiet")
	for _, app := range []string{"demo", "web"} {
		status, body := get(t, p.env["FLY_FLAPS_BASE_URL"]+"/_emulator/fly/apps/"+app+"/machines", "")
		if status != 200 || strings.Count(body, `"state":"started"`) != 2 {
			t.Errorf("%s machines: %d %s", app, status, body)
		}
	}
	p.stop(t)
}

func TestBinaryRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--fail-rate", "2"}, {"--no-such-flag"}, {"extra-arg"}} {
		cmd := exec.Command(binary, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("%v: err %v, output %s", args, err, out)
		}
		if strings.Contains(string(out), "export ") {
			t.Errorf("%v printed exports on failure: %s", args, out)
		}
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	var cfg config
	var apps, tokens, workers, cfTokens listFlag
	flagSet(&cfg, &apps, &tokens, &workers, &cfTokens).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out.String(), "--"+f.Name+" ") && !strings.Contains(out.String(), "--"+f.Name+"=") {
			t.Errorf("--help does not document --%s", f.Name)
		}
	})
	// The fixed command line from the design is all there.
	for _, name := range []string{"addr", "state", "fly-token", "cloudflare-token", "cloudflare-account", "fly-app",
		"cloudflare-worker", "latency", "fail-rate", "throttle-rate", "seed"} {
		if flagSet(&cfg, &apps, &tokens, &workers, &cfTokens).Lookup(name) == nil {
			t.Errorf("no --%s flag", name)
		}
	}
	if status := exec.Command(binary, "--help").Run(); status != nil {
		t.Errorf("--help exit: %v", status)
	}
}

func TestParseFlags(t *testing.T) {
	// Every realism opt-out is given here on purpose: this tests that each flag reaches its
	// option, and the defaults below that realism is on without them. No emulator is started.
	cfg, err := parseFlags([]string{
		"--addr", "127.0.0.1:9999", "--fly-app", "a", "--fly-app", "b", "--fly-deploy-token", "a=tok",
		"--latency", "5ms", "--fail-rate", "0.1", "--throttle-rate", "0.2", "--seed", "9", "--rate-limit=false",
		"--cloudflare-empty-account", "--cloudflare-auto-store", "--activation-delay", "0s", "--fly-read-lag", "0",
		"--lost-response-rate", "0.3", "--fly-machines", "4", "--fly-machine-boot-delay", "0",
		"--fly-machine-check-delay", "0s",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	if cfg.addr != "127.0.0.1:9999" || strings.Join(o.FlyApps, ",") != "a,b" || o.FlyDeployTokens["tok"] != "a" ||
		o.Latency != 5*time.Millisecond || o.FailRate != 0.1 || o.ThrottleRate != 0.2 || o.Seed != 9 ||
		!o.NoRateLimit || !o.CloudflareEmptyAccount || !o.CloudflareAutoStore || !o.InstantActivation ||
		!o.ConsistentFlyReads || o.LostResponseRate != 0.3 || o.FlyMachines != 4 || !o.InstantFlyMachines {
		t.Errorf("parsed %+v", cfg)
	}
	// By default the emulator is as unkind as the real services.
	defaults, _ := parseFlags(nil, io.Discard)
	d := defaults.opts
	if defaults.addr != emulator.DefaultAddr || d.ActivationDelay != emulator.DefaultActivationDelay ||
		d.InstantActivation ||
		d.NoRateLimit || d.FlyReadLag != emulator.DefaultFlyReadLag || d.ConsistentFlyReads || d.CloudflareEmptyAccount ||
		d.FlyMachines != 0 || d.InstantFlyMachines ||
		d.FlyMachineBootDelay != emulator.DefaultFlyMachineBootDelay ||
		d.FlyMachineCheckDelay != emulator.DefaultFlyMachineCheckDelay {
		t.Errorf("defaults %+v", defaults)
	}
	if _, err := parseFlags([]string{"--fly-deploy-token", "no-equals"}, io.Discard); err == nil {
		t.Error("accepted --fly-deploy-token without APP=")
	}
	for _, bad := range [][]string{{"--fly-machines", "-1"}, {"--fly-machine-boot-delay", "-1s"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
	// One delay set apart from the other keeps its own value.
	slow, _ := parseFlags([]string{"--fly-machine-boot-delay", "2s", "--fly-machine-check-delay", "0"}, io.Discard)
	if o := slow.opts; o.InstantFlyMachines || o.FlyMachineBootDelay != 2*time.Second ||
		o.FlyMachineCheckDelay > time.Microsecond {
		t.Errorf("boot 2s, checks 0: %+v", o)
	}
}

func TestParseFlagsFaultSchedule(t *testing.T) {
	cfg, err := parseFlags([]string{"--fault", "kind=lost_response,api=fly,at=4,every=5",
		"--fault", "kind=server_error,status=503,at=2,reads"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []emulator.ScheduledFault{
		{API: emulator.APIFly, Kind: emulator.FaultLostResponse, At: 4, Every: 5},
		{Kind: emulator.FaultServerError, Status: 503, At: 2, Reads: true},
	}
	if !slices.Equal(cfg.opts.FaultSchedule, want) {
		t.Errorf("parsed %+v, want %+v", cfg.opts.FaultSchedule, want)
	}
	if _, err := parseFlags([]string{"--fault", "kind=conflict,api=cloudflare,at=1"}, io.Discard); err == nil {
		t.Error("accepted a 409 on Cloudflare")
	}
}

func TestParseFlagsCloudflareWorkers(t *testing.T) {
	cfg, err := parseFlags([]string{"--cloudflare-worker", "api", "--cloudflare-worker", "tenants/site-1",
		"--cloudflare-upload-keeps-secrets"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	if strings.Join(o.CloudflareWorkers, ",") != "api,tenants/site-1" || !o.CloudflareUploadKeepsSecrets {
		t.Errorf("parsed %+v", o)
	}
	if d, _ := parseFlags(nil, io.Discard); d.opts.CloudflareUploadKeepsSecrets || len(d.opts.CloudflareWorkers) != 0 {
		t.Errorf("defaults %+v", d.opts)
	}
	// A bad name fails at start, naming it.
	if _, err := emulator.New(emulator.Options{CloudflareWorkers: []string{"Not_A_Worker!"}}); err == nil ||
		!strings.Contains(err.Error(), "Not_A_Worker!") {
		t.Errorf("bad --cloudflare-worker: %v", err)
	}
}
