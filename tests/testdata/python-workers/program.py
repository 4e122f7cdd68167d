"""A Python program of tests/python_workers_test.go: a WorkerSecret and a WorkerSecrets under a
keyTemplate on one Worker script, and getWorkerSecrets listing the script's secrets. The driver
(testdata/python/driver.py) runs edge_secrets() as an Automation API inline program."""

import pulumi
import pulumi_edgesecrets as edgesecrets


def edge_secrets() -> None:
    config = pulumi.Config()
    api_key = edgesecrets.cloudflare.WorkerSecret(
        "apiKey",
        script_name="edge-api",
        name="API_KEY",
        value=config.require_secret("apiKey"),
    )
    app_secrets = edgesecrets.cloudflare.WorkerSecrets(
        "appSecrets",
        script_name="edge-api",
        key_template="APP_{{key}}",
        secrets={
            "DATABASE_URL": config.require_secret("databaseUrl"),
            "REGION": "eu",
        },
    )
    # Read back after both writes.
    listed = pulumi.Output.all(api_key.script_name, app_secrets.names).apply(
        lambda args: edgesecrets.cloudflare.get_worker_secrets(script_name=args[0])
    )
    pulumi.export("names", app_secrets.names)
    pulumi.export("digest", api_key.digest)
    pulumi.export("listedNames", listed.apply(lambda r: r.names))
