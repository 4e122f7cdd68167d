// Package flyapi is a small client for the app secrets endpoints of the Fly Machines API
// (https://api.machines.dev/v1/apps/{app}/secrets...), and for the machines endpoints a deploy
// uses (list, get, update, wait, leases; machines.go), written from the project's contract in
// docs/contract-fly.md and fly-go's flaps client. It knows nothing about Pulumi.
//
//	c := flyapi.New("", os.Getenv("FLY_API_TOKEN"))
//	res, err := c.SetSecret(ctx, "my-app", "DATABASE_URL", dsn)
//	if err != nil {
//		return err // *flyapi.APIError for HTTP failures; never contains dsn or the token
//	}
//	fmt.Println(res.Digest, res.Version)
//
// Secret values are write-only: the client sends them but never decodes one from a response, and
// no error it returns contains a value or the token (text the server sends back is scrubbed of
// both).
//
// The client is built for Fly's real behaviour, not a friendly one:
//   - Pacing: requests to one app and action are spaced to Fly's documented rate limit (about
//     1/s, bursts of 3), shared by every client of the process (Shared), so many secrets of one
//     app queue instead of failing.
//   - Retries: rate limits (429), racing writes (409), 408/5xx, dropped connections and hung
//     attempts (WithAttemptTimeout) are retried for a time budget (WithRetries), honouring
//     Retry-After up to a cap.
//   - Read consistency: reads ask for the newest secrets version known (the caller's, or one
//     this process wrote) with ?version=N; a 412 (not there yet) is waited out for ten read
//     lags, after which the version is forgotten and the app read as it is (an app made again
//     under its name starts over at version 0), and a 404 that may be lag is retried for the
//     read lag (WithReadLag).
//   - Writes that must not happen twice (a machine update, a lease) are settled after an attempt
//     whose answer was lost: the client looks whether it was applied before it retries.
//   - Every wait is told to a WaitNotifier first, so that long operations are never silent.
//   - Coalescing (WithCoalescing): the writes the clients of a process make to one app at the
//     same time go out as one bulk write, and their reads are served by one listing of the app
//     per operation (BeginOperation), so that a program of one resource per secret costs about
//     what one bulk call does.
package flyapi
