package tests

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// The end-to-end benchmark (`make bench-e2e`): real programs through the real CLI against the
// emulator, timed against the same programs against a stub provider that makes no API call (the
// engine's floor), with the API calls each operation made counted against the fewest the APIs
// allow. Every figure is a ratio of two measurements of the same run; each is the median of
// EDGESECRETS_BENCH_RUNS runs (default 3), with their min and max. It writes its table to
// EDGESECRETS_BENCH_OUT; without that it does not run (it is no part of `make test`).

const (
	benchApp   = "bench"
	benchOut   = "EDGESECRETS_BENCH_OUT"
	benchRuns  = "EDGESECRETS_BENCH_RUNS"
	benchSize  = "EDGESECRETS_BENCH_SIZE"  // the stacks' size (default 100; smaller to try the benchmark out)
	benchLarge = "EDGESECRETS_BENCH_LARGE" // the size of the large FlySecret stack (default 5 × size)
)

// benchScenario is a stack the benchmark runs: n resources written by resource, the program's
// values changed for the update.
type benchScenario struct {
	name     string
	n        int // resources that hold secrets
	values   int // secret values in the program
	resource func(b *strings.Builder, i int, value string)
	header   string // resources before the first
	floor    map[string]int
}

func flySecretsScenario(app string, n int) benchScenario {
	return benchScenario{
		name: fmt.Sprintf("%d FlySecrets, one app", n), n: n, values: n,
		resource: func(b *strings.Builder, i int, value string) {
			fmt.Fprintf(b, "  s%03d:\n    type: edgesecrets:fly:FlySecret\n    properties:\n      app: %s\n"+
				"      name: SECRET_%03d\n      value:\n        fn::secret: %s\n", i, app, i, value)
		},
		// One bulk write does any change to an app's secrets; one listing reads them all.
		floor: map[string]int{"create": 1, "update": 1, "refresh": 1, "delete": 1, "preview": 0},
	}
}

func cloudflareSecretsScenario(n int) benchScenario {
	return benchScenario{
		name: fmt.Sprintf("%d Cloudflare Secrets, one store", n), n: n, values: n,
		header: "  store:\n    type: edgesecrets:cloudflare:SecretsStore\n",
		resource: func(b *strings.Builder, i int, value string) {
			fmt.Fprintf(b, "  s%03d:\n    type: edgesecrets:cloudflare:Secret\n    properties:\n"+
				"      storeId: ${store.storeId}\n      name: SECRET_%03d\n      value:\n        fn::secret: %s\n", i, i, value)
		},
		// One bulk create and one listing to see the secrets active (and one listing for the
		// store); no bulk edit or delete: one PATCH or DELETE each.
		floor: map[string]int{"create": 3, "update": n, "refresh": 2, "delete": n, "preview": 0},
	}
}

func appSecretsScenario(n int) benchScenario {
	return benchScenario{
		name: fmt.Sprintf("1 FlyAppSecrets of %d keys", n), n: 1, values: n,
		header: fmt.Sprintf(
			"  all:\n    type: edgesecrets:fly:FlyAppSecrets\n    properties:\n      app: %s\n      secrets:\n",
			benchApp,
		),
		resource: func(b *strings.Builder, i int, value string) {
			fmt.Fprintf(b, "        KEY_%03d:\n          fn::secret: %s\n", i, value)
		},
		floor: map[string]int{"create": 1, "update": 1, "refresh": 1, "delete": 1, "preview": 0},
	}
}

// program writes the scenario's Pulumi.yaml into dir with fresh values, and returns them.
func (s benchScenario) program(t *testing.T, dir string) []string {
	t.Helper()
	var b strings.Builder
	b.WriteString("name: edgesecrets-many\nruntime: yaml\nresources:\n")
	b.WriteString(s.header)
	values := make([]string, s.values)
	for i := range values {
		values[i] = uniqueValue("many-")
		s.resource(&b, i, values[i])
	}
	writeProgram(t, dir, b.String())
	return values
}

// writeProgram writes a YAML program's Pulumi.yaml into dir.
func writeProgram(t *testing.T, dir, program string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
}

// benchRun is one stack's lifecycle against one provider binary: the times of up, refresh and
// destroy, the API calls of every operation, and the provider's peak RSS.
type benchRun struct {
	times   map[string]time.Duration
	calls   map[string]int
	peakRSS int64 // KiB
}

