package emulator

import (
	"regexp"
	"strings"
)

// EnvNames are the variables that point the provider at an emulator, in the
// order the binary prints them.
var EnvNames = []string{
	"FLY_FLAPS_BASE_URL",
	"FLY_API_TOKEN",
	"CLOUDFLARE_BASE_URL",
	"CLOUDFLARE_API_TOKEN",
	"CLOUDFLARE_ACCOUNT_ID",
}

// Env returns the variables that point the provider at an emulator serving
// opts at baseURL (e.g. "http://127.0.0.1:8787").
func Env(baseURL string, opts Options) map[string]string {
	opts = opts.withDefaults()
	base := strings.TrimRight(baseURL, "/")
	return map[string]string{
		"FLY_FLAPS_BASE_URL":    base,
		"FLY_API_TOKEN":         opts.FlyToken,
		"CLOUDFLARE_BASE_URL":   base + "/client/v4",
		"CLOUDFLARE_API_TOKEN":  opts.CloudflareToken,
		"CLOUDFLARE_ACCOUNT_ID": opts.CloudflareAccount,
	}
}

// Env returns the variables that point the provider at this server at baseURL.
func (s *Server) Env(baseURL string) map[string]string {
	return Env(baseURL, s.opts)
}

// ExportLines renders env as shell "export NAME=value" lines, one per name of
// EnvNames, in that order; values are single-quoted when the shell needs it.
func ExportLines(env map[string]string) []string {
	lines := make([]string, 0, len(EnvNames))
	for _, name := range EnvNames {
		lines = append(lines, "export "+name+"="+shellQuote(env[name]))
	}
	return lines
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

func shellQuote(v string) string {
	if shellSafe.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
