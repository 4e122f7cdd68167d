#!/usr/bin/env bash
# Builds the release archives into $DIST (default dist/), one per binary and platform:
#   pulumi-resource-edgesecrets-v<version>-<os>-<arch>.tar.gz
#   edgesecrets-emulator-v<version>-<os>-<arch>.tar.gz
#   edgesecrets-import-v<version>-<os>-<arch>.tar.gz
# then writes $DIST/checksums.txt (SHA-256, `sha256sum -c` format) for every archive of VERSION there.
#
#   scripts/dist.sh [OS/ARCH...]     default: linux, darwin and windows on amd64 and arm64
#
# An archive holds the binary at its root (with .exe on Windows) beside LICENSE and README.md,
# as Pulumi's own provider archives do: `pulumi plugin install resource edgesecrets <version>
# --file <archive>`, and the download from a GitHub release that pluginDownloadURL names,
# unpack it as the plugin's directory. PulumiPlugin.yaml stays out: in a plugin's directory it
# would make Pulumi run the plugin from Go source instead of the binary.
#
# Reproducible: `make dist` passes the build flags (no cgo, -trimpath, no VCS stamp), and the
# archives have fixed names, order, owners, modes and times (the last commit's, or
# SOURCE_DATE_EPOCH), gzip without a name or timestamp (at its default level: -9 costs three times
# the time for 0.7% less). The same commit and Go release give the same bytes.
# Needs GNU tar, touch and sha256sum (as on the Linux CI runners).
set -euo pipefail

GO=${GO:-go}
: "${VERSION:?set VERSION (make dist does)}"
: "${LDFLAGS:?set LDFLAGS (make dist does)}"
repo=$(cd "$(dirname "$0")/.." && pwd)
DIST=${DIST:-$repo/dist}
cd "$repo"

platforms=("$@")
if [[ ${#platforms[@]} -eq 0 ]]; then
	platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
fi
# name:package of each binary shipped.
binaries=(pulumi-resource-edgesecrets:. edgesecrets-emulator:./cmd/edgesecrets-emulator edgesecrets-import:./cmd/edgesecrets-import)

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$DIST"

for platform in "${platforms[@]}"; do
	os=${platform%/*} arch=${platform#*/}
	exe=""
	[[ $os == windows ]] && exe=.exe
	for binary in "${binaries[@]}"; do
		name=${binary%%:*} package=${binary#*:}
		stage=$work/$name-$os-$arch
		mkdir -p "$stage"
		GOOS=$os GOARCH=$arch "$GO" build -ldflags "$LDFLAGS" -o "$stage/$name$exe" "$package"
		cp LICENSE README.md "$stage/"
		chmod 0755 "$stage/$name$exe"
		chmod 0644 "$stage/LICENSE" "$stage/README.md"
		touch -d "@$epoch" "$stage"/*
		archive=$DIST/$name-v$VERSION-$os-$arch.tar.gz
		tar --create --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
			--mtime="@$epoch" -C "$stage" "$name$exe" LICENSE README.md |
			gzip --no-name >"$archive.tmp"
		mv "$archive.tmp" "$archive"
		echo "$archive"
	done
done

(cd "$DIST" && sha256sum -- *-v"$VERSION"-*.tar.gz >checksums.txt)
echo "$DIST/checksums.txt"
