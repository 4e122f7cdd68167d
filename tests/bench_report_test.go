package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/provider"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

// benchReport gathers the benchmark's figures and renders them as one table.
type benchReport struct {
	machine   []string
	runs      int
	started   time.Time
	times     []*timeRow
	calls     []callsRow
	rss       ratios
	coldStart ratios
	inline    ratios
	rateLimit ratios // up at --parallel 100, Fly's rate limit on ÷ off
	overhead  []overheadRow
}

type timeRow struct {
	scenario  string
	rateLimit bool
	ratios    map[string]ratios // by operation: create (up), refresh, delete (destroy)
}

func (r *benchReport) timeRow(scenario string, rateLimit bool) *timeRow {
	row := &timeRow{scenario: scenario, rateLimit: rateLimit, ratios: map[string]ratios{}}
	r.times = append(r.times, row)
	return row
}

type callsRow struct {
	scenario benchScenario
	calls    map[string]int
}

type overheadRow struct {
	what   string
	ratios ratios
}

var benchOps = []struct{ op, label string }{
	{"create", "create (up)"}, {"update", "update (up)"}, {"refresh", "refresh"},
	{"delete", "delete (destroy)"}, {"preview", "preview of the update"},
}

func (r *benchReport) markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `make bench-e2e` on %s. Every figure is a ratio of two measurements of the same run, "+
		"the median of %d runs (min–max in brackets).\n\n", r.started.UTC().Format("2006-01-02"), r.runs)
	for _, line := range r.machine {
		fmt.Fprintf(&b, "- %s\n", line)
	}
	b.WriteString("\nPrograms are YAML, run by the Pulumi CLI against the emulator as users run it (Fly's rate " +
		"limit of about 1 request/s per action per app, lagging Fly reads, Cloudflare secrets pending for 100 ms). " +
		"The stub provider (tests/stubprovider) is the real one with every API call taken out: same schema, checks " +
		"and diffs, built from the same module versions; a program against it costs what the engine costs.\n\n")

	b.WriteString("## API calls per operation, against the fewest the APIs allow\n\n")
	b.WriteString("Emulator counts of every request, retries included, Fly's rate limit on, at the default parallelism. " +
		"The floor is the fewest calls the APIs allow for the whole stack: one bulk write or one listing per Fly app, " +
		"one bulk create and one listing per Cloudflare store, one PATCH or DELETE per Cloudflare secret (there is no " +
		"bulk edit, and the bulk delete is undocumented).\n\n")
	b.WriteString("| stack | operation | calls | per resource | floor | × floor |\n|---|---|---:|---:|---:|---:|\n")
	for _, row := range r.calls {
		for _, op := range benchOps {
			calls, floor := row.calls[op.op], row.scenario.floor[op.op]
			times := "= floor"
			if floor > 0 {
				times = fmt.Sprintf("%.2f×", float64(calls)/float64(floor))
			} else if calls > 0 {
				times = "above 0"
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %.2f | %d | %s |\n", row.scenario.name, op.label, calls,
				float64(calls)/float64(row.scenario.n), floor, times)
		}
	}

	b.WriteString("\n## Wall time against the stub provider (the engine's floor)\n\n")
	b.WriteString("`pulumi up`, `refresh` and `destroy`, each divided by the same command's time against the stub. " +
		"With the rate limit off the provider still paces itself to Fly's documented limit.\n\n")
	b.WriteString("| stack | Fly rate limit | up | refresh | destroy |\n|---|---|---:|---:|---:|\n")
	for _, row := range r.times {
		limit := "off"
		if row.rateLimit {
			limit = "on"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.scenario, limit,
			row.ratios["create"], row.ratios["refresh"], row.ratios["delete"])
	}

	b.WriteString("\n## The provider process, against the stub's\n\n")
	b.WriteString("| measure | provider ÷ stub |\n|---|---:|\n")
	fmt.Fprintf(&b, "| cold start to a served GetSchema | %s |\n", r.coldStart)
	fmt.Fprintf(&b, "| peak RSS during the up of the smaller FlySecrets stack | %s |\n", r.rss)

	b.WriteString("\n## The provider against itself\n\n")
	b.WriteString("Both sides of each ratio through the provider, each in an emulator of its own.\n\n")
	b.WriteString("| measure | ratio |\n|---|---:|\n")
	fmt.Fprintf(
		&b,
		"| `pulumi up` of a SecretsStore holding the smaller stack's number of inline secrets ÷ one holding none "+
			"(Cloudflare's 100 ms activation delay) | %s |\n",
		r.inline,
	)
	fmt.Fprintf(
		&b,
		"| `pulumi up --parallel 100` of the smaller FlySecrets stack, Fly's rate limit on ÷ off | %s |\n",
		r.rateLimit,
	)

	b.WriteString("\n## Provider overhead per operation, against a plain HTTP loop\n\n")
	b.WriteString("One operation at a time, through the provider in-process (pulumi-go-provider's integration server), " +
		"against a loop of net/http requests making the same calls on the same emulator (rate limit off, consistent " +
		"reads, each operation on an app of its own so that no pacing wait is counted). A coalesced call first gathers " +
		"for 30 ms in case other operations join it: that is most of the Fly figures.\n\n")
	b.WriteString("| operation | provider ÷ plain loop |\n|---|---:|\n")
	for _, row := range r.overhead {
		fmt.Fprintf(&b, "| %s | %s |\n", row.what, row.ratios)
	}
	return b.String()
}

