#!/usr/bin/env bash
# Proves the tools in $TOOLS_BIN run a Pulumi program offline: a YAML program with one output,
# deployed to a throwaway local (file://) backend, with no network and no Pulumi Cloud.
set -euo pipefail

TOOLS_BIN=${TOOLS_BIN:-$HOME/.cache/edgesecrets/bin}
export PATH="$TOOLS_BIN:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/state" "$work/program"
cat >"$work/program/Pulumi.yaml" <<'YAML'
name: yaml-smoke
runtime: yaml
outputs:
  greeting: hello from yaml
YAML

export PULUMI_BACKEND_URL="file://$work/state" PULUMI_CONFIG_PASSPHRASE=smoke
export PULUMI_HOME="$work/home" PULUMI_SKIP_UPDATE_CHECK=true
# quiet CMD...: run CMD, showing its output only if it fails.
quiet() {
	local out
	out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

cd "$work/program"
quiet pulumi stack init smoke --non-interactive
quiet pulumi up --yes --non-interactive --skip-preview
got=$(pulumi stack output greeting)
if [[ $got != "hello from yaml" ]]; then
	echo "yaml smoke test: expected output 'hello from yaml', got '$got'" >&2
	exit 1
fi
echo "yaml smoke test: pulumi up of a YAML program worked offline"
