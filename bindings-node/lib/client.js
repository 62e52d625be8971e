'use strict'
// The client: options to the addon, one namespace per tag of the spec.

const util = require('node:util')
const native = require('./addon.js')
const { NAMESPACES } = require('../operations.js')
const { ConfigurationError, InvalidInputError, rethrow } = require('./errors.js')
const { shape } = require('./resource.js')
const { withSignal } = require('./cancel.js')
const { namespace, operationCaller, HAND_VERBS, withVerbs } = require('./resources.js')
const { NATIVE_APP, OAuthApp, toNativeTokens, fromNativeTokens } = require('./oauth.js')
const { Tracker, TRACKER_OPTIONS } = require('./tracker.js')
const { Export } = require('./export.js')

const EXPORT_OPTIONS = ['since', 'state', 'concurrency', 'safetyMargin', 'conversionMetric', 'lookback', 'eventsLookback']

function nativeOptions(options = {}) {
  const known = ['apiKey', 'baseUrl', 'revision', 'timeout', 'connectTimeout', 'maxRetries', 'maxDelay', 'rateLimitWait', 'rateLimit', 'rateLimitStore', 'publicKey', 'accessToken', 'userAgentSuffix', 'retryStatuses', 'oauth', 'sandbox']
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidInputError({ code: 'invalid_input', message: `unknown client option ${JSON.stringify(key)}; options are ${known.join(', ')}` })
  }
  const { oauth: _, sandbox, ...rest } = options
  // A klaviyo-bridge/testing sandbox supplies the address and key it serves.
  if (sandbox != null) {
    rest.baseUrl ??= sandbox.url
    if (sandbox.publicKey != null) rest.publicKey ??= sandbox.publicKey
    if (rest.accessToken == null) rest.apiKey ??= sandbox.apiKey
  }
  return rest
}

function nativeClient(options) {
  const { oauth } = options
  if (oauth == null) return new native.NativeClient(nativeOptions(options))
  if (!(oauth.app instanceof OAuthApp)) throw new ConfigurationError({ code: 'config_error', message: 'oauth.app must be an OAuthApp' })
  const { onRefresh } = oauth
  // Always a Promise, so the core can await the store (and see its rejection).
  const save = onRefresh == null ? undefined : async (tokens) => { await onRefresh(fromNativeTokens(tokens)) }
  return native.NativeClient.withOauth(nativeOptions(options), oauth.app[NATIVE_APP], toNativeTokens(oauth.tokens), save, oauth.refreshMargin)
}

/** A Klaviyo API client. Every method returns a Promise; list methods return a Pager. */
class Client {
  #native
  constructor(options = {}) {
    try {
      this.#native = nativeClient(options)
    } catch (error) {
      rethrow(error)
    }
    const n = this.#native
    const caller = operationCaller(n)
    for (const [name, Operations] of Object.entries(NAMESPACES)) {
      const operations = new Operations(caller)
      this[name] = HAND_VERBS.has(name) ? withVerbs(operations, namespace(n, name)) : operations
    }
    this.catalog = Object.freeze({ items: namespace(n, 'catalog.items'), variants: namespace(n, 'catalog.variants'), categories: namespace(n, 'catalog.categories') })
    this.jobs = namespace(n, 'jobs')
  }
  get baseUrl() {
    return this.#native.baseUrl
  }
  get revision() {
    return this.#native.revision
  }
  /** The latest RateLimit-* reading, or null. */
  get rateLimitStatus() {
    return this.#native.rateLimitStatus ?? null
  }
  /** A background event tracker (see Tracker); closed (flushed) on `beforeExit`. */
  tracker(options = {}) {
    const { onError, ...rest } = options
    for (const key of Object.keys(options)) {
      if (!TRACKER_OPTIONS.includes(key)) throw new InvalidInputError({ code: 'invalid_input', message: `unknown tracker option ${JSON.stringify(key)}; options are ${TRACKER_OPTIONS.join(', ')}` })
    }
    // A throwing callback must not take the process down from the tracker's thread.
    const report = onError == null ? undefined : (failure) => {
      try {
        onError(failure)
      } catch (error) {
        process.emitWarning(`klaviyo-bridge: tracker onError threw: ${error?.message ?? error}`)
      }
    }
    try {
      return new Tracker(this.#native.tracker(rest, report))
    } catch (error) {
      rethrow(error)
    }
  }
  /** One stream's records as they are read (`'profiles'`, `'events'`, ... as `--tool sync`
   * names them): `for await (const record of client.export('events'))`, or its Arrow IPC
   * stream by `.arrow()`. Reads from `state`'s bookmark (or `since`) to now minus
   * `safetyMargin` seconds; `state` keeps the bookmark once the export is read to its end. */
  export(stream, options = {}) {
    for (const key of Object.keys(options)) {
      if (!EXPORT_OPTIONS.includes(key)) throw new InvalidInputError({ code: 'invalid_input', message: `unknown export option ${JSON.stringify(key)}; options are ${EXPORT_OPTIONS.join(', ')}` })
    }
    try {
      return new Export(this.#native.export(stream, options))
    } catch (error) {
      rethrow(error)
    }
  }
  /** Calls any operation by its operation id: `request('get_accounts')`. */
  request(operationId, options = {}) {
    const { signal, ...rest } = options
    return withSignal(signal, (id) => this.#native.dispatch('client', 'request', [operationId, rest], id)).then(shape, rethrow)
  }
  [util.inspect.custom]() {
    return this.#native.describe()
  }
  toJSON() {
    return { baseUrl: this.baseUrl, revision: this.revision }
  }
}

module.exports = { Client, nativeClient, nativeOptions }
