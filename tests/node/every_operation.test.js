'use strict'
// Every operation of the spec is a camelCase method of the Node package on its namespace (the
// tag in camelCase), named by the documented rule, and each one reaches the sandbox as that
// operation; arguments are checked before anything is sent, with camelCase names in messages.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { start } = require('klaviyo-bridge/testing')
const { Client, Pager, Resource, KlaviyoError, InvalidInputError, ConfigurationError, ValidationError } = require('klaviyo-bridge')
const { ROOT } = require('./sandbox.js')

const SPEC = process.env.KLAVIYO_OPENAPI_SPEC ?? path.join(ROOT, '..', 'shared', 'klaviyo-openapi', 'stable.json')
const METHODS = ['get', 'post', 'patch', 'put', 'delete']
const REQUIRED_VALUES = { filter: "equals(id,'X')", statistics: 'average_rating' }

const snake = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '')
const camel = (text) => snake(text).replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())

function operations() {
  const spec = JSON.parse(fs.readFileSync(SPEC, 'utf8'))
  const found = []
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      if (item[method]) found.push({ ...item[method], method, path: p })
    }
  }
  return found.sort((a, b) => (a.operationId < b.operationId ? -1 : 1))
}
const queryParams = (op) => (op.parameters ?? []).filter((p) => p.in === 'query' && p.name !== 'company_id')
const pathParams = (op) => (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name)
const paginated = (op) => queryParams(op).some((p) => p.name === 'page[cursor]')

const skip = !fs.existsSync(SPEC) && `no spec at ${SPEC}`

test('every operation is a method named by the rule', { skip }, () => {
  const ops = operations()
  assert.equal(ops.length, 345)
  const client = new Client({ apiKey: 'pk_x', baseUrl: 'http://127.0.0.1:9' })
  for (const op of ops) {
    const method = client[camel(op.tags[0])]?.[camel(op.operationId)]
    assert.equal(typeof method, 'function', op.operationId)
    // Path parameters and the body are positional, then the options object.
    assert.equal(method.length, pathParams(op).length + (op.requestBody ? 1 : 0) + 1, op.operationId)
  }
})

test('every operation reaches the sandbox', { skip }, async () => {
  const sandbox = await start({ rateLimits: 'off', seedData: 'demo' })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-every-'))
  const image = path.join(dir, 'logo.png')
  fs.writeFileSync(image, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]))
  const client = new Client({ sandbox })
  let answered = 0
  try {
    for (const op of operations()) {
      const args = pathParams(op).map(() => 'NOPE')
      if (op.requestBody) args.push(op.operationId === 'upload_image_from_file' ? { file: image, name: 'logo' } : sandbox.exampleBody(op.operationId))
      const options = {}
      for (const p of queryParams(op)) {
        if (p.required) options[camel(p.name)] = p.schema.enum?.[0] ?? REQUIRED_VALUES[p.name]
      }
      const method = client[camel(op.tags[0])][camel(op.operationId)]
      let result
      let error
      try {
        if (paginated(op)) {
          const pager = method.call(client[camel(op.tags[0])], ...args, options)
          assert.ok(pager instanceof Pager, op.operationId)
          for await (const item of pager) {
            result = item
            break
          }
        } else {
          result = await method.call(client[camel(op.tags[0])], ...args, options)
        }
      } catch (e) {
        error = e
      }
      if (error) {
        assert.ok(error instanceof KlaviyoError && !(error instanceof InvalidInputError) && !(error instanceof ConfigurationError), `${op.operationId}: ${error}`)
        assert.ok(error.status, `${op.operationId}: ${error}`)
      } else {
        assert.ok(result == null || result instanceof Resource || (Array.isArray(result) && result.every((r) => r instanceof Resource)), op.operationId)
        answered += 1
      }
      const last = (await sandbox.requests()).at(-1)
      assert.equal(last.operation, op.operationId)
      assert.equal(last.method, op.method.toUpperCase())
    }
    // Placeholder ids answer 404 and some example bodies a 400; the rest succeed.
    assert.ok(answered >= 80, `${answered} answered`)
  } finally {
    await sandbox.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('arguments are checked before anything is sent, in camelCase', { skip }, async () => {
  const sandbox = await start({ rateLimits: 'off' })
  const client = new Client({ sandbox })
  try {
    const before = (await sandbox.requests()).length
    assert.throws(() => client.campaigns.getCampaigns({ filter: 'x', fieldsCampain: ['name'] }), (e) => e instanceof InvalidInputError && /getCampaigns got an unknown argument "fieldsCampain".*fieldsCampaign/.test(e.message))
    assert.throws(() => client.campaigns.getCampaigns({}), (e) => e instanceof InvalidInputError && /getCampaigns needs filter/.test(e.message))
    assert.throws(() => client.tags.getTags({ fieldsTag: ['colour'] }), /fieldsTag does not take "colour"/)
    await assert.rejects(client.lists.createList({ data: { type: 'list', attributes: {} } }), (e) => e instanceof InvalidInputError && /createList: the request body does not match ListCreateQuery at \/data\/attributes\/name/.test(e.message))
    await assert.rejects(client.lists.getList('L1', 'fields'), (e) => e instanceof InvalidInputError && /options object, not string/.test(e.message))
    assert.equal((await sandbox.requests()).length, before, 'nothing was sent')
    // Unknown extra attributes pass the client's check; the API decides.
    await assert.rejects(client.lists.createList({ data: { type: 'list', attributes: { name: 'VIP', addedLater: true } } }), (e) => e instanceof ValidationError && !(e instanceof InvalidInputError) && e.status === 400)
    const list = await client.lists.createList({ data: { type: 'list', attributes: { name: 'VIP' } } })
    assert.equal(list.name, 'VIP')
    assert.equal((await client.lists.getList(list.id, { additionalFieldsList: ['profile_count'] })).profile_count, 0)
  } finally {
    await sandbox.stop()
  }
})

test('generated pagers walk every page, resume from a cursor and stop at maxItems', { skip }, async () => {
  const sandbox = await start({ rateLimits: 'off', seedProfiles: 55 })
  const client = new Client({ sandbox })
  try {
    const all = (await client.profiles.getProfiles({ pageSize: 20, fieldsProfile: ['email'] }).toArray()).map((p) => p.id)
    assert.equal(new Set(all).size, 55)
    const pager = client.profiles.getProfiles({ pageSize: 20, maxPages: 1 })
    const first = await pager.toArray()
    assert.equal(first.length, 20)
    const rest = (await client.profiles.getProfiles({ pageSize: 20, pageCursor: pager.cursor }).toArray()).map((p) => p.id)
    assert.deepEqual([...first.map((p) => p.id), ...rest], all)
    assert.equal((await client.profiles.getProfiles({ maxItems: 7 }).toArray()).length, 7)
    // The hand-written verbs sit beside the generated operations.
    assert.equal(typeof client.profiles.upsert, 'function')
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(client.profiles.getProfile(all[0], { signal: controller.signal }), { name: 'AbortError' })
  } finally {
    await sandbox.stop()
  }
})