// coldStartRatios starts the provider and the stub n times each, in turns, and times each from
// exec to a served GetSchema.
func coldStartRatios(t *testing.T, provider, stub string, n int) ratios {
	t.Helper()
	var out ratios
	for range n {
		real, floor := coldStart(t, provider), coldStart(t, stub)
		out = append(out, real.Seconds()/floor.Seconds())
	}
	return out
}

func coldStart(t *testing.T, binary string) time.Duration {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(binary)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s printed no port: %v", binary, err)
	}
	conn, err := grpc.NewClient(
		"127.0.0.1:"+strings.TrimSpace(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }() // the stub is killed next: nothing to report
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pulumirpc.NewResourceProviderClient(conn).GetSchema(ctx, &pulumirpc.GetSchemaRequest{}); err != nil {
		t.Fatalf("GetSchema of %s: %v", binary, err)
	}
	return time.Since(start)
}

// overheadRatios times n operations of each kind through the provider in-process, and the same
// API calls made by a plain loop, and returns their ratios.
func overheadRatios(t *testing.T, n int) []overheadRow {
	t.Helper()
	apps := make([]string, 0, 4*n)
	for i := range 4 * n {
		apps = append(apps, fmt.Sprintf("ovh-%d", i))
	}
	emu, ts := emulatortest.Start(
		t,
		emulator.Options{FlyApps: apps, NoRateLimit: true, ConsistentFlyReads: true, InstantActivation: true},
	)
	env := emu.Env(ts.URL)
	server, err := integration.NewServer(t.Context(), provider.Name, semver.MustParse(version.Version),
		integration.WithProvider(provider.New()))
	if err != nil {
		t.Fatal(err)
	}
	err = server.Configure(p.ConfigureRequest{Args: property.NewMap(map[string]property.Value{
		"flyApiUrl":           property.New(env["FLY_FLAPS_BASE_URL"]),
		"flyApiToken":         property.New(env["FLY_API_TOKEN"]).WithSecret(true),
		"cloudflareApiUrl":    property.New(env["CLOUDFLARE_BASE_URL"]),
		"cloudflareApiToken":  property.New(env["CLOUDFLARE_API_TOKEN"]).WithSecret(true),
		"cloudflareAccountId": property.New(env["CLOUDFLARE_ACCOUNT_ID"]),
	})})
	if err != nil {
		t.Fatal(err)
	}
	plain := &plainClient{
		t:       t,
		base:    ts.URL,
		fly:     env["FLY_API_TOKEN"],
		cf:      env["CLOUDFLARE_API_TOKEN"],
		account: env["CLOUDFLARE_ACCOUNT_ID"],
	}
	storeID := plain.storeID()

	var flyCreate, flyUpdate, cfUpdate ratios
	for i := range n {
		app, plainApp := apps[2*i], apps[2*i+1]
		fly := flyResource{server: server, urn: urnOf("edgesecrets:fly:FlySecret", fmt.Sprintf("s%d", i))}
		inputs := func(v string) property.Map {
			return property.NewMap(map[string]property.Value{"app": property.New(app), "name": property.New("SECRET"),
				"value": property.New(v).WithSecret(true)})
		}
		provCreate := timeIt(func() { fly.create(t, inputs("one")) })
		plainCreate := timeIt(func() { plain.flyList(plainApp); plain.flyBulk(plainApp, "one") })
		flyCreate = append(flyCreate, provCreate.Seconds()/plainCreate.Seconds())
		provUpdate := timeIt(func() { fly.update(t, inputs("two")) })
		plainUpdate := timeIt(func() { plain.flyBulk(plainApp, "two") })
		flyUpdate = append(flyUpdate, provUpdate.Seconds()/plainUpdate.Seconds())

		cf := flyResource{server: server, urn: urnOf("edgesecrets:cloudflare:Secret", fmt.Sprintf("c%d", i))}
		cfInputs := func(v string) property.Map {
			return property.NewMap(map[string]property.Value{"storeId": property.New(storeID),
				"name": property.New(fmt.Sprintf("OVH_%d", i)), "value": property.New(v).WithSecret(true)})
		}
		cf.create(t, cfInputs("one"))
		secretID := cf.state.Get("secretId").AsString()
		provCF := timeIt(func() { cf.update(t, cfInputs("two")) })
		plainCF := timeIt(func() { plain.cfPatch(storeID, secretID, "three") })
		cfUpdate = append(cfUpdate, provCF.Seconds()/plainCF.Seconds())
	}
	return []overheadRow{
		{"FlySecret create (a look at the app and a write)", flyCreate},
		{"FlySecret update (a write)", flyUpdate},
		{"Cloudflare Secret update (a PATCH)", cfUpdate},
	}
}

