// The Pulumi program: `pulumi up` runs this file. The resources are declared in program.ts so
// that tests can run the same code; the object exported here becomes the stack's outputs.
import { edgeSecrets } from "./program";

export = edgeSecrets();
