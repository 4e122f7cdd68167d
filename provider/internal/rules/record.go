package rules

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
)

// Module is what a schema module (fly, cloudflare) gives the provider's builder: its resources
// and functions, and each resource type's diff rules, by type token.
type Module struct {
	Resources []infer.InferredResource
	Functions []infer.InferredFunction
	Rules     map[string]Rules
}

// NotFoundForImport is Read's answer when the ID to import names nothing: an error, so that
// `pulumi import` fails and leaves nothing in state (an empty answer would record a phantom).
func NotFoundForImport(what, id string, err error) error {
	return fmt.Errorf("%s %q not found, so there is nothing to import: check the ID (%w)", what, id, err)
}

// OrDefault dereferences p, or returns def when p is nil.
func OrDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Timestamp formats API times as RFC 3339 in UTC, keeping the API's sub-second precision (refresh
// compares modification times); the zero time (absent) is "".
func Timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
