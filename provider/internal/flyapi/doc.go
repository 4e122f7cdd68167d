// Package flyapi is a small client for the app secrets endpoints of the Fly Machines API
// (https://api.machines.dev/v1/apps/{app}/secrets...), written from the project's contract in
// shared/api/fly-secrets.md. It depends on the standard library only and knows nothing about
// Pulumi.
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
// both). Rate limits (429), racing writes (409), 408/5xx and dropped connections are retried a
// bounded number of times; see WithRetries.
package flyapi
