'use strict'
// The event tracker through the Node binding: track() returns without waiting for the
// network, beforeExit and close() flush, and a full queue is reported.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const { promisify } = require('node:util')
const path = require('node:path')
const k = require('../../bindings-node/index.js')
const { start } = require('./sandbox.js')

test('track() returns in microseconds while the server takes 200 ms', async (t) => {
  const sandbox = await start('--rate-limits', 'off', '--latency', '200')
  t.after(() => sandbox.stop())
  const tracker = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url }).tracker({ flushAt: 100 })
  const durations = []
  for (let i = 0; i < 2000; i++) {
    const started = process.hrtime.bigint()
    tracker.track({ metric: 'Viewed Page', email: `user${i % 50}@example.com`, properties: { i }, time: new Date() })
    durations.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  durations.sort((a, b) => a - b)
  // Any call that waited for the network would take at least one 200 ms round trip.
  assert.ok(durations.at(-1) < 100, `slowest track() ${durations.at(-1)} ms`)
  assert.ok(durations[1000] < 1, `median track() ${durations[1000]} ms`)
  assert.equal(await tracker.flush({ timeout: 60 }), true)
  const stats = tracker.stats()
  assert.deepEqual([stats.queued, stats.sent, stats.failed, stats.pending], [2000, 2000, 0, 0])
  assert.equal((await sandbox.settled()).events, 2000)
})

test('events tracked by a script that just ends are delivered on beforeExit', async (t) => {
  const sandbox = await start('--rate-limits', 'off', '--latency', '100')
  t.after(() => sandbox.stop())
  const script = `
    const k = require(${JSON.stringify(path.resolve(__dirname, '../../bindings-node/index.js'))})
    const tracker = new k.Client({ apiKey: process.argv[2], baseUrl: process.argv[1] }).tracker({ flushInterval: 3600 })
    for (let i = 0; i < 2500; i++) tracker.track({ metric: 'Placed Order', email: 'buyer' + i + '@example.com', value: i })
    console.log('tracked', tracker.stats().sent)
  `
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, sandbox.url, sandbox.key])
  const [word, sent] = stdout.trim().split(' ')
  assert.equal(word, 'tracked')
  assert.ok(Number(sent) < 2500, 'most events were still queued when the script ended')
  assert.equal((await sandbox.settled()).events, 2500)
})

test('close() flushes; a full queue throws or drops; bad events throw at track()', async (t) => {
  const sandbox = await start('--rate-limits', 'off', '--latency', '300')
  t.after(() => sandbox.stop())
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const tracker = client.tracker()
  for (let i = 0; i < 10; i++) tracker.track({ metric: 'Signed Up', email: `new${i}@example.com` })
  const stats = await tracker.close()
  assert.equal(stats.sent, 10)
  assert.ok(tracker.closed)
  assert.throws(() => tracker.track({ metric: 'Signed Up', email: 'late@example.com' }), /shut down/)

  const full = client.tracker({ maxQueue: 5, whenFull: 'error' })
  for (let i = 0; i < 5; i++) full.track({ metric: 'Clicked', email: `c${i}@example.com` })
  assert.throws(() => full.track({ metric: 'Clicked', email: 'c5@example.com' }), (e) => e instanceof k.QueueFullError && e.code === 'queue_full')

  const reported = []
  const dropping = client.tracker({ maxQueue: 5, whenFull: 'drop', onError: (f) => reported.push(f) })
  for (let i = 0; i < 7; i++) dropping.track({ metric: 'Clicked', email: `d${i}@example.com` })
  assert.equal(dropping.stats().dropped, 2)
  await full.flush()
  assert.deepEqual(reported.map((f) => f.code), ['queue_full', 'queue_full'])
  assert.throws(() => dropping.track({ metric: 'Clicked', email: 'not-an-email' }), k.InvalidInputError)
  assert.throws(() => dropping.track({ metric: 'Clicked', emial: 'typo@example.com' }), /unknown field/)
  assert.throws(() => client.tracker({ flushAt: 5000 }), /between 1 and 1000/)
  assert.throws(() => client.tracker({ flushEvery: 1 }), /unknown tracker option/)
  assert.equal((await dropping.close()).sent, 5)
})

test('a queue URL is checked when the tracker is made, and its password never shown', async (t) => {
  const sandbox = await start()
  t.after(() => sandbox.stop())
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  assert.throws(() => client.tracker({ queue: 'http://:hunter2@cache.internal:6379/0' }), (e) => e instanceof k.ConfigurationError && e.message.includes('redis://host:port/db') && !e.message.includes('hunter2'))
  assert.throws(() => client.tracker({ queue: 'redis://127.0.0.1:1/0', spoolDir: '.' }), (e) => e instanceof k.InvalidInputError && /not both/.test(e.message))
  assert.throws(() => client.tracker({ queue: 'redis://127.0.0.1:1/0', claimAfter: -1 }), (e) => e instanceof k.ConfigurationError && /claimAfter/.test(e.message))
})
