'use strict'
// One process of a fleet tracking events through the shared tracker queue: tracks COUNT events
// (unique ids TAG-0…), prints {"tracked":COUNT}, keeps delivering from the stream until its
// stdin closes, then closes its tracker and prints its final stats. Used by
// tracker_queue.test.js. Env: URL, KEY, QUEUE, TAG, COUNT, CLAIM_AFTER (seconds),
// STORE (rate-limit store, optional), RATE (events per second, optional).
const path = require('node:path')
const { Client } = require(path.join(__dirname, '..', '..', 'bindings-node', 'index.js'))

const { URL: baseUrl, KEY: apiKey, QUEUE, TAG, COUNT, CLAIM_AFTER, STORE, RATE } = process.env
const client = new Client({ apiKey, baseUrl, ...(STORE ? { rateLimitStore: STORE } : {}) })
const tracker = client.tracker({ queue: QUEUE, claimAfter: Number(CLAIM_AFTER) })

;(async () => {
  const started = Date.now()
  for (let i = 0; i < Number(COUNT); i++) {
    tracker.track({ metric: 'Queued', email: `${TAG}-${i % 50}@example.com`, uniqueId: `${TAG}-${i}` })
    // Paced: event i waits for its time (RATE per second).
    if (RATE) {
      const due = started + (i * 1000) / Number(RATE)
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
    }
  }
  console.log(JSON.stringify({ tracked: Number(COUNT) }))
  process.stdin.resume()
  await new Promise((resolve) => process.stdin.once('end', resolve))
  const stats = await tracker.close({ timeout: 60 })
  console.log(JSON.stringify({ done: true, ...stats }))
})().catch((error) => {
  console.error(error)
  process.exit(1)
})