// lifecycle runs up (create), and with counted set also preview and up of changed values
// (update), then refresh and destroy.
func lifecycle(t *testing.T, s benchScenario, provider string, rateLimit, counted bool) benchRun {
	t.Helper()
	h := newHarnessOf(t, emulator.Options{FlyApps: []string{benchApp}, NoRateLimit: !rateLimit}, provider)
	dir := t.TempDir()
	s.program(t, dir)
	h.pulumi(dir, "", "stack", "init", "bench")
	run := benchRun{times: map[string]time.Duration{}, calls: map[string]int{}}
	step := func(op string, args ...string) {
		h.emulator.ResetStats()
		start := time.Now()
		h.pulumi(dir, "", args...)
		run.times[op] = time.Since(start)
		run.calls[op] = h.emulator.Stats().Total
	}
	sampler := startRSSSampler(h.envVars["PULUMI_HOME"])
	step("create", "up", "--yes", "--skip-preview")
	run.peakRSS = sampler.stop()
	if counted {
		s.program(t, dir)
		step("preview", "preview")
		step("update", "up", "--yes", "--skip-preview")
	}
	step("refresh", "refresh", "--yes", "--skip-preview")
	step("delete", "destroy", "--yes", "--skip-preview")
	return run
}

// firstUp times the first `pulumi up` (with extra arguments) of the program that write puts in
// a fresh directory, through provider, in an emulator of its own.
func firstUp(
	t *testing.T,
	provider string,
	opts emulator.Options,
	write func(dir string),
	extra ...string,
) time.Duration {
	t.Helper()
	h := newHarnessOf(t, opts, provider)
	dir := t.TempDir()
	write(dir)
	h.pulumi(dir, "", "stack", "init", "bench")
	start := time.Now()
	h.pulumi(dir, "", append([]string{"up", "--yes", "--skip-preview"}, extra...)...)
	return time.Since(start)
}

// inlineRatios times the up of a SecretsStore holding n inline secrets against the up of one
// holding none, both through the provider (activation delay as by default).
func inlineRatios(t *testing.T, provider string, n, runs int) ratios {
	t.Helper()
	store := func(inline int) func(dir string) {
		return func(dir string) {
			var b strings.Builder
			b.WriteString(
				"name: edgesecrets-inline\nruntime: yaml\nresources:\n  store:\n    type: edgesecrets:cloudflare:SecretsStore\n",
			)
			if inline > 0 {
				b.WriteString("    properties:\n      secrets:\n")
				for i := range inline {
					fmt.Fprintf(&b, "        SECRET_%03d:\n          fn::secret: %s\n", i, uniqueValue("inline-"))
				}
			}
			writeProgram(t, dir, b.String())
		}
	}
	var out ratios
	for range runs {
		out = append(out, firstUp(t, provider, emulator.Options{}, store(n)).Seconds()/
			firstUp(t, provider, emulator.Options{}, store(0)).Seconds())
	}
	return out
}

// rateLimitRatios times the up of n new FlySecrets on one app at --parallel 100 with the
// emulator's Fly rate limit on against the same up with it off, both through the provider.
func rateLimitRatios(t *testing.T, provider string, n, runs int) ratios {
	t.Helper()
	up := func(rateLimit bool) time.Duration {
		return firstUp(t, provider, emulator.Options{FlyApps: []string{benchApp}, NoRateLimit: !rateLimit},
			func(dir string) { flySecretsScenario(benchApp, n).program(t, dir) }, "--parallel", "100")
	}
	var out ratios
	for range runs {
		out = append(out, up(true).Seconds()/up(false).Seconds())
	}
	return out
}

// rssSampler follows the peak resident size of the provider processes started from one Pulumi
// home (the plugin the harness installed), sampling /proc.
type rssSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak int64
}

func startRSSSampler(pulumiHome string) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	plugins := filepath.Join(pulumiHome, "plugins")
	s.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sample(plugins)
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

func (s *rssSampler) sample(plugins string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !strings.HasPrefix(exe, plugins) || !strings.Contains(exe, "pulumi-resource-edgesecrets") {
			continue
		}
		if hwm := statusKiB(filepath.Join("/proc", e.Name(), "status"), "VmHWM:"); hwm > 0 {
			s.mu.Lock()
			s.peak = max(s.peak, hwm)
			s.mu.Unlock()
		}
	}
}

func (s *rssSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak
}

// statusKiB reads a "Key:   123 kB" line of a /proc status-like file (0 when absent).
func statusKiB(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == key {
			n, _ := strconv.ParseInt(fields[1], 10, 64)
			return n
		}
	}
	return 0
}

