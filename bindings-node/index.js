'use strict'
// klaviyo-bridge for Node: a thin layer over the native addon. It routes calls, turns the
// addon's error payloads into Error subclasses, shapes results, and wires AbortSignal.
// Rate limiting, retries, pagination and everything else happen in the Rust core.

const util = require('node:util')
const native = require('./native.js')
const { NAMESPACES } = require('./operations.js')

class KlaviyoError extends Error {
  constructor(info) {
    super(info.message)
    this.name = new.target.name
    this.code = info.code
    this.status = info.status ?? null
    this.errors = info.errors ?? []
    this.requestId = info.requestId ?? null
    this.retryAfter = info.retryAfter ?? null
    this.rateLimit = info.rateLimit ?? null
  }
}
class ValidationError extends KlaviyoError {}
class InvalidInputError extends ValidationError {}
class ConfigurationError extends KlaviyoError {}
class AuthenticationError extends KlaviyoError {}
class PermissionDeniedError extends KlaviyoError {}
class NotFoundError extends KlaviyoError {}
class ConflictError extends KlaviyoError {}
class RateLimitError extends KlaviyoError {}
class ServerError extends KlaviyoError {}
class TimeoutError extends KlaviyoError {}
class NetworkError extends KlaviyoError {}
class DecodeError extends KlaviyoError {}
class BulkPartialError extends KlaviyoError {
  constructor(info) {
    super(info)
    this.failures = info.failures ?? []
    this.total = info.total ?? 0
    this.accepted = info.accepted ?? 0
  }
}
class WebhookVerificationError extends KlaviyoError {
  constructor(info) {
    super(info)
    this.check = info.check ?? ''
  }
}
/** The OAuth grant is gone (refresh answered invalid_grant): authorize the app again. */
class ReauthorizationRequired extends AuthenticationError {}
/** The tracker's queue is full (whenFull "error"): the event was not queued. */
class QueueFullError extends KlaviyoError {}
/** The call was aborted through its AbortSignal (name "AbortError", code "ABORT_ERR"). */
class AbortError extends KlaviyoError {
  constructor(info) {
    super(info)
    this.name = 'AbortError'
    this.code = 'ABORT_ERR'
  }
}

// The class of each core error is named by the core (`Error::class_name`).
const ERROR_CLASSES = {
  KlaviyoError,
  ValidationError,
  InvalidInputError,
  ConfigurationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  ServerError,
  TimeoutError,
  NetworkError,
  DecodeError,
  BulkPartialError,
  WebhookVerificationError,
  ReauthorizationRequired,
  QueueFullError,
  AbortError,
}

/** The addon's `{"klaviyo": {...}}` payload as the matching Error subclass. */
function convert(error) {
  if (!(error instanceof Error) || !error.message.startsWith('{"klaviyo":')) return error
  let info
  try {
    info = JSON.parse(error.message).klaviyo
  } catch {
    return error
  }
  const Class = ERROR_CLASSES[info.class] ?? KlaviyoError
  return new Class(info)
}

function rethrow(error) {
  throw convert(error)
}

const RAW = Symbol('klaviyo.raw')

/** A JSON:API resource: attributes at the top level, then id, type, relationships; `raw` is
 * the untouched object (a prototype getter, so JSON.stringify and Object.keys skip it).
 * A class with Object.assign: 60x cheaper per item than spread + defineProperty. */
class Resource {
  constructor(raw) {
    Object.assign(this, raw.attributes)
    this.id = raw.id ?? null
    this.type = raw.type ?? null
    this.relationships = raw.relationships ?? {}
    this[RAW] = raw
  }
  get raw() {
    return this[RAW]
  }
  [util.inspect.custom](depth, options, inspect) {
    const { [RAW]: _, ...shown } = this
    return `Resource ${inspect(shown, options)}`
  }
}

const toResource = (raw) => new Resource(raw)

function shape(result) {
  if ('resource' in result) return toResource(result.resource)
  if ('resources' in result) return result.resources.map(toResource)
  return result.value
}

/** Runs `fn(cancelId)`, cancelling the native call when `signal` aborts. */
async function withSignal(signal, fn) {
  if (!signal) return fn(undefined)
  if (signal.aborted) throw new AbortError({ code: 'aborted', message: 'The operation was aborted' })
  const id = native.newCancel()
  const onAbort = () => native.cancel(id)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await fn(id)
  } finally {
    signal.removeEventListener('abort', onAbort)
    native.releaseCancel(id)
  }
}

const isSignal = (value) => value != null && typeof value === 'object' && typeof value.aborted === 'boolean' && typeof value.addEventListener === 'function'

/** Splits per-call options off the arguments: a trailing `{ signal?, timeout? }` object, or a
 * `signal` inside an options object (list options keep their own per-page `timeout`). */
