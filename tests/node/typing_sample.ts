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
