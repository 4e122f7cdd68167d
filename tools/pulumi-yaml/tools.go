//go:build tools

// Package tools pins the Pulumi YAML language host so `make tools` can build it from the module cache.
// It lives in its own module because pulumi-yaml v1.38.1 needs pulumi pkg v3.255.0, not the v3.259.0
// that the CLI and the provider use.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
