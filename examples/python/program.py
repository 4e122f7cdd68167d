"""The example's resources: Fly.io app secrets, one on its own and two as one resource, rolled out
to the app's machines; a Cloudflare Secrets Store secret, ready for a Worker binding; and lookups
of the account's store and the app's secrets.

The provider reads its endpoints and credentials from the environment (FLY_API_TOKEN,
CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, and the *_BASE_URL variables that
edgesecrets-emulator prints), so the program names no credentials.
"""

import pulumi
import pulumi_edgesecrets as edgesecrets


def edge_secrets() -> None:
    """Declares the resources and exports the stack's outputs, none of them secret."""
    config = pulumi.Config()
    fly_app = config.get("flyApp") or "demo"
    # Set real values with `pulumi config set --secret databaseUrl ...` (stored encrypted); the
    # demo defaults only make the example run out of the box, and are kept secret all the same.
    database_url = config.get_secret("databaseUrl") or pulumi.Output.secret(
        "postgres://demo:demo@localhost:5432/demo"
    )
    api_key = config.get_secret("apiKey") or pulumi.Output.secret("demo-api-key")
    session_key = config.get_secret("sessionKey") or pulumi.Output.secret("demo-session-key")
    webhook_secret = config.get_secret("webhookSecret") or pulumi.Output.secret(
        "demo-webhook-secret"
    )

    # DATABASE_URL on the Fly.io app. The write is staged: machines see it on their next
    # (re)start, as with `fly secrets set --stage`.
    database_url_secret = edgesecrets.fly.FlySecret(
        "databaseUrlSecret",
        app=fly_app,
        name="DATABASE_URL",
        value=database_url,
    )

    # The account's Secrets Store (Cloudflare allows one per account), under its default name.
    store = edgesecrets.cloudflare.SecretsStore("store")

    # A secret in that store, readable by Workers (the "workers" scope). Taking store_id from the
    # store's output also orders the two: the store exists before the secret is created.
    api_key_secret = edgesecrets.cloudflare.Secret(
        "apiKeySecret",
        store_id=store.store_id,
        name="API_KEY",
        value=api_key,
        scopes=["workers"],
        comment="API key for the edge Worker",
    )

    # Rolls the app's machines to the secrets version DATABASE_URL's write made: one restart
    # per `pulumi up` that changed it, none otherwise (list more FlySecrets' versions to follow).
    deployment = edgesecrets.fly.SecretsDeployment(
        "deployment",
        app=fly_app,
        secrets_versions=[database_url_secret.version],
    )

    # More secrets of the same app as one resource, named by the template (APP_SESSION_KEY,
    # APP_WEBHOOK_SECRET): each change is one bulk write, and `deploy: rolling` restarts the
    # machines once for all of them (with the deployment above, in one rollout per `pulumi up`).
    app_secrets = edgesecrets.fly.FlyAppSecrets(
        "appSecrets",
        app=fly_app,
        key_template="APP_{{key}}",
        deploy=edgesecrets.fly.DeployMode.ROLLING,
        secrets={"SESSION_KEY": session_key, "WEBHOOK_SECRET": webhook_secret},
    )

    # The account's store (no name given), looked up rather than managed. Taking the account from
    # store's output orders the lookup after it, so that an account with no store yet has one.
    account_store = edgesecrets.cloudflare.get_secrets_store_output(account_id=store.account_id)
    # The app's secrets as Fly.io lists them: names and digests, never values. Taking the app
    # from app_secrets' output makes the lookup wait for its write.
    fly_secrets = edgesecrets.fly.get_fly_secrets_output(app=app_secrets.app)

    # Fly.io's digest of the stored value: it changes whenever the value does.
    pulumi.export("databaseUrlDigest", database_url_secret.digest)
    pulumi.export("storeId", store.store_id)
    # Pass this to a Worker's bindings (add a binding name): {type, storeId, secretName}.
    pulumi.export("apiKeyBinding", api_key_secret.binding)
    # The Fly names app_secrets manages, and the secrets version the machines were rolled to.
    pulumi.export("appSecretNames", app_secrets.names)
    pulumi.export("deployedVersion", deployment.deployed_version)
    pulumi.export("storeName", account_store.name)
    pulumi.export("flySecretNames", fly_secrets.names)
