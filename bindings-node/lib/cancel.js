'use strict'
// AbortSignal wiring: a call's signal cancels its native future (see src/cancel.rs).

const native = require('./addon.js')
const { AbortError } = require('./errors.js')

/** Runs `fn(cancelId)`, cancelling the native call when `signal` aborts. Always a Promise:
 * a synchronous throw becomes a rejection. Without a signal, no extra async frame (one
 * Promise and a microtask less per call). */
function withSignal(signal, fn) {
  if (signal) return withAbort(signal, fn)
  try {
    return fn(undefined)
  } catch (error) {
    return Promise.reject(error)
  }
}

async function withAbort(signal, fn) {
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

/** Takes a `signal` out of a trailing options object; the other options stay. */
function takeSignal(args) {
  const last = args[args.length - 1]
  if (!last || typeof last !== 'object' || Array.isArray(last) || !isSignal(last.signal)) return { args }
  const { signal, ...rest } = last
  return { signal, args: [...args.slice(0, -1), rest] }
}

/** Splits per-call options off the arguments: a trailing `{ signal?, timeout? }` object, or a
 * `signal` inside an options object (list options keep their own per-page `timeout`). */
function takeOptions(args) {
  const last = args[args.length - 1]
  if (!last || typeof last !== 'object' || Array.isArray(last)) return { args }
  const keys = Object.keys(last)
  if (keys.length && keys.every((k) => k === 'signal' || k === 'timeout') && (last.signal === undefined || isSignal(last.signal))) {
    return { signal: last.signal, timeout: last.timeout, args: args.slice(0, -1) }
  }
  return takeSignal(args)
}

module.exports = { withSignal, takeOptions, takeSignal }
