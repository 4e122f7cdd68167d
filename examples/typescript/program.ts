// The example's resources: Fly.io app secrets, one on its own and two as one resource, rolled
// out to the app's machines; a Cloudflare Secrets Store secret, ready for a Worker binding; and
// lookups of the account's store and the app's secrets.
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
    const sessionKey = config.getSecret("sessionKey") ?? pulumi.secret("demo-session-key");
    const webhookSecret = config.getSecret("webhookSecret") ?? pulumi.secret("demo-webhook-secret");

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

    // Rolls the app's machines to the secrets version DATABASE_URL's write made: one restart
    // per `pulumi up` that changed it, none otherwise (list more FlySecrets' versions to follow).
    const deployment = new edgesecrets.fly.SecretsDeployment("deployment", {
        app: flyApp,
        secretsVersions: [databaseUrlSecret.version],
    });

    // More secrets of the same app as one resource, named by the template (APP_SESSION_KEY,
    // APP_WEBHOOK_SECRET): each change is one bulk write, and `deploy: rolling` restarts the
    // machines once for all of them (with the deployment above, in one rollout per `pulumi up`).
    const appSecrets = new edgesecrets.fly.FlyAppSecrets("appSecrets", {
        app: flyApp,
        keyTemplate: "APP_{{key}}",
        deploy: edgesecrets.types.enums.fly.DeployMode.Rolling,
        secrets: { SESSION_KEY: sessionKey, WEBHOOK_SECRET: webhookSecret },
    });

    // The account's store (no name given), looked up rather than managed. Taking the account from
    // store's output orders the lookup after it, so that an account with no store yet has one.
    const accountStore = edgesecrets.cloudflare.getSecretsStoreOutput({ accountId: store.accountId });
    // The app's secrets as Fly.io lists them: names and digests, never values. Taking the app
    // from appSecrets' output makes the lookup wait for its write.
    const flySecrets = edgesecrets.fly.getFlySecretsOutput({ app: appSecrets.app });

    return {
        // Fly.io's digest of the stored value: it changes whenever the value does.
        databaseUrlDigest: databaseUrlSecret.digest,
        storeId: store.storeId,
        // Pass this to a Worker's bindings (add a binding name): {type, storeId, secretName}.
        apiKeyBinding: apiKeySecret.binding,
        // The Fly names appSecrets manages, and the secrets version the machines were rolled to.
        appSecretNames: appSecrets.names,
        deployedVersion: deployment.deployedVersion,
        storeName: accountStore.name,
        flySecretNames: flySecrets.names,
    };
}
