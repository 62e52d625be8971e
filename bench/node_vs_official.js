'use strict'
// CPU per call, peak RSS and concurrent throughput: klaviyo-bridge vs the official klaviyo-api
// npm SDK against the same sandbox, with the bare-Rust floor beside them.
// Run by `make bench`: `node_vs_official.js SANDBOX_BIN [FLOOR_BIN]`. Each measurement runs in a
// fresh process (median of 3). FLOOR_BIN (core/examples/overhead_floor) measures bare reqwest
// and the Rust core against the same server. The concurrency phase sends CONCURRENT_EVENTS
// createEvent calls in Promise.all windows of 64 to a sandbox that answers after 20 ms.
const { spawn, spawnSync } = require('node:child_process')
const readline = require('node:readline')
const path = require('node:path')

const KEY = 'pk_sandbox_not_a_real_key_0000000000'
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000)
const PAGES = Number(process.env.BENCH_PAGES ?? 200)
const CONCURRENT_EVENTS = Number(process.env.BENCH_CONCURRENT_EVENTS ?? 2000)
const IN_FLIGHT = 64
// Beyond the latency's ceiling (64 / 20 ms = 3,200 calls/s): how many calls/s the client itself can carry.
const CAPACITY_IN_FLIGHT = 512
const CAPACITY_EVENTS = 8192
const LATENCY_MS = 20
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
  if (name === 'roundtrip') {
    // napi-rs's round trip from JS to the runtime and back, with no I/O: a finished pager's
    // next page resolves to null at once. The part of every Node call that bare Rust does not pay.
    const native = require(path.join(__dirname, '..', 'bindings-node', 'lib', 'addon.js'))
    const pager = new native.NativeClient({ apiKey: KEY, baseUrl: url, rateLimit: false }).pager('profiles', 'list', [{ pageSize: 1, maxPages: 1 }])
    await pager.nextPageRaw()
    n = EVENTS * 5
    one = async () => {
      if ((await pager.nextPageRaw()) !== null) throw new Error('the pager should be finished')
    }
  } else if (name === 'klaviyo-bridge') {
    const { Client } = require(path.join(__dirname, '..', 'bindings-node', 'index.js'))
    const client = new Client({ apiKey: KEY, baseUrl: url, rateLimit: false })
    if (kind === 'events' || kind.startsWith('concurrent')) {
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
  } else if (name === 'fetch') {
    // The host's own bare client: fetch, text in, JSON.parse out.
    const headers = { Authorization: `Klaviyo-API-Key ${KEY}`, revision: '2026-07-15', Accept: 'application/vnd.api+json' }
    if (kind === 'events') {
      n = EVENTS
      const body = JSON.stringify(EVENT)
      const postHeaders = { ...headers, 'Content-Type': 'application/vnd.api+json' }
      one = async () => {
        const response = await fetch(`${url}/api/events`, { method: 'POST', headers: postHeaders, body })
        await response.arrayBuffer()
        if (response.status !== 202) throw new Error(`bad status ${response.status}`)
      }
    } else {
      n = PAGES
      let next = `${url}/api/profiles?page%5Bsize%5D=100`
      one = async () => {
        const page = JSON.parse(await (await fetch(next, { headers })).text())
        if (page.data.length !== 100) throw new Error('bad page')
        next = page.links.next
      }
    }
  } else {
    // The official SDK's code, run on the official SDK or on klaviyo-bridge/compat (only the
    // module differs).
    const compat = name === 'compat'
    const sdk = require(compat ? path.join(__dirname, '..', 'bindings-node', 'compat', 'index.js') : path.join(__dirname, 'node_modules', 'klaviyo-api'))
    const session = new sdk.ApiKeySession(KEY, new sdk.RetryWithExponentialBackoff({ numRetries: 0 }))
    if (kind === 'events' || kind.startsWith('concurrent')) {
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
        if (body.data.length !== 100 || !body.data[0].attributes.firstName) throw new Error('bad page')
        // compat takes the whole link; the official SDK is handed the bare cursor: its own
        // extraction from the link misses the encoded key.
        cursor = compat ? body.links?.next : body.links?.next ? new URL(body.links.next).searchParams.get('page[cursor]') : undefined
      }
    }
  }
  if (kind.startsWith('concurrent')) {
    const [, inFlight, total] = kind.split(':').map(Number)
    return measureConcurrent(one, inFlight, total)
  }
  await one()
  const cpu0 = process.cpuUsage()
  const wall0 = process.hrtime.bigint()
  for (let i = 1; i < n; i++) await one()
  const cpu = process.cpuUsage(cpu0)
  const wall = Number(process.hrtime.bigint() - wall0) / 1e6
  console.log(JSON.stringify({ cpu_ms: (cpu.user + cpu.system) / 1000 / (n - 1), wall_ms: wall / (n - 1), rss_mb: peakRssMb() }))
}

