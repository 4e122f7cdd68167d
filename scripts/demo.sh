#!/usr/bin/env bash
# The demo, with no cloud account: start edgesecrets-emulator, `pulumi up` the YAML example
# against it, show the outputs and the API calls the emulator served, then destroy.
#
# Everything runs in a temporary directory (Pulumi home, file backend, a copy of the program)
# that is removed at the end; the emulator is stopped whatever happens.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
TOOLS_BIN=${TOOLS_BIN:-$HOME/.cache/edgesecrets/bin}
PROGRAM=${PROGRAM:-$repo/examples/yaml}
VERSION=${VERSION:-$("$repo/bin/pulumi-resource-edgesecrets" --version)}
# bin/ stays off PATH (make puts it there): Pulumi prefers a provider found on PATH to the
# installed plugin, and warns about it.
PATH=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$repo/bin" | paste -sd: -)
export PATH="$TOOLS_BIN:$PATH"

work=$(mktemp -d)
emulator_pid=""
cleanup() {
	[[ -n $emulator_pid ]] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting edgesecrets-emulator (Fly.io + Cloudflare Secrets Store APIs on loopback)"
# Two started machines on the app, so that the up's rollout has something to restart.
"$repo/bin/edgesecrets-emulator" --addr 127.0.0.1:0 --fly-app demo --fly-machines 2 --quiet >"$work/emulator.env" 2>"$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 100); do
	[[ $(wc -l <"$work/emulator.env") -ge 5 ]] && break
	kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; exit 1; }
	sleep 0.1
done
cat "$work/emulator.env"
# shellcheck disable=SC1091
source "$work/emulator.env"

# A private Pulumi home and a local file backend: nothing outside $work is touched.
export PULUMI_HOME="$work/pulumi-home" PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE=demo PULUMI_SKIP_UPDATE_CHECK=1
mkdir -p "$work/state"
pulumi plugin install resource edgesecrets "$VERSION" --file "$repo/bin/pulumi-resource-edgesecrets" >/dev/null

cp -R "$PROGRAM" "$work/program"
cd "$work/program"
pulumi stack init demo --non-interactive >/dev/null

step "pulumi up"
pulumi up --yes --non-interactive --skip-preview

step "pulumi stack output (secret values stay [secret])"
pulumi stack output

step "What the emulator served (request counts by route, never values)"
curl -fsS "$FLY_FLAPS_BASE_URL/_emulator/stats"
echo

step "The app's machines: each restarted once, on the secrets version the up wrote"
curl -fsS "$FLY_FLAPS_BASE_URL/_emulator/fly/apps/demo/machines"
echo

step "pulumi preview: nothing to change"
pulumi preview --non-interactive --expect-no-changes

step "pulumi destroy"
pulumi destroy --yes --non-interactive --skip-preview
pulumi stack rm --yes --non-interactive demo >/dev/null

step "Done: the secrets are gone (the account's default store stays, as on a real account) and the temporary state is removed"
