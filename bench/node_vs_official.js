'use strict'
// CPU per call and peak RSS: klaviyo-bridge vs the official klaviyo-api npm SDK, same sandbox.
// Run by `make bench`. Each measurement runs in a fresh process (median of 3).
const { spawn, spawnSync } = require('node:child_process')
const readline = require('node:readline')
const path = require('node:path')

const KEY = 'pk_sandbox_not_a_real_key_0000000000'
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000)
const PAGES = Number(process.env.BENCH_PAGES ?? 200)
const EVENT = {
  data: {
    type: 'event',
    attributes: {
      properties: { OrderId: 'ORD-123', value: 99.99 },
      metric: { data: { type: 'metric', attributes: { name: 'Placed Order' } } },
      profile: { data: { type: 'profile', attributes: { email: 'bench@example.com' } } },
    },
  },
}

// VmHWM, not maxRSS: maxRSS keeps the parent's high-water mark across fork/exec.
function peakRssMb() {
  const line = require('node:fs').readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))
  return Number(line.split(/\s+/)[1]) / 1024
}

async function measure(kind, name, url) {
  let one
  let n
  if (name === 'klaviyo-bridge') {
    const { Client } = require(path.join(__dirname, '..', 'bindings-node', 'index.js'))
    const client = new Client({ apiKey: KEY, baseUrl: url, rateLimit: false })
    if (kind === 'events') {
      n = EVENTS
      one = () => client.events.create({ email: 'bench@example.com', metric: 'Placed Order', properties: { OrderId: 'ORD-123', value: 99.99 } })
    } else {
      n = PAGES
      const pages = client.profiles.list({ pageSize: 100, maxPages: PAGES }).pages()
      one = async () => {
        const { value } = await pages.next()
        if (value.length !== 100 || !value[0].email) throw new Error('bad page')
      }
    }
  } else {
    const sdk = require(path.join(__dirname, 'node_modules', 'klaviyo-api'))
    const session = new sdk.ApiKeySession(KEY, new sdk.RetryWithExponentialBackoff({ numRetries: 0 }))
    if (kind === 'events') {
      const api = new sdk.EventsApi(session)
      api.basePath = url
      n = EVENTS
      one = () => api.createEvent(EVENT)
    } else {
      const api = new sdk.ProfilesApi(session)
      api.basePath = url
      n = PAGES
      let cursor
      one = async () => {
        const { body } = await api.getProfiles({ pageSize: 100, pageCursor: cursor })
        if (body.data.length !== 100) throw new Error('bad page')
        // Hand the SDK the bare cursor: its own extraction from the link misses the encoded key.
        cursor = body.links?.next ? new URL(body.links.next).searchParams.get('page[cursor]') : undefined
      }
    }
  }
  await one()
  const cpu0 = process.cpuUsage()
  const wall0 = process.hrtime.bigint()
  for (let i = 1; i < n; i++) await one()
  const cpu = process.cpuUsage(cpu0)
  const wall = Number(process.hrtime.bigint() - wall0) / 1e6
  console.log(JSON.stringify({ cpu_ms: (cpu.user + cpu.system) / 1000 / (n - 1), wall_ms: wall / (n - 1), rss_mb: peakRssMb() }))
}

async function seed(url, count) {
  for (let start = 0; start < count; start += 10000) {
    const data = Array.from({ length: Math.min(10000, count - start) }, (_, j) => {
      const i = start + j
      return { type: 'profile', attributes: { email: `user${String(i).padStart(5, '0')}@example.com`, first_name: `User${i}`, properties: { tier: 'gold', n: i } } }
    })
    await fetch(`${url}/api/profile-bulk-import-jobs`, {
      method: 'POST',
      headers: { Authorization: `Klaviyo-API-Key ${KEY}`, revision: '2026-07-15', 'Content-Type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'profile-bulk-import-job', attributes: { profiles: { data } } } }),
    })
  }
  for (;;) {
    const state = await (await fetch(`${url}/__sandbox/state`)).json()
    if (state.profiles >= count) return
    await new Promise((r) => setTimeout(r, 50)) // waiting for the sandbox's import job
  }
}

async function main() {
  if (process.argv.length === 5) return measure(process.argv[2], process.argv[3], process.argv[4])
  const server = spawn(process.argv[2], ['--port', '0', '--rate-limits', 'off'], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    const url = await new Promise((resolve) => readline.createInterface({ input: server.stdout }).once('line', resolve))
    await seed(url, 100 * (PAGES + 1))
    const results = {}
    for (const kind of ['events', 'pages']) {
      for (const name of ['klaviyo-bridge', 'klaviyo-api']) {
        const runs = []
        for (let i = 0; i < 3; i++) {
          const out = spawnSync(process.execPath, [__filename, kind, name, url], { encoding: 'utf8' })
          if (out.status !== 0) throw new Error(`${name} ${kind} failed:\n${out.stderr.slice(-2000)}`)
          runs.push(JSON.parse(out.stdout.trim().split('\n').pop()))
        }
        runs.sort((a, b) => a.cpu_ms - b.cpu_ms)
        ;(results[kind] ??= {})[name] = runs[1]
      }
    }
    const row = (label, a, b, digits) => console.log(label.padEnd(26) + a.toFixed(digits).padStart(16) + b.toFixed(digits).padStart(14) + (a / b).toFixed(2).padStart(9))
    console.log(`\nNode: klaviyo-bridge vs official klaviyo-api, ${EVENTS} createEvent calls, ${PAGES} pages of 100 profiles (median of 3 processes)`)
    console.log(''.padEnd(26) + 'klaviyo-bridge'.padStart(16) + 'klaviyo-api'.padStart(14) + 'ratio'.padStart(9))
    row('CPU ms per createEvent', results.events['klaviyo-bridge'].cpu_ms, results.events['klaviyo-api'].cpu_ms, 3)
    row('CPU ms per page of 100', results.pages['klaviyo-bridge'].cpu_ms, results.pages['klaviyo-api'].cpu_ms, 3)
    row('peak RSS MB (events)', results.events['klaviyo-bridge'].rss_mb, results.events['klaviyo-api'].rss_mb, 1)
    row('peak RSS MB (pages)', results.pages['klaviyo-bridge'].rss_mb, results.pages['klaviyo-api'].rss_mb, 1)
  } finally {
    server.kill()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
