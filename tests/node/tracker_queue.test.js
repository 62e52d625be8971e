'use strict'
// The tracker's shared queue across processes and languages, through a real redis-server
// (started here on a free port) and a sandbox: two Node and two Python processes track
// 50,000 events into one account's stream and deliver from it; one is killed with SIGKILL
// while it holds events, and the others claim them. Then Redis itself is killed for 10 s
// mid-run: every process keeps tracking, nothing is lost, and each warns once.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')
const { start, ROOT } = require('./sandbox.js')
const { startRedis } = require('./redis.js')

const PYTHON = path.join(ROOT, '.venv', 'bin', 'python')
const NODE_WORKER = path.join(__dirname, 'queue_worker.js')
const PYTHON_WORKER = path.join(ROOT, 'tests', 'python', 'queue_worker.py')

/** A worker process: its JSON lines as they come, its stderr, and a way to end it. */
function worker(language, env) {
  const [command, script] = language === 'node' ? [process.execPath, NODE_WORKER] : [PYTHON, PYTHON_WORKER]
  const child = spawn(command, [script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const lines = []
  const waiting = []
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line)
    lines.push(message)
    for (const w of waiting.splice(0)) w()
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  /** The first line with `field`, once it comes. */
  const line = async (field) => {
    for (;;) {
      const found = lines.find((l) => field in l)
      if (found) return found
      const exit = await Promise.race([new Promise((resolve) => waiting.push(resolve)), exited])
      if (exit) throw new Error(`${language} worker ${env.TAG} exited (${JSON.stringify(exit)}) before "${field}":\n${stderr}`)
    }
  }
  return {
    pid: child.pid,
    line,
    stderr: () => stderr,
    kill: () => (child.kill('SIGKILL'), exited),
    /** Closes its stdin (it closes its tracker) and resolves to its final stats. */
    finish: async () => {
      child.stdin.end()
      const done = await line('done')
      assert.equal((await exited).code, 0, stderr)
      return done
    },
  }
}

function redisCli(redis, ...args) {
  return execFileSync('redis-cli', ['-p', String(redis.port), '--no-raw', ...args], { encoding: 'utf8' })
}

/** The account's stream: its key, length, and each sender's pending count. */
function stream(redis) {
  const key = redisCli(redis, '--raw', 'KEYS', 'klaviyo-bridge:events:*').trim()
  assert.ok(key, 'the stream exists')
  const length = Number(redisCli(redis, '--raw', 'XLEN', key).trim())
  const consumers = {}
  const info = redisCli(redis, '--raw', 'XINFO', 'CONSUMERS', key, 'senders').trim().split('\n')
  for (let i = 0; i + 1 < info.length; i++) {
    if (info[i] === 'name') consumers[info[i + 1]] = Number(info[info.indexOf('pending', i) + 1])
  }
  return { key, length, consumers }
}

/** Waits until the sandbox has recorded `count` events of `metric` (or fails at the deadline). */
async function recorded(sandbox, metric, count, seconds) {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const state = await sandbox.settled()
    const n = state.events_per_metric[metric] ?? 0
    if (n >= count || Date.now() > deadline) return state
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

test('four processes in two languages deliver 50,000 events exactly once though one is killed holding some', async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  // Jobs take 300 ms to answer, so a sender always has some in flight.
  const sandbox = await start('--latency', '300')
  t.after(() => sandbox.stop())
  const env = (tag) => ({ URL: sandbox.url, KEY: sandbox.key, QUEUE: redis.url, TAG: tag, COUNT: '12500', CLAIM_AFTER: '2' })
  const victim = worker('node', env('victim'))
  const survivors = [worker('node', env('n')), worker('python', env('p1')), worker('python', env('p2'))]
  t.after(() => [victim, ...survivors].forEach((w) => w.kill()))

  await victim.line('tracked')
  await victim.kill()
  // It died holding events it had read from the stream and not acknowledged.
  const afterKill = stream(redis)
  const held = Object.entries(afterKill.consumers).find(([name]) => name.includes(`-${victim.pid}-`))
  assert.ok(held && held[1] > 0, `the killed sender held events: ${JSON.stringify(afterKill.consumers)}`)

  for (const w of survivors) await w.line('tracked')
  const state = await recorded(sandbox, 'Queued', 50_000, 60)
  const stats = []
  for (const w of survivors) stats.push(await w.finish())
  assert.equal(state.events_per_metric.Queued, 50_000, `the sandbox recorded every event once: ${JSON.stringify(state.events_per_metric)}`)
  const after = stream(redis)
  assert.equal(after.length, 0, 'every entry was acknowledged and deleted')
  assert.equal(stats.reduce((n, s) => n + s.failed + s.dropped, 0), 0, JSON.stringify(stats))
  t.diagnostic(`killed sender held ${held[1]}; survivors sent ${stats.map((s) => s.sent).join(', ')}; resent duplicates the sandbox ignored: ${state.duplicate_events_ignored}`)
})

test('Redis killed for 10 s mid-run: every process keeps tracking, nothing is lost, each warns once', async (t) => {
  // Every write synced to a file that outlives the server process (on tmpfs where there is
  // one: the scenario is the server dying, not the machine, and a disk's fsync per write
  // would make the server, not the client, the subject of the test).
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()
  const dir = fs.mkdtempSync(path.join(base, 'kb-redis-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  let redis = await startRedis({ dir })
  t.after(() => redis.stop())
  const sandbox = await start()
  t.after(() => sandbox.stop())
  // 4,000 events each at 200 per second: 20 s, with Redis gone from about 3 s to 13 s. The
  // processes share the rate-limit budget through the same Redis.
  const env = (tag) => ({ URL: sandbox.url, KEY: sandbox.key, QUEUE: redis.url, STORE: redis.url, TAG: tag, COUNT: '4000', RATE: '200', CLAIM_AFTER: '5' })
  const workers = [worker('node', env('n1')), worker('node', env('n2')), worker('python', env('p1')), worker('python', env('p2'))]
  t.after(() => workers.forEach((w) => w.kill()))

  const before = await recorded(sandbox, 'Queued', 1_000, 30)
  assert.ok(before.events_per_metric.Queued >= 1_000, 'delivering before the outage')
  await redis.kill()
  const killedAt = Date.now()
  // The outage lasts 10 s: this wait is the scenario, not a race.
  await new Promise((resolve) => setTimeout(resolve, 10_000))
  redis = await startRedis({ port: redis.port, dir })
  const outage = Date.now() - killedAt

  const back = Date.now()
  for (const w of workers) await w.line('tracked')
  const tracked = Date.now() - back
  const state = await recorded(sandbox, 'Queued', 16_000, 60)
  const delivered = Date.now() - back
  for (const w of workers) await w.finish()
  t.diagnostic(`after Redis returned: tracked all in ${tracked} ms, delivered in ${delivered} ms, closed in ${Date.now() - back} ms`)
  assert.equal(state.events_per_metric.Queued, 16_000, `nothing lost: ${JSON.stringify(state.events_per_metric)}`)
  assert.equal(stream(redis).length, 0, 'what was in the stream when Redis died was delivered after it came back')
  for (const w of workers) {
    const lines = w.stderr().split('\n')
    for (const store of ['tracker queue', 'rate-limit store']) {
      assert.equal(lines.filter((l) => l.includes(`${store} unreachable`)).length, 1, `one "${store} unreachable" per process:\n${w.stderr()}`)
      assert.equal(lines.filter((l) => l.includes(`${store} reachable again`)).length, 1, `one "${store} reachable again" per process:\n${w.stderr()}`)
    }
  }
  t.diagnostic(`Redis was gone for ${outage} ms; duplicates the sandbox ignored: ${state.duplicate_events_ignored}`)
})
