package flyapi

import "strings"

// macaroonPrefixes start the parts of a Fly macaroon token. Macaroons must be sent with the
// FlyV1 scheme; the API rejects them (401) under Bearer.
var macaroonPrefixes = []string{"fm1r_", "fm1a_", "fm2_"}

// AuthorizationHeader returns the Authorization header value for a Fly API token, following the
// rule fly-go uses (tokens.Tokens.FlapsHeader): a leading "Bearer " or "FlyV1 " is stripped, the
// rest is split on commas, and if any part is a macaroon (fm1r_, fm1a_, fm2_) the header is
// "FlyV1 <the macaroons joined by ,>", the user tokens beside them dropped (only the GraphQL API
// takes both); otherwise it is "Bearer <token>". An empty token gives "" (no header: the API
// answers 401).
func AuthorizationHeader(token string) string {
	token = stripAuthScheme(strings.TrimSpace(token))
	if token == "" {
		return ""
	}
	var macaroons []string
	for _, part := range tokenParts(token) {
		if isMacaroon(part) {
			macaroons = append(macaroons, part)
		}
	}
	if len(macaroons) > 0 {
		return "FlyV1 " + strings.Join(macaroons, ",")
	}
	return "Bearer " + token
}

// stripAuthScheme removes leading "Bearer " / "FlyV1 " schemes (any case; a scheme word alone
// leaves ""). It loops because a token pasted from a header as "Bearer FlyV1 fm2_..." would
// otherwise keep the inner scheme.
func stripAuthScheme(token string) string {
	for {
		stripped := token
		for _, scheme := range []string{"Bearer", "FlyV1"} {
			if len(stripped) < len(scheme) || !strings.EqualFold(stripped[:len(scheme)], scheme) {
				continue
			}
			if rest := stripped[len(scheme):]; rest == "" || rest[0] == ' ' {
				stripped = strings.TrimSpace(rest)
			}
		}
		if stripped == token {
			return token
		}
		token = stripped
	}
}

// tokenParts splits a token on commas, dropping spaces around parts and empty parts.
func tokenParts(token string) []string {
	var parts []string
	for _, part := range strings.Split(token, ",") {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	return parts
}

func isMacaroon(part string) bool {
	for _, prefix := range macaroonPrefixes {
		if strings.HasPrefix(part, prefix) {
			return true
		}
	}
	return false
}

// tokenSecrets lists the strings of a token that must never show up in an error: the token as
// given, without its scheme, and each comma-separated part.
func tokenSecrets(token string) []string {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil
	}
	stripped := stripAuthScheme(token)
	return append([]string{token, stripped}, tokenParts(stripped)...)
}
