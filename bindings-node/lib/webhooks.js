'use strict'
// Webhook verification (and signing, to test a receiver), with replay protection.

const native = require('./addon.js')
const { rethrow } = require('./errors.js')

/** Remembers processed deliveries for `retentionSeconds` (pass as `seen`). The native class,
 * constructed so that a bad argument throws the typed error. */
function MemorySeenStore(retentionSeconds) {
  try {
    return new native.MemorySeenStore(retentionSeconds)
  } catch (error) {
    rethrow(error)
  }
}
MemorySeenStore.prototype = native.MemorySeenStore.prototype

function headerObject(headers) {
  if (headers == null) return {}
  if (typeof headers.entries === 'function' && !Array.isArray(headers)) return Object.fromEntries(headers.entries())
  if (Array.isArray(headers)) return Object.fromEntries(headers)
  return headers
}

const webhooks = {
  /** Verifies a delivery from its raw body (Buffer) and headers; returns the delivery or
   * throws WebhookVerificationError (`check` names the failed check). */
  verify(rawBody, headers, options) {
    const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(String(rawBody))
    try {
      const { seen, ...rest } = options ?? {}
      return native.verify(body, headerObject(headers), rest, seen ?? undefined)
    } catch (error) {
      rethrow(error)
    }
  },
  /** The headers Klaviyo would send with `body`, to test your own receiver. */
  sign(body, options) {
    try {
      return native.sign(Buffer.isBuffer(body) ? body : Buffer.from(String(body)), options)
    } catch (error) {
      rethrow(error)
    }
  },
  /** Remembers processed deliveries (pass as `seen`): a replay fails the "replay" check. */
  MemorySeenStore,
  /** Express middleware; mount after `express.raw({ type: '*\/*' })` so the raw body is kept.
   * Verified deliveries are at `req.klaviyoDelivery`; replays (with `seen`) get a 409, other
   * failures a 401. */
  middleware(options) {
    return (req, res, next) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : req.rawBody
      if (!Buffer.isBuffer(raw)) {
        res.statusCode = 500
        res.end('klaviyo-bridge webhooks.middleware needs the raw body: use express.raw({ type: "*/*" }) before it')
        return
      }
      try {
        req.klaviyoDelivery = webhooks.verify(raw, req.headers, options)
      } catch (error) {
        res.statusCode = error.check === 'replay' ? 409 : 401
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ error: error.message, check: error.check ?? null }))
        return
      }
      next()
    }
  },
}

module.exports = { webhooks }
