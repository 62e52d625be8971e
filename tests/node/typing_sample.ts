// A user's TypeScript, checked with `tsc --noEmit --strict` in make test (not run).
import { Client, KlaviyoError, RateLimitError, Resource, Tokens, oauth, webhooks } from 'klaviyo-bridge'

async function main(): Promise<number> {
  const client = new Client({ maxRetries: 5, timeout: 30 })
  const { uniqueId } = await client.events.create({ email: 'a@b.com', metric: 'Placed Order', properties: { value: 99.99 } })
  const profile: Resource = await client.profiles.upsert({ email: 'a@b.com', properties: { first_name: 'Jane' } }, { timeout: 5 })
  let count = 0
  for await (const p of client.profiles.list({ filter: 'equals(email,"a@b.com")', maxItems: 5000 })) {
    if (typeof p.email === 'string') count++
  }
  for await (const page of client.profiles.list({ pageSize: 100 }).pages()) count += page.length
  try {
    await client.request('get_accounts', { signal: AbortSignal.timeout(1000) })
  } catch (error) {
    if (error instanceof RateLimitError) console.log(error.retryAfter)
    else if (error instanceof KlaviyoError) console.log(error.code, error.status)
  }
  const delivery = webhooks.verify(Buffer.from('{}'), { 'klaviyo-signature': 'x' }, { secret: 's'.repeat(16) })
  console.log(uniqueId, profile.id, delivery.items.length)
  return count
}

void main()

async function oauthApp(save: (t: Tokens) => Promise<void>): Promise<string | undefined> {
  const app = new oauth.OAuthApp({ clientId: 'id', clientSecret: 'secret', redirectUri: 'https://example.com/cb' })
  const { url, codeVerifier } = app.authorizationUrl(['profiles:read'])
  const tokens: Tokens = await app.exchangeCode(url, codeVerifier)
  const client = new Client({ oauth: { app, tokens, onRefresh: save, refreshMargin: 120 } })
  const seen = new webhooks.MemorySeenStore(600)
  webhooks.verify(Buffer.from('{}'), {}, { secret: 's', seen })
  return (await client.accounts.current()).id ?? undefined
}
void oauthApp

async function catalog(client: Client): Promise<number> {
  const report = await client.catalogs.sync('products.xml', { deleteMissing: true, mapping: { external_id: 'sku' }, signal: AbortSignal.timeout(60_000) })
  const failed: string[] = report.failed.map((f) => f.externalId)
  const plan = await client.catalogs.sync(null, { applyPlan: 'plan.json' })
  return report.plan.items.create + failed.length + plan.created
}
void catalog

async function tracking(client: Client): Promise<number> {
  const tracker = client.tracker({ flushAt: 500, whenFull: 'error', onError: (f) => console.error(f.uniqueId, f.reason) })
  const id: string = tracker.track({ metric: 'Placed Order', email: 'a@b.com', value: 9.5, time: new Date() })
  await tracker.flush({ timeout: 5 })
  const stats = await tracker.close()
  return stats.sent + id.length
}
void tracking

// The packaged sandbox, in a user's integration test.
import { start, type Sandbox, type SandboxState } from 'klaviyo-bridge/testing'

async function withSandbox(): Promise<number> {
  const sandbox: Sandbox = await start({ rateLimits: 'off', seedProfiles: 10 })
  const client = new Client({ sandbox })
  await client.profiles.upsert({ email: 'a@b.com' })
  const state: SandboxState = await sandbox.settled()
  const statuses = (await sandbox.requests()).map((r) => r.status)
  await sandbox.stop()
  return state.profiles + statuses.length + sandbox.client({ maxRetries: 1 }).baseUrl.length
}
void withSandbox

