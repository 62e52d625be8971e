'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
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

test('an npm bin export stopped by SIGTERM keeps the old file, exits 143 and resumes', { timeout: 120_000 }, async (t) => {
  // Node's own SIGTERM handler re-raises the signal; the export must still stop cleanly.
  const sandbox = await start('--rate-limits', 'off', '--seed-profiles', '2000', '--latency', '15')
  t.after(() => sandbox.stop())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-export-'))
  const output = path.join(dir, 'profiles.csv')
  fs.writeFileSync(output, 'the previous export\n')
  const env = { ...process.env, KLAVIYO_BASE_URL: sandbox.url, KLAVIYO_API_KEY: sandbox.key }
  // One slice at a time (of four), so the export is stopped halfway.
  const args = ['--tool', 'export-data', '--resource', 'profiles', '--output', output, '--concurrency', '1', '--quiet']
  const child = spawn(process.execPath, [bin('klaviyo-dev-tools'), ...args], { env })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const progress = `${output}.partial.json`
  const deadline = Date.now() + 60_000
  // Polling a condition (the first slice recorded), not timing a race.
  while (!(fs.existsSync(progress) && !fs.readFileSync(progress, 'utf8').includes('"rows":0,'))) {
    assert.ok(Date.now() < deadline && child.exitCode === null, 'the export ended or stalled before its first slice')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  child.kill('SIGTERM')
  const { code } = await exited
  assert.equal(code, 143, stderr)
  assert.match(stderr, /interrupted by SIGTERM.*--resume/)
  assert.equal(fs.readFileSync(output, 'utf8'), 'the previous export\n')
  const resumed = spawnSync(process.execPath, [bin('klaviyo-dev-tools'), ...args, '--resume'], { env, encoding: 'utf8' })
  assert.equal(resumed.status, 0, resumed.stderr)
  const ids = fs.readFileSync(output, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0])
  assert.equal(ids.length, 2000)
  assert.equal(new Set(ids).size, 2000)
})
