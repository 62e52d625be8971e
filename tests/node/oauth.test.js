'use strict'
// OAuth end to end against the sandbox's OAuth server, through the Node binding: PKCE
// authorization, code exchange, Bearer calls, single-flight refresh (on expiry and after a
// 401) with the onRefresh store, revoke and ReauthorizationRequired.
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const k = require('../../bindings-node/index.js')
const { start } = require('./sandbox.js')

const CLIENT_SECRET = 'sandbox-client-secret-not-real'

function app(sandbox) {
  return new k.oauth.OAuthApp({ clientId: 'sandbox-client', clientSecret: CLIENT_SECRET, redirectUri: 'http://127.0.0.1:9/callback', host: sandbox.url })
}

/** Follows the authorize URL like a browser whose user approves. */
async function approve(url) {
  const response = await fetch(url, { redirect: 'manual' })
  assert.equal(response.status, 302)
  const location = new URL(response.headers.get('location'))
  return { code: location.searchParams.get('code'), state: location.searchParams.get('state') }
}

async function authorize(oauthApp) {
  const request = oauthApp.authorizationUrl(['accounts:read', 'events:write'])
  const { code, state } = await approve(request.url)
  assert.equal(state, request.state)
  return oauthApp.exchangeCode(code, request.codeVerifier)
}

test('PKCE flow then Bearer calls, with no secret in inspect output', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const oauthApp = app(sandbox)
  const request = oauthApp.authorizationUrl(['accounts:read'])
  const query = new URL(request.url).searchParams
  assert.equal(query.get('code_challenge_method'), 'S256')
  assert.equal(query.get('scope'), 'accounts:read')
  assert.ok(request.codeVerifier.length >= 43 && !request.url.includes(request.codeVerifier))
  const { code } = await approve(request.url)
  const tokens = await oauthApp.exchangeCode(code, request.codeVerifier)
  assert.ok(tokens.expiresAt instanceof Date && tokens.expiresAt.getTime() > Date.now() + 3000_000)
  assert.ok(!util.inspect(tokens).includes(tokens.accessToken))
  assert.ok(!util.inspect(oauthApp).includes(CLIENT_SECRET))

  const client = new k.Client({ baseUrl: sandbox.url, oauth: { app: oauthApp, tokens } })
  assert.equal((await client.accounts.current()).id, 'SANDBX')
  assert.equal((await sandbox.requests()).at(-1).headers.authorization, 'Bearer <redacted>')
  assert.match(util.inspect(client), /auth: 'oauth'/)
})

test('50 concurrent calls with an expired token cause one refresh and one save', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const oauthApp = app(sandbox)
  const fresh = await authorize(oauthApp)
  const saved = []
  const client = new k.Client({
    baseUrl: sandbox.url,
    rateLimit: false,
    oauth: { app: oauthApp, tokens: { ...fresh, expiresAt: Date.now() - 1000 }, onRefresh: async (tokens) => { saved.push(tokens) } },
  })
  const accounts = await Promise.all(Array.from({ length: 50 }, () => client.accounts.current()))
  assert.deepEqual(accounts.map((a) => a.id), Array(50).fill('SANDBX'))
  assert.equal(saved.length, 1)
  assert.equal((await sandbox.state()).oauth.refreshes, 1)
  assert.notEqual(saved[0].accessToken, fresh.accessToken)
  assert.equal(saved[0].refreshToken, fresh.refreshToken)
})

test('50 calls rejected with a stale token cause one refresh', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const oauthApp = app(sandbox)
  const fresh = await authorize(oauthApp)
  let saves = 0
  // The store says the token is good for an hour; the server no longer accepts it.
  const stale = { accessToken: 'sbx_at_stale_token_value', refreshToken: fresh.refreshToken, expiresAt: new Date(Date.now() + 3600_000) }
  const client = new k.Client({ baseUrl: sandbox.url, rateLimit: false, oauth: { app: oauthApp, tokens: stale, onRefresh: () => { saves++ } } })
  await Promise.all(Array.from({ length: 50 }, () => client.accounts.current()))
  assert.equal(saves, 1)
  assert.equal((await sandbox.state()).oauth.refreshes, 1)
  const statuses = (await sandbox.requests()).filter((r) => r.operation === 'get_accounts').map((r) => r.status)
  assert.ok(statuses.includes(401))
  assert.equal(statuses.filter((s) => s === 200).length, 50)
})

test('a revoked grant rejects with ReauthorizationRequired; a failing store is reported', async (t) => {
  const sandbox = await start('--rate-limits', 'off')
  t.after(() => sandbox.stop())
  const oauthApp = app(sandbox)
  const tokens = await authorize(oauthApp)

  const failing = new k.Client({ baseUrl: sandbox.url, oauth: { app: oauthApp, tokens: { ...tokens, expiresAt: null }, onRefresh: async () => { throw new Error('database is down') } } })
  await assert.rejects(failing.accounts.current(), (e) => e instanceof k.ConfigurationError && /database is down/.test(e.message))
  assert.equal((await failing.accounts.current()).id, 'SANDBX', 'the refreshed tokens are kept even though saving failed')

  await oauthApp.revoke(tokens.refreshToken)
  await assert.rejects(oauthApp.refresh(tokens.refreshToken), k.ReauthorizationRequired)
  const client = new k.Client({ baseUrl: sandbox.url, oauth: { app: oauthApp, tokens: { ...tokens, expiresAt: 0 } } })
  await assert.rejects(client.accounts.current(), (e) => e instanceof k.ReauthorizationRequired && e.code === 'reauthorization_required' && !e.message.includes(tokens.refreshToken))
  assert.throws(() => new k.Client({ baseUrl: sandbox.url, oauth: { app: {}, tokens } }), k.ConfigurationError)
})