/** Generated operations across the spec's tags, as a user would call them. */
export async function everyNamespace(client: Client): Promise<number> {
  let count = 0
  for await (const campaign of client.campaigns.getCampaigns({ filter: "equals(messages.channel,'email')", fieldsCampaign: ['name', 'status'], include: ['tags'], sort: '-created_at', maxItems: 5 })) {
    count += 1
    await client.campaigns.getCampaign(String(campaign.id), { include: ['campaign-messages'] })
    await client.campaigns.getTagsForCampaign(String(campaign.id), { fieldsTag: ['name'] })
  }
  const created: Resource = await client.lists.createList({ data: { type: 'list', attributes: { name: 'VIP' } } })
  await client.lists.updateList(String(created.id), { data: { type: 'list', id: String(created.id), attributes: { name: 'VIPs' } } })
  await client.lists.getList(String(created.id), { additionalFieldsList: ['profile_count'] })
  for await (const page of client.lists.getProfilesForList(String(created.id), { pageSize: 100, maxPages: 2 }).pages()) count += page.length
  const deleted: null = await client.lists.deleteList(String(created.id))
  count += (await client.profiles.getProfiles({ filter: 'equals(email,"a@b.com")', additionalFieldsProfile: ['subscriptions'], pageSize: 50 }).toArray()).length
  await client.events.createEvent({ data: { type: 'event', attributes: { properties: { value: 1 }, metric: { data: { type: 'metric', attributes: { name: 'Viewed' } } }, profile: { data: { type: 'profile', attributes: { email: 'a@b.com' } } } } } })
  count += (await client.events.getEvents({ sort: '-datetime', fieldsEvent: ['datetime'], maxItems: 10 }).toArray()).length
  await client.metrics.getMetrics({ fieldsMetric: ['name'] }).toArray()
  await client.flows.getFlows({ sort: 'name', maxPages: 1 }).toArray()
  await client.flows.updateFlow('F1', { data: { type: 'flow', id: 'F1', attributes: { status: 'live' } } })
  await client.segments.getSegments({ fieldsSegment: ['name'], include: ['tags'] }).toArray()
  await client.templates.createTemplate({ data: { type: 'template', attributes: { name: 'Welcome', editor_type: 'CODE', html: '<p>Hi</p>' } } })
  await client.templates.getTemplates({ sort: '-updated' }).toArray()
  await client.tags.createTag({ data: { type: 'tag', attributes: { name: 'Holiday' } } })
  await client.tags.getTags({ fieldsTag: ['name'] }).toArray()
  await client.coupons.getCoupons({ fieldsCoupon: ['external_id'] }).toArray()
  await client.catalogs.getCatalogItems({ sort: 'created', fieldsCatalogItem: ['title', 'price'] }).toArray()
  await client.catalogs.createCatalogCategory({ data: { type: 'catalog-category', attributes: { external_id: 'shoes', name: 'Shoes' } } })
  await client.forms.getForms({ fieldsForm: ['name'] }).toArray()
  await client.images.getImages({ sort: '-updated_at' }).toArray()
  const hooks: Resource[] = await client.webhooks.getWebhooks()
  await client.accounts.getAccounts({ fieldsAccount: ['contact_information'] })
  await client.reviews.getReviews({ filter: "equals(status,'published')" }).toArray()
  await client.webFeeds.getWebFeeds().toArray()
  await client.customObjects.getDataSources().toArray()
  await client.trackingSettings.getTrackingSettings().toArray()
  await client.reporting.queryCampaignValues({ data: { type: 'campaign-values-report', attributes: { statistics: ['opens'], timeframe: { key: 'last_30_days' }, conversion_metric_id: 'M1' } } })
  const controller = new AbortController()
  await client.flows.getFlow('F1', { include: ['flow-actions'], signal: controller.signal, timeout: 5 })
  // Misspelled names, values outside the allowed set, missing required keys: type errors
  // (tsc also fails if one of these stops being an error).
  // @ts-expect-error misspelled parameter
  client.campaigns.getCampaigns({ filter: 'x', fieldsCampain: ['name'] })
  // @ts-expect-error not an allowed sort
  client.campaigns.getCampaigns({ filter: 'x', sort: 'nme' })
  // @ts-expect-error filter is required
  client.campaigns.getCampaigns({})
  // @ts-expect-error misspelled method
  client.campaigns.getCampaignz()
  // @ts-expect-error the body misses attributes.name
  await client.lists.createList({ data: { type: 'list', attributes: {} } })
  // @ts-expect-error wrong resource type
  await client.lists.createList({ data: { type: 'lists', attributes: { name: 'VIP' } } })
  // @ts-expect-error results are typed: a resource is not a string
  const wrong: string = await client.campaigns.getCampaign('C1')
  return count + hooks.length + (deleted === null ? 0 : 1) + wrong.length
}

export async function genericRequestIsUnknown(client: Client): Promise<void> {
  const answer = await client.request('get_flows')
  // @ts-expect-error request() answers unknown: narrow it before use
  answer.this.does.not.exist()
}
