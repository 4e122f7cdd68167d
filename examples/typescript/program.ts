// The example's resources: a Fly.io app secret and a Cloudflare Secrets Store secret, ready for
// a Worker binding.
//
// The provider reads its endpoints and credentials from the environment (FLY_API_TOKEN,
// CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, and the *_BASE_URL variables that
// edgesecrets-emulator prints), so the program names no credentials.
import * as pulumi from "@pulumi/pulumi";
import * as edgesecrets from "@edgesecrets/pulumi";

/** Declares the resources and returns the stack's outputs, none of them secret. */
export function edgeSecrets() {
    const config = new pulumi.Config();
    const flyApp = config.get("flyApp") ?? "demo";
    // Set real values with `pulumi config set --secret databaseUrl ...` (stored encrypted); the
    // demo defaults only make the example run out of the box, and are kept secret all the same.
    const databaseUrl = config.getSecret("databaseUrl") ?? pulumi.secret("postgres://demo:demo@localhost:5432/demo");
    const apiKey = config.getSecret("apiKey") ?? pulumi.secret("demo-api-key");

    // DATABASE_URL on the Fly.io app. The write is staged: machines see it on their next
    // (re)start, as with `fly secrets set --stage`.
    const databaseUrlSecret = new edgesecrets.fly.FlySecret("databaseUrlSecret", {
        app: flyApp,
        name: "DATABASE_URL",
        value: databaseUrl,
    });

    // The account's Secrets Store (Cloudflare allows one per account), under its default name.
    const store = new edgesecrets.cloudflare.SecretsStore("store", {});

    // A secret in that store, readable by Workers (the "workers" scope). Taking storeId from the
    // store's output also orders the two: the store exists before the secret is created.
    const apiKeySecret = new edgesecrets.cloudflare.Secret("apiKeySecret", {
        storeId: store.storeId,
        name: "API_KEY",
        value: apiKey,
        scopes: ["workers"],
        comment: "API key for the edge Worker",
    });

    return {
        // Fly.io's digest of the stored value: it changes whenever the value does.
        databaseUrlDigest: databaseUrlSecret.digest,
        storeId: store.storeId,
        // Pass this to a Worker's bindings (add a binding name): {type, storeId, secretName}.
        apiKeyBinding: apiKeySecret.binding,
    };
}
