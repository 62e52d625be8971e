import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import bridge, { Client, KlaviyoError, RateLimitError, webhooks } from 'klaviyo-bridge'

test('works from import and require alike', () => {
  const required = createRequire(import.meta.url)('klaviyo-bridge')
  assert.equal(required.Client, Client)
  assert.equal(bridge.KlaviyoError, KlaviyoError)
  assert.ok(new RateLimitError({ code: 'rate_limited', message: 'x' }) instanceof KlaviyoError)
  assert.equal(typeof webhooks.verify, 'function')
})
