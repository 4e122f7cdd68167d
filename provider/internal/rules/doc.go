// Package rules is the Pulumi glue every edgesecrets resource shares, below the schema modules
// (provider/fly, provider/cloudflare): how inputs are compared (Rules, read from the input
// struct's tags), how they are checked (Check, Checker, Limit), and how results are recorded.
// It knows no resource and no API.
package rules
