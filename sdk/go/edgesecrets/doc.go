// Manage the secrets edge apps run on: Fly.io app secrets and Cloudflare Secrets Store stores and secrets, with values that stay secret and `pulumi import` of existing secrets.
package edgesecrets
