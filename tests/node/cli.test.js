'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { start, binary, ROOT } = require('./sandbox.js')

// The package's bin scripts, as npm installs them for users.
const bin = (name) => path.join(ROOT, 'bindings-node', 'bin', `${name}.js`)

test('npm bins print byte-for-byte what the Rust binaries print', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const env = { ...process.env, KLAVIYO_BASE_URL: sandbox.url, KLAVIYO_API_KEY: sandbox.key }
  const run = (command, args) => spawnSync(command, args, { env, encoding: 'utf8', cwd: ROOT })
  for (let i = 0; i < 3; i++) {
    const r = run(bin('klaviyo-client'), ['--action', 'upsert-profile', '--email', `n${i}@example.com`, '--properties', '{"first_name": "N"}'])
    assert.equal(r.status, 0, r.stderr)
  }
  const commands = [
    ['klaviyo-client', ['--action', 'export-profiles', '--format', 'csv']],
    ['klaviyo-client', ['--action', 'get-profile', '--email', 'n1@example.com']],
    ['klaviyo-client', ['--action', 'track-event', '--email', 'n1@example.com', '--event', 'X', '--unique-id', 'fixed']],
    ['klaviyo-client', ['--action', 'upsert-profile']],
    ['klaviyo-dev-tools', ['--tool', 'validate-events', '--events', 'X,Missing']],
    ['klaviyo-dev-tools', ['--help']],
  ]
  for (const [name, args] of commands) {
    const node = run(bin(name), args)
    const rust = run(binary(name), args)
    assert.deepEqual([node.status, node.stdout, node.stderr], [rust.status, rust.stdout, rust.stderr], `${name} ${args.join(' ')}`)
  }
})
