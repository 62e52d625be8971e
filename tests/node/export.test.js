'use strict'
// client.export(stream): records by `for await` and an Arrow IPC stream that apache-arrow reads.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { tableFromIPC, RecordBatchReader, DataType } = require('apache-arrow')
const { Client, InvalidInputError } = require('../..')
const { start } = require('./sandbox.js')

const seeded = () => start('--rate-limits', 'off', '--seed-profiles', '60', '--seed-events', '1500')

test('records come by for await, typed: Dates, numbers, JSON objects, each once', async (t) => {
  const sandbox = await seeded()
  t.after(() => sandbox.stop())
  const client = new Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const exported = client.export('events', { safetyMargin: 0, concurrency: 4 })
  assert.equal(exported.bookmark, null)
  const records = []
  for await (const record of exported) records.push(record)
  assert.equal(records.length, (await sandbox.state()).events)
  assert.equal(new Set(records.map((r) => r.id)).size, 1500)
  const [first] = records
  assert.ok(first.datetime instanceof Date)
  assert.equal(Math.floor(first.datetime.getTime() / 1000), first.timestamp)
  assert.equal(typeof first.event_properties, 'object')
  assert.ok('seed_index' in first.event_properties)
  assert.match(exported.bookmark, /Z$/)
  assert.deepEqual(exported.columns.find((c) => c.name === 'datetime'), { name: 'datetime', kind: 'timestamp' })
})

test('the Arrow IPC pieces are one stream apache-arrow reads with the spec types', async (t) => {
  const sandbox = await seeded()
  t.after(() => sandbox.stop())
  const client = new Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const pieces = []
  for await (const piece of client.export('events', { safetyMargin: 0 }).arrow()) pieces.push(piece)
  const table = tableFromIPC(Buffer.concat(pieces))
  assert.equal(table.numRows, 1500)
  assert.equal(new Set(table.getChild('id').toArray()).size, 1500)
  const datetime = table.schema.fields.find((f) => f.name === 'datetime')
  assert.ok(DataType.isTimestamp(datetime.type) && datetime.type.timezone === 'UTC')
  assert.ok(DataType.isInt(table.schema.fields.find((f) => f.name === 'timestamp').type))
  // Streamed: a reader takes the pieces as they come.
  const reader = await RecordBatchReader.from(client.export('profiles', { safetyMargin: 0 }).arrow())
  let rows = 0
  for await (const batch of reader) rows += batch.numRows
  assert.equal(rows, 60)
})

test('a state file moves the bookmark once an export is read to its end', async (t) => {
  const sandbox = await seeded()
  t.after(() => sandbox.stop())
  const client = new Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const state = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kb-export-')), 'nested', 'state.json')
  let count = 0
  for await (const _ of client.export('profiles', { state, safetyMargin: 0 })) count++
  assert.equal(count, 60)
  const saved = JSON.parse(fs.readFileSync(state, 'utf8'))
  assert.equal(saved.destination, 'export')
  assert.ok(saved.streams.profiles.bookmark > 0)
  // A loop left early frees its state file at once and saves no bookmark: the next export
  // (in the same process, before any garbage collection) reads everything.
  const other = path.join(path.dirname(state), 'other.json')
  for await (const _ of client.export('profiles', { state: other, safetyMargin: 0 })) break
  assert.equal(fs.existsSync(other), false)
  count = 0
  for await (const _ of client.export('profiles', { state: other, safetyMargin: 0 })) count++
  assert.equal(count, 60)
  // Nothing changed since: the next export from the state reads nothing.
  count = 0
  for await (const _ of client.export('profiles', { state, safetyMargin: 0 })) count++
  assert.equal(count, 0)
  // Events behind the bookmark are read again by an export that looks back over them.
  const events = path.join(path.dirname(state), 'events.json')
  const counted = async (options) => {
    let n = 0
    for await (const _ of client.export('events', { state: events, safetyMargin: 0, ...options })) n++
    return n
  }
  assert.equal(await counted({}), 1500)
  assert.equal(await counted({}), 0)
  assert.equal(await counted({ eventsLookback: 20 * 365 * 86400 }), 1500)
})

test('a bad stream or option is refused at once, naming what to give', async (t) => {
  const sandbox = await seeded()
  t.after(() => sandbox.stop())
  const client = new Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  assert.throws(() => client.export('eventz'), (e) => e instanceof InvalidInputError && /streams are .*events/.test(e.message))
  assert.throws(() => client.export('events', { sinse: 'x' }), (e) => e instanceof InvalidInputError && /options are since/.test(e.message))
  assert.throws(() => client.export('events', { since: 'yesterday' }), InvalidInputError)
  assert.throws(() => client.export('events', { eventsLookback: -1 }), (e) => e instanceof InvalidInputError && /eventsLookback -1/.test(e.message))
})
