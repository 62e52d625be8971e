'use strict'
// Node speaks camelCase everywhere: in the client's own results (bulk reports, job status,
// tracker counters, webhook deliveries, rate-limit readings), in error fields and in messages;
// the shapes its types declare are the shapes it reads. (The API's payloads inside results,
// such as resource attributes, stay as the API writes them.)
const test = require('node:test')
const assert = require('node:assert/strict')
const { start } = require('klaviyo-bridge/testing')
const { Client, webhooks, ConfigurationError, InvalidInputError, NotFoundError } = require('klaviyo-bridge')

const OPAQUE = new Set(['raw', 'payload', 'errors', 'attributes', 'properties'])

/** Every key of the client's own structure, outside the API's payloads. */
function snakeKeys(value, at = '') {
  if (Array.isArray(value)) return value.flatMap((v, i) => snakeKeys(v, `${at}[${i}]`))
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => [...(k.includes('_') ? [`${at}.${k}`] : []), ...(OPAQUE.has(k) ? [] : snakeKeys(v, `${at}.${k}`))])
}

test('results, errors and messages are camelCase', async () => {
  const sandbox = await start({ rateLimits: 'real' })
  const client = new Client({ sandbox })
  try {
    const report = await client.events.bulkCreate([{ metric: 'Viewed', email: 'a@example.com' }, { metric: 'Viewed', phoneNumber: '+15005550006' }])
    assert.deepEqual(snakeKeys(report), [])
    assert.equal(report.jobs[0].firstIndex, 0)
    assert.equal(report.jobs[0].itemCount, 2)
    const imported = await client.profiles.bulkImport([{ email: 'p@example.com' }])
    const job = await client.jobs.wait('profile_import', imported.jobs[0].id)
    assert.deepEqual(snakeKeys(job), [])
    const status = client.rateLimitStatus
    assert.ok(status && 'resetSeconds' in status.headers, JSON.stringify(status))
    assert.deepEqual(snakeKeys(status), [])

    // The tracker's close() resolves to the same counters stats() gives, named the same way.
    const tracker = client.tracker({ flushAt: 1 })
    tracker.track({ metric: 'Viewed', email: 't@example.com' })
    await tracker.flush({ timeout: 30 })
    const stats = tracker.stats()
    const closed = await tracker.close()
    assert.deepEqual(Object.keys(closed).sort(), Object.keys(stats).sort())
    assert.ok('lastError' in closed && closed.lastError === null)
    assert.deepEqual(snakeKeys(closed), [])

    // Errors carry the same fields as Python's (camelCase): rateLimit included.
    const error = await client.profiles.get('NOPE').catch((e) => e)
    assert.ok(error instanceof NotFoundError)
    assert.ok(error.rateLimit && 'limit' in error.rateLimit && 'remaining' in error.rateLimit && 'reset' in error.rateLimit, JSON.stringify(error.rateLimit))
    assert.equal(typeof error.requestId === 'string' || error.requestId === null, true)

    // Messages name arguments the way Node callers write them.
    const noIdentity = await client.profiles.create({}).catch((e) => e)
    assert.ok(noIdentity instanceof InvalidInputError)
    assert.match(noIdentity.message, /email, phoneNumber, externalId or profileId/)
    assert.doesNotMatch(noIdentity.message, /phone_number/)
    const sms = await client.profiles.subscribe(['a@example.com'], { channel: 'sms' }).catch((e) => e)
    assert.match(sms.message, /needs a phoneNumber/)
  } finally {
    await sandbox.stop()
  }
})

test('a missing key is explained in Node terms', () => {
  const saved = process.env.KLAVIYO_API_KEY
  delete process.env.KLAVIYO_API_KEY
  try {
    assert.throws(() => new Client({ baseUrl: 'http://127.0.0.1:9' }), (e) => e instanceof ConfigurationError && /new Client\(\{ apiKey \}\)/.test(e.message) && !/api_key/.test(e.message))
  } finally {
    if (saved !== undefined) process.env.KLAVIYO_API_KEY = saved
  }
})

test('subscribe takes the identity its types declare, profileId included', async () => {
  const sandbox = await start({ rateLimits: 'off' })
  const client = new Client({ sandbox })
  try {
    const ada = await client.profiles.create({ email: 'ada@example.com', phoneNumber: '+15005550006' })
    const list = await client.lists.create('SMS')
    const report = await client.profiles.subscribe([{ profileId: ada.id, phoneNumber: '+15005550006' }], { channel: 'sms', listId: list.id })
    assert.equal(report.accepted, 1)
    await sandbox.settled()
    const members = await client.lists.profiles(list.id).toArray()
    assert.deepEqual(members.map((p) => p.id), [ada.id])
    // An identity key the types do not declare is refused, not silently dropped.
    await assert.rejects(client.profiles.subscribe([{ profileID: ada.id }]), (e) => e instanceof InvalidInputError && /unknown field `profileID`/.test(e.message))
  } finally {
    await sandbox.stop()
  }
})

test('seconds from the caller are checked, never a crash', async () => {
  const sandbox = await start({ rateLimits: 'off' })
  const client = new Client({ sandbox })
  try {
    await assert.rejects(client.catalog.items.bulkCreate([{ external_id: 'A', title: 'A' }], { timeout: -1 }), (e) => e instanceof ConfigurationError && /timeout must be a positive number/.test(e.message))
    await assert.rejects(client.jobs.wait('profile_import', 'X', { timeout: Number.NaN }), ConfigurationError)
    assert.throws(() => client.profiles.list({ timeout: -5 }), ConfigurationError)
    assert.throws(() => webhooks.verify(Buffer.from('{}'), {}, { secret: 's'.repeat(16), tolerance: Infinity }), ConfigurationError)
    assert.throws(() => new webhooks.MemorySeenStore(-1), ConfigurationError)
    assert.throws(() => webhooks.sign('{}', { secret: 's'.repeat(16), timestamp: -3 }), ConfigurationError)
  } finally {
    await sandbox.stop()
  }
})
