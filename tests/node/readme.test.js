'use strict'
// Every JavaScript/TypeScript block of the README runs as ESM and as CommonJS against a sandbox
// with the demo account, and type-checks under tsc --strict: a README example that breaks fails.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { start, ROOT } = require('./sandbox.js')

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/^```(ts|js)\n([\s\S]*?)^```/gm)].map((m) => m[2])
// Inside the package's directory, so `klaviyo-bridge` resolves to this package (self-reference).
const dir = path.join(ROOT, 'target', 'readme-examples')

/** The block as CommonJS: imports become requires, the body an async function. */
function asCommonJs(block) {
  const body = block.replace(/^import (\{[^}]*\}) from ('[^']+')/gm, 'const $1 = require($2)')
  return `'use strict'\n;(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1) })\n`
}

test('the README has JavaScript examples', () => {
  assert.ok(blocks.length >= 3, `${blocks.length} blocks`)
})

test('every README JavaScript block runs as ESM and as CommonJS', async (t) => {
  const sandbox = await start('--rate-limits', 'off', '--seed-data', 'demo')
  t.after(() => sandbox.stop())
  fs.mkdirSync(dir, { recursive: true })
  const env = { ...process.env, KLAVIYO_API_KEY: sandbox.key, KLAVIYO_BASE_URL: sandbox.url }
  blocks.forEach((block, i) => {
    for (const [file, source] of [[`block-${i}.mjs`, block], [`block-${i}.cjs`, asCommonJs(block)]]) {
      fs.writeFileSync(path.join(dir, file), source)
      const done = spawnSync(process.execPath, [path.join(dir, file)], { env, encoding: 'utf8', timeout: 60_000 })
      assert.equal(done.status, 0, `README block ${i} as ${file}:\n${block}\n---\n${done.stdout}\n${done.stderr}`)
    }
  })
})

test('every README JavaScript block type-checks under tsc --strict', () => {
  fs.mkdirSync(dir, { recursive: true })
  const files = blocks.map((block, i) => {
    const file = path.join(dir, `typed-${i}.mts`)
    fs.writeFileSync(file, `${block}\nexport {}\n`)
    return file
  })
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc')
  // --skipLibCheck: apache-arrow's flatbuffers declarations need a newer TypeScript than the
  // package supports; the blocks themselves are still checked against every declaration.
  const args = ['--noEmit', '--skipLibCheck', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', ...files]
  const done = spawnSync(tsc, args, { cwd: ROOT, encoding: 'utf8' })
  assert.equal(done.status, 0, `${done.stdout}${done.stderr}`)
})
