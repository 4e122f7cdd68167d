// Package config is the provider's configuration (`edgesecrets:<key>`, with its environment
// fallbacks) and the one place API clients are made from it, with the provider's Timing and
// waits told to the CLI's status column. The schema modules (provider/fly, provider/cloudflare)
// make every client through it.
package config
