'use strict'
// What every generated Api class shares: the official `basePath` and `defaultHeaders`, and
// `_send`, which hands the arguments to klaviyo-bridge's core (it checks them, paces them by
// the account's rate limits, retries and times out) and shapes the answer as the official
// SDK does: `{ response, body }`, the body camelCased, failures with `error.response`.

const { STATUS_CODES } = require('node:http')
const { InvalidInputError, convert } = require('../lib/errors.js')
const { toWire, fromWire } = require('./serializer.js')
const { CLIENT_FOR, FAILED } = require('./sessions.js')

const DEFAULT_BASE_PATH = 'https://a.klaviyo.com'

// Options the official SDK would ignore unseen: warned about once per method and name.
const warned = new Set()
function unknownOption(method, name) {
  if (warned.has(`${method}\0${name}`)) return
  warned.add(`${method}\0${name}`)
  process.emitWarning(`klaviyo-bridge/compat: ${method} has no option ${JSON.stringify(name)}; it was not sent (the official SDK ignores it too)`, { code: 'KLAVIYO_COMPAT_UNKNOWN_OPTION' })
}
const DOCUMENT = Symbol('klaviyo.compat.document')

/** The HTTP response, as the official SDK's (axios) response is read: `status`,
 * `statusText`, `headers` (lower-case names) and `data` (the body as JSON, wire names). */
class CompatResponse {
  constructor(raw, document) {
    this.status = raw.status
    this.statusText = STATUS_CODES[raw.status] ?? ''
    this.headers = raw.headers
    // Not enumerable: util.inspect and JSON.stringify show the response, not the body twice.
    Object.defineProperty(this, DOCUMENT, { value: document === undefined && raw.body !== '' ? raw.body : document, writable: true })
  }
  get data() {
    const held = this[DOCUMENT]
    // Parsed on first read where the body was not (operations the SDK answers no body for).
    if (typeof held === 'string') this[DOCUMENT] = JSON.parse(held)
    return this[DOCUMENT]
  }
}

/** The failure as the official SDK's is read (`error.response.status`, `.data`), on
 * klaviyo-bridge's own Error subclass (RateLimitError, NotFoundError, ...). */
function compatError(error) {
  const converted = convert(error)
  if (converted != null && typeof converted.status === 'number') {
    const headers = {}
    if (converted.retryAfter != null) headers['retry-after'] = String(converted.retryAfter)
    if (converted.requestId != null) headers['x-klaviyo-req-id'] = converted.requestId
    converted.response = { status: converted.status, statusText: STATUS_CODES[converted.status] ?? '', headers, data: { errors: converted.errors } }
  }
  return converted
}

function filePath(file) {
  // The official SDK takes an fs.ReadStream (and consumes it); the core reads the file from
  // its path, so the stream is closed unread.
  if (typeof file === 'string') return file
  if (file != null && (typeof file.path === 'string' || Buffer.isBuffer(file.path))) {
    if (typeof file.destroy === 'function') file.destroy()
    return String(file.path)
  }
  throw new InvalidInputError({ code: 'invalid_input', message: 'file must be a path or an fs.ReadStream (fs.createReadStream(path))' })
}

class BaseApi {
  constructor(session) {
    this.session = session
    // Unset: the core's default, which KLAVIYO_BASE_URL in the environment may replace.
    this._basePath = undefined
    this._defaultHeaders = {}
  }
  set basePath(basePath) {
    this._basePath = basePath
  }
  get basePath() {
    return this._basePath ?? DEFAULT_BASE_PATH
  }
  set defaultHeaders(headers) {
    this._defaultHeaders = headers
  }
  get defaultHeaders() {
    return this._defaultHeaders
  }
  set useQuerystring(_) {}

  /** Sends `operationId`: `given` by the core's names, `required` their official names
   * (checked as the official SDK checks them), `options` by the official names, of which
   * `optionNames` are the method's (others are ignored, as there, with a warning). */
  async _send(method, operationId, given, required, options, bodySchema, responseSchema, optionNames) {
    for (const core in required) {
      if (given[core] == null) throw new InvalidInputError({ code: 'invalid_input', message: `Required parameter ${required[core]} was null or undefined when calling ${method}.` })
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new InvalidInputError({ code: 'invalid_input', message: `${method}: the last argument is an options object` })
    }
    const args = {}
    for (const name of optionNames) {
      const value = options[name]
      if (value != null) args[name] = value
    }
    for (const name of Object.keys(options)) if (!optionNames.includes(name)) unknownOption(method, name)
    for (const core in given) {
      const value = given[core]
      if (value == null || core === 'company_id') continue
      if (core === 'body') args.body = toWire(value, bodySchema)
      else if (core.startsWith('body.')) (args.body ??= {})[core.slice(5)] = core === 'body.file' ? filePath(value) : value
      else args[core] = value
    }
    // A /client/* call names its account by public key (company_id).
    const native = await this.session[CLIENT_FOR](this._basePath, given.company_id ?? null)
    let raw
    try {
      raw = await native.callRaw(operationId, args)
    } catch (error) {
      throw this.session[FAILED](compatError(error), this._basePath, given.company_id ?? null)
    }
    if (responseSchema === null || raw.body === '') return { response: new CompatResponse(raw, undefined), body: undefined }
    const document = JSON.parse(raw.body)
    return { response: new CompatResponse(raw, document), body: fromWire(document, responseSchema) }
  }
}

module.exports = { BaseApi, CompatResponse }
