'use strict'
// The behaviour contract (tests/contract/behaviour.json), run through the Node package: the
// same scenarios the Rust and Python suites run, with the same expected results and sandbox
// state. Verbs and option names are spelled in camelCase, as Node callers write them.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { start } = require('klaviyo-bridge/testing')
const { Client, Pager, Resource, Tracker, KlaviyoError } = require('klaviyo-bridge')
const { ROOT } = require('./sandbox.js')

const CONTRACT = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'contract', 'behaviour.json'), 'utf8'))
const OPAQUE = new Set(['raw', 'payload', 'errors', 'attributes'])

const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** A result as the contract compares it (Node's camelCase names back in snake_case). */
async function canonical(value) {
  if (value instanceof Resource) return { id: value.id, type: value.type, attributes: value.raw.attributes ?? {} }
  if (value instanceof Pager) return Promise.all((await value.toArray()).map(canonical))
  if (value instanceof Tracker) return { tracker: true }
  if (Array.isArray(value)) return Promise.all(value.map(canonical))
  if (value !== null && typeof value === 'object') {
    const out = {}
    for (const [k, v] of Object.entries(value)) out[snake(k)] = OPAQUE.has(k) ? v : await canonical(v)
    return out
  }
  return value === undefined ? null : value
}

function lookup(value, dotted) {
  for (const part of dotted.split('.')) {
    assert.ok(value !== null && typeof value === 'object' && part in value, `no ${part} in ${JSON.stringify(value)}`)
    value = value[part]
  }
  return value
}

function resolve(value, saved) {
  if (typeof value === 'string' && value.startsWith('$')) {
    const [name, ...rest] = value.slice(1).split('.')
    if (name in saved) return rest.length ? lookup(saved[name], rest.join('.')) : saved[name]
    return value
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, saved))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, saved)]))
  return value
}

const TYPES = { string: 'string', number: 'number', boolean: 'boolean', object: 'object' }

function check(result, expect, saved, where) {
  for (const [key, raw] of Object.entries(expect ?? {})) {
    const wanted = resolve(raw, saved)
    if (key === '$null') assert.equal(result, null, where)
    else if (key === '$value') assert.deepEqual(result, wanted, where)
    else if (key === '$type') assert.equal(typeof result, TYPES[wanted], where)
    else if (key === '$len') assert.equal(result.length, wanted, `${where}: ${JSON.stringify(result)}`)
    else if (key === '$min_len') assert.ok(result.length >= wanted, where)
    else {
      const actual = lookup(result, key)
      if (wanted !== null && typeof wanted === 'object' && '$len' in wanted) assert.equal(actual.length, wanted.$len, `${where}: ${key}`)
      else assert.deepEqual(actual, wanted, `${where}: ${key}`)
    }
  }
}

function target(client, step, saved) {
  if (step.on) {
    const object = saved[`${step.on}#object`]
    return object[camel(step.call)].bind(object)
  }
  const parts = step.call.split('.')
  const verb = camel(parts.pop())
  let object = client
  for (const part of parts) if (part !== 'client') object = object[camel(part)]
  assert.equal(typeof object[verb], 'function', `the Node package lacks ${step.call}`)
  return object[verb].bind(object)
}

function callArgs(step, saved) {
  const args = resolve(step.args ?? [], saved)
  if (step.options === undefined) return args
  const options = Object.fromEntries(Object.entries(resolve(step.options, saved)).map(([k, v]) => [camel(k), v]))
  return [...args, options]
}

test('every verb of the contract exists and is exercised', async () => {
  const sandbox = await start({ rateLimits: 'off' })
  try {
    const client = new Client({ sandbox })
    const tracker = client.tracker()
    const called = new Set(CONTRACT.scenarios.flatMap((s) => s.steps.map((step) => (step.on ? `tracker.${step.call}` : step.call))))
    for (const [namespace, verbs] of Object.entries(CONTRACT.verbs)) {
      for (const verb of verbs) {
        let object = namespace === 'tracker' ? tracker : client
        if (namespace !== 'client' && namespace !== 'tracker') for (const part of namespace.split('.')) object = object[camel(part)]
        assert.equal(typeof object[camel(verb)], 'function', `the Node package lacks ${namespace}.${camel(verb)}`)
        assert.ok(called.has(`${namespace}.${verb}`), `no contract step calls ${namespace}.${verb}`)
      }
    }
    await tracker.close()
  } finally {
    await sandbox.stop()
  }
})

for (const scenario of CONTRACT.scenarios) {
  test(scenario.name, async () => {
    const sandbox = await start({ rateLimits: 'off' })
    const client = new Client({ sandbox })
    const saved = {}
    try {
      for (const [number, step] of scenario.steps.entries()) {
        const where = `step ${number} (${step.call})`
        if (step.settle) await sandbox.settled()
        const fn = target(client, step, saved)
        const args = callArgs(step, saved)
        if (step.error) {
          let caught
          try {
            await canonical(await fn(...args))
          } catch (error) {
            caught = error
          }
          assert.ok(caught instanceof KlaviyoError, `${where}: expected ${step.error.class}, got ${caught}`)
          assert.equal(caught.constructor.name, step.error.class, `${where}: ${caught.message}`)
          for (const words of step.error.message) assert.ok(caught.message.includes(words), `${where}: ${caught.message}`)
          continue
        }
        const raw = await fn(...args)
        const result = await canonical(raw)
        if (step.save) {
          saved[step.save] = result
          saved[`${step.save}#object`] = raw
        }
        check(result, step.expect, saved, where)
      }
      const state = await sandbox.settled()
      for (const [key, wanted] of Object.entries(scenario.state ?? {})) assert.equal(state[key], wanted, `state ${key}`)
    } finally {
      await sandbox.stop()
    }
  })
}
