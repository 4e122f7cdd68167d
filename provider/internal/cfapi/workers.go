package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The Workers script secrets routes (docs/contract-cloudflare-workers-secrets.md): a Worker's own
// secrets, secret_text and secret_key bindings of its script. cloudflare-go's workers package
// would link much of the SDK, so these are plain HTTP calls under the same retry policy.

// Error codes of the Workers routes. Unlike the Secrets Store's, these codes are specific, and
// they are what is matched (wrangler matches them too).
const (
	codeWorkerNotFound       = 10007
	codeLegacyEnvNotFound    = 10090
	codeBindingNotFound      = 10056
	codeLatestNotDeployed    = 10215
	codeNoVersions           = 10222
	maxBulkWorkerSecrets     = 100 // wrangler's `secret bulk` sends at most this many per request
	workerSecretTextType     = "secret_text"
	workersBulkContentType   = "application/merge-patch+json"
	workersEnvelopeMaxLength = 16 << 20
)

// WorkerScript names a Worker script: Namespace is "" for the account's own Workers, or the Workers
// for Platforms dispatch namespace the script lives in.
type WorkerScript struct {
	Namespace string
	Name      string
}

func (s WorkerScript) String() string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "/" + s.Name
}

// path is the script's route under the account.
func (s WorkerScript) path() string {
	if s.Namespace == "" {
		return "/workers/scripts/" + url.PathEscape(s.Name)
	}
	return "/workers/dispatch/namespaces/" + url.PathEscape(s.Namespace) + "/scripts/" + url.PathEscape(s.Name)
}

// WorkerSecret is one secret of a script as listed: never a value.
type WorkerSecret struct {
	Name string `json:"name"`
	Type string `json:"type"` // secret_text, or secret_key (a WebCrypto key)
}

// IsWorkerNotFound reports that the script does not exist (10007; wrangler treats the legacy
// environment error 10090 the same).
func IsWorkerNotFound(err error) bool { return hasCode(err, codeWorkerNotFound, codeLegacyEnvNotFound) }

// IsWorkerSecretNotFound reports that the script has no secret of that name (10056).
func IsWorkerSecretNotFound(err error) bool { return hasCode(err, codeBindingNotFound) }

// IsLatestNotDeployed reports Cloudflare's refusal of a secret write while the script's newest
// version is not the deployed one (a gradual deployment in progress): 10215.
func IsLatestNotDeployed(err error) bool { return hasCode(err, codeLatestNotDeployed) }

// IsNoVersions reports a script with no uploaded version (10222).
func IsNoVersions(err error) bool { return hasCode(err, codeNoVersions) }

func hasCode(err error, codes ...int64) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, d := range apiErr.Errors {
		if slices.Contains(codes, d.Code) {
			return true
		}
	}
	return false
}

