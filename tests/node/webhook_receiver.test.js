'use strict'
// The sandbox delivers a signed webhook to a node:http receiver built on the Express-style
// middleware with a seen-store: it processes the delivery once, and refuses a replay of it
// and a forged copy.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { once } = require('node:events')
const k = require('../../bindings-node/index.js')
const { start } = require('./sandbox.js')

const SECRET = 'receiver-secret-0123456789'

async function receiver() {
  const processed = []
  const raw = []
  let delivered
  const first = new Promise((resolve) => { delivered = resolve })
  const verify = k.webhooks.middleware({ secret: SECRET, seen: new k.webhooks.MemorySeenStore() })
  const server = http.createServer(async (req, res) => {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    req.body = Buffer.concat(chunks) // what express.raw() leaves
    verify(req, res, () => {
      processed.push(req.klaviyoDelivery)
      raw.push({ body: req.body, headers: req.headers })
      res.end('ok')
      delivered()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${server.address().port}/hook`, processed, raw, first, close: () => server.close() }
}

test('a sandbox delivery is processed once; a replay and a forged copy are refused', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  const hook = await receiver()
  t.after(() => { sandbox.stop(); hook.close() })
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  await client.webhooks.create({ name: 'orders', endpointUrl: hook.url, secretKey: SECRET, topics: ['event:klaviyo.placed_order'] })
  await client.events.create({ email: 'buyer@example.com', metric: 'Placed Order', properties: { value: 42 } })
  await hook.first
  assert.deepEqual(hook.processed[0].items.map((i) => i.topic), ['event:klaviyo.placed_order'])

  const { body, headers } = hook.raw[0]
  const send = (b, h) => fetch(hook.url, { method: 'POST', body: b, headers: Object.fromEntries(Object.entries(h).filter(([name]) => !['host', 'content-length', 'connection'].includes(name))) })
  const replay = await send(body, headers)
  assert.equal(replay.status, 409)
  assert.equal((await replay.json()).check, 'replay')
  const forged = JSON.parse(body)
  forged.data[0].payload.attributes = { properties: { value: 1000000 } }
  const forgery = await send(JSON.stringify(forged), headers)
  assert.equal(forgery.status, 401)
  assert.equal((await forgery.json()).check, 'signature')
  assert.equal(hook.processed.length, 1)
})

test('custom seen-stores are called, and their exceptions surface', () => {
  const body = Buffer.from(JSON.stringify({ data: [], meta: { klaviyo_webhook_id: 'WH1', timestamp: '2026-04-14T03:50:00+00:00' } }))
  const now = 1776138612 // 2026-04-14T03:50:12Z
  const headers = k.webhooks.sign(body, { secret: SECRET, webhookId: 'WH1', timestamp: now })
  const keys = new Set()
  const seen = { firstTime: (key) => (keys.has(key) ? false : (keys.add(key), true)) }
  assert.equal(k.webhooks.verify(body, headers, { secret: SECRET, now, seen }).webhookId, 'WH1')
  assert.throws(() => k.webhooks.verify(body, headers, { secret: SECRET, now, seen }), (e) => e instanceof k.WebhookVerificationError && e.check === 'replay')
  assert.throws(() => k.webhooks.verify(body, headers, { secret: SECRET, now, seen: { firstTime: () => { throw new Error('store unavailable') } } }), /store unavailable/)
})
