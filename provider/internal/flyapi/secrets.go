package flyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Secret is an app secret as the API describes it. There is no Value: Fly does not reveal values
// to API clients outside the app's machines, so they are treated as write-only and never decoded.
type Secret struct {
	Name string
	// Digest identifies the value (hex; its algorithm is not disclosed, so compare digests,
	// never recompute one).
	Digest    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SetSecretResponse is the answer to SetSecret: the secret and the app's secrets version after
// the write.
type SetSecretResponse struct {
	Secret
	// Version grows with every write to the app's secrets; machines updated with
	// min_secrets_version >= Version see this write.
	Version int64
}

// UpdateSecretsResponse is the answer to UpdateSecrets.
type UpdateSecretsResponse struct {
	// Secrets are the secrets the request set (unset ones are absent).
	Secrets []Secret
	Version int64
}

// ListSecrets returns the app's secrets (names, digests, times; no values) as of at least
// secrets version minVersion (0 for any), or of the newest version this process has written,
// whichever is newer: Fly's reads are eventually consistent.
// GET /v1/apps/{app}/secrets?version=N -> 200 {"secrets":[...]}
//
// WithDesk, the answer comes from the app's desk (see WithDesk).
func (c *Client) ListSecrets(ctx context.Context, app string, minVersion int64) ([]Secret, error) {
	if c.coordinated {
		return c.listedSecrets(ctx, app, minVersion)
	}
	op := fmt.Sprintf("list secrets on app %q", app)
	path, err := secretsPath(op, app)
	if err != nil {
		return nil, err
	}
	var out listSecretsJSON
	if err := c.read(ctx, op, app, "list", path, minVersion, &out); err != nil {
		return nil, err
	}
	return secretsFromJSON(out.Secrets), nil
}

// GetSecret returns one secret as of at least secrets version minVersion (see ListSecrets);
// IsNotFound(err) when the app or the secret does not exist. A 404 that may be read lag (within
// the read lag of a write this process made to the app, or with no version to ask for) is
// retried until the lag has passed.
// GET /v1/apps/{app}/secrets/{name}?version=N -> 200 AppSecret
//
// WithDesk, it is looked up in the app's listing instead (see WithDesk).
func (c *Client) GetSecret(ctx context.Context, app, name string, minVersion int64) (Secret, error) {
	return c.GetSecretWritten(ctx, app, name, minVersion, time.Time{})
}

// GetSecretWritten is GetSecret for a caller that knows when the write that minVersion names
// set the secret (its updated_at as that write answered; zero when unknown). WithDesk, a
// listing that shows the secret updated then or later is recent enough, whatever version it
// asked for: a refresh of secrets written in many versions then costs one listing of the app,
// with no wait for the read lag.
func (c *Client) GetSecretWritten(
	ctx context.Context, app, name string, minVersion int64, written time.Time,
) (Secret, error) {
	op := fmt.Sprintf("get secret %q on app %q", name, app)
	if c.coordinated {
		return c.listedSecret(ctx, op, app, name, minVersion, written)
	}
	path, err := secretPath(op, app, name)
	if err != nil {
		return Secret{}, err
	}
	var out secretJSON
	if err := c.read(ctx, op, app, "get", path, minVersion, &out); err != nil {
		return Secret{}, err
	}
	return out.secret(), nil
}

// read sends a read of path asking for the newest secrets version known (the caller's or one
// this process wrote); see readAt.
func (c *Client) read(ctx context.Context, op, app, action, path string, minVersion int64, out any) error {
	req, version := c.readRequest(op, app, action, path, minVersion)
	_, err := c.readAt(ctx, req, version, out, func(wait time.Duration, why string) { c.notify(ctx, wait, why) })
	return err
}

// readAt sends req asking for at least secrets version (none for 0). When that version does not
// come within versionWaitLags read lags, the app cannot be relied on to reach it (it was deleted
// and made again, and started over at 0): the version is forgotten, the reader told, and the app
// read as it is now, which is what it holds (current).
func (c *Client) readAt(
	ctx context.Context, req request, version int64, out any, tell func(time.Duration, string),
) (current bool, err error) {
	if version == 0 {
		return false, c.do(ctx, req, out)
	}
	asked := req
	asked.path += "?version=" + strconv.FormatInt(version, 10)
	asked.versionUntil = c.now().Add(versionWaitLags * c.readLag)
	err = c.do(ctx, asked, out)
	if statusOf(err) != http.StatusPreconditionFailed {
		return false, err
	}
	tell(0, c.versionUnreachable(req.app, version))
	if req.notFoundUntil.IsZero() {
		// Read with no version to go by: a 404 may be lag, as for any such read.
		req.notFoundUntil = c.now().Add(c.readLag)
	}
	return true, c.do(ctx, req, out)
}

// versionWaitLags is how many read lags a read waits for the secrets version it asks for before
// it takes the app as it is: far longer than Fly takes to show a write, far shorter than the
// retry budget a hang would last (an app made again never reaches the old version).
const versionWaitLags = 10

// versionUnreachable forgets a secrets version of app that reads asked for in vain, and says
// what the reader is told.
func (c *Client) versionUnreachable(app string, version int64) string {
	c.shared.forgetVersion(c.baseURL, app, version)
	return fmt.Sprintf("app %q has not shown secrets version %d for %s: reading it as it is now "+
		"(an app deleted and made again under its name starts over at version 0)",
		app, version, versionWaitLags*c.readLag)
}

// readRequest is a read of path, with the newest secrets version known to ask for (the caller's
// or one this process wrote), and says until when a 404 may be lag.
func (c *Client) readRequest(op, app, action, path string, minVersion int64) (request, int64) {
	written, at := c.shared.lastWrite(c.baseURL, app)
	version := max(minVersion, written)
	req := request{op: op, app: app, action: action, method: http.MethodGet, path: path}
	switch {
	case !at.IsZero():
		req.notFoundUntil = at.Add(c.readLag)
	case version == 0:
		req.notFoundUntil = c.now().Add(c.readLag)
	}
	return req, version
}

// wrote records the secrets version a write made around the app's desk answered with, for later
// reads, and drops the desk's listing, which does not show it.
func (c *Client) wrote(app string, version int64) {
	c.shared.wrote(c.baseURL, app, version, c.now())
	c.desk(app).dropListing()
}

// SetSecret creates or replaces one secret. The write is staged: machines see it once they are
// started or updated afterwards.
// POST /v1/apps/{app}/secrets/{name} {"value":"..."} -> 201 {name,digest,created_at,updated_at,version}
// It is a call of its own, around the app's desk: resources write through Op.Write.
func (c *Client) SetSecret(ctx context.Context, app, name, value string) (SetSecretResponse, error) {
	op := fmt.Sprintf("set secret %q on app %q", name, app)
	path, err := secretPath(op, app, name)
	if err != nil {
		return SetSecretResponse{}, err
	}
	body, err := json.Marshal(setSecretRequest{Value: value})
	if err != nil {
		return SetSecretResponse{}, fmt.Errorf("fly: %s: encoding request failed", op) // no %w: never risk the value
	}
	var out struct {
		secretJSON
		versionJSON
	}
	req := request{op: op, app: app, action: "set", method: http.MethodPost, path: path, body: body,
		secrets: []string{value}}
	if err := c.do(ctx, req, &out); err != nil {
		return SetSecretResponse{}, err
	}
	c.wrote(app, out.version())
	return SetSecretResponse{Secret: out.secret(), Version: out.version()}, nil
}

// UpdateSecrets sets and unsets several secrets of an app in one write: a non-nil value sets
// the secret, a nil value unsets it.
// POST /v1/apps/{app}/secrets {"values":{"A":"x","B":null}} -> 200 {"secrets":[...],"version":N}
// It is a call of its own, around the app's desk: resources write through Op.Write.
func (c *Client) UpdateSecrets(
	ctx context.Context, app string, values map[string]*string,
) (UpdateSecretsResponse, error) {
	res, err := c.updateSecrets(ctx, app, values, request{})
	if err == nil {
		c.wrote(app, res.Version)
	}
	return res, err
}

// updateSecrets is one bulk write; base carries the batch's pacing and listeners.
func (c *Client) updateSecrets(
	ctx context.Context, app string, values map[string]*string, base request,
) (UpdateSecretsResponse, error) {
	op := updateOp(app, values)
	path, err := secretsPath(op, app)
	if err != nil {
		return UpdateSecretsResponse{}, err
	}
	payload := updateSecretsRequest{Values: make(map[string]*string, len(values))}
	var secrets []string
	for name, value := range values {
		payload.Values[name] = value
		if value != nil {
			secrets = append(secrets, *value)
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return UpdateSecretsResponse{}, fmt.Errorf("fly: %s: encoding request failed", op)
	}
	var out struct {
		Secrets []secretJSON `json:"secrets"`
		versionJSON
	}
	req := base
	req.op, req.app, req.action, req.method = op, app, actionBulkWrite, http.MethodPost
	req.path, req.body, req.secrets = path, body, secrets
	if err := c.do(ctx, req, &out); err != nil {
		return UpdateSecretsResponse{}, err
	}
	return UpdateSecretsResponse{Secrets: secretsFromJSON(out.Secrets), Version: out.version()}, nil
}

// DeleteSecret removes one secret and returns the app's secrets version after the write.
// IsNotFound(err) when it is already gone.
// DELETE /v1/apps/{app}/secrets/{name} -> 200 {"version":N}
// It is a call of its own, around the app's desk: resources write through Op.Write.
func (c *Client) DeleteSecret(ctx context.Context, app, name string) (version int64, err error) {
	op := fmt.Sprintf("delete secret %q on app %q", name, app)
	path, err := secretPath(op, app, name)
	if err != nil {
		return 0, err
	}
	var out versionJSON
	req := request{op: op, app: app, action: "delete", method: http.MethodDelete, path: path}
	if err := c.do(ctx, req, &out); err != nil {
		return 0, err
	}
	c.wrote(app, out.version())
	return out.version(), nil
}

var secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidateSecretName checks that name can be an environment variable name
// (^[A-Za-z_][A-Za-z0-9_]*$), the rule the contract asks callers to apply before any call. The
// client itself does not enforce it, because Fly's exact server-side rule is unconfirmed and
// existing secrets must stay readable and deletable whatever their names.
func ValidateSecretName(name string) error {
	if !secretNamePattern.MatchString(name) {
		return fmt.Errorf("fly: %q is not a valid secret name: use letters, digits and underscores, "+
			"not starting with a digit", name)
	}
	return nil
}

// Request and response bodies as they travel.

type setSecretRequest struct {
	Value string `json:"value"`
}

type listSecretsJSON struct {
	Secrets []secretJSON `json:"secrets"`
}

type updateSecretsRequest struct {
	Values map[string]*string `json:"values"` // a nil value encodes as null: unset
}

type secretJSON struct {
	Name      string    `json:"name"`
	Digest    string    `json:"digest"`
	CreatedAt timestamp `json:"created_at"`
	UpdatedAt timestamp `json:"updated_at"`
}

func (s secretJSON) secret() Secret {
	return Secret{
		Name:      s.Name,
		Digest:    s.Digest,
		CreatedAt: time.Time(s.CreatedAt),
		UpdatedAt: time.Time(s.UpdatedAt),
	}
}

func secretsFromJSON(in []secretJSON) []Secret {
	out := make([]Secret, 0, len(in))
	for _, s := range in {
		out = append(out, s.secret())
	}
	return out
}

// versionJSON reads "version", falling back to the deprecated "Version". Both are declared:
// encoding/json matches keys case-insensitively, so with "version" alone a stale "Version"
// later in the body could overwrite it.
type versionJSON struct {
	Version       *int64 `json:"version"`
	LegacyVersion *int64 `json:"Version"`
}

func (v versionJSON) version() int64 {
	switch {
	case v.Version != nil:
		return *v.Version
	case v.LegacyVersion != nil:
		return *v.LegacyVersion
	}
	return 0
}

// timestamp is an RFC 3339 time that also accepts a time without a zone (taken as UTC, as
// flyctl does), a space instead of the "T", and null or "" (the zero time).
type timestamp time.Time

var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

func (t *timestamp) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*t = timestamp{}
		return nil
	}
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return err
	}
	parsed, err := parseTimestamp(text)
	if err != nil {
		return err
	}
	*t = timestamp(parsed)
	return nil
}