// buildStub builds the stub provider from the test tree, and checks that it links the same
// versions of the modules the provider does.
func buildStub(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	stub := filepath.Join(dir, "pulumi-resource-edgesecrets")
	cmd := exec.Command("go", "build", "-o", stub, "./stubprovider")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the stub provider: %v\n%s", err, out)
	}
	real, err := buildinfo.ReadFile(filepath.Join(repoRoot, "bin", "pulumi-resource-edgesecrets"))
	if err != nil {
		t.Fatalf("reading the provider's build info: %v", err)
	}
	stubInfo, err := buildinfo.ReadFile(stub)
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	for _, d := range real.Deps {
		versions[d.Path] = d.Version
	}
	for _, d := range stubInfo.Deps {
		if v, ok := versions[d.Path]; ok && v != d.Version {
			t.Fatalf("the stub links %s %s, the provider %s: rebuild both from one tree", d.Path, d.Version, v)
		}
	}
	return stub
}

// benchMachine describes where the benchmark ran.
func benchMachine() []string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if name, found := strings.CutPrefix(line, "model name"); found {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	pulumi, _ := exec.Command("pulumi", "version").Output()
	return []string{
		fmt.Sprintf("%s/%s, Linux %s, %d CPUs (%s), %.1f GiB memory", runtime.GOOS, runtime.GOARCH,
			strings.TrimSpace(string(kernel)), runtime.NumCPU(), model,
			float64(statusKiB("/proc/meminfo", "MemTotal:"))/(1<<20)),
		fmt.Sprintf("%s, Pulumi CLI %s (YAML programs), engine parallelism %d (the default, 4 × CPUs)",
			runtime.Version(), strings.TrimSpace(string(pulumi)), 4*runtime.NumCPU()),
		fmt.Sprintf("load average at the start: %s (the machine may be shared: ratios of one run hold better than times)",
			strings.Join(strings.Fields(string(load))[:3], " ")),
	}
}

// ratios are one figure's ratios, one per run.
type ratios []float64

func (r ratios) String() string {
	if len(r) == 0 {
		return "n/a"
	}
	s := slices.Sorted(slices.Values(r))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if len(s) == 1 {
		return fmt.Sprintf("%.2f×", med)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", med, s[0], s[len(s)-1])
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func TestBenchmarkE2E(t *testing.T) {
	out := os.Getenv(benchOut)
	if out == "" {
		t.Skipf("the end-to-end benchmark runs with %s set (make bench-e2e)", benchOut)
	}
	requireCommand(t, "pulumi-language-yaml", "run `make tools`")
	runs := envInt(benchRuns, 3)
	report := &benchReport{machine: benchMachine(), runs: runs, started: time.Now()}
	stub := buildStub(t)
	provider := filepath.Join(repoRoot, "bin", "pulumi-resource-edgesecrets")

	size := envInt(benchSize, 100)
	scenarios := []benchScenario{
		flySecretsScenario(benchApp, size), flySecretsScenario(benchApp, envInt(benchLarge, 5*size)),
		appSecretsScenario(size), cloudflareSecretsScenario(size),
	}
	for _, s := range scenarios {
		for _, limit := range []bool{true, false} {
			row := report.timeRow(s.name, limit)
			for i := range runs {
				counted := limit && i == 0
				real := lifecycle(t, s, provider, limit, counted)
				floor := lifecycle(t, s, stub, limit, counted)
				for _, op := range []string{"create", "refresh", "delete"} {
					row.ratios[op] = append(row.ratios[op], real.times[op].Seconds()/floor.times[op].Seconds())
				}
				if counted {
					report.calls = append(report.calls, callsRow{scenario: s, calls: real.calls})
				}
				if s.n == size && strings.Contains(s.name, "FlySecrets") && floor.peakRSS > 0 {
					report.rss = append(report.rss, float64(real.peakRSS)/float64(floor.peakRSS))
				}
				t.Logf("%s, rate limit %v, run %d: %v against %v", s.name, limit, i+1, real.times, floor.times)
			}
		}
	}
	report.inline = inlineRatios(t, provider, size, runs)
	report.rateLimit = rateLimitRatios(t, provider, size, runs)
	report.coldStart = coldStartRatios(t, provider, stub, 10*runs)
	report.overhead = overheadRatios(t, 20)
	table := report.markdown()
	fmt.Println(table)
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
}
