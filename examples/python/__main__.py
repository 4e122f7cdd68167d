"""The Pulumi program: `pulumi up` runs this file. The resources are declared in program.py so
that tests can run the same code."""

from program import edge_secrets

edge_secrets()
