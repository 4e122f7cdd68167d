// Package program declares the example's resources: Fly.io app secrets, one on its own and two
// as one resource, rolled out to the app's machines; a Cloudflare Secrets Store secret, ready for
// a Worker binding; and lookups of the account's store and the app's secrets.
//
// The provider reads its endpoints and credentials from the environment (FLY_API_TOKEN,
// CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, and the *_BASE_URL variables that
// edgesecrets-emulator prints), so the program names no credentials.
package program

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/edgesecrets/pulumi-edgesecrets/sdk/go/edgesecrets/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/sdk/go/edgesecrets/fly"
)

// Demo defaults, so that the example runs out of the box. Set real values with
// `pulumi config set --secret databaseUrl ...` (and apiKey, sessionKey, webhookSecret).
const (
	defaultFlyApp        = "demo"
	defaultDatabaseURL   = "postgres://demo:demo@localhost:5432/demo"
	defaultAPIKey        = "demo-api-key"
	defaultSessionKey    = "demo-session-key"
	defaultWebhookSecret = "demo-webhook-secret"
)

// EdgeSecrets declares the resources and exports the stack's outputs, none of them secret.
func EdgeSecrets(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	flyApp := cfg.Get("flyApp")
	if flyApp == "" {
		flyApp = defaultFlyApp
	}
	databaseURL := secretConfig(cfg, "databaseUrl", defaultDatabaseURL)
	apiKey := secretConfig(cfg, "apiKey", defaultAPIKey)
	sessionKey := secretConfig(cfg, "sessionKey", defaultSessionKey)
	webhookSecret := secretConfig(cfg, "webhookSecret", defaultWebhookSecret)

	// DATABASE_URL on the Fly.io app. The write is staged: machines see it on their next
	// (re)start, as with `fly secrets set --stage`.
	databaseURLSecret, err := fly.NewFlySecret(ctx, "databaseUrlSecret", &fly.FlySecretArgs{
		App:   pulumi.String(flyApp),
		Name:  pulumi.String("DATABASE_URL"),
		Value: databaseURL,
	})
	if err != nil {
		return err
	}

	// The account's Secrets Store (Cloudflare allows one per account), under its default name.
	store, err := cloudflare.NewSecretsStore(ctx, "store", &cloudflare.SecretsStoreArgs{})
	if err != nil {
		return err
	}

	// A secret in that store, readable by Workers (the "workers" scope). Taking StoreId from
	// the store's output also orders the two: the store exists before the secret is created.
	apiKeySecret, err := cloudflare.NewSecret(ctx, "apiKeySecret", &cloudflare.SecretArgs{
		StoreId: store.StoreId,
		Name:    pulumi.String("API_KEY"),
		Value:   apiKey,
		Scopes:  pulumi.StringArray{pulumi.String("workers")},
		Comment: pulumi.String("API key for the edge Worker"),
	})
	if err != nil {
		return err
	}

	// Rolls the app's machines to the secrets version DATABASE_URL's write made: one restart
	// per `pulumi up` that changed it, none otherwise (list more FlySecrets' versions to follow).
	deployment, err := fly.NewSecretsDeployment(ctx, "deployment", &fly.SecretsDeploymentArgs{
		App:             pulumi.String(flyApp),
		SecretsVersions: pulumi.IntArray{databaseURLSecret.Version},
	})
	if err != nil {
		return err
	}

	// More secrets of the same app as one resource, named by the template (APP_SESSION_KEY,
	// APP_WEBHOOK_SECRET): each change is one bulk write, and `deploy: rolling` restarts the
	// machines once for all of them (with the deployment above, in one rollout per `pulumi up`).
	appSecrets, err := fly.NewFlyAppSecrets(ctx, "appSecrets", &fly.FlyAppSecretsArgs{
		App:         pulumi.String(flyApp),
		KeyTemplate: pulumi.String("APP_{{key}}"),
		Deploy:      fly.DeployModeRolling,
		Secrets:     pulumi.StringMap{"SESSION_KEY": sessionKey, "WEBHOOK_SECRET": webhookSecret},
	})
	if err != nil {
		return err
	}

	// The account's store (no name given), looked up rather than managed. Taking the account from
	// store's output orders the lookup after it, so that an account with no store yet has one.
	accountStore := cloudflare.LookupSecretsStoreOutput(ctx, cloudflare.LookupSecretsStoreOutputArgs{
		AccountId: store.AccountId,
	})
	// The app's secrets as Fly.io lists them: names and digests, never values. Taking the app
	// from appSecrets' output makes the lookup wait for its write.
	flySecrets := fly.GetFlySecretsOutput(ctx, fly.GetFlySecretsOutputArgs{App: appSecrets.App})

	// Fly.io's digest of the stored value: it changes whenever the value does.
	ctx.Export("databaseUrlDigest", databaseURLSecret.Digest)
	ctx.Export("storeId", store.StoreId)
	// Pass this to a Worker's bindings (add a binding name): {type, storeId, secretName}.
	ctx.Export("apiKeyBinding", apiKeySecret.Binding)
	// The Fly names appSecrets manages, and the secrets version the machines were rolled to.
	ctx.Export("appSecretNames", appSecrets.Names)
	ctx.Export("deployedVersion", deployment.DeployedVersion)
	ctx.Export("storeName", accountStore.Name())
	ctx.Export("flySecretNames", flySecrets.Names())
	return nil
}

// secretConfig reads a config value set with `pulumi config set --secret`, or falls back to
// a demo default that is kept secret all the same.
func secretConfig(cfg *config.Config, key, fallback string) pulumi.StringOutput {
	if value, err := cfg.TrySecret(key); err == nil {
		return value
	}
	return pulumi.ToSecret(pulumi.String(fallback)).(pulumi.StringOutput)
}
