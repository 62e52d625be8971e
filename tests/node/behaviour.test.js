'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const k = require('../../bindings-node/index.js')
const { start } = require('./sandbox.js')

const SECRET_KEY = 'pk_secret_0123456789abcdef0123456789ab'

test('iteration: items, pages, limits and resume, with flat pages', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const report = await client.profiles.bulkImport(Array.from({ length: 95 }, (_, i) => ({ email: `user${String(i).padStart(3, '0')}@example.com` })))
  await client.jobs.wait('profile_import', report.jobs[0].id)
  let count = 0
  for await (const profile of client.profiles.list()) {
    assert.match(profile.email, /@example.com$/)
    count++
  }
  assert.equal(count, 95)
  const sizes = []
  for await (const page of client.profiles.list({ pageSize: 20 }).pages()) sizes.push(page.length)
  assert.deepEqual(sizes, [20, 20, 20, 20, 15])
  assert.equal((await client.profiles.list({ maxItems: 7 }).toArray()).length, 7)
  const partial = client.profiles.list({ pageSize: 20, maxPages: 2 })
  const first = (await partial.toArray()).map((p) => p.id)
  const rest = (await client.profiles.list({ pageSize: 20, cursor: partial.cursor }).toArray()).map((p) => p.id)
  assert.equal(first.length + rest.length, 95)
  assert.equal(new Set([...first, ...rest]).size, 95)
})

test('each error class from a real response; nothing shows the key', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  const limited = await start('--rate-limits', 'scale=1')
  const broken = await start('--rate-limits', 'off', '--faults', '500:1.0')
  const slow = await start('--rate-limits', 'off', '--latency', '1500')
  t.after(() => [sandbox, limited, broken, slow].forEach((s) => s.stop()))
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url, maxRetries: 0 })
  const check = (Class, code, status) => (e) => e instanceof Class && e instanceof k.KlaviyoError && e instanceof Error && e.code === code && e.status === status
  await assert.rejects(client.request('get_profiles', { query: { 'page[size]': 500 } }), (e) => check(k.ValidationError, 'validation_error', 400)(e) && e.errors[0].source.parameter === 'page[size]')
  await assert.rejects(client.profiles.get('NOPE'), check(k.NotFoundError, 'not_found', 404))
  const wrong = new k.Client({ apiKey: SECRET_KEY, baseUrl: sandbox.url })
  await assert.rejects(wrong.accounts.current(), (e) => check(k.AuthenticationError, 'authentication_error', 401)(e) && !e.message.includes(SECRET_KEY))
  const fast = new k.Client({ apiKey: limited.key, baseUrl: limited.url, rateLimit: false, maxRetries: 0 })
  await assert.rejects(Promise.all(Array.from({ length: 5 }, () => fast.accounts.current())), (e) => check(k.RateLimitError, 'rate_limited', 429)(e) && e.retryAfter > 0)
  await assert.rejects(new k.Client({ apiKey: broken.key, baseUrl: broken.url, maxRetries: 0 }).accounts.current(), check(k.ServerError, 'server_error', 500))
  await assert.rejects(new k.Client({ apiKey: slow.key, baseUrl: slow.url, timeout: 0.2, maxRetries: 0 }).accounts.current(), check(k.TimeoutError, 'timeout', null))
  const perCall = Date.now()
  await assert.rejects(new k.Client({ apiKey: slow.key, baseUrl: slow.url }).accounts.current({ timeout: 0.2 }), (e) => check(k.TimeoutError, 'timeout', null)(e) && e.message.includes('accounts.current'))
  assert.ok(Date.now() - perCall < 1000, 'the per-call timeout held')
  await assert.rejects(new k.Client({ apiKey: SECRET_KEY, baseUrl: 'http://127.0.0.1:1', maxRetries: 0 }).accounts.current(), check(k.NetworkError, 'network_error', null))
  await assert.rejects(client.events.create({ metric: 'X' }), check(k.InvalidInputError, 'invalid_input', null))
  assert.throws(() => new k.Client({ apiKey: 'sk_wrong' }), check(k.ConfigurationError, 'config_error', null))
  assert.throws(() => new k.Client({ apiKee: 'typo' }), k.InvalidInputError)
  const inspected = util.inspect(wrong) + JSON.stringify(wrong) + util.inspect(wrong, { showHidden: true, depth: 5 })
  assert.ok(!inspected.includes(SECRET_KEY) && !inspected.includes('0123456789abcdef'), inspected)
})

