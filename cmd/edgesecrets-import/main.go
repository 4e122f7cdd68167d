// Command edgesecrets-import writes a `pulumi import --file` document for the Fly.io app
// secrets, the Cloudflare Secrets Store secrets and the Worker scripts' secrets that already
// exist:
//
//	edgesecrets-import --fly-app my-app --cloudflare-store default > import.json
//	pulumi import --file import.json --out imported.yaml --yes
//
// It reads the environment variables the provider reads and prints names and IDs, never a
// value. Run it with --help for every flag; the work is in provider/bulkimport.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/bulkimport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := bulkimport.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	var usageErr bulkimport.UsageError
	switch {
	case errors.As(err, &usageErr):
		fmt.Fprintf(os.Stderr, "edgesecrets-import: %v\nRun edgesecrets-import --help for usage.\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "edgesecrets-import: %v\n", err)
		os.Exit(1)
	}
}
