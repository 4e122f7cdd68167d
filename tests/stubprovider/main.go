// Command stubprovider is the edgesecrets provider with every API call taken out, for the
// benchmark's floor: it serves the real provider's schema, configuration, checks and diffs (it
// wraps provider.New, built from the same module versions), but Create, Read, Update, Delete and
// Invoke answer at once from what they are given, making no call. A program run against it
// costs what the engine costs; the difference with the real provider is the provider's share.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println(version.Version)
		return
	}
	stub, err := newStub(provider.New())
	if err == nil {
		err = p.RunProvider(context.Background(), provider.Name, version.Version, stub)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s stub: %v\n", provider.Name, err)
		os.Exit(1)
	}
}

// newStub replaces the operations that call the APIs. Outputs the inputs do not give are
// filled with zero values of their schema types, so that the engine records states of the same
// shape, and references between resources (a Secret's storeId) resolve.
func newStub(real p.Provider) (p.Provider, error) {
	// The schema is read on the first create: the provider serves it only within a request.
	var once sync.Once
	var outputs map[string]map[string]func(string) property.Value
	var schemaErr error
	stub := real
	stub.Create = func(ctx context.Context, req p.CreateRequest) (p.CreateResponse, error) {
		once.Do(func() {
			var schema p.GetSchemaResponse
			if schema, schemaErr = real.GetSchema(ctx, p.GetSchemaRequest{}); schemaErr == nil {
				outputs, schemaErr = computedOutputs(schema.Schema)
			}
		})
		if schemaErr != nil {
			return p.CreateResponse{}, schemaErr
		}
		props := req.Properties
		for name, zero := range outputs[string(req.Urn.Type())] {
			if _, given := props.GetOk(name); !given {
				props = props.Set(name, zero(string(req.Urn)))
			}
		}
		return p.CreateResponse{ID: stubID(string(req.Urn)), Properties: props}, nil
	}
	stub.Read = func(_ context.Context, req p.ReadRequest) (p.ReadResponse, error) {
		return p.ReadResponse{ID: req.ID, Properties: req.Properties, Inputs: req.Inputs}, nil
	}
	stub.Update = func(_ context.Context, req p.UpdateRequest) (p.UpdateResponse, error) {
		props := req.State
		for name, v := range req.Inputs.All {
			props = props.Set(name, v)
		}
		return p.UpdateResponse{Properties: props}, nil
	}
	stub.Delete = func(context.Context, p.DeleteRequest) error { return nil }
	stub.Invoke = func(context.Context, p.InvokeRequest) (p.InvokeResponse, error) {
		return p.InvokeResponse{Return: property.Map{}}, nil
	}
	return stub, nil
}

// stubID is a 32-hex ID, stable per resource: Cloudflare's IDs have that form, and programs pass
// them on (a store's storeId).
func stubID(urn string) string {
	sum := sha256.Sum256([]byte(urn))
	return hex.EncodeToString(sum[:16])
}

// computedOutputs lists, per resource type, the outputs that are not inputs, each with a maker
// of its zero value.
func computedOutputs(schemaJSON string) (map[string]map[string]func(urn string) property.Value, error) {
	var schema struct {
		Resources map[string]struct {
			Properties      map[string]schemaProperty `json:"properties"`
			InputProperties map[string]schemaProperty `json:"inputProperties"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(schemaJSON), &schema); err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	out := map[string]map[string]func(string) property.Value{}
	for token, r := range schema.Resources {
		out[token] = map[string]func(string) property.Value{}
		for name, prop := range r.Properties {
			if _, input := r.InputProperties[name]; !input {
				out[token][name] = prop.zero
			}
		}
	}
	return out, nil
}

type schemaProperty struct {
	Type   string `json:"type"`
	Ref    string `json:"$ref"`
	Secret bool   `json:"secret"`
}

func (s schemaProperty) zero(urn string) property.Value {
	var v property.Value
	switch s.Type {
	case "string":
		v = property.New(stubID(urn))
	case "number", "integer":
		v = property.New(0.0)
	case "boolean":
		v = property.New(false)
	case "array":
		v = property.New([]property.Value{})
	default: // objects, maps and types by reference
		v = property.New(property.Map{})
	}
	return v.WithSecret(s.Secret)
}
