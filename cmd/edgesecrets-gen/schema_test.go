package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

func TestProviderSchemaIsDeterministic(t *testing.T) {
	first, err := providerSchema(context.Background(), "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	second, err := providerSchema(context.Background(), "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Error("two schema renderings differ")
	}
	if first[len(first)-1] != '\n' {
		t.Error("schema.json should end with a newline")
	}
	if _, err := providerSchema(context.Background(), "not-a-version"); err == nil {
		t.Error("an invalid version should be refused")
	}
}

// The checked-in schema.json must be what the provider serves now; `make check-generated`
// also covers sdk/, this keeps `go test ./...` honest on its own.
func TestCheckedInSchemaIsFresh(t *testing.T) {
	want, err := providerSchema(context.Background(), version.Version)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("schema.json is stale: run `make sdk` and commit schema.json and sdk/")
	}
}
