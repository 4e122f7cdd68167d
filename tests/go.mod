module github.com/edgesecrets/pulumi-edgesecrets/tests

go 1.25.11

require github.com/edgesecrets/pulumi-edgesecrets v0.0.0

// The provider module (for its emulator), the Go SDK and the Go example are this repository's
// own directories: the tests always run the code next to them.
replace (
	github.com/edgesecrets/pulumi-edgesecrets => ../
	github.com/edgesecrets/pulumi-edgesecrets/examples/go => ../examples/go
	github.com/edgesecrets/pulumi-edgesecrets/sdk => ../sdk
)
