'use strict'
// One process of a fleet sharing (or not) an account's rate-limit budget: calls events.create
// as fast as it can for SECONDS, then prints its counts as one JSON line. Used by
// shared_budget.test.js and bench/shared_budget.js. Env: URL, KEY, STORE ('' = memory), SECONDS.
const path = require('node:path')
const { Client, RateLimitError } = require(path.join(__dirname, '..', '..', 'bindings-node', 'index.js'))

const { URL: baseUrl, KEY: apiKey, STORE, SECONDS } = process.env
const client = new Client({ apiKey, baseUrl, maxRetries: 0, ...(STORE ? { rateLimitStore: STORE } : {}) })

;(async () => {
  let ok = 0
  let throttled = 0
  let throttledLater = 0
  const start = Date.now()
  const end = start + Number(SECONDS) * 1000
  while (Date.now() < end) {
    try {
      await client.events.create({ email: 'budget@example.com', metric: 'Budget' })
      ok++
    } catch (e) {
      // A 429 from the server; the client's own "wait too long" would be a bug here.
      if (!(e instanceof RateLimitError) || e.errors?.[0]?.code === 'client_rate_limited') throw e
      throttled++
      if (Date.now() - start > 1000) throttledLater++
    }
  }
  console.log(JSON.stringify({ ok, throttled, throttledLater }))
})()
