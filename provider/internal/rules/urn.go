package rules

import "context"

// urnKey carries the URN of the resource a request is about: infer gives resources only its
// name, and what the program declares (the ownership table) is keyed by URN.
type urnKey struct{}

// WithURN is ctx for a request about the resource urn.
func WithURN(ctx context.Context, urn string) context.Context {
	return context.WithValue(ctx, urnKey{}, urn)
}

// URN is the URN of the resource ctx's request is about ("" when none was set).
func URN(ctx context.Context) string {
	urn, _ := ctx.Value(urnKey{}).(string)
	return urn
}
