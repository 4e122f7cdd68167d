package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// Benchmarks of the provider's own cost per operation, driven like the engine drives it,
// against an in-process emulator over loopback HTTP. Run with
//
//	go test ./provider -run '^$' -bench . -benchmem
//
// The figures include the emulator's share of the work; compare runs with benchstat.

func BenchmarkFlySecretCreate(b *testing.B) {
	h := newHarness(b, emulator.Options{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.resource(fly.FlySecretToken, "db").create(flyInputs(fmt.Sprintf("SECRET_%d", i), "postgres://bench"))
	}
}

func BenchmarkFlySecretRefresh(b *testing.B) {
	h := newHarness(b, emulator.Options{})
	r := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "postgres://bench"))
	b.ReportAllocs()
	for b.Loop() {
		if !r.refresh() {
			b.Fatal("secret vanished")
		}
	}
}

func BenchmarkSecretUpdate(b *testing.B) {
	h := newHarness(b, emulator.Options{})
	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "key").create(secretInputs(store.ID, "v0"))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.update(secretInputs(store.ID, fmt.Sprintf("v%d", i+1)))
	}
}

// BenchmarkCheckInlineSecrets measures Check of a store with 100 inline 1 KiB secrets: the
// validation cost of the largest program an account allows.
func BenchmarkCheckInlineSecrets(b *testing.B) {
	h := newHarness(b, emulator.Options{})
	kv := make([]string, 0, 200)
	for i := range 100 {
		kv = append(kv, fmt.Sprintf("SECRET_%03d", i), strings.Repeat("x", 1024))
	}
	inputs := props(map[string]any{"secrets": inline(kv...)})
	r := h.resource(cloudflare.SecretsStoreToken, "store")
	b.ReportAllocs()
	for b.Loop() {
		if _, failures := r.check(inputs); len(failures) > 0 {
			b.Fatal(failures)
		}
	}
}

// BenchmarkDiffRules measures the raw-input diff alone (no I/O), run once per resource per
// preview and up.
func BenchmarkDiffRules(b *testing.B) {
	old := props(map[string]any{"storeId": strings.Repeat("a", 32), "name": "api_key", "value": secret("v1"),
		"scopes": []any{"workers", "ai_gateway"}, "comment": "c", "delete": true, "adopt": false})
	next := props(map[string]any{"storeId": strings.Repeat("a", 32), "name": "api_key", "value": secret("v2"),
		"scopes": []any{"ai_gateway", "workers"}, "comment": "c", "delete": true, "adopt": false})
	req := p.DiffRequest{State: old, OldInputs: old, Inputs: next}
	secretRules := allRules()[cloudflare.SecretToken]
	b.ReportAllocs()
	for b.Loop() {
		if d, err := secretRules.Diff(context.Background(), req); err != nil || len(d.DetailedDiff) != 1 {
			b.Fatal(d.DetailedDiff)
		}
	}
}
