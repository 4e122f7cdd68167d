// Package flydeploy rolls an app's Fly Machines onto a secrets version, the way `fly secrets
// deploy` does (docs/contract-fly.md, "Staged and deployed"), for the resources that deploy
// what they wrote. It knows nothing about Pulumi.
//
// A rollout lists the app's machines and, for every eligible one (not destroyed or being
// destroyed, not a release-command or console machine, as fly-go decides) that does not run the
// version yet: takes its lease, updates it with its current config and min_secrets_version set
// to the version, waits for the new machine version to start (past Fly's 60 s cap per wait) and
// to pass its health checks when its config has any, and releases the lease. "rolling" does one
// machine at a time, "immediate" all at once. Stopped machines get the config with skip_launch
// and stay stopped. No lease is left behind: every path releases it, a cancelled one too.
//
// The Machine object Fly answers does not tell which secrets version a machine booted with, so
// the rollout records it in the machine's config metadata (MetadataSecretsVersion) in the very
// update that pins min_secrets_version. A machine whose metadata says a version at least the
// target's is skipped: a rerun after a failure resumes with the machines not yet on the version.
// A deploy by other means (flyctl) may drop the key; such a machine is then simply updated once
// more.
//
// Several deploys of one app in one process (many resources deploying after their writes) are
// one rollout to the highest version: Deploy gathers the callers that arrive within a short
// window, and a caller whose version a running rollout does not cover waits for the next one.
// Each caller returns when a rollout that covers its version has finished.
package flydeploy
