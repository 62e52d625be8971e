'use strict'
// client.catalogs.sync from Node: a feed file or product objects, the report in camelCase with
// the same fields as Python and the CLI, plans, typed errors for a bad feed and a refused plan.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const k = require('../../bindings-node/index.js')
const { start } = require('./sandbox.js')

const products = (n, price = 5) =>
  Array.from({ length: n }, (_, i) => ({ id: `JS-${i}`, title: `Product ${i}`, description: 'D', url: `https://shop.example/p/${i}`, price, category: i % 2 ? 'Kitchen|Gifts' : 'Kitchen' }))

test('product objects sync, and the same feed again sends nothing', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const report = await client.catalogs.sync(products(120))
  assert.equal(report.created, 122)
  assert.equal(report.plan.items.create, 120)
  assert.deepEqual(report.failed, [])
  assert.equal(report.dryRun, false)
  const state = await sandbox.state()
  assert.deepEqual([state.catalog_items, state.catalog_categories], [120, 2])
  const again = await client.catalogs.sync(products(120))
  assert.equal(again.plan.items.unchanged, 120)
  assert.deepEqual([again.writes, again.jobs], [0, 0])
  // The generated operations stay on the same namespace.
  const item = await client.catalogs.getCatalogItem('$custom:::$default:::JS-3')
  assert.equal(item.price, 5)
})

test('a Google Merchant XML file, a dry run with a plan, then the plan applied', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-sync-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const feed = path.join(dir, 'feed.xml')
  fs.writeFileSync(feed, `<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>
<item><g:id>G1-red</g:id><g:item_group_id>G1</g:item_group_id><title>Shirt red</title><description>A shirt</description><link>https://shop.example/g1</link><g:price>12.00 USD</g:price><g:quantity>4</g:quantity></item>
<item><g:id>G1-blue</g:id><g:item_group_id>G1</g:item_group_id><title>Shirt blue</title><description>A shirt</description><link>https://shop.example/g1</link><g:price>12.00 USD</g:price><g:quantity>0</g:quantity></item>
</channel></rss>`)
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const planOut = path.join(dir, 'plan.json')
  const dry = await client.catalogs.sync(feed, { dryRun: true, planOut })
  assert.equal(dry.dryRun, true)
  assert.deepEqual([dry.plan.items.create, dry.plan.variants.create], [1, 2])
  assert.equal(dry.planFile, planOut)
  assert.equal((await sandbox.state()).catalog_items, 0)
  const applied = await client.catalogs.sync(null, { applyPlan: planOut })
  assert.equal(applied.created, 3)
  const state = await sandbox.settled()
  assert.deepEqual([state.catalog_items, state.catalog_variants], [1, 2])
})

test('bad records are a BulkPartialError listing each, and nothing is sent', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  const feed = products(4)
  feed[2].price = 'ten'
  await assert.rejects(client.catalogs.sync(feed), (error) => {
    assert.ok(error instanceof k.BulkPartialError, String(error))
    assert.match(error.failures[0].reason, /^record 3: price "ten" is not a number/)
    return true
  })
  assert.equal((await sandbox.state()).catalog_items, 0)
  const report = await client.catalogs.sync(feed, { skipInvalid: true })
  assert.deepEqual(report.skipped.map((p) => [p.location, p.externalId]), [['record 3', 'JS-2']])
  assert.equal(report.plan.items.create, 3)
})

test('the delete guard refuses a much shorter feed unless forced', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const client = new k.Client({ apiKey: sandbox.key, baseUrl: sandbox.url })
  await client.catalogs.sync(products(30))
  await assert.rejects(client.catalogs.sync(products(10), { deleteMissing: true }), (error) => {
    assert.ok(error instanceof k.InvalidInputError, String(error))
    assert.match(error.message, /deletes 20 of the catalog's 30 items/)
    return true
  })
  assert.equal((await sandbox.state()).catalog_items, 30)
  const report = await client.catalogs.sync(products(10), { deleteMissing: true, force: true })
  assert.equal(report.deleted, 20)
  await assert.rejects(client.catalogs.sync(products(1), { deleteMising: true }), /unknown field `deleteMising`/)
})
