'use strict'
// klaviyo-bridge/compat, the drop-in for Klaviyo's official Node SDK (klaviyo-api 23.0.0,
// installed by `make test`): every Api class and method with the same arguments; bodies
// camelCased exactly as the official ObjectSerializer does (the generated schema table checked
// against the official models); the official README's examples run with only the import
// changed, once on each SDK against its own sandbox, with results compared field by field;
// errors shaped like the official ones that are klaviyo-bridge's Error subclasses; OAuth.
const test = require('node:test')
const assert = require('node:assert/strict')
const official = require('klaviyo-api')
const compat = require('../../bindings-node/compat/index.js')
const k = require('../../bindings-node/index.js')
const SCHEMAS = require('../../bindings-node/compat/schemas.js')
const fs = require('node:fs')
const path = require('node:path')
const { start } = require('./sandbox.js')

const apiClasses = (sdk) => Object.keys(sdk).filter((name) => /Api$/.test(name) && name !== 'OAuthApi' && name !== 'BaseApi')

/** A function's parameter names, defaults stripped. */
function parameters(fn) {
  const text = fn.toString()
  const list = text.slice(text.indexOf('(') + 1, text.indexOf(')'))
  return list.split(',').map((p) => p.split('=')[0].trim()).filter(Boolean)
}

function methodNames(Class) {
  const names = new Set()
  for (const name of Object.getOwnPropertyNames(Class.prototype)) {
    if (name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(Class.prototype, name).value === 'function') names.add(name)
  }
  return [...names].sort()
}

test('every Api class and method of the official SDK, with its arguments in its order', () => {
  const classes = apiClasses(official)
  assert.equal(classes.length, 23)
  let methods = 0
  for (const name of classes) {
    assert.equal(typeof compat[name], 'function', `compat has no ${name}`)
    for (const method of methodNames(official[name])) {
      const ours = compat[name].prototype[method]
      assert.equal(typeof ours, 'function', `compat ${name} has no ${method}`)
      assert.deepEqual(parameters(ours), parameters(official[name].prototype[method]), `${name}.${method}`)
      methods++
    }
    // The global instance beside the class.
    assert.ok(compat[name.replace(/Api$/, '')] instanceof compat[name])
  }
  assert.ok(methods > 600, `${methods} methods (operations and aliases)`)
})

/** The official method's serialize/deserialize type names, read from its code. */
function officialTypes(fn) {
  const text = fn.toString()
  return {
    // The body's model (query parameters serialize as "string" or "Array<...>").
    body: /ObjectSerializer\.serialize\(\w+, "([A-Z][A-Za-z0-9]*)"\)/.exec(text)?.[1] ?? null,
    response: /ObjectSerializer\.deserialize\(axiosResponse\.data, "([A-Za-z0-9]+)"\)/.exec(text)?.[1] ?? null,
  }
}

/** Our method's body and response schema, read from the generated call. */
function ourTypes(fn) {
  const m = /(?:options|{}), (null|"[^"]+"), (null|"[^"]+"), \[/.exec(fn.toString())
  return { body: JSON.parse(m[1]), response: JSON.parse(m[2]) }
}

// The official unions (`export type X = A | B`), read from its model sources.
const UNIONS = new Map()
{
  const dir = path.join(path.dirname(require.resolve('klaviyo-api/package.json')), 'model')
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    for (const m of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/^export type (\w+) = ([\w |]+);/gm)) UNIONS.set(m[1], m[2].split('|').map((v) => v.trim()))
  }
}

/** The wire value of a model's `type` (its enum's one member), if it has one. */
function typeValue(model) {
  const attribute = model.getAttributeTypeMap().find((a) => a.baseName === 'type')
  if (attribute === undefined) return undefined
  const [outer, inner] = attribute.type.split('.')
  const enumeration = inner === undefined ? official[outer] : official[outer]?.[inner]
  if (enumeration === undefined) return undefined
  const members = Object.keys(enumeration).filter((k) => /^[A-Z]/.test(k))
  return members.length === 1 ? enumeration[members[0]] : undefined
}

