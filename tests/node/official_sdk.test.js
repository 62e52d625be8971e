'use strict'
// Klaviyo's official Node SDK (klaviyo-api 23.0.0, revision 2026-07-15, the spec's) runs
// unchanged against the sandbox: campaigns, flows, segments, templates, reporting, and its
// documented pagination (`pageCursor: body.links.next`).
const test = require('node:test')
const assert = require('node:assert/strict')
const sdk = require('klaviyo-api')
const { start } = require('./sandbox.js')

const CAMPAIGN = { data: { type: 'campaign', attributes: {
  name: 'Spring sale', audiences: { included: ['LIST1'] },
  campaignMessages: { data: [{ type: 'campaign-message', attributes: { definition: {
    channel: 'email', label: 'Spring', content: { subject: 'Hello', fromEmail: 'shop@example.com', fromLabel: 'Shop' } } } }] } } } }

test('the official SDK against the sandbox', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const session = new sdk.ApiKeySession(sandbox.key, new sdk.RetryWithExponentialBackoff({ numRetries: 0 }))
  const api = (Kind) => Object.assign(new Kind(session), { basePath: sandbox.url })

  await t.test('documented pagination reads every profile once', async () => {
    const profiles = api(sdk.ProfilesApi)
    for (let i = 0; i < 25; i++) await profiles.createProfile({ data: { type: 'profile', attributes: { email: `p${i}@example.com` } } })
    const seen = []
    let cursor
    let pages = 0
    do {
      const { body } = await profiles.getProfiles({ pageSize: 10, pageCursor: cursor })
      seen.push(...body.data.map((p) => p.id))
      cursor = body.links.next
      pages++
    } while (cursor)
    assert.equal(pages, 3)
    assert.equal(new Set(seen).size, 25)
  })

  await t.test('campaigns round trip', async () => {
    const campaigns = api(sdk.CampaignsApi)
    const { body: created } = await campaigns.createCampaign(CAMPAIGN)
    assert.equal(created.data.attributes.name, 'Spring sale')
    const id = created.data.id
    const { body: listed } = await campaigns.getCampaigns("equals(messages.channel,'email')")
    assert.deepEqual(listed.data.map((c) => c.id), [id])
    await campaigns.updateCampaign(id, { data: { type: 'campaign', id, attributes: { name: 'Summer sale' } } })
    assert.equal((await campaigns.getCampaign(id)).body.data.attributes.name, 'Summer sale')
    const { body: messages } = await campaigns.getMessagesForCampaign(id)
    assert.equal(messages.data[0].attributes.definition.content.subject, 'Hello')
    await campaigns.deleteCampaign(id)
    await assert.rejects(campaigns.getCampaign(id), (e) => e.response?.status === 404)
  })

  await t.test('segments, templates and flows', async () => {
    const { body: segment } = await api(sdk.SegmentsApi).createSegment({ data: { type: 'segment', attributes: { name: 'Gold', definition: { conditionGroups: [{ conditions: [
      { type: 'profile-property', property: "properties['tier']", filter: { type: 'string', operator: 'equals', value: 'gold' } }] }] } } } })
    assert.deepEqual((await api(sdk.SegmentsApi).getSegments()).body.data.map((s) => s.id), [segment.data.id])
    const templates = api(sdk.TemplatesApi)
    const { body: template } = await templates.createTemplate({ data: { type: 'template', attributes: { name: 'Welcome', editorType: 'CODE', html: '<p>Hi {{ first_name }}</p>' } } })
    assert.equal((await templates.getTemplate(template.data.id)).body.data.attributes.name, 'Welcome')
    assert.deepEqual((await api(sdk.FlowsApi).getFlows()).body.data, [])
  })

  await t.test('reporting answers in the SDK models', async () => {
    const { body } = await api(sdk.ReportingApi).queryCampaignValues({ data: { type: 'campaign-values-report', attributes: {
      statistics: ['opens', 'clicks'], timeframe: { key: 'last_30_days' }, conversionMetricId: 'METRIC1' } } })
    assert.equal(body.data.type, 'campaign-values-report')
    assert.ok(Array.isArray(body.data.attributes.results))
  })
})
