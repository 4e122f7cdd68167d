// Package version holds the provider's version, set at build time with
// -ldflags "-X github.com/edgesecrets/pulumi-edgesecrets/provider/version.Version=1.2.3".
package version

// Version is the provider's semantic version, without a leading "v". The default is the
// version of the checked-in schema and SDKs.
var Version = "0.2.0"