const PRIMITIVES = new Set(['string', 'number', 'boolean', 'any', 'object', 'integer', 'double', 'float', 'long'])

/** Walks an official type and ours side by side; each difference a user would see is listed. */
function compare(theirs, ours, path, differences, seen) {
  const key = `${theirs}|${JSON.stringify(ours)}`
  if (seen.has(key)) return
  seen.add(key)
  if (theirs.startsWith('Array<')) {
    const inner = theirs.slice(6, -1)
    if (Array.isArray(ours)) return compare(inner, ours[0], `${path}[]`, differences, seen)
    if (ours === 0 && (PRIMITIVES.has(inner) || inner.includes("'") || official[inner]?.getAttributeTypeMap === undefined) && inner !== 'Date') return
    return differences.push(`${path}: official Array<${inner}>, ours ${JSON.stringify(ours)}`)
  }
  if (theirs === 'Date') {
    if (ours !== 1) differences.push(`${path}: official Date, ours ${JSON.stringify(ours)}`)
    return
  }
  if (UNIONS.has(theirs)) {
    const variants = UNIONS.get(theirs)
    // A union of scalars (a string or a number, a value of one enum or another) is as is.
    if (variants.every((v) => official[v]?.getAttributeTypeMap === undefined)) {
      if (ours === 1 && !variants.includes('Date')) differences.push(`${path}: official ${theirs}, ours a date-time`)
      return
    }
    // Each variant against ours: the variant of its `type`, or our merge of the variants.
    const entry = typeof ours === 'string' ? SCHEMAS[ours] : undefined
    if (entry === undefined) return differences.push(`${path}: official union ${theirs}, ours ${JSON.stringify(ours)}`)
    for (const variant of variants) {
      const model = official[variant]
      if (model?.getAttributeTypeMap === undefined) continue
      if (entry.byType === undefined) {
        compare(variant, ours, `${path}<${variant}>`, differences, seen)
        continue
      }
      const mine = entry.byType[typeValue(model)]
      if (mine === undefined) differences.push(`${path}<${variant}>: no variant of type ${typeValue(model)} in ours`)
      else compare(variant, mine, `${path}<${variant}>`, differences, seen)
    }
    return
  }
  const model = official[theirs]
  if (model === undefined || typeof model.getAttributeTypeMap !== 'function') {
    // A primitive, an enum or a free-form object. A date-time where the official SDK has a
    // number is where our merge of variants sharing a `type` met both: the walk converts
    // only strings, so a number passes as it is either way.
    if (ours === 1 && theirs !== 'number') differences.push(`${path}: official ${theirs}, ours a date-time`)
    return
  }
  if (typeof ours !== 'string') return differences.push(`${path}: official ${theirs}, ours ${JSON.stringify(ours)}`)
  const entry = SCHEMAS[ours]
  if (entry.byType !== undefined) {
    for (const variant of Object.values(entry.byType)) compare(theirs, variant, path, differences, seen)
    return
  }
  for (const attribute of model.getAttributeTypeMap()) {
    const mine = entry.find(([wire]) => wire === attribute.baseName)
    if (mine === undefined) {
      differences.push(`${path}.${attribute.baseName}: not in ours`)
      continue
    }
    if (mine[1] !== attribute.name) differences.push(`${path}.${attribute.baseName}: official ${attribute.name}, ours ${mine[1]}`)
    compare(attribute.type, mine[2], `${path}.${attribute.name}`, differences, seen)
  }
}

test('request and response bodies are camelCased as the official models do, dates included', () => {
  const differences = []
  const seen = new Set()
  const compared = { body: 0, response: 0 }
  for (const name of apiClasses(official)) {
    for (const method of methodNames(official[name])) {
      const theirs = officialTypes(official[name].prototype[method])
      const ours = ourTypes(compat[name].prototype[method])
      for (const side of ['body', 'response']) {
        if (theirs[side] === null) continue
        compared[side]++
        if (ours[side] === null) {
          differences.push(`${name}.${method} ${side}: official ${theirs[side]}, ours none`)
          continue
        }
        compare(theirs[side], ours[side], `${name}.${method} ${side}`, differences, seen)
      }
    }
  }
  assert.ok(compared.body > 200 && compared.response > 500, `${JSON.stringify(compared)} bodies compared`)
  assert.deepEqual(differences.slice(0, 20), [], `${differences.length} differences`)
})

