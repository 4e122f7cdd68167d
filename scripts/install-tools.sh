#!/usr/bin/env bash
# Builds the pinned Pulumi CLI and YAML language host from source into $TOOLS_BIN (no registry
# here serves them as binaries). Each binary is kept under a versioned name, e.g.
# pulumi-v3.259.0, and linked as its plain name, so a version bump builds anew while an
# unchanged version costs nothing. The versions are the ones pinned in tools/*/go.mod: a bump is
# `go get <module>@<version> && go mod tidy` there.
#
# A `pulumi` already on PATH (outside $TOOLS_BIN) that is at least the pinned version is linked
# instead of built.
set -euo pipefail

GO=${GO:-go}
TOOLS_BIN=${TOOLS_BIN:-$HOME/.cache/edgesecrets/bin}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$TOOLS_BIN"
TOOLS_BIN=$(cd "$TOOLS_BIN" && pwd)

# pinned_version TOOL_MODULE_DIR MODULE: the version of MODULE required by tools/TOOL_MODULE_DIR.
pinned_version() {
	(cd "$repo/tools/$1" && "$GO" list -m -f '{{.Version}}' "$2")
}

# at_least WANT HAVE: whether version HAVE >= WANT (leading "v" ignored).
at_least() {
	printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V -C
}

# build NAME VERSION TOOL_MODULE_DIR PACKAGE LDFLAGS: build PACKAGE as $TOOLS_BIN/NAME-VERSION
# unless it is there already, then point $TOOLS_BIN/NAME at it.
build() {
	local name=$1 version=$2 module_dir=$3 package=$4 ldflags=$5
	local target="$TOOLS_BIN/$name-$version"
	if [[ ! -x $target ]]; then
		echo "building $name $version (from an empty Go build cache this takes minutes)..."
		local start=$SECONDS
		(cd "$repo/tools/$module_dir" && "$GO" build -o "$target.tmp" -ldflags "$ldflags" "$package")
		mv "$target.tmp" "$target"
		echo "built $name $version in $((SECONDS - start))s"
	fi
	ln -sfn "$name-$version" "$TOOLS_BIN/$name"
}

# reuse_pulumi_on_path VERSION: link a pulumi found on PATH outside $TOOLS_BIN if it is recent
# enough; fails when there is none.
reuse_pulumi_on_path() {
	local want=$1 candidate have
	while read -r candidate; do
		[[ $(dirname "$(realpath "$candidate")") == "$TOOLS_BIN" ]] && continue
		[[ $(dirname "$candidate") == "$TOOLS_BIN" ]] && continue
		have=$("$candidate" version 2>/dev/null | head -n1) || continue
		if at_least "$want" "$have"; then
			ln -sfn "$candidate" "$TOOLS_BIN/pulumi"
			echo "using $candidate ($have >= $want)"
			return 0
		fi
	done < <(type -ap pulumi)
	return 1
}

pulumi_version=$(pinned_version pulumi github.com/pulumi/pulumi/pkg/v3)
if ! reuse_pulumi_on_path "$pulumi_version"; then
	build pulumi "$pulumi_version" pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
		"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
fi

yaml_version=$(pinned_version pulumi-yaml github.com/pulumi/pulumi-yaml)
build pulumi-language-yaml "$yaml_version" pulumi-yaml github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml \
	"-X github.com/pulumi/pulumi-yaml/pkg/version.Version=${yaml_version#v}"

echo "tools in $TOOLS_BIN: pulumi $("$TOOLS_BIN/pulumi" version), pulumi-language-yaml $yaml_version"
