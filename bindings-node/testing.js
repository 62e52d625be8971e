'use strict'
// A local Klaviyo for your tests, from the installed package (no cargo, no binary, no
// account): `const sandbox = await start({ rateLimits: 'off' })`, then
// `new Client({ sandbox })`, and `await sandbox.stop()` when done.
const native = require('./lib/addon.js')
const index = require('./index.js')

const { Client } = index
const convertError = index[Symbol.for('klaviyo-bridge.convertError')]
const rethrow = (error) => {
  throw convertError(error)
}

/** A running klaviyo-sandbox on a free 127.0.0.1 port, inside this process. */
class Sandbox {
  #native
  constructor(nativeSandbox) {
    this.#native = nativeSandbox
  }
  /** The base URL to give clients (`baseUrl`, `KLAVIYO_BASE_URL`). */
  get url() {
    return this.#native.url
  }
  /** The key clients must send. */
  get apiKey() {
    return this.#native.apiKey
  }
  /** The account's public key (`company_id` of the `/client/*` operations). */
  get publicKey() {
    return this.#native.publicKey
  }
  /** A request body for the operation that fits its schema, every required field filled
   * (placeholders where real values, such as ids, are wanted); null if it takes none. */
  exampleBody(operationId) {
    return native.NativeSandbox.exampleBody(operationId)
  }
  /** A client pointed at this sandbox. */
  client(options = {}) {
    return new Client({ ...options, sandbox: this })
  }
  /** Counts per resource, events per metric, jobs and webhook deliveries. */
  state() {
    return this.#native.state()
  }
  /** Resolves, with the state, once every bulk job is complete and every webhook delivered. */
  settled() {
    return this.#native.settled()
  }
  /** The latest requests received, credentials redacted. */
  requests() {
    return this.#native.requests()
  }
  /** Empties the store and the request log. */
  reset() {
    return this.#native.reset()
  }
  /** A Bearer token the sandbox accepts like the API key (`new Client({ accessToken })`). */
  issueToken() {
    return this.#native.issueToken()
  }
  /** Stops the server; later calls reject. */
  stop() {
    return this.#native.stop()
  }
}

/** Starts a sandbox: `{ apiKey, rateLimits: 'real' | 'off' | 'scale=N', latency (seconds),
 * faults, seed, seedProfiles, seedEvents, seedData: 'demo', requestLog }`. */
async function start(options = {}) {
  return new Sandbox(await native.NativeSandbox.start(options).catch(rethrow))
}

module.exports = { start, Sandbox }