/** Values that differ between two sandboxes (ids, ports, cursors, times) masked. */
function mask(value, key) {
  if (Array.isArray(value)) return value.map((v) => mask(v, key))
  if (value instanceof Date) return '<date>'
  if (value !== null && typeof value === 'object') {
    const out = {}
    for (const [k2, v] of Object.entries(value)) if (v !== undefined) out[k2] = mask(v, k2)
    return out
  }
  if (typeof value === 'string' && ['id', 'metricId', 'profileId', 'metric_id'].includes(key)) return '<id>'
  if (typeof value === 'string' && value.startsWith('http://127.0.0.1:')) {
    const url = new URL(value)
    return [url.pathname, [...url.searchParams].map(([n, v]) => [n, n === 'page[cursor]' ? '<cursor>' : v]).sort()]
  }
  return value
}

const CLIENT_SECRET = 'sandbox-client-secret-not-real'

/** Follows the authorize URL like a browser whose user approves; answers the code. */
async function approve(url) {
  const response = await fetch(url, { redirect: 'manual' })
  assert.equal(response.status, 302)
  return new URL(response.headers.get('location')).searchParams.get('code')
}

/**
 * The official README's examples, written for `klaviyo-api` (only `sdk` differs: the official
 * module or klaviyo-bridge/compat); each step's result is kept for comparison.
 */