function takeOptions(args) {
  const last = args[args.length - 1]
  if (!last || typeof last !== 'object' || Array.isArray(last)) return { args }
  const keys = Object.keys(last)
  if (keys.length && keys.every((k) => k === 'signal' || k === 'timeout') && (last.signal === undefined || isSignal(last.signal))) {
    return { signal: last.signal, timeout: last.timeout, args: args.slice(0, -1) }
  }
  if (isSignal(last.signal)) {
    const { signal, ...rest } = last
    return { signal, args: [...args.slice(0, -1), rest] }
  }
  return { args }
}

/** Iterates a list operation: `for await (const item of pager)`, `pager.pages()`. */
class Pager {
  #native
  #signal
  constructor(nativePager, signal) {
    this.#native = nativePager
    this.#signal = signal
  }
  /** The cursor to resume from (`cursor:` in the list options), or null at the end. */
  get cursor() {
    return this.#native.cursor ?? null
  }
  /** The pages, each an array of resources. */
  async *pages() {
    for (;;) {
      const text = await withSignal(this.#signal, (id) => this.#native.nextPageRaw(id)).catch(rethrow)
      if (text === null) return
      yield JSON.parse(text).data.map(toResource)
    }
  }
  async *[Symbol.asyncIterator]() {
    for await (const page of this.pages()) yield* page
  }
  /** Every item, collected (mind memory on large lists). */
  async toArray() {
    const items = []
    for await (const item of this) items.push(item)
    return items
  }
}

// Methods that return a Pager (paginated operations), per namespace.
const PAGERS = {
  events: ['list'],
  profiles: ['list', 'importErrors'],
  lists: ['list', 'profiles'],
  metrics: ['list'],
  'catalog.items': ['list'],
  'catalog.variants': ['list'],
  'catalog.categories': ['list'],
}

function namespace(client, name) {
  const pagers = new Set(PAGERS[name] ?? [])
  return new Proxy(Object.create(null), {
    get(_, method) {
      if (typeof method !== 'string' || method === 'then') return undefined
      if (pagers.has(method)) {
        // A pager's `timeout` is per page and stays in its list options; only `signal` is taken.
        return (...raw) => {
          const last = raw[raw.length - 1]
          let args = raw
          let signal
          if (last && typeof last === 'object' && !Array.isArray(last) && isSignal(last.signal)) {
            const { signal: taken, ...rest } = last
            signal = taken
            args = [...raw.slice(0, -1), rest]
          }
          try {
            return new Pager(client.pager(name, method, args), signal)
          } catch (error) {
            rethrow(error)
          }
        }
      }
      return (...raw) => {
        const { signal, timeout, args } = takeOptions(raw)
        return withSignal(signal, (id) => client.dispatch(name, method, args, id, timeout)).then(shape, rethrow)
      }
    },
  })
}

/** What the generated namespaces (operations.js) call: options in, shaped results out. */
function operationCaller(n) {
  const split = (operationId, given, options) => {
    if (options != null && (typeof options !== 'object' || Array.isArray(options))) {
      throw new InvalidInputError({ code: 'invalid_input', message: `${operationId}: the last argument is an options object, not ${Array.isArray(options) ? 'an array' : typeof options}` })
    }
    const { signal, ...args } = options ?? {}
    return { signal, args: Object.assign(args, given) }
  }
  return {
    call(operationId, given, options) {
      let parts
      try {
        parts = split(operationId, given, options)
      } catch (error) {
        return Promise.reject(error)
      }
      return withSignal(parts.signal, (id) => n.call(operationId, parts.args, id)).then(shape, rethrow)
    },
    pager(operationId, given, options) {
      const { signal, args } = split(operationId, given, options)
      try {
        return new Pager(n.operationPager(operationId, args), signal)
      } catch (error) {
        rethrow(error)
      }
    },
  }
}

// Namespaces whose hand-written verbs (create, list, upsert, bulk helpers...) sit beside the
// generated operations; a verb is looked up only when no operation has the name.
const HAND_VERBS = new Set(['events', 'profiles', 'lists', 'metrics', 'webhooks', 'accounts', 'dataPrivacy'])

function withVerbs(operations, verbs) {
  return new Proxy(operations, {
    get(target, key) {
      return key in target ? target[key] : verbs[key]
    },
  })
}

function nativeOptions(options = {}) {
  const known = ['apiKey', 'baseUrl', 'revision', 'timeout', 'connectTimeout', 'maxRetries', 'rateLimit', 'publicKey', 'accessToken', 'userAgentSuffix', 'oauth', 'sandbox']
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

const NATIVE_APP = Symbol('klaviyo.nativeOAuthApp')

/** OAuth tokens: `expiresAt` is a Date. util.inspect shows no secret; JSON.stringify keeps
 * everything (for your token store). */
class Tokens {
  constructor({ accessToken, refreshToken = null, expiresAt = 0, scope = null }) {
    this.accessToken = accessToken
    this.refreshToken = refreshToken
    this.expiresAt = expiresAt instanceof Date ? expiresAt : new Date(expiresAt)
    this.scope = scope
  }
  [util.inspect.custom]() {
    return `Tokens { expiresAt: ${this.expiresAt.toISOString()}, scope: ${JSON.stringify(this.scope)} }`
  }
}

function toNativeTokens(tokens) {
  if (tokens == null || typeof tokens.accessToken !== 'string') {
    throw new ConfigurationError({ code: 'config_error', message: 'oauth.tokens needs at least { accessToken } (and refreshToken, expiresAt to refresh)' })
  }
  const expiresAt = tokens.expiresAt == null ? 0 : tokens.expiresAt instanceof Date ? tokens.expiresAt.getTime() : Number(tokens.expiresAt)
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? undefined, expiresAt, scope: tokens.scope ?? undefined }
}

function fromNativeTokens(t) {
  return new Tokens({ accessToken: t.accessToken, refreshToken: t.refreshToken ?? null, expiresAt: t.expiresAt, scope: t.scope ?? null })
}

/** An OAuth app (authorize URL with PKCE, code exchange, refresh, revoke). */
class OAuthApp {
  constructor({ clientId, clientSecret, redirectUri, host } = {}) {
    try {
      this[NATIVE_APP] = new native.NativeOAuthApp(clientId, clientSecret, redirectUri, host ?? undefined)
    } catch (error) {
      rethrow(error)
    }
  }
  /** `{ url, state, codeVerifier }`: send the user to `url`; keep the rest. */
  authorizationUrl(scopes) {
    try {
      return this[NATIVE_APP].authorizationUrl([...scopes])
    } catch (error) {
      rethrow(error)
    }
  }
  exchangeCode(code, codeVerifier) {
    return this[NATIVE_APP].exchangeCode(code, codeVerifier).then(fromNativeTokens, rethrow)
  }
  refresh(refreshToken) {
    return this[NATIVE_APP].refresh(refreshToken).then(fromNativeTokens, rethrow)
  }
  revoke(token) {
    return this[NATIVE_APP].revoke(token).then(() => undefined, rethrow)
  }
  [util.inspect.custom]() {
    return this[NATIVE_APP].describe()
  }
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

// Trackers not yet closed; each is closed (flushed) when the event loop empties.
const openTrackers = new Set()
let exitHookInstalled = false

function closeTrackersBeforeExit() {
  for (const ref of openTrackers) {
    const tracker = ref.deref()
    openTrackers.delete(ref)
    if (tracker && !tracker.closed) {
      tracker.close().catch((error) => process.emitWarning(`klaviyo-bridge: tracker not fully flushed before exit: ${error.message}`))
    }
  }
}

/** Batches events into bulk jobs in the background: `track()` queues and returns at once. */
class Tracker {
  #native
  constructor(nativeTracker) {
    this.#native = nativeTracker
    openTrackers.add(new WeakRef(this))
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on('beforeExit', closeTrackersBeforeExit)
    }
  }
  /** Queues one event (`{ metric, email | phoneNumber | externalId | profileId, properties,
   * value, valueCurrency, time, uniqueId }`); returns its uniqueId. */
  track(event) {
    const time = event?.time instanceof Date ? event.time.toISOString() : event?.time
    try {
      return this.#native.track(time === undefined ? event : { ...event, time })
    } catch (error) {
      rethrow(error)
    }
  }
  /** Resolves to true once everything tracked so far is settled (false at `timeout` seconds). */
  flush({ timeout } = {}) {
    return this.#native.flush(timeout).catch(rethrow)
  }
  /** Stops accepting events and waits (default 30 s); resolves to the final stats. */
  close({ timeout } = {}) {
    return this.#native.close(timeout).then((s) => ({ ...s, lastError: s.lastError ?? null }), rethrow)
  }
  /** Counters: queued, sent, retried, failed, dropped, pending, lastError. */
  stats() {
    const s = this.#native.stats()
    return { ...s, lastError: s.lastError ?? null }
  }
  get closed() {
    return this.#native.closed
  }
  [util.inspect.custom]() {
    const s = this.stats()
    return `Tracker { queued: ${s.queued}, sent: ${s.sent}, pending: ${s.pending}, failed: ${s.failed} }`
  }
}

const TRACKER_OPTIONS = ['flushAt', 'flushInterval', 'maxQueue', 'maxBatchBytes', 'whenFull', 'maxInFlight', 'spoolDir', 'onError']

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

// For klaviyo-bridge/testing: native errors become the same Error subclasses everywhere.
Object.defineProperty(module.exports, Symbol.for('klaviyo-bridge.convertError'), { value: convert })

Object.assign(module.exports, {
  Client,
  Pager,
  Resource,
  Tracker,
  webhooks,
  oauth: { OAuthApp, Tokens },
  DEFAULT_REVISION: native.defaultRevision(),
  KlaviyoError,
  ValidationError,
  InvalidInputError,
  ConfigurationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  ServerError,
  TimeoutError,
  NetworkError,
  DecodeError,
  BulkPartialError,
  WebhookVerificationError,
  ReauthorizationRequired,
  QueueFullError,
  AbortError,
})