func timeIt(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func urnOf(typ, name string) presource.URN {
	return presource.NewURN("bench", "edgesecrets", "", tokens.Type(typ), name)
}

// flyResource is one resource driven through the in-process provider, as the engine would.
type flyResource struct {
	server        integration.Server
	urn           presource.URN
	id            string
	inputs, state property.Map
}

func (r *flyResource) create(t *testing.T, inputs property.Map) {
	t.Helper()
	checked, err := r.server.Check(p.CheckRequest{Urn: r.urn, Inputs: inputs})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("check: %v %v", err, checked.Failures)
	}
	resp, err := r.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked.Inputs})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	r.id, r.inputs, r.state = resp.ID, checked.Inputs, resp.Properties
}

func (r *flyResource) update(t *testing.T, inputs property.Map) {
	t.Helper()
	checked, err := r.server.Check(p.CheckRequest{Urn: r.urn, State: r.inputs, Inputs: inputs})
	if err != nil || len(checked.Failures) > 0 {
		t.Fatalf("check: %v %v", err, checked.Failures)
	}
	resp, err := r.server.Update(
		p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked.Inputs, OldInputs: r.inputs},
	)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	r.inputs, r.state = checked.Inputs, resp.Properties
}

// plainClient makes the provider's API calls with nothing around them.
type plainClient struct {
	t             *testing.T
	base, fly, cf string
	account       string
	client        http.Client
}

func (c *plainClient) do(method, path, token string, body any) []byte {
	c.t.Helper()
	var reader *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	} else {
		reader = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode >= 300 {
		c.t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	return out.Bytes()
}

func (c *plainClient) flyList(app string) { c.do("GET", "/v1/apps/"+app+"/secrets", c.fly, nil) }

func (c *plainClient) flyBulk(app, value string) {
	c.do("POST", "/v1/apps/"+app+"/secrets", c.fly, map[string]any{"values": map[string]string{"SECRET": value}})
}

func (c *plainClient) cfPatch(storeID, secretID, value string) {
	c.do("PATCH", fmt.Sprintf("/client/v4/accounts/%s/secrets_store/stores/%s/secrets/%s", c.account, storeID, secretID),
		c.cf, map[string]any{"value": value})
}

func (c *plainClient) storeID() string {
	var list struct {
		Result []struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	stores := c.do("GET", fmt.Sprintf("/client/v4/accounts/%s/secrets_store/stores", c.account), c.cf, nil)
	if err := json.Unmarshal(stores, &list); err != nil || len(list.Result) == 0 {
		c.t.Fatalf("the account's store: %v", err)
	}
	return list.Result[0].ID
}
