#!/usr/bin/env bash
# Packs the npm packages the napi-rs way, into $1: klaviyo-bridge (JavaScript, types, bins) and
# klaviyo-bridge-linux-x64-gnu (the prebuilt addon, from npm/linux-x64-gnu), which the first
# lists as an optional dependency; npm installs the one that fits the machine. Needs the
# release addon in bindings-node/ (npm run build); leaves it there.
set -euo pipefail
out=$(mkdir -p "$1" && realpath "$1")
addon=bindings-node/klaviyo-bridge.linux-x64-gnu.node
[ -f "$addon" ] || { echo "pack_npm: no $addon; run npm run build first" >&2; exit 1; }
cp "$addon" npm/linux-x64-gnu/
(cd npm/linux-x64-gnu && npm pack --quiet --pack-destination "$out")
rm npm/linux-x64-gnu/klaviyo-bridge.linux-x64-gnu.node
# The main package goes without the addon (a git install builds its own into it instead).
stash=$(mktemp -d)
mv "$addon" "$stash/"
trap 'mv "$stash"/*.node bindings-node/ && rmdir "$stash"' EXIT
KLAVIYO_BRIDGE_SKIP_ADDON_BUILD=1 npm pack --quiet --pack-destination "$out"