test('retries ride out injected faults', async (t) => {
  const flaky = await start('--rate-limits', 'off', '--faults', '503:0.3,429:0.1', '--seed', '5')
  t.after(() => flaky.stop())
  const client = new k.Client({ apiKey: flaky.key, baseUrl: flaky.url, maxRetries: 8 })
  for (let i = 0; i < 40; i++) await client.events.create({ email: `r${i}@example.com`, metric: 'Retried', uniqueId: `r-${i}` })
  assert.deepEqual((await flaky.state()).events_per_metric, { Retried: 40 })
  const statuses = (await flaky.requests()).map((r) => r.status)
  assert.ok(statuses.includes(503) && statuses.includes(429) && statuses.length > 40)
})

test('AbortSignal cancels the in-flight request and retry waits', async (t) => {
  const slow = await start('--rate-limits', 'off', '--latency', '5000')
  const limited = await start('--rate-limits', 'scale=1')
  t.after(() => [slow, limited].forEach((s) => s.stop()))
  const client = new k.Client({ apiKey: slow.key, baseUrl: slow.url, maxRetries: 0 })
  const controller = new AbortController()
  const started = Date.now()
  const pending = client.accounts.current({ signal: controller.signal })
  setTimeout(() => controller.abort(), 50)
  await assert.rejects(pending, (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e instanceof k.KlaviyoError)
  assert.ok(Date.now() - started < 1000, 'aborted promptly')
  await assert.rejects(client.accounts.current({ signal: AbortSignal.abort() }), { name: 'AbortError' })
  await assert.rejects(client.request('get_accounts', { signal: AbortSignal.timeout(100) }), { name: 'AbortError' })
  // A retry wait (Retry-After) is cancelled too.
  const retrying = new k.Client({ apiKey: limited.key, baseUrl: limited.url, rateLimit: false, maxRetries: 5 })
  await retrying.accounts.current()
  const waitStarted = Date.now()
  await assert.rejects(retrying.accounts.current({ signal: AbortSignal.timeout(150) }), { name: 'AbortError' })
  assert.ok(Date.now() - waitStarted < 900, 'the retry wait was abandoned')
  const pages = client.profiles.list({ signal: AbortSignal.timeout(100) })
  await assert.rejects(pages.toArray(), { name: 'AbortError' })
})

test('the event loop keeps turning while 50 requests wait on the network', async (t) => {
  const slow = await start('--rate-limits', 'off', '--latency', '200')
  t.after(() => slow.stop())
  const client = new k.Client({ apiKey: slow.key, baseUrl: slow.url, rateLimit: false })
  let ticks = 0
  let longestGap = 0
  let last = Date.now()
  const timer = setInterval(() => {
    const now = Date.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
    ticks++
  }, 5)
  const started = Date.now()
  await Promise.all(Array.from({ length: 50 }, (_, i) => client.events.create({ email: `l${i}@example.com`, metric: 'Live' })))
  clearInterval(timer)
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 200, `requests waited on the sandbox (${elapsed} ms)`)
  assert.ok(ticks >= elapsed / 5 / 3, `timer fired ${ticks} times in ${elapsed} ms`)
  assert.ok(longestGap < 100, `longest gap between ticks ${longestGap} ms`)
})

test('webhooks: verify, sign, and the Express-style middleware', () => {
  const body = Buffer.from(JSON.stringify({ data: [{ topic: 'event:klaviyo.placed_order', external_id: 'E1', payload: {} }], meta: { klaviyo_account_id: 'A', klaviyo_webhook_id: 'W1', timestamp: new Date().toISOString() } }))
  const secret = 'receiver-secret-0123456789'
  const headers = k.webhooks.sign(body, { secret, webhookId: 'W1' })
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
  assert.equal(k.webhooks.verify(body, lower, { secret }).items[0].topic, 'event:klaviyo.placed_order')
  assert.throws(() => k.webhooks.verify(Buffer.concat([body, Buffer.from(' ')]), lower, { secret }), (e) => e instanceof k.WebhookVerificationError && e.check === 'signature')
  assert.throws(() => k.webhooks.verify(body, lower, { secret: 'another-secret-00000000' }), { check: 'signature' })
  const respond = () => ({ statusCode: 200, headers: {}, body: '', setHeader(k2, v) { this.headers[k2] = v }, end(b) { this.body = b } })
  let passed = false
  const middleware = k.webhooks.middleware({ secret })
  const req = { body, headers: lower }
  middleware(req, respond(), () => { passed = true })
  assert.ok(passed && req.klaviyoDelivery.webhookId === 'W1')
  const forged = respond()
  middleware({ body, headers: { ...lower, 'klaviyo-signature': '0'.repeat(64) } }, forged, () => assert.fail('forged delivery passed'))
  assert.equal(forged.statusCode, 401)
})