func parseTimestamp(text string) (time.Time, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return time.Time{}, nil
	}
	for _, layout := range timestampLayouts {
		// time.Parse reads a time without a zone as UTC.
		if parsed, err := time.Parse(layout, text); err == nil {
			return parsed, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", text)
}

// Paths. Every segment is escaped, and "." / ".." are refused: sent as-is they could be
// normalised by a proxy, turning DELETE .../secrets/.. into a DELETE of the app.

func secretsPath(op, app string) (string, error) {
	appSeg, err := pathSegment(op, "app", app)
	if err != nil {
		return "", err
	}
	return "/v1/apps/" + appSeg + "/secrets", nil
}

func secretPath(op, app, name string) (string, error) {
	base, err := secretsPath(op, app)
	if err != nil {
		return "", err
	}
	nameSeg, err := pathSegment(op, "secret name", name)
	if err != nil {
		return "", err
	}
	return base + "/" + nameSeg, nil
}

// ErrInvalidArgument is wrapped by errors for an empty or unusable app or secret name, returned
// before any request is made.
var ErrInvalidArgument = errors.New("invalid argument")

func pathSegment(op, what, value string) (string, error) {
	switch value {
	case "":
		return "", fmt.Errorf("fly: %s: %w: %s is empty", op, ErrInvalidArgument, what)
	case ".", "..":
		return "", fmt.Errorf("fly: %s: %w: %s %q", op, ErrInvalidArgument, what, value)
	}
	return url.PathEscape(value), nil
}

// updateOp describes an UpdateSecrets call by the names it sets and unsets (never the values).
func updateOp(app string, values map[string]*string) string {
	var set, unset []string
	for name, value := range values {
		if value == nil {
			unset = append(unset, name)
		} else {
			set = append(set, name)
		}
	}
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "set secrets "+nameList(set))
	}
	if len(unset) > 0 {
		parts = append(parts, "unset secrets "+nameList(unset))
	}
	if len(parts) == 0 {
		parts = append(parts, "update no secrets")
	}
	return fmt.Sprintf("%s on app %q", strings.Join(parts, " and "), app)
}

// nameList quotes sorted names, listing at most a handful so that an error stays one line.
func nameList(names []string) string {
	const shown = 5
	sort.Strings(names)
	var quoted []string
	for i, name := range names {
		if i == shown {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(names)-shown))
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", name))
	}
	return strings.Join(quoted, ", ")
}