async function readmeExamples(sdk, sandbox) {
  const { ApiKeySession, RetryWithExponentialBackoff, ProfilesApi, EventsApi, CatalogsApi, CampaignsApi, ListsApi, SegmentsApi, MetricsApi, TagsApi, FilterBuilder } = sdk
  const out = []
  const retryWithExponentialBackoff = new RetryWithExponentialBackoff({ retryCodes: [429, 503, 504, 524], numRetries: 5, maxInterval: 10 })
  const session = new ApiKeySession(sandbox.key, retryWithExponentialBackoff)
  // The README's host is Klaviyo's; here each SDK's is its own sandbox.
  const api = (Kind) => Object.assign(new Kind(session), { basePath: sandbox.url })
  const profilesApi = api(ProfilesApi)
  const eventsApi = api(EventsApi)

  // Profiles: create with camelCase attributes, custom properties kept as given.
  for (let i = 0; i < 12; i++) {
    const { body } = await profilesApi.createProfile({ data: { type: 'profile', attributes: { email: `reader${i}@example.com`, firstName: `Reader ${i}`, phoneNumber: null, location: { city: 'Boston', zip: '02110' }, properties: { signup_source: 'web', NestedKey: { inner_key: i } } } } })
    if (i === 0) out.push(body)
  }
  // Page size, then cursor pagination with the whole `links.next` URL.
  const profileList = await profilesApi.getProfiles({ pageSize: 5, sort: 'email' })
  out.push(profileList.body)
  out.push(profileList.response.status)
  const emails = []
  let pageCursor
  do {
    const { body } = await profilesApi.getProfiles({ pageSize: 5, pageCursor, fieldsProfile: ['email', 'first_name'] })
    emails.push(...body.data.map((p) => p.attributes.email))
    pageCursor = body.links.next
  } while (pageCursor)
  out.push(emails)
  const profileId = profileList.body.data[0].id
  // Additional fields, sparse fields, includes.
  const profile = await profilesApi.getProfile(profileId, { additionalFieldsProfile: ['predictive_analytics'] })
  out.push(profile.body.data.attributes)
  // Filtering, with the FilterBuilder and by hand.
  const filter = new FilterBuilder().any('email', ['reader1@example.com', 'reader2@example.com']).build()
  out.push((await profilesApi.getProfiles({ filter })).body.data.map((p) => p.attributes.firstName))
  out.push((await profilesApi.getProfiles({ filter: 'any(email,["reader3@example.com"])' })).body.data.length)
  // Updating with camelCase keys.
  await profilesApi.updateProfile(profileId, { data: { type: 'profile', id: profileId, attributes: { lastName: 'Lovelace' } } })
  out.push((await profilesApi.getProfile(profileId)).body.data.attributes.lastName)

  // Events: create (202, no body), then read them back: sparse fields, sort, combining.
  const created = await eventsApi.createEvent({ data: { type: 'event', attributes: {
    properties: { OrderId: 'A-1', line_items: [{ sku: 'MUG' }] }, time: new Date('2024-05-01T10:00:00Z'), value: 9.5, uniqueId: 'order-A-1',
    metric: { data: { type: 'metric', attributes: { name: 'Placed Order' } } },
    profile: { data: { type: 'profile', attributes: { email: 'reader0@example.com' } } } } } })
  out.push(created.body, created.response.status)
  const { body: metrics } = await api(MetricsApi).getMetrics()
  out.push(metrics.data.map((m) => m.attributes.name))
  const metricId = metrics.data[0].id
  const events = await eventsApi.getEvents({ fieldsEvent: ['event_properties', 'datetime'], sort: '-datetime', filter: `equals(metric_id,"${metricId}")` })
  out.push(events.body.data)
  out.push(events.body.data[0].attributes.datetime instanceof Date)
  out.push((await eventsApi.getEvents({ include: ['profile'] })).body.included?.map((p) => p.attributes?.email))

  // Catalogs.
  const catalogsApi = api(CatalogsApi)
  const item = await catalogsApi.createCatalogItem({ data: { type: 'catalog-item', attributes: { externalId: 'SKU-1', title: 'Mug', description: 'A mug', url: 'https://shop.example.com/mug', price: 12, customMetadata: { color_name: 'blue' } } } })
  out.push(item.body.data.attributes)
  out.push((await catalogsApi.getCatalogItems()).body.data.map((i) => i.attributes.externalId))

  // Campaigns.
  const campaignsApi = api(CampaignsApi)
  const campaign = await campaignsApi.createCampaign({ data: { type: 'campaign', attributes: { name: 'Spring sale', audiences: { included: ['LIST1'] },
    campaignMessages: { data: [{ type: 'campaign-message', attributes: { definition: { channel: 'email', label: 'Spring', content: { subject: 'Hello', fromEmail: 'shop@example.com', fromLabel: 'Shop' } } } }] } } } })
  out.push(campaign.body.data.attributes)
  out.push((await campaignsApi.getCampaigns("equals(messages.channel,'email')")).body.data.map((c) => c.attributes.name))
  const messages = await campaignsApi.getMessagesForCampaign(campaign.body.data.id)
  out.push(messages.body.data[0].attributes.definition.content)

  // Lists and relationships.
  const listsApi = api(ListsApi)
  const newsletter = await listsApi.createList({ data: { type: 'list', attributes: { name: 'Newsletter' } } })
  await listsApi.addProfilesToList(newsletter.body.data.id, { data: [{ type: 'profile', id: profileId }] })
  out.push((await listsApi.getListProfiles(newsletter.body.data.id)).body.data.map((p) => p.attributes.email))
  out.push((await profilesApi.getProfileRelationshipsLists(profileId)).body.data.length)
  out.push((await profilesApi.getProfile(profileId, { fieldsList: ['name'], include: ['lists'] })).body.included?.map((l) => l.attributes?.name) ?? null)
  const tag = await api(TagsApi).createTag({ data: { type: 'tag', attributes: { name: 'Seasonal' } } })
  out.push((await api(TagsApi).getTagRelationshipsCampaigns(tag.body.data.id)).body.data)

  // Segments.
  const segmentsApi = api(SegmentsApi)
  await segmentsApi.createSegment({ data: { type: 'segment', attributes: { name: 'Gold', definition: { conditionGroups: [{ conditions: [
    { type: 'profile-property', property: "properties['tier']", filter: { type: 'string', operator: 'equals', value: 'gold' } }] }] } } } })
  out.push((await segmentsApi.getSegments()).body.data.map((s) => s.attributes))

  // Error handling: the README reads error.response.
  try {
    await profilesApi.getProfile('NOPE')
    out.push('no error')
  } catch (error) {
    out.push([error.response.status, error.response.data.errors[0].status, error.response.data.errors[0].code])
  }

  // A global key, as the README sets one.
  new sdk.GlobalApiKeySettings(sandbox.key, retryWithExponentialBackoff)
  sdk.Profiles.basePath = sandbox.url
  out.push((await sdk.Profiles.getProfiles({ pageSize: 2 })).body.data.length)

  // OAuth: authorize with PKCE, exchange the code into your TokenStorage, call with the
  // session, refresh; and a session on a bare access token.
  const saved = new Map()
  const tokenStorage = { retrieve: (id) => saved.get(id), save: (id, tokens) => void saved.set(id, tokens) }
  const oauthApi = new sdk.OAuthApi('sandbox-client', CLIENT_SECRET, tokenStorage)
  oauthApi.tokenUrl = `${sandbox.url}/oauth/token`
  const { codeVerifier, codeChallenge } = sdk.Pkce.generateCodes()
  const redirectUrl = 'http://127.0.0.1:9/callback'
  const authorizeUrl = oauthApi.generateAuthorizeUrl('customer-1', 'accounts:read profiles:read', codeChallenge, redirectUrl)
  const authorize = new URL(authorizeUrl)
  out.push([authorize.searchParams.get('state'), authorize.searchParams.get('scope'), authorize.searchParams.get('code_challenge') === codeChallenge])
  const code = await approve(`${sandbox.url}/oauth/authorize${authorize.search}`)
  const tokens = await oauthApi.createTokens('customer-1', codeVerifier, code, redirectUrl)
  out.push([typeof tokens.accessToken, typeof tokens.refreshToken, tokens.expiresAt instanceof Date, saved.get('customer-1') === tokens])
  const oauthProfiles = Object.assign(new ProfilesApi(new sdk.OAuthSession('customer-1', oauthApi)), { basePath: sandbox.url })
  out.push((await oauthProfiles.getProfiles({ pageSize: 1 })).body.data.length)
  const refreshed = await oauthApi.refreshTokens('customer-1')
  out.push([refreshed.accessToken !== tokens.accessToken, saved.get('customer-1') === refreshed])
  const basic = Object.assign(new ProfilesApi(new sdk.OAuthBasicSession(refreshed.accessToken)), { basePath: sandbox.url })
  out.push((await basic.getProfiles({ pageSize: 1 })).body.data.length)
  try {
    await oauthApi.refreshTokens('customer-1', 'not-a-refresh-token')
    out.push('no error')
  } catch (error) {
    out.push([sdk.isKlaviyoTokenError(error), error.name])
  }
  return out
}

