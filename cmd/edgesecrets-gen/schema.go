package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"

	"github.com/edgesecrets/pulumi-edgesecrets/provider"
)

// providerSchema asks the provider package for its schema in-process, through the same
// GetSchema RPC the engine uses with the binary, and returns it as schema.json's bytes.
func providerSchema(ctx context.Context, version string) ([]byte, error) {
	// The version ends up in the SDKs' package.json and pyproject.toml: refuse a typo early.
	if _, err := semver.Parse(version); err != nil {
		return nil, fmt.Errorf("provider version %q: %w", version, err)
	}
	spec, err := p.GetSchema(ctx, provider.Name, version, provider.New())
	if err != nil {
		return nil, fmt.Errorf("getting the schema from the provider: %w", err)
	}
	return marshalSchema(spec)
}

// marshalSchema renders a schema deterministically: encoding/json writes struct fields in
// declaration order and map keys sorted, so the same spec always gives the same bytes. It
// indents by four spaces, keeps '<' and '>' readable in descriptions, and ends with a newline.
func marshalSchema(spec schema.PackageSpec) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(spec); err != nil {
		return nil, fmt.Errorf("encoding the schema: %w", err)
	}
	return buf.Bytes(), nil
}
