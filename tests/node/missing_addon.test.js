'use strict'
// A package whose addon was never built (a clone without `npm run build`) says so in one line
// with what to run, from the library and from the bins: no stack of loader internals.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ROOT } = require('./sandbox.js')

test('a missing addon is one line that says what to run', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-unbuilt-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const source = path.join(ROOT, 'bindings-node')
  // The package's JavaScript, without native.js and the .node (what an unbuilt clone has).
  for (const entry of fs.readdirSync(source)) {
    if (entry === 'native.js' || entry.endsWith('.node') || entry === 'src' || entry === 'target') continue
    fs.cpSync(path.join(source, entry), path.join(dir, entry), { recursive: true })
  }
  const bin = spawnSync(process.execPath, [path.join(dir, 'bin', 'klaviyo-client.js'), '--help'], { encoding: 'utf8' })
  assert.equal(bin.status, 1)
  assert.equal(bin.stderr.trim().split('\n').length, 1, bin.stderr)
  assert.match(bin.stderr, /native addon .* is not built; run `npm run build`/)

  const library = spawnSync(process.execPath, ['-e', `try { require(${JSON.stringify(dir)}) } catch (e) { console.log(e.code); console.log(e.message) }`], { encoding: 'utf8' })
  const [code, message] = library.stdout.trim().split('\n')
  assert.equal(code, 'KLAVIYO_BRIDGE_ADDON_MISSING')
  assert.match(message, /run `npm run build`.*rustup/)
})
