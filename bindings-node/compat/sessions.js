'use strict'
// The official SDK's sessions and retry settings, each making klaviyo-bridge clients: one
// per base path (and public key, for /client/* calls), made on first use and kept, so
// connections are pooled and the account's rate limits are paced across every Api object
// that shares the session.

const { nativeClient } = require('../lib/client.js')
const { rethrow } = require('../lib/errors.js')

const CLIENT_FOR = Symbol('klaviyo.compat.clientFor')
// What a session makes of a failed call (OAuth: a dead grant forgets its tokens).
const FAILED = Symbol('klaviyo.compat.failed')
const CLIENTS = Symbol('klaviyo.compat.clients')
// The longest a call waits for a client-side rate-limit slot: a steady window's length.
const RATE_LIMIT_WAIT = 60

/** The official retry settings, on the core's retries: `numRetries` retries after the first
 * attempt (the official SDK counts attempts), `maxInterval` the longest wait in seconds,
 * `retryCodes` the statuses worth retrying (a 5xx only for a request safe to repeat). */
class RetryWithExponentialBackoff {
  constructor(config = {}) {
    this.retryCodes = config.retryCodes ?? [429, 503, 504, 524]
    this.numRetries = config.numRetries ?? 3
    this.maxInterval = config.maxInterval || 60
  }
  /** The core's client options for these settings. */
  clientOptions() {
    return { maxRetries: this.numRetries, maxDelay: this.maxInterval, rateLimitWait: RATE_LIMIT_WAIT, retryStatuses: [...this.retryCodes] }
  }
}

/** What the sessions share: a client per base path and public key. */
class BaseSession {
  constructor(retryWithExponentialBackoff) {
    this.retryWithExponentialBackoff = retryWithExponentialBackoff ?? new RetryWithExponentialBackoff()
    Object.defineProperty(this, CLIENTS, { value: new Map() })
  }
  /** The credential's client options (a Promise for sessions that read a token store). */
  credentialOptions() {
    throw new Error('a session names its credential')
  }
  /** What the client depends on besides the base path: changing a session's key, token or
   * retry settings after a call takes effect on the next one. */
  clientKey() {
    return JSON.stringify([this.credentialKey(), this.retryWithExponentialBackoff.clientOptions()])
  }
  credentialKey() {
    return ''
  }
  [CLIENT_FOR](basePath, publicKey) {
    const key = `${basePath ?? ''}\0${publicKey ?? ''}\0${this.clientKey()}`
    let client = this[CLIENTS].get(key)
    if (client === undefined) {
      client = this.makeClient(basePath, publicKey)
      this[CLIENTS].set(key, client)
      // A failed start (a bad key, an unreadable token store) is tried again on the next call.
      client.catch(() => {
        if (this[CLIENTS].get(key) === client) this[CLIENTS].delete(key)
      })
    }
    return client
  }
  [FAILED](error) {
    return error
  }
  /** Forgets the clients made so far (the next call makes new ones). */
  forgetClients() {
    this[CLIENTS].clear()
  }
  async makeClient(basePath, publicKey) {
    const options = { ...this.retryWithExponentialBackoff.clientOptions(), ...(await this.credentialOptions()) }
    if (basePath !== undefined) options.baseUrl = basePath
    if (publicKey != null) options.publicKey = publicKey
    try {
      return nativeClient(options)
    } catch (error) {
      rethrow(error)
    }
  }
}

/** A private API key (`pk_…`; KLAVIYO_API_KEY from the environment when not given). */
class ApiKeySession extends BaseSession {
  constructor(apiKey, retryWithExponentialBackoff) {
    super(retryWithExponentialBackoff)
    Object.defineProperty(this, 'apiKey', { value: apiKey, enumerable: false, writable: true })
  }
  credentialOptions() {
    return this.apiKey == null ? {} : { apiKey: this.apiKey }
  }
  credentialKey() {
    return this.apiKey ?? ''
  }
}

/** A fixed OAuth access token (no refresh: use OAuthSession for that). */
class OAuthBasicSession extends BaseSession {
  constructor(accessToken, retryWithExponentialBackoff) {
    super(retryWithExponentialBackoff)
    Object.defineProperty(this, 'accessToken', { value: accessToken, enumerable: false, writable: true })
  }
  credentialOptions() {
    return { accessToken: this.accessToken }
  }
  credentialKey() {
    return this.accessToken ?? ''
  }
}

/** The key set by `new GlobalApiKeySettings(key)` (or ConfigWrapper), read at each call. */
class GlobalApiKeySettings {
  static apiKey = undefined
  static retryWithExponentialBackoff = new RetryWithExponentialBackoff()
  constructor(apiKey, retryWithExponentialBackoff) {
    GlobalApiKeySettings.apiKey = apiKey
    if (retryWithExponentialBackoff) GlobalApiKeySettings.retryWithExponentialBackoff = retryWithExponentialBackoff
  }
}

/** The global instances' session: the key in GlobalApiKeySettings when the call is made. */
class GlobalApiKeySession {
  [CLIENT_FOR](basePath, publicKey) {
    const { apiKey, retryWithExponentialBackoff } = GlobalApiKeySettings
    if (!apiKey) return Promise.reject(new Error('No API Key set'))
    // One session per key and retry settings, so a changed key takes effect at once.
    let sessions = GlobalApiKeySession.sessions.get(retryWithExponentialBackoff)
    if (sessions === undefined) {
      sessions = new Map()
      GlobalApiKeySession.sessions.set(retryWithExponentialBackoff, sessions)
    }
    let session = sessions.get(apiKey)
    if (session === undefined) {
      session = new ApiKeySession(apiKey, retryWithExponentialBackoff)
      sessions.set(apiKey, session)
    }
    return session[CLIENT_FOR](basePath, publicKey)
  }
  [FAILED](error) {
    return error
  }
  static sessions = new WeakMap()
}

/** Sets the global key and retry settings; answers a session for them. */
function ConfigWrapper(apiKey, opts = {}) {
  const retryWithExponentialBackoff = new RetryWithExponentialBackoff(opts)
  GlobalApiKeySettings.retryWithExponentialBackoff = retryWithExponentialBackoff
  GlobalApiKeySettings.apiKey = apiKey
  return new ApiKeySession(apiKey, retryWithExponentialBackoff)
}

module.exports = { CLIENT_FOR, FAILED, BaseSession, RetryWithExponentialBackoff, ApiKeySession, OAuthBasicSession, GlobalApiKeySettings, GlobalApiKeySession, ConfigWrapper }
