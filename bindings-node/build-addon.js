'use strict'
// npm's `prepare` step: when a git checkout of klaviyo-bridge is installed as a dependency, npm
// runs this in the checkout before packing it. It builds the addon (release) unless one is
// already there; without Rust it fails with one line that says what to install.
// The project's own Makefile sets KLAVIYO_BRIDGE_SKIP_ADDON_BUILD=1: it builds debug addons itself.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const here = __dirname
const built = fs.existsSync(path.join(here, 'native.js')) &&
  fs.readdirSync(here).some((f) => f.endsWith('.node'))
if (process.env.KLAVIYO_BRIDGE_SKIP_ADDON_BUILD === '1' || built) process.exit(0)

const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' })
if (cargo.error || cargo.status !== 0) {
  console.error('klaviyo-bridge: building the native addon needs Rust (cargo); install it from ' +
    'https://rustup.rs and run `npm rebuild klaviyo-bridge`, or install the prebuilt package tarball')
  process.exit(1)
}
console.error('klaviyo-bridge: building the native addon (release; a few minutes the first time)')
const build = spawnSync('npm', ['run', 'build'], { cwd: path.join(here, '..'), stdio: 'inherit' })
process.exit(build.status ?? 1)
