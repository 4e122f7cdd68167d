package main

import (
	"context"
	"testing"
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
