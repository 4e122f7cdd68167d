package flyapi

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ExistsError is CreateSecret's answer when the name is taken on the app.
type ExistsError struct {
	App, Name string
	Secret    Secret
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("fly: secret %q already exists on app %q", e.Name, e.App)
}

// CreateSecret sets a secret that must not exist yet: Fly has no create-only write, so it looks
// first and answers *ExistsError when the name is taken. The look is as consistent as a read can
// be (a secret another client set a moment ago may not show yet). While it runs, CreateSecret
// holds a claim on the app and name in this process: a second create of the same secret at the
// same time fails at once, so that two resources never both take one secret as theirs.
func (c *Client) CreateSecret(ctx context.Context, app, name, value string) (SetSecretResponse, error) {
	release, err := c.claim(app, name)
	if err != nil {
		return SetSecretResponse{}, err
	}
	defer release()
	op := fmt.Sprintf("look up secret %q on app %q", name, app)
	switch existing, err := c.look(ctx, op, app, name); {
	case err == nil:
		return SetSecretResponse{}, &ExistsError{App: app, Name: name, Secret: existing}
	case !IsNotFound(err) || IsAppNotFound(err):
		return SetSecretResponse{}, err
	}
	return c.SetSecret(ctx, app, name, value)
}

// look reads a secret for CreateSecret, where a 404 is the expected answer, not lag to wait out.
// WithCoalescing, it is looked up in the app's listing.
func (c *Client) look(ctx context.Context, op, app, name string) (Secret, error) {
	if c.coalescing {
		return c.listedSecret(ctx, op, app, name, 0, time.Time{}, false)
	}
	path, err := secretPath(op, app, name)
	if err != nil {
		return Secret{}, err
	}
	req := c.readRequest(op, app, "get", path, 0)
	req.notFoundUntil = c.now()
	var out secretJSON
	if err := c.do(ctx, req, &out); err != nil {
		return Secret{}, err
	}
	return out.secret(), nil
}

// claims are the secrets creates of this process are making now, by API URL, app and name.
var claims = struct {
	sync.Mutex
	held map[string]bool
}{held: map[string]bool{}}

func (c *Client) claim(app, name string) (release func(), err error) {
	key := c.baseURL + " " + app + " " + name
	claims.Lock()
	defer claims.Unlock()
	if claims.held[key] {
		return nil, fmt.Errorf("fly: create secret %q on app %q: another resource of this program is creating the "+
			"same secret at the same time: two resources declare one secret; remove one of them", name, app)
	}
	claims.held[key] = true
	return func() {
		claims.Lock()
		defer claims.Unlock()
		delete(claims.held, key)
	}, nil
}