test('the README examples give the same results on the official SDK and on compat', async (t) => {
  const theirs = await start('--rate-limits', 'off')
  const ours = await start('--rate-limits', 'off')
  t.after(() => {
    theirs.stop()
    ours.stop()
  })
  const expected = await readmeExamples(official, theirs)
  const got = await readmeExamples(compat, ours)
  assert.equal(got.length, expected.length)
  for (let step = 0; step < expected.length; step++) {
    assert.deepEqual(mask(got[step]), mask(expected[step]), `step ${step}`)
  }
})

test('failures are klaviyo-bridge errors shaped like the official ones', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const profilesApi = Object.assign(new compat.ProfilesApi(new compat.ApiKeySession(sandbox.key)), { basePath: sandbox.url })
  const missing = await profilesApi.getProfile('NOPE').catch((e) => e)
  assert.ok(missing instanceof k.NotFoundError && missing instanceof Error)
  assert.equal(missing.response.status, 404)
  assert.equal(missing.response.statusText, 'Not Found')
  assert.equal(missing.response.data.errors[0].code, 'not_found')
  // Bad input is refused before anything is sent, naming what to fix.
  const before = (await sandbox.requests()).length
  await assert.rejects(profilesApi.getProfile(undefined), (e) => e instanceof k.InvalidInputError && /Required parameter id was null or undefined when calling getProfile/.test(e.message))
  await assert.rejects(profilesApi.getProfiles({ pageSize: 'many' }), (e) => e instanceof k.ValidationError)
  await assert.rejects(profilesApi.createProfile({ data: { type: 'profile', attributes: { email: 5 } } }), (e) => e instanceof k.ValidationError)
  assert.equal((await sandbox.requests()).length, before)
  // A mistyped field is dropped (as the official SDK drops it) with a warning that names it.
  const warnings = []
  const onWarning = (w) => warnings.push(w.message)
  process.on('warning', onWarning)
  await profilesApi.createProfile({ data: { type: 'profile', attributes: { email: 'typo@example.com', frstName: 'Ada' } } })
  await new Promise(setImmediate)
  process.off('warning', onWarning)
  assert.ok(warnings.some((m) => m.includes('"frstName"')), warnings.join('\n'))
  // A bad key fails as the official SDK's does, with a 401 in error.response, never the key.
  const wrong = Object.assign(new compat.ProfilesApi(new compat.ApiKeySession('pk_wrong_key_0000000000000000000000')), { basePath: sandbox.url })
  const denied = await wrong.getProfiles().catch((e) => e)
  assert.ok(denied instanceof k.AuthenticationError)
  assert.equal(denied.response.status, 401)
  assert.ok(!JSON.stringify(denied).includes('pk_wrong_key') && !String(denied.stack).includes('pk_wrong_key'))
})

