"""A Python program of tests/python_appsecrets_test.go: an app's secrets as one FlyAppSecrets that
rolls the app's machines, and getFlySecrets reading them back. The driver (testdata/python/
driver.py) runs edge_secrets() as an Automation API inline program."""

import pulumi
import pulumi_edgesecrets as edgesecrets


def edge_secrets() -> None:
    config = pulumi.Config()
    app_secrets = edgesecrets.fly.FlyAppSecrets(
        "appSecrets",
        app="demo",
        key_template="APP_{{key}}",
        prune=True,
        deploy=edgesecrets.fly.DeployMode.ROLLING,
        secrets={
            "DATABASE_URL": config.require_secret("databaseUrl"),
            "API_KEY": config.require_secret("apiKey"),
        },
    )
    # Read back after the write: the lookup takes the resource's app output.
    listed = edgesecrets.fly.get_fly_secrets_output(app=app_secrets.app)
    pulumi.export("names", app_secrets.names)
    pulumi.export("deployedVersion", app_secrets.deployed_version)
    pulumi.export("version", app_secrets.version)
    pulumi.export("listedNames", listed.names)
