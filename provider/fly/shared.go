package fly

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// checkApp checks a Fly.io app name input.
func checkApp(c *rules.Checker) {
	c.Pattern("app", appPattern, "Fly.io app names use lowercase letters, digits and dashes")
	c.Length("app", limitAppName)
}

// checkEncoding checks a value encoding input.
func checkEncoding(c *rules.Checker) {
	if enc, ok := c.Str("encoding"); ok && enc != string(EncodingPlain) && enc != string(EncodingBase64) {
		c.Fail("encoding", "encoding is %s: use \"plain\" or \"base64\"", rules.Quoted(c.Inputs.Get("encoding"), enc))
	}
}

func encodingOf(e *ValueEncoding) ValueEncoding { return rules.OrDefault(e, EncodingPlain) }

// encode is a value as it is sent to Fly.io under an encoding.
func encode(e *ValueEncoding, value string) string {
	if encodingOf(e) == EncodingBase64 {
		return base64.StdEncoding.EncodeToString([]byte(value))
	}
	return value
}

// declarations are the Fly secrets each resource of the program declares, by app, as their
// Check saw them: the engine checks every resource of the program in every operation, and one
// provider process serves one operation. A FlyAppSecrets with prune never unsets a name another
// resource declares.
type declarations struct {
	mu     sync.Mutex
	byName map[string]map[string]string // app -> Fly name -> declaring resource
}

var declared = &declarations{byName: map[string]map[string]string{}}

// declare records that the resource (type and name) declares the app's secrets names.
func (d *declarations) declare(app, resource string, names ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byName[app] == nil {
		d.byName[app] = map[string]string{}
	}
	for _, n := range names {
		d.byName[app][n] = resource
	}
}

// others are the app's names that resources other than this one declare.
func (d *declarations) others(app, resource string) map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	for name, by := range d.byName[app] {
		if by != resource {
			out[name] = true
		}
	}
	return out
}

// checkAppName checks an app name outside Check (a function's input), with Check's words.
func checkAppName(app string) error {
	if !appPattern.MatchString(app) {
		return fmt.Errorf("app is %q: Fly.io app names use lowercase letters, digits and dashes", app)
	}
	if reason := limitAppName.Exceeds("app", len(app)); reason != "" {
		return errors.New(reason)
	}
	return nil
}
