// Command pulumi-resource-edgesecrets is the edgesecrets Pulumi provider plugin. The Pulumi
// engine starts it; `pulumi-resource-edgesecrets --version` prints its version.
//
// It lives at the repository root because the root is a Pulumi plugin (PulumiPlugin.yaml,
// runtime go): `pulumi package add github.com/edgesecrets/pulumi-edgesecrets` has Pulumi's Go
// language host run `go build` here. `make build` builds the same package into bin/.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/edgesecrets/pulumi-edgesecrets/provider"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println(version.Version)
		return
	}
	if err := p.RunProvider(context.Background(), provider.Name, version.Version, provider.New()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", provider.Name, err)
		os.Exit(1)
	}
}
