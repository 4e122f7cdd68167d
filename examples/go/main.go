// Command edgesecrets-example-go is the Pulumi program of this example: `pulumi up` builds and
// runs it. The resources themselves are in package program, so that tests can run them too.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edgesecrets/pulumi-edgesecrets/examples/go/program"
)

func main() {
	pulumi.Run(program.EdgeSecrets)
}
