package provider

import (
	"context"
	"time"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// withInputRules installs each resource type's Rules: Diff follows the rules, and Read
// and Delete run with the newest credentials. A token change is no diff, so the state may
// still hold the token of the last write; the engine's current inputs hold the new one.
// A create's preview also runs the type's PreviewCreate; an update's marks what writing drift
// back changes as computed (Rules.DriftChanges). Create, Update and Delete also get the
// resource's customTimeouts as their context's deadline, which infer v1.5.0 drops, so that every
// wait inside honours them.
func withInputRules(inner p.Provider, byType map[string]rules.Rules, cfg *config.Config) p.Provider {
	innerDiff, innerRead := inner.Diff, inner.Read
	innerCreate, innerUpdate, innerDelete := inner.Create, inner.Update, inner.Delete
	innerCheck, innerInvoke := inner.Check, inner.Invoke
	inner.Check = func(ctx context.Context, req p.CheckRequest) (p.CheckResponse, error) {
		return innerCheck(rules.WithURN(config.WithConfig(ctx, cfg), string(req.Urn)), req)
	}
	inner.Invoke = func(ctx context.Context, req p.InvokeRequest) (p.InvokeResponse, error) {
		return innerInvoke(config.WithConfig(ctx, cfg), req)
	}
	inner.Diff = func(ctx context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		ctx = rules.WithURN(config.WithConfig(ctx, cfg), string(req.Urn))
		var resp p.DiffResponse
		var err error
		if r, ok := byType[string(req.Urn.Type())]; ok {
			resp, err = r.Diff(ctx, req)
		} else {
			resp, err = innerDiff(ctx, req)
		}
		if inst := cfg.Instance(); err == nil && inst != nil && !resp.HasChanges {
			inst.Retract(string(req.Urn))
		}
		return resp, err
	}
	inner.Read = func(ctx context.Context, req p.ReadRequest) (p.ReadResponse, error) {
		ctx = rules.WithURN(config.WithConfig(ctx, cfg), string(req.Urn))
		req.Properties = byType[string(req.Urn.Type())].FreshCredentials(req.Properties, req.Inputs)
		return innerRead(ctx, req)
	}
	inner.Create = func(ctx context.Context, req p.CreateRequest) (p.CreateResponse, error) {
		ctx, cancel := withTimeout(rules.WithURN(config.WithConfig(ctx, cfg), string(req.Urn)), req.Timeout)
		defer cancel()
		resp, err := innerCreate(ctx, req)
		if r := byType[string(req.Urn.Type())]; err == nil && req.DryRun && r.PreviewCreate != nil {
			resp.Properties, err = r.PreviewCreate(ctx, req.Properties, resp.Properties)
		}
		return resp, err
	}
	inner.Update = func(ctx context.Context, req p.UpdateRequest) (p.UpdateResponse, error) {
		ctx, cancel := withTimeout(rules.WithURN(config.WithConfig(ctx, cfg), string(req.Urn)), req.Timeout)
		defer cancel()
		resp, err := innerUpdate(ctx, req)
		if r, ok := byType[string(req.Urn.Type())]; ok && err == nil && req.DryRun {
			resp.Properties = r.PreviewUpdate(req.State, resp.Properties)
		}
		return resp, err
	}
	inner.Delete = func(ctx context.Context, req p.DeleteRequest) error {
		ctx, cancel := withTimeout(rules.WithURN(config.WithConfig(ctx, cfg), string(req.Urn)), req.Timeout)
		defer cancel()
		req.Properties = byType[string(req.Urn.Type())].FreshCredentials(req.Properties, req.OldInputs)
		return innerDelete(ctx, req)
	}
	inner.DiffConfig = func(_ context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		return rules.ConfigDiff(req)
	}
	innerCheckConfig := inner.CheckConfig
	inner.CheckConfig = func(ctx context.Context, req p.CheckRequest) (p.CheckResponse, error) {
		resp, err := innerCheckConfig(ctx, req)
		resp.Failures = append(resp.Failures, config.UnknownKeys(req.Inputs)...)
		return resp, err
	}
	return inner
}

// withTimeout gives ctx the engine's timeout for the operation (seconds; 0 for none).
func withTimeout(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
}
