'use strict'
// One account's rate-limit budget shared by processes in both languages through a real
// redis-server (started here on a free port): two Node and two Python processes each call
// events.create as fast as they can against a sandbox with Klaviyo's real limits. Each alone
// keeps to the limit, so together they meet 429s; sharing the store, they meet none.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { start, ROOT } = require('./sandbox.js')
const { startRedis, freePort } = require('./redis.js')

const SECONDS = 3
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python')

const NODE_WORKER = path.join(__dirname, 'budget_worker.js')
const PYTHON_WORKER = path.join(ROOT, 'tests', 'python', 'budget_worker.py')

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.once('exit', (code) => (code === 0 ? resolve({ ...JSON.parse(out.trim().split('\n').pop()), stderr: err }) : reject(new Error(`${command} exited ${code}: ${err.slice(-2000)}`))))
  })
}

/** Two Node and two Python processes at once; their counts added up. */
async function fleet(sandbox, store, seconds = SECONDS) {
  const env = { URL: sandbox.url, KEY: sandbox.key, STORE: store ?? '', SECONDS: String(seconds) }
  const results = await Promise.all([
    run(process.execPath, [NODE_WORKER], env),
    run(process.execPath, [NODE_WORKER], env),
    run(PYTHON, [PYTHON_WORKER], env),
    run(PYTHON, [PYTHON_WORKER], env),
  ])
  return { ok: results.reduce((n, r) => n + r.ok, 0), throttled: results.reduce((n, r) => n + r.throttled, 0), each: results }
}

test('processes in both languages share one budget through Redis and meet no 429', async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())

  // The problem: four processes, each pacing itself to create_event's 350/s alone.
  const alone = await start('--rate-limits', 'real')
  t.after(() => alone.stop())
  const apart = await fleet(alone)
  assert.ok(apart.throttled > 0, `each process alone: together they meet 429s (${JSON.stringify(apart)})`)

  const shared = await start('--rate-limits', 'real')
  t.after(() => shared.stop())
  const together = await fleet(shared, redis.url)
  assert.equal(together.throttled, 0, `sharing the store, no 429s (${JSON.stringify(together)})`)
  assert.ok(together.each.every((r) => r.ok > 0), 'every process got its turn')
  // Never more than the burst per second, and the sandbox accepted every one.
  assert.ok(together.ok <= 350 * (SECONDS + 1), JSON.stringify(together))
  assert.equal((await shared.state()).events_per_metric.Budget, together.ok)
  const counts = (f) => JSON.stringify({ ok: f.ok, throttled: f.throttled, each: f.each.map(({ ok, throttled }) => ({ ok, throttled })) })
  t.diagnostic(`apart: ${counts(apart)}; together: ${counts(together)}`)
})

test('without Redis each process keeps working at a quarter of the limit and warns once', async (t) => {
  const sandbox = await start('--rate-limits', 'real')
  t.after(() => sandbox.stop())
  // Nothing listens there; the password must not show in any message.
  const store = `redis://:hunter2@127.0.0.1:${await freePort()}/0`
  const alone = await fleet(sandbox, store, 2)
  assert.equal(alone.throttled, 0, 'four processes at a quarter each stay under the limit together')
  assert.ok(alone.each.every((r) => r.ok > 0), JSON.stringify(alone.each.map((r) => r.ok)))
  assert.ok(alone.ok <= 4 * 87 * 3, `each at most 87 per second (a quarter of 350): ${alone.ok}`)
  for (const { stderr } of alone.each) {
    const warnings = stderr.split('\n').filter((line) => line.includes('rate-limit store unreachable'))
    assert.equal(warnings.length, 1, `one warning per process:\n${stderr}`)
    assert.ok(!stderr.includes('hunter2'), stderr)
    assert.match(warnings[0], /redis:\/\/127\.0\.0\.1:\d+\/0/)
  }
})