// `total` calls of `one` in Promise.all windows of `inFlight`, after one warm-up window.
async function measureConcurrent(one, inFlight, total) {
  const windowOf = () => Promise.all(Array.from({ length: inFlight }, () => one()))
  await windowOf()
  const cpu0 = process.cpuUsage()
  const wall0 = process.hrtime.bigint()
  for (let sent = 0; sent < total; sent += inFlight) await windowOf()
  const calls = Math.ceil(total / inFlight) * inFlight
  const cpu = process.cpuUsage(cpu0)
  const wall = Number(process.hrtime.bigint() - wall0) / 1e9
  console.log(JSON.stringify({ calls_per_s: calls / wall, cpu_ms: (cpu.user + cpu.system) / 1000 / calls, rss_mb: peakRssMb() }))
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

// The median (by `key`) of three fresh processes, each printing one JSON line.
function medianRun(argv, key, what) {
  const runs = []
  for (let i = 0; i < 3; i++) {
    const out = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' })
    if (out.status !== 0) throw new Error(`${what} failed:\n${out.stderr.slice(-2000)}`)
    runs.push(JSON.parse(out.stdout.trim().split('\n').pop()))
  }
  runs.sort((a, b) => a[key] - b[key])
  return runs[1]
}

async function startSandbox(sandboxBin, ...options) {
  const server = spawn(sandboxBin, ['--port', '0', '--rate-limits', 'off', ...options], { stdio: ['ignore', 'pipe', 'ignore'] })
  const url = await new Promise((resolve) => readline.createInterface({ input: server.stdout }).once('line', resolve))
  return { server, url }
}

async function perCallPhase(sandboxBin, floorBin) {
  const { server, url } = await startSandbox(sandboxBin)
  const results = {}
  let floor
  let roundTrip
  try {
    await seed(url, 100 * (PAGES + 1))
    for (const kind of ['events', 'pages']) {
      for (const name of ['klaviyo-bridge', 'klaviyo-api', 'fetch', 'compat']) {
        ;(results[kind] ??= {})[name] = medianRun([process.execPath, __filename, kind, name, url], 'cpu_ms', `${name} ${kind}`)
      }
    }
    roundTrip = medianRun([process.execPath, __filename, 'events', 'roundtrip', url], 'cpu_ms', 'the napi round trip')
    if (floorBin) {
      const out = path.join(require('node:fs').mkdtempSync(path.join(require('node:os').tmpdir(), 'floor-')), 'floor.json')
      const runs = []
      for (let i = 0; i < 3; i++) {
        const run = spawnSync(floorBin, [url, out], { encoding: 'utf8' })
        if (run.status !== 0) throw new Error(`the floor failed:\n${run.stderr.slice(-2000)}`)
        runs.push(JSON.parse(require('node:fs').readFileSync(out, 'utf8')))
      }
      const median = (door, figure) => runs.map((r) => r[door][figure]).sort((a, b) => a - b)[1]
      floor = { bare: { event_ms: median('bare', 'event_ms'), page_ms: median('bare', 'page_ms') }, rust: { event_ms: median('rust', 'event_ms'), page_ms: median('rust', 'page_ms') } }
    }
  } finally {
    server.kill()
  }
  const cell = (value, digits, width) => value.toFixed(digits).padStart(width)
  console.log(`\nNode: klaviyo-bridge vs official klaviyo-api, ${EVENTS} createEvent calls, ${PAGES} pages of 100 profiles (median of 3 processes)`)
  console.log(''.padEnd(26) + 'klaviyo-bridge'.padStart(16) + 'klaviyo-api'.padStart(14) + 'ratio'.padStart(9) + 'fetch'.padStart(9) + 'ratio'.padStart(9) + (floor ? 'bare Rust'.padStart(11) + 'ratio'.padStart(9) + 'Rust core'.padStart(11) : ''))
  for (const [kind, label, figure] of [['events', 'CPU ms per createEvent', 'event_ms'], ['pages', 'CPU ms per page of 100', 'page_ms']]) {
    const [ours, theirs, host] = ['klaviyo-bridge', 'klaviyo-api', 'fetch'].map((name) => results[kind][name].cpu_ms)
    let line = label.padEnd(26) + cell(ours, 3, 16) + cell(theirs, 3, 14) + cell(ours / theirs, 2, 9) + cell(host, 3, 9) + cell(ours / host, 2, 9)
    if (floor) line += cell(floor.bare[figure], 3, 11) + cell(ours / floor.bare[figure], 2, 9) + cell(floor.rust[figure], 3, 11)
    console.log(line)
  }
  for (const [kind, label] of [['events', 'peak RSS MB (events)'], ['pages', 'peak RSS MB (pages)']]) {
    const [ours, theirs] = [results[kind]['klaviyo-bridge'].rss_mb, results[kind]['klaviyo-api'].rss_mb]
    console.log(label.padEnd(26) + cell(ours, 1, 16) + cell(theirs, 1, 14) + cell(ours / theirs, 2, 9))
  }
  console.log('\nThe drop-in (klaviyo-bridge/compat): the official SDK\'s code, its require changed')
  console.log(''.padEnd(26) + 'compat'.padStart(16) + 'klaviyo-api'.padStart(14) + 'ratio'.padStart(9))
  for (const [kind, label] of [['events', 'CPU ms per createEvent'], ['pages', 'CPU ms per page of 100']]) {
    const [ours, theirs] = [results[kind].compat.cpu_ms, results[kind]['klaviyo-api'].cpu_ms]
    console.log(label.padEnd(26) + cell(ours, 3, 16) + cell(theirs, 3, 14) + cell(ours / theirs, 2, 9))
  }
  console.log(`${'napi round trip, no I/O'.padEnd(26)}${cell(roundTrip.cpu_ms, 3, 16)} CPU ms per call (in every Node call, not in bare Rust)`)
}

async function concurrencyPhase(sandboxBin) {
  const { server, url } = await startSandbox(sandboxBin, '--latency', String(LATENCY_MS))
  const rows = []
  try {
    for (const [inFlight, total] of [[IN_FLIGHT, CONCURRENT_EVENTS], [CAPACITY_IN_FLIGHT, CAPACITY_EVENTS]]) {
      const results = {}
      for (const name of ['klaviyo-bridge', 'klaviyo-api']) results[name] = medianRun([process.execPath, __filename, `concurrent:${inFlight}:${total}`, name, url], 'calls_per_s', `${name} concurrent`)
      rows.push({ inFlight, total, results })
    }
  } finally {
    server.kill()
  }
  console.log(`\nNode, concurrency: createEvent calls in Promise.all windows, server answering after ${LATENCY_MS} ms (median of 3 processes); ratio = calls/s over the official SDK's in the same windows. ${IN_FLIGHT} in flight cannot exceed ${(IN_FLIGHT * 1000) / LATENCY_MS}/s.`)
  console.log(''.padEnd(44) + 'calls/s'.padStart(10) + 'ratio'.padStart(9) + 'CPU ms/call'.padStart(13) + 'peak RSS MB'.padStart(13))
  for (const { inFlight, total, results } of rows) {
    const official = results['klaviyo-api'].calls_per_s
    for (const name of ['klaviyo-bridge', 'klaviyo-api']) {
      const r = results[name]
      console.log(`${name}, ${total} calls, ${inFlight} in flight`.padEnd(44) + r.calls_per_s.toFixed(0).padStart(10) + (r.calls_per_s / official).toFixed(2).padStart(9) + r.cpu_ms.toFixed(3).padStart(13) + r.rss_mb.toFixed(1).padStart(13))
    }
  }
}

async function main() {
  if (process.argv.length === 5) return measure(process.argv[2], process.argv[3], process.argv[4])
  await perCallPhase(process.argv[2], process.argv[3])
  await concurrencyPhase(process.argv[2])
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