test('the official enums, by the same members', () => {
  const names = Object.keys(official).filter((name) => /Enum$/.test(name) && typeof official[name] === 'object')
  assert.ok(names.length >= 79, `${names.length} enums`)
  for (const name of names) assert.deepEqual({ ...compat[name] }, { ...official[name] }, name)
  assert.equal(compat.ProfileEnum.Profile, 'profile')
})

test('options: unknown ones are ignored with a warning, and never replace an argument', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const session = new compat.ApiKeySession(sandbox.key)
  const profilesApi = Object.assign(new compat.ProfilesApi(session), { basePath: sandbox.url })
  const { body: created } = await profilesApi.createProfile({ data: { type: 'profile', attributes: { email: 'opt@example.com' } } })
  const warnings = []
  const onWarning = (w) => warnings.push(w.message)
  process.on('warning', onWarning)
  const { body } = await profilesApi.getProfile(created.data.id, { id: 'SOMEONE_ELSE', fieldsProfile: ['email'], pageSize: 5 })
  await new Promise(setImmediate)
  process.off('warning', onWarning)
  assert.equal(body.data.id, created.data.id)
  assert.ok(warnings.some((m) => m.includes('getProfile has no option "id"')), warnings.join('\n'))
  assert.ok(warnings.some((m) => m.includes('"pageSize"')), warnings.join('\n'))
  // A string for a list option is one field, not its letters.
  const sparse = await profilesApi.getProfiles({ fieldsProfile: 'email' })
  assert.deepEqual(Object.keys(sparse.body.data[0].attributes), ['email'])
})

test('numRetries counts retries after the first attempt', async (t) => {
  const sandbox = await start('--rate-limits', 'off', '--faults', '503:1')
  t.after(() => sandbox.stop())
  const retry = new compat.RetryWithExponentialBackoff({ numRetries: 2, maxInterval: 1 })
  const accountsApi = Object.assign(new compat.AccountsApi(new compat.ApiKeySession(sandbox.key, retry)), { basePath: sandbox.url })
  const error = await accountsApi.getAccounts().catch((e) => e)
  assert.ok(error instanceof k.ServerError, String(error))
  assert.equal(error.response.status, 503)
  // The official SDK's numRetries: 2 sends twice; here the first attempt and two retries.
  assert.equal((await sandbox.requests()).filter((r) => r.operation === 'get_accounts').length, 3)
})

test('a session whose key is replaced sends the new one', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const session = new compat.ApiKeySession('pk_wrong_key_0000000000000000000000')
  const profilesApi = Object.assign(new compat.ProfilesApi(session), { basePath: sandbox.url })
  const denied = await profilesApi.getProfiles().catch((e) => e)
  assert.equal(denied.response.status, 401)
  session.apiKey = sandbox.key
  const { response } = await profilesApi.getProfiles()
  assert.equal(response.status, 200)
})
