#!/usr/bin/env bash
# Installs the packed wheel and npm tarballs (from $1) as a user would, each in a fresh place with
# no cargo or rustc on PATH, and calls the packaged sandbox through each. Prints install times.
set -euo pipefail
packages=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
no_rust_path=$(tr ':' '\n' <<<"$PATH" | grep -v -e '\.cargo' -e rustup | paste -sd: -)
without_rust() { env PATH="$no_rust_path" "$@"; }
if without_rust sh -c 'command -v cargo || command -v rustc' >/dev/null; then
  echo "package test: cargo is still on PATH" >&2; exit 1
fi

# Python: the abi3 wheel into a new venv, offline.
python3 -m venv "$work/venv"
wheel=$(ls "$packages"/klaviyo_bridge-*.whl)
start=$SECONDS
without_rust "$work/venv/bin/pip" install --quiet --no-index --force-reinstall "$wheel"
echo "wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) installed in $((SECONDS - start)) s"
(cd "$work" && without_rust "$work/venv/bin/python" - <<'PY'
from klaviyo_bridge import Client
from klaviyo_bridge.testing import Sandbox

with Sandbox(rate_limits="off") as sandbox:
    client = Client(sandbox=sandbox)
    client.profiles.upsert(email="packaged@example.com")
    assert sandbox.state()["profiles"] == 1
    assert [p["email"] for p in client.profiles.list()] == ["packaged@example.com"]
print("wheel: imported, started its sandbox, upserted and listed a profile")
PY
)
(cd "$work" && without_rust "$work/venv/bin/klaviyo-client" --help >/dev/null)

# Node: the package and its platform package into an empty project, as npm installs them.
tarball="$packages/klaviyo-bridge-0.1.0.tgz"
platform="$packages/klaviyo-bridge-linux-x64-gnu-0.1.0.tgz"
if tar tzf "$tarball" | grep -q '\.node$'; then
  echo "package test: the main npm package must not carry the addon" >&2; exit 1
fi
mkdir "$work/app"
cd "$work/app"
echo '{"name": "app", "version": "1.0.0", "private": true}' >package.json
start=$SECONDS
without_rust npm install --no-audit --no-fund --loglevel=error "$tarball" "$platform"
echo "npm: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB) and $(basename "$platform") ($(du -k "$platform" | cut -f1) KiB) installed in $((SECONDS - start)) s"
if [ -e node_modules/klaviyo-bridge/bindings-node/klaviyo-bridge.linux-x64-gnu.node ] || [ ! -e node_modules/klaviyo-bridge-linux-x64-gnu ]; then
  echo "package test: the addon must come from the platform package" >&2; exit 1
fi
without_rust node - <<'JS'
const { Client } = require('klaviyo-bridge')
const { start } = require('klaviyo-bridge/testing')
;(async () => {
  const sandbox = await start({ rateLimits: 'off' })
  const client = new Client({ sandbox })
  await client.profiles.upsert({ email: 'packaged@example.com' })
  const emails = (await client.profiles.list().toArray()).map((p) => p.email)
  if (JSON.stringify(emails) !== '["packaged@example.com"]') throw new Error(`listed ${emails}`)
  await sandbox.stop()
  console.log('npm: required, started its sandbox, upserted and listed a profile')
})().catch((e) => { console.error(e); process.exit(1) })
JS
without_rust node - <<'JS'
// The drop-in, as a user of the official SDK requires it.
const { ApiKeySession, ProfilesApi } = require('klaviyo-bridge/compat')
const { start } = require('klaviyo-bridge/testing')
;(async () => {
  const sandbox = await start({ rateLimits: 'off' })
  const profilesApi = new ProfilesApi(new ApiKeySession(sandbox.apiKey))
  profilesApi.basePath = sandbox.url
  await profilesApi.createProfile({ data: { type: 'profile', attributes: { email: 'compat@example.com', firstName: 'Ada' } } })
  const { body } = await profilesApi.getProfiles()
  if (body.data[0].attributes.firstName !== 'Ada') throw new Error(`read ${JSON.stringify(body.data)}`)
  await sandbox.stop()
  console.log('npm: klaviyo-bridge/compat created and read a profile with camelCase bodies')
})().catch((e) => { console.error(e); process.exit(1) })
JS
without_rust ./node_modules/.bin/klaviyo-client --help >/dev/null
echo "package test: both packages install without Rust and work"