// envelope is the v4 API's answer.
type envelope struct {
	Success bool            `json:"success"`
	Errors  []ErrorDetail   `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

// workersCall makes one request to a Workers route (path under the account), retried as kind
// allows, and decodes its result into out (when not nil). The body is never part of an error.
func (c *Client) workersCall(
	ctx context.Context, op string, kind requestKind, method, path string, body any, contentType string, out any,
) (answer, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return answer{}, fmt.Errorf("cloudflare: %s: encoding the request: %w", op, err)
		}
	}
	var result json.RawMessage
	got, err := c.retrying(ctx, op, kind, func(ctx context.Context) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(ctx, c.retry.RequestTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, c.baseURL+"/accounts/"+c.accountID+path,
			bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("cloudflare: %s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		if body != nil {
			req.Header.Set("Content-Type", contentType)
		}
		if c.retry.UserAgent != "" {
			req.Header.Set("User-Agent", c.retry.UserAgent)
		}
		res, err := c.httpClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("cloudflare: %s: %w", op, err)
		}
		defer func() { _ = res.Body.Close() }()
		raw, err := io.ReadAll(io.LimitReader(res.Body, workersEnvelopeMaxLength))
		if err != nil {
			return res, fmt.Errorf("cloudflare: %s: reading the answer: %w", op, err)
		}
		var env envelope
		decodeErr := json.Unmarshal(raw, &env)
		if res.StatusCode >= 400 || decodeErr != nil || !env.Success {
			if decodeErr != nil && res.StatusCode < 400 {
				return res, fmt.Errorf("cloudflare: %s: the answer is not the API's JSON envelope: %w", op, decodeErr)
			}
			return res, &APIError{Op: op, StatusCode: res.StatusCode, Errors: env.Errors}
		}
		result = env.Result
		return res, nil
	})
	if err != nil || out == nil {
		return got, err
	}
	if err := json.Unmarshal(result, out); err != nil {
		return got, fmt.Errorf("cloudflare: %s: decoding the result: %w", op, err)
	}
	return got, nil
}

// ListWorkerSecrets lists a script's secrets (names and types; the API never returns values).
func (c *Client) ListWorkerSecrets(ctx context.Context, script WorkerScript) ([]WorkerSecret, error) {
	var out []WorkerSecret
	at := c.now()
	_, err := c.workersCall(ctx, fmt.Sprintf("list secrets of Worker %q", script.String()), idempotent,
		http.MethodGet, script.path()+"/secrets", nil, "", &out)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []WorkerSecret{}
	}
	c.observeWorker(script, at, out, nil, true)
	return out, nil
}

// PutWorkerSecret writes one secret_text with one PUT: a new version of the script, deployed.
// It carries the whole value, so repeating it is safe.
func (c *Client) PutWorkerSecret(ctx context.Context, script WorkerScript, name, value string) (time.Time, error) {
	body := map[string]string{"name": name, "text": value, "type": workerSecretTextType}
	got, err := c.workersCall(ctx, fmt.Sprintf("put secret %q of Worker %q", name, script.String()), idempotent,
		http.MethodPut, script.path()+"/secrets", body, "application/json", nil)
	if err != nil {
		return time.Time{}, err
	}
	c.observeWorker(script, got.received, []WorkerSecret{{Name: name, Type: workerSecretTextType}}, nil, false)
	return c.answeredAt(got), nil
}

// DeleteWorkerSecret removes one secret (a new version, deployed). IsWorkerSecretNotFound(err)
// when it is not there, also when a repeated attempt finds the first one applied.
func (c *Client) DeleteWorkerSecret(ctx context.Context, script WorkerScript, name string) error {
	path := script.path() + "/secrets/" + url.PathEscape(name) + "?url_encoded=true"
	got, err := c.workersCall(ctx, fmt.Sprintf("delete secret %q of Worker %q", name, script.String()), idempotent,
		http.MethodDelete, path, nil, "", nil)
	if err == nil || IsWorkerSecretNotFound(err) {
		c.observeWorker(script, got.received, nil, []string{name}, false)
	}
	return err
}

// PatchWorkerSecrets sends one secrets-bulk merge patch, the call `wrangler secret bulk` makes:
// a value writes the secret_text, nil removes it (a name the script lacks is no change), an
// absent name is untouched. All of it is one new version, deployed; the API applies all or
// nothing. At most 100 names per call: more are sent in further calls (each a version).
// It carries whole values, so repeating it is safe. It returns when the last call was answered.
func (c *Client) PatchWorkerSecrets(
	ctx context.Context, script WorkerScript, changes map[string]*string,
) (time.Time, error) {
	names := slices.Sorted(maps.Keys(changes))
	var at time.Time
	for len(names) > 0 {
		chunk := names[:min(len(names), maxBulkWorkerSecrets)]
		names = names[len(chunk):]
		body := map[string]map[string]any{"secrets": {}}
		var written []WorkerSecret
		var removed []string
		for _, name := range chunk {
			if v := changes[name]; v != nil {
				body["secrets"][name] = map[string]string{"name": name, "text": *v, "type": workerSecretTextType}
				written = append(written, WorkerSecret{Name: name, Type: workerSecretTextType})
			} else {
				body["secrets"][name] = nil
				removed = append(removed, name)
			}
		}
		op := fmt.Sprintf("write secrets %s of Worker %q", quotedNames(chunk), script.String())
		got, err := c.workersCall(ctx, op, idempotent, http.MethodPatch, script.path()+"/secrets-bulk", body,
			workersBulkContentType, nil)
		if err != nil {
			return time.Time{}, err
		}
		c.observeWorker(script, got.received, written, removed, false)
		at = c.answeredAt(got)
	}
	return at, nil
}

// answeredAt is when an answer was given: the server's clock when it said, else the local one.
func (c *Client) answeredAt(got answer) time.Time {
	if !got.date.IsZero() {
		return got.date.UTC()
	}
	return got.received.UTC()
}

// WorkerVersion is one version of a script, as the versions API lists it.
type WorkerVersion struct {
	ID       string `json:"id"`
	Number   int    `json:"number"`
	Metadata struct {
		CreatedOn time.Time `json:"created_on"`
	} `json:"metadata"`
	Resources struct {
		Bindings []WorkerSecret `json:"bindings"`
	} `json:"resources"`
}

// WorkerSecretNamesBefore are the secret names of the newest version of an account script made
// before t: what was there then. known is false when that cannot be told: a Workers for
// Platforms script (no versions API), or no version made before t.
func (c *Client) WorkerSecretNamesBefore(
	ctx context.Context, script WorkerScript, t time.Time,
) (names []string, known bool, err error) {
	if script.Namespace != "" {
		return nil, false, nil
	}
	var list struct {
		Items []WorkerVersion `json:"items"`
	}
	_, err = c.workersCall(ctx, fmt.Sprintf("list versions of Worker %q", script.Name), idempotent,
		http.MethodGet, script.path()+"/versions", nil, "", &list)
	if err != nil {
		return nil, false, err
	}
	var before *WorkerVersion
	for i, v := range list.Items {
		if v.Metadata.CreatedOn.Before(t) && (before == nil || v.Number > before.Number) {
			before = &list.Items[i]
		}
	}
	if before == nil {
		return nil, false, nil
	}
	var detail WorkerVersion
	_, err = c.workersCall(ctx, fmt.Sprintf("get version %s of Worker %q", before.ID, script.Name), idempotent,
		http.MethodGet, script.path()+"/versions/"+url.PathEscape(before.ID), nil, "", &detail)
	if err != nil {
		return nil, false, err
	}
	for _, b := range detail.Resources.Bindings {
		if b.Type == workerSecretTextType || b.Type == "secret_key" {
			names = append(names, b.Name)
		}
	}
	return names, true, nil
}

func quotedNames(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}
