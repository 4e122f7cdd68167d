package fly

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// macaroonPrefixes mark the parts of a token that fly-go sends under the
// FlyV1 scheme instead of Bearer.
var macaroonPrefixes = []string{"fm1r_", "fm1a_", "fm2_"}

// credential is a token in the canonical form fly-go puts on the wire.
type credential struct {
	macaroon bool   // sent as "FlyV1 <token>", otherwise "Bearer <token>"
	token    string // without scheme; macaroon parts trimmed and joined with ","
}

// canonicalToken normalises a configured token the way fly-go does before
// building its Authorization header.
func canonicalToken(raw string) credential {
	t := strings.TrimSpace(raw)
	for _, scheme := range []string{"Bearer ", "FlyV1 "} {
		if len(t) >= len(scheme) && strings.EqualFold(t[:len(scheme)], scheme) {
			t = strings.TrimSpace(t[len(scheme):])
			break
		}
	}
	parts := splitParts(t)
	if macaroons := macaroonParts(parts); len(macaroons) > 0 {
		// fly-go sends only the macaroons when there is any: the user tokens
		// beside them are for the GraphQL API.
		return credential{macaroon: true, token: strings.Join(macaroons, ",")}
	}
	return credential{token: t}
}

// parseAuthorization reads an Authorization header. ok is false for anything
// fly-go would never send: no scheme, an empty token, "Bearer FlyV1 ...", a
// macaroon under Bearer, or FlyV1 with a part that is not a macaroon.
func parseAuthorization(header string) (cred credential, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found {
		return credential{}, false
	}
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" || strings.Contains(rest, " ") || hasMacaroonPart(splitParts(rest)) {
			return credential{}, false
		}
		return credential{token: rest}, true
	case strings.EqualFold(scheme, "FlyV1"):
		parts := splitParts(rest)
		if len(parts) == 0 || len(macaroonParts(parts)) != len(parts) {
			return credential{}, false
		}
		return credential{macaroon: true, token: strings.Join(parts, ",")}, true
	}
	return credential{}, false
}

func splitParts(token string) []string {
	var parts []string
	for _, p := range strings.Split(token, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func hasMacaroonPart(parts []string) bool { return len(macaroonParts(parts)) > 0 }

// macaroonParts returns the parts that are macaroons, in order.
func macaroonParts(parts []string) []string {
	var macaroons []string
	for _, p := range parts {
		for _, prefix := range macaroonPrefixes {
			if strings.HasPrefix(p, prefix) {
				macaroons = append(macaroons, p)
				break
			}
		}
	}
	return macaroons
}

func (c credential) equal(o credential) bool {
	return c.macaroon == o.macaroon && subtle.ConstantTimeCompare([]byte(c.token), []byte(o.token)) == 1
}

// grant is what a valid token may do: everything, or one app.
type grant struct {
	app string // "" = full access
}

type authenticator struct {
	full   credential
	deploy []deployCredential
}

type deployCredential struct {
	cred credential
	app  string
}

func newAuthenticator(token string, deployTokens map[string]string) (authenticator, error) {
	a := authenticator{full: canonicalToken(token)}
	for tok, app := range deployTokens {
		if tok == "" || !validAppName(app) {
			return authenticator{}, fmt.Errorf("fly: deploy token for %q: need a token and a valid app name", app)
		}
		a.deploy = append(a.deploy, deployCredential{cred: canonicalToken(tok), app: app})
	}
	return a, nil
}

func (a authenticator) authenticate(header string) (grant, bool) {
	cred, ok := parseAuthorization(header)
	if !ok {
		return grant{}, false
	}
	if cred.equal(a.full) {
		return grant{}, true
	}
	for _, d := range a.deploy {
		if cred.equal(d.cred) {
			return grant{app: d.app}, true
		}
	}
	return grant{}, false
}

// scope is what a route needs from a token.
type scope int

const (
	orgScope scope = iota // app management: full-access tokens only
	appScope              // one app's data: full access or that app's deploy token
)

// guard answers 401 for a bad token and 403 for a token without the scope,
// then hands over to next.
func (a *API) guard(need scope, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, ok := a.auth.authenticate(r.Header.Get("Authorization"))
		if !ok {
			WriteError(w, http.StatusUnauthorized, "Authenticate: token validation error")
			return
		}
		if g.app != "" && (need == orgScope || g.app != r.PathValue("app")) {
			WriteError(w, http.StatusForbidden, "unauthorized")
			return
		}
		next(w, r)
	})
}
