"""The example's resources: a Fly.io app secret and a Cloudflare Secrets Store secret, ready for
a Worker binding.

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

    # Fly.io's digest of the stored value: it changes whenever the value does.
    pulumi.export("databaseUrlDigest", database_url_secret.digest)
    pulumi.export("storeId", store.store_id)
    # Pass this to a Worker's bindings (add a binding name): {type, storeId, secretName}.
    pulumi.export("apiKeyBinding", api_key_secret.binding)
