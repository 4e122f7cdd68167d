package flyapi

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

// maxBatchWrites bounds how many callers' writes one bulk call carries. Fly documents no limit;
// this keeps a body well within what a proxy takes.
const maxBatchWrites = 500

// WithCoalescing makes the client's calls for one API URL, token and app, from every client
// of the process that shares its Shared and has this option, cost a handful of API calls, so
// that a program of one resource per secret costs what one bulk call does:
//
//   - Writes (SetSecret, CreateSecret, UpdateSecrets, DeleteSecret) that arrive together are
//     sent as one bulk write, POST /v1/apps/{app}/secrets (a null value unsets), and each
//     caller gets its own answer from its response. While the app's rate limit is not ready
//     callers queue; when it is, the batch gathers for a short window (until no write has
//     arrived for gap, at most window: zero values take the defaults, 30ms and 300ms) and takes
//     everything queued. One batch is in flight per app at a time. A batch the API refuses
//     for its content (a 4xx other than auth, app not found, rate limits) is sent again one
//     caller at a time, so that one bad key fails only its own caller.
//   - Reads (GetSecret, ListSecrets, CreateSecret's look) are served by one listing of the app,
//     GET /v1/apps/{app}/secrets, kept for the life of the Shared (one provider process serves
//     one operation) and shared by concurrent readers; a write of this process updates it from
//     its own answer when the version shows that nobody else wrote in between, and drops it
//     otherwise. See listing for how it keeps every read as consistent as a read of its own.
//
// DeleteSecret then answers success, not a 404, for a secret already gone. Writes are
// idempotent, so a batch is retried as any write is.
func WithCoalescing(gap, window time.Duration) Option {
	return func(c *Client) {
		c.coalescing = true
		c.window = coalesce.Window{Gap: gap, Max: window}.Or(coalesce.DefaultWindow)
	}
}

// writeQueue batches one app's writes (by API URL and token).
type writeQueue = coalesce.Batcher[*queuedWrite, UpdateSecretsResponse]

// queuedWrite is one caller's write: its values (nil unsets) and whom to tell.
type queuedWrite struct {
	c      *Client
	ctx    context.Context
	values map[string]*string
}

// sharedKey names what one token sees of one app at one API.
func (c *Client) sharedKey(app string) string {
	return c.baseURL + "\x00" + c.authorization + "\x00" + app
}

// writeQueue returns the app's write queue, made on first use.
func (c *Client) writeQueue(app string) *writeQueue {
	return c.shared.writeQueues.Get(c.sharedKey(app), func() *writeQueue {
		return &writeQueue{
			Window: c.window,
			Limit:  maxBatchWrites,
			Ready:  func(waiting []*queuedWrite) { paceBatch(app, waiting) },
			Fits:   disjoint,
			Send:   func(writes []*queuedWrite) []coalesce.Result[UpdateSecretsResponse] { return sendBatch(app, writes) },
		}
	})
}

// queueWrite sends values (nil unsets) with whatever other writes to the app are queued, and
// returns this caller's part of the answer.
func (c *Client) queueWrite(ctx context.Context, app string, values map[string]*string) (UpdateSecretsResponse, error) {
	if _, err := secretsPath("write secrets", app); err != nil {
		return UpdateSecretsResponse{}, err
	}
	return c.writeQueue(app).Do(ctx, &queuedWrite{c: c, ctx: ctx, values: values})
}

// disjoint keeps two writes of one name out of one call: the second waits for the next batch.
func disjoint(taken []*queuedWrite, w *queuedWrite) bool {
	for _, t := range taken {
		for name := range w.values {
			if _, both := t.values[name]; both {
				return false
			}
		}
	}
	return true
}

// paceBatch waits for the batch's slot in the app's rate limit, telling every caller waiting.
func paceBatch(app string, waiting []*queuedWrite) {
	lead := waiting[0].c
	wait, _, ok := lead.shared.reserve(lead.baseURL, app, actionBulkWrite, lead.now())
	if !ok || wait <= 0 {
		return
	}
	tellAll(waiting)(wait, pacingReason(app))
	_ = lead.sleep(context.Background(), wait) // short, and the slot is taken either way
}

// tellAll tells every caller of a batch of a wait.
func tellAll(writes []*queuedWrite) func(time.Duration, string) {
	return func(wait time.Duration, why string) {
		for _, w := range writes {
			w.c.notify(w.ctx, wait, why)
		}
	}
}

// sendBatch makes one bulk write of every caller's values and gives each caller its part of the
// answer. A batch refused for its content is sent again one caller at a time.
func sendBatch(app string, writes []*queuedWrite) []coalesce.Result[UpdateSecretsResponse] {
	results := make([]coalesce.Result[UpdateSecretsResponse], len(writes))
	values := map[string]*string{}
	for _, w := range writes {
		for name, v := range w.values {
			values[name] = v
		}
	}
	ctxs := make([]context.Context, len(writes))
	for i, w := range writes {
		ctxs[i] = w.ctx
	}
	ctx, cancel := coalesce.Context(ctxs)
	defer cancel()
	lead := writes[0].c
	res, err := lead.updateSecrets(ctx, app, values, request{prepaced: true, tell: tellAll(writes)})
	if err != nil && len(writes) > 1 && refusedForContent(err) {
		for i, w := range writes {
			res, err := w.c.updateSecrets(w.ctx, app, w.values, request{})
			results[i] = w.c.answerFor(w, app, res, err)
		}
		return results
	}
	for i, w := range writes {
		results[i] = w.c.answerFor(w, app, res, err)
	}
	return results
}

// answerFor is one caller's part of a bulk answer: the secrets it set and the version. A
// secret the answer does not list is read back (at the version written), so that the caller
// still records its digest.
func (c *Client) answerFor(w *queuedWrite, app string, res UpdateSecretsResponse, err error) coalesce.Result[UpdateSecretsResponse] {
	if err != nil {
		return coalesce.Result[UpdateSecretsResponse]{Err: err}
	}
	byName := make(map[string]Secret, len(res.Secrets))
	for _, s := range res.Secrets {
		byName[s.Name] = s
	}
	mine := UpdateSecretsResponse{Version: res.Version}
	for _, name := range sortedNames(w.values) {
		if w.values[name] == nil {
			continue
		}
		s, ok := byName[name]
		if !ok {
			if s, err = c.GetSecret(w.ctx, app, name, res.Version); err != nil {
				return coalesce.Result[UpdateSecretsResponse]{Err: err}
			}
		}
		mine.Secrets = append(mine.Secrets, s)
	}
	return coalesce.Result[UpdateSecretsResponse]{Value: mine}
}

func sortedNames(values map[string]*string) []string {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// refusedForContent reports a refusal that may be one key's fault (a bad name, a value too
// large, a body too big), not everyone's: not authentication, a missing app, rate limits,
// racing writes or server trouble, which the retries have already had their say on.
func refusedForContent(err error) bool {
	status := statusOf(err)
	switch {
	case status < 400 || status >= 500:
		return false
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound,
		status == http.StatusRequestTimeout, status == http.StatusConflict, status == http.StatusTooManyRequests:
		return false
	}
	return true
}
